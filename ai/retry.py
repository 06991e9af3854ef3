"""How long to wait before trying again: `Retry-After` as the provider said it, else backoff with full jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

BASE_DELAY_S = 0.5
MAX_DELAY_S = 8.0


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds the provider asked us to wait, from `retry-after-ms`, `retry-after` (seconds or HTTP date).

    Returns None when there is no usable header; never a negative number.
    """
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(attempt: int, *, rng: random.Random | None = None, base_s: float = BASE_DELAY_S) -> float:
    """Full-jitter exponential backoff for the retry after attempt number `attempt` (1-based)."""
    ceiling = min(MAX_DELAY_S, base_s * (2 ** (attempt - 1)))
    return (rng or random).uniform(0, ceiling)
