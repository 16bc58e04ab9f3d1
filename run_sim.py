#!/usr/bin/env python
"""Thin command-line entry point; see ``python run_sim.py --help``."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
