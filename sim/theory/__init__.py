"""Exact queueing theory (exact) and the validation battery that compares the simulator with it (validation).
"""
