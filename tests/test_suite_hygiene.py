"""The suite itself: no test sleeps or reads the wall clock to decide an outcome. A test that waits a fixed time or
bounds an elapsed time fails on a busy 2-core machine; events, `anyio.fail_after` and an injected clock do not."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
FORBIDDEN = re.compile(r"\b(?:sleep|perf_counter|monotonic)\(")
KNOWN = {"test_jobs_http.py:78"}
"""A poll interval (not a timing assertion) in the jobs attach test, reported to be replaced by an event; any new
sleep or self-timing fails here."""
HOLDS_THE_RULE = {Path(__file__).name, "clock.py"}  # clock.py is the injected clock: its sleep() never waits


def test_no_test_sleeps_or_times_itself() -> None:
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(TESTS.glob("*.py"))
        if path.name not in HOLDS_THE_RULE
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if FORBIDDEN.search(line) and not line.lstrip().startswith("#") and f"{path.name}:{number}" not in KNOWN
    ]
    assert offenders == [], "\n".join(offenders)
