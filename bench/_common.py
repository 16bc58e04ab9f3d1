"""Helpers shared by the benchmark scripts: interleaved best-of-N timing, batch-means
confidence intervals, and peak memory measured in a fresh subprocess.

Timings are noisy on a shared 2-core machine, so every script (1) runs the variants it
compares round-robin in the same process, so that a burst of load from elsewhere hits
all of them, (2) keeps the best of N runs of each, and (3) reports ratios of those
best times. Absolute times are printed for the record only.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def header(title: str) -> None:
    """Print what a reader needs to judge the figures: machine, versions and load."""
    import simpy

    import sim

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"== {title}")
    print(f"   python {platform.python_version()}, simpy {simpy.__version__}, "
          f"sim {sim.__version__}, {os.cpu_count()} cpus, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def interleaved_best(variants: dict[str, Callable[[], object]], repeat: int,
                     verbose: bool = True) -> tuple[dict[str, float], dict[str, float],
                                                    dict[str, object]]:
    """Run every variant ``repeat`` times round-robin.

    Returns the best wall time (s), the best CPU time of this process (s) and the last
    result of each variant. CPU time (``time.process_time``) does not count the time
    the process waited for a core, so it is the steadier figure on a shared machine;
    both are printed. The garbage collector runs before each timed call (it is not
    disabled during it: the model's real cost includes its garbage).
    """
    best = {name: float("inf") for name in variants}
    best_cpu = {name: float("inf") for name in variants}
    last: dict[str, object] = {}
    for r in range(repeat):
        for name, fn in variants.items():
            last[name] = None  # free the previous result before timing the next run
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn()
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            last[name] = out
            best[name] = min(best[name], dt)
            best_cpu[name] = min(best_cpu[name], dc)
            if verbose:
                print(f"   run {r + 1}/{repeat}  {name:<34s} {dt:8.3f} s wall {dc:8.3f} s cpu",
                      flush=True)
    return best, best_cpu, last


def batch_means(x: np.ndarray, batches: int = 20, warmup: float = 0.01,
                level: float = 0.99) -> tuple[float, float]:
    """Mean and Student-t half-width of a stationary series by non-overlapping batch means.

    ``x`` is in time order (for example one 0/1 outcome per caller in arrival order);
    the first ``warmup`` fraction is dropped (the system starts empty). Batches of a
    few thousand callers span weeks of simulated time at the benchmark's load, far
    longer than the queue's relaxation time, so batch means are close to independent.
    """
    x = np.asarray(x, dtype=float)
    x = x[int(len(x) * warmup):]
    size = len(x) // batches
    means = x[: size * batches].reshape(batches, size).mean(axis=1)
    half = stats.t.ppf(0.5 + level / 2, batches - 1) * means.std(ddof=1) / np.sqrt(batches)
    return float(means.mean()), float(half)


def run_child(code: str, timeout: float = 600) -> dict:
    """Run ``code`` in a fresh Python process; it must print one JSON object last.

    A fresh process gives an honest peak RSS (``ru_maxrss`` never goes down, so it
    cannot be measured twice in one process).
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=timeout, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# Prologue of the memory children: import everything first, so that the figures are
# the simulation's own memory over an interpreter with sim, pandas and scipy loaded.
#
# Peak RSS: on Linux we read the high-water mark VmHWM of /proc/self/status after
# resetting it (``echo 5 > /proc/self/clear_refs``) once the warm-up is done. We do not
# use ``ru_maxrss`` there: a child started with vfork/exec inherits the *parent's*
# high-water mark as a floor (the kernel carries it over at exec), so in a child of a
# big benchmark process it can hide the child's own peak entirely. Elsewhere we fall
# back to ``ru_maxrss``.
CHILD_PROLOGUE = """
import gc, json, resource, sys, time, tracemalloc
import sim.experiments.replications, sim.results.metrics, sim.model.helpline
from sim.config import load_scenario
from sim.model.streams import Streams

def _status_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)

def rss_now_mib():
    try:
        return _status_mib("VmRSS")
    except OSError:
        import psutil
        return psutil.Process().memory_info().rss / 2**20

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return "VmHWM"
    except OSError:
        return "ru_maxrss"

def peak_mib(how):
    if how == "VmHWM":
        return _status_mib("VmHWM")
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 / 1024 if sys.platform == "darwin" else r / 1024

scn = load_scenario({scenario!r})
"""
