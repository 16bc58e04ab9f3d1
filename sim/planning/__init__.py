"""Planning layer: fit and calibration to published figures, staffing optimiser, sensitivity.
"""
