"""The suite itself: no test sleeps or reads the wall clock to decide an outcome. A test that waits a fixed time or
bounds an elapsed time fails on a busy 2-core machine; events, `anyio.fail_after` and an injected clock do not."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
FORBIDDEN = re.compile(r"\b(?:sleep|perf_counter|monotonic)\(")
KNOWN = {
    # (file, the line's text): a line number would go stale whenever code above it moves.
    ("test_jobs_http.py", "await anyio.sleep(0.01)"),  # a poll interval while reading captured output, no timing
    ("test_http_call_limits.py", "await anyio.sleep(left + 0.05)"),  # waits for a lease's end read from Redis
    ("test_breaker_probe.py", "async def sleep(self, seconds: float) -> None:"),  # the injected clock's sleep()
    (  # its docstring, describing the heartbeat's sleep(0) yield (which measures nothing)
        "startup_probe.py",
        "The heartbeat is a task on the server's event loop that yields (`sleep(0)`) in a loop and counts: it can only",
    ),
}
"""Places that match the pattern without waiting a fixed time or timing an outcome; any new sleep or self-timing
fails here."""
HOLDS_THE_RULE = {Path(__file__).name, "clock.py"}  # clock.py is the injected clock: its sleep() never waits


def test_no_test_sleeps_or_times_itself() -> None:
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(TESTS.glob("*.py"))
        if path.name not in HOLDS_THE_RULE
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if FORBIDDEN.search(line) and not line.lstrip().startswith("#") and (path.name, line.strip()) not in KNOWN
    ]
    assert offenders == [], "\n".join(offenders)
