"""Results layer: event log -> KPIs (metrics, channel_metrics), results folders, plots and figures.
"""
