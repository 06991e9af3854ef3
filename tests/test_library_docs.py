"""docs/library.md stays true: every Python example on the page runs, as written, against the simulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from junior_ai.ai.simulator import Simulator
from tests.conftest import GEMINI_KEY, OPENAI_KEY, ROOT

GUIDE = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```python\n(.*?)```", GUIDE, flags=re.DOTALL)

# What each example must print, beyond exiting cleanly (matched against stdout, in example order).
EXPECTED = [
    "[gemini-model] reply to",
    "unknown field 'modle'",
    "simulated",
    "ok",
    "tokens",
    "done, ",
    "[gemini-model] reply to",
    "[gemini-model] reply to",
    "unknown AI 'no-such-ai'",
]


def test_the_guide_has_the_examples_this_test_expects() -> None:
    assert len(EXAMPLES) == len(EXPECTED)


@pytest.mark.parametrize("number", range(len(EXPECTED)))
def test_every_example_in_the_library_guide_runs(sim: Simulator, tmp_path: Path, number: int) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "gemini": {"api_key": GEMINI_KEY, "base_url": sim.gemini_base_url, "model": "gemini-model"},
                "openai": {"api_key": OPENAI_KEY, "base_url": sim.openai_base_url, "model": "openai-model"},
                "aliases": {"fast": "gemini:gemini-model"},
            }
        ),
        encoding="utf-8",
    )
    credentials.chmod(0o600)
    script = tmp_path / "example.py"
    script.write_text(EXAMPLES[number], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["JUNIOR_AI_CREDENTIALS"] = str(credentials)
    ran = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert EXPECTED[number] in ran.stdout, ran.stdout


def test_the_readme_library_example_is_one_the_guide_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The library", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert example in EXAMPLES  # so the test above runs it
    assert "docs/library.md" in section
