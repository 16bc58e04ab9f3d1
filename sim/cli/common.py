"""What every command shares: the one-line error."""

from __future__ import annotations

import sys


def fail(message: str, status: int) -> int:
    """Print ``error: message`` on stderr and return the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return status
