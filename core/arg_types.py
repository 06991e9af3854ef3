"""argparse `type=` checks for command-line numbers, so a bad value is argparse's one-line usage error (exit 2)
rather than a traceback from deep inside (`bind(): port must be 0-65535`, a NaN timeout)."""

from __future__ import annotations

import argparse
import math


def port_number(text: str) -> int:
    """A TCP port, 0-65535 (0: any free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number: use 0-65535")
    return port


def positive_seconds(text: str) -> float:
    """A duration in seconds: a finite number above 0."""
    seconds = _seconds(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a usable number of seconds: use a number above 0")
    return seconds


def seconds_or_zero(text: str) -> float:
    """A wait in seconds: a finite number, 0 or more (0: do not wait)."""
    seconds = _seconds(text)
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a usable number of seconds: use 0 or more")
    return seconds


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds: use a finite number")
    return seconds
