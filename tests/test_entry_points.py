"""The ways to start Junior AI and its simulator: `junior-ai --version`, `junior-ai simulator`,
`python -m junior_ai.ai.simulator`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import openai
import pytest

from junior_ai.core.version import __version__
from tests.conftest import ROOT, run_junior_ai


def test_version_names_the_installed_version() -> None:
    result = run_junior_ai("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"junior-ai {__version__}"


@pytest.mark.parametrize(
    "command",
    [["-m", "junior_ai", "simulator"], ["-m", "junior_ai.ai.simulator"]],
    ids=["junior-ai simulator", "python -m junior_ai.ai.simulator"],
)
async def test_the_simulator_runs_on_its_own_and_answers_the_openai_protocol(command: list[str]) -> None:
    process = await anyio.open_process(
        [sys.executable, *command, "--port", "0"], cwd=ROOT, stdout=subprocess.DEVNULL, env=dict(os.environ)
    )
    try:
        assert process.stderr is not None
        with anyio.fail_after(60):
            banner = b""
            while b"(Gemini)" not in banner:
                banner += await process.stderr.receive()
        # The socket listens before the banner is written: the first request is served.
        base_url = re.search(rb"(http://127\.0\.0\.1:\d+/v1)", banner)
        assert base_url is not None, banner
        client = openai.AsyncOpenAI(api_key="sk-anything", base_url=base_url.group(1).decode(), max_retries=0)
        async with client:
            with anyio.fail_after(60):
                answer = await client.chat.completions.create(
                    model="echo", messages=[{"role": "user", "content": "hello there"}]
                )
        assert "[echo] reply to" in (answer.choices[0].message.content or "")
    finally:
        process.terminate()
        with anyio.fail_after(30):
            await process.wait()


@pytest.mark.parametrize(
    ("content", "says"), [("{not json", "Expecting property name"), ('{"m": {"latency_s": -1}}', "latency_s")]
)
def test_a_bad_simulator_config_is_a_one_line_error(tmp_path: Path, content: str, says: str) -> None:
    config = tmp_path / "scenarios.json"
    config.write_text(content)
    result = run_junior_ai("simulator", "--port", "0", "--config", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"--config {config}" in result.stderr and says in result.stderr
    json.dumps(result.stderr)  # printable text, not bytes
