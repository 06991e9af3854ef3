"""`junior-ai demo` — the README's first command — runs offline and shows the fan-out."""

from __future__ import annotations

import re

from tests.conftest import run_junior_ai


def test_demo_runs_offline_and_shows_every_step() -> None:
    result = run_junior_ai("demo")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Tools: ask_one, ask_many, consensus, debate, ask_batch, list_ais" in out
    assert "4 AI(s) configured" in out
    assert "## openai (gpt-4o-mini) — ok" in out
    assert re.search(r"progress 4/4: \w+: ok", out)
    assert "4/4 AIs answered" in out
    match = re.search(r"ask_many wall time (\d+) ms = ([\d.]+)x the slowest AI", out)
    # Reported, not bounded here: a wall time is no test on a busy machine (test_fanout proves the concurrency).
    assert match is not None and float(match.group(2)) > 0
    assert "# Consensus: majority (3 of 4)" in out and "Votes: library 3, by hand 1" in out
    assert "- grok: chose by hand" in out
    # Keys only, no settings.prices: the packaged price table prices the real model names.
    after = out.split("(after the run")[1]
    for ai in ("openai", "gemini"):
        assert re.search(rf"- {ai}: .*, cost \$0\.\d*[1-9]\d*, .*per M in/out \(table\)", after), ai
    assert re.search(r"Session: \d+ tokens, \$0\.\d+", after) and "unknown cost" not in out
    assert out.rstrip().endswith("Demo OK.")
