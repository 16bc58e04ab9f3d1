"""Experiment layer: replications and seeds, executors (serial, processes, Dask), compare, sweep.
"""
