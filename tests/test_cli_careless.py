"""The command line under careless input: every mistake is one line and exit 2 (never a traceback), options go
through the tools' arguments models before anything is sent, and Ctrl-C at start-up is quiet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from junior_ai.ai.simulator import Simulator
from tests.conftest import ROOT
from tests.test_batch_integrity import batch_command, clean_env, credentials, records, run

HOOKS = ROOT / "tests" / "import_hooks"


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("junior-ai")]
    assert len(lines) == 1, result.stderr  # progress lines may come before it; the error is one line
    return lines[0]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--temperature", "7"], "temperature: Input should be less than or equal to 2"),
        (["--max-tokens", "-5"], "max_tokens: Input should be greater than or equal to 1"),
        (["--temperature", "nan"], "temperature: must be a finite number"),
        (["--timeout", "-3"], "timeout_s: Input should be greater than 0"),
        (["--max-concurrency", "0"], "max_concurrency: Input should be greater than or equal to 1"),
    ],
)
def test_batch_options_are_checked_by_the_arguments_model_before_any_item_is_sent(
    sim: Simulator, tmp_path: Path, flags: list[str], message: str
) -> None:
    items = tmp_path / "items.txt"
    items.write_text("a\nb\nc\n")
    out = tmp_path / "out.jsonl"
    result = run(batch_command(credentials(sim, tmp_path, "checked"), str(items), out, *flags))
    assert f"arguments of batch: {message}" in one_line_error(result)
    assert sim.state.requests("checked") == []
    assert not out.exists() or out.read_text() == ""


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_batch_refuses_an_out_file_that_is_the_items_file(sim: Simulator, tmp_path: Path, link: str) -> None:
    items = tmp_path / "same.jsonl"
    items.write_text('"a"\n"b"\n')
    out = items
    if link == "symlink":
        out = tmp_path / "link.jsonl"
        out.symlink_to(items)
    elif link == "hardlink":
        out = tmp_path / "hard.jsonl"
        os.link(items, out)
    result = run(batch_command(credentials(sim, tmp_path, "samefile"), str(items), out))
    assert "is the --items file" in one_line_error(result)
    assert items.read_text() == '"a"\n"b"\n'
    assert sim.state.requests("samefile") == []


def test_a_bad_jsonl_line_is_one_line_naming_it_and_the_items_before_it_are_kept(
    sim: Simulator, tmp_path: Path
) -> None:
    items = tmp_path / "mid.jsonl"
    items.write_text('"ok"\n"fine"\n{bad\n"never"\n')
    out = tmp_path / "out.jsonl"
    creds = credentials(sim, tmp_path, "badline")
    result = run(batch_command(creds, str(items), out))
    line = one_line_error(result)
    assert f"{items}, line 3: not valid JSON" in line and "run the same command to resume" in line
    assert sorted(r["index"] for r in records(out) if r["status"] == "ok") == [0, 1]
    assert "Item: never" not in [r.prompt for r in sim.state.requests("badline")]
    items.write_text('"ok"\n"fine"\n"fixed"\n"never"\n')  # fixed: the re-run pays only for the rest
    sim.state.reset()
    assert run(batch_command(creds, str(items), out)).returncode == 0
    assert sorted(r.prompt for r in sim.state.requests("badline")) == ["Item: fixed", "Item: never"]


def test_an_items_file_that_is_not_utf8_is_one_line(sim: Simulator, tmp_path: Path) -> None:
    items = tmp_path / "bin.txt"
    items.write_bytes(b"\xff\xfe\x00junk\n")
    result = run(batch_command(credentials(sim, tmp_path, "binary"), str(items), tmp_path / "o.jsonl"))
    assert "not UTF-8 text" in one_line_error(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read it"), ("dir", "cannot read it"), (b"{bad json", "not valid JSON"), (b"\xff\xfe", "not valid")],
)
def test_ask_json_schema_file_problems_are_one_line(
    sim: Simulator, tmp_path: Path, content: bytes | str | None, message: str
) -> None:
    schema = tmp_path / "schema.json"
    if content == "dir":
        schema.mkdir()
    elif isinstance(content, bytes):
        schema.write_bytes(content)
    creds = credentials(sim, tmp_path, "schema")
    command = [sys.executable, "-m", "junior_ai", "--credentials", str(creds), "ask", "--ai", "bulk"]
    result = run([*command, "--json-schema", str(schema), "hi"])
    assert f"--json-schema {schema}: {message}" in one_line_error(result)


@pytest.mark.parametrize(
    "args",
    [
        ["simulator", "--port", "99999"],
        ["simulator", "--port", "-1"],
        ["serve", "--transport", "streamable-http", "--port", "70000"],
        ["doctor", "--timeout", "nan"],
        ["collect", "job_x", "--wait-s", "-1"],
    ],
)
def test_out_of_range_numbers_on_the_command_line_are_a_usage_error(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "junior_ai", *args],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "error: argument" in result.stderr


@pytest.mark.parametrize("command", ["serve", "batch"])
async def test_ctrl_c_during_start_up_exits_130_quietly(sim: Simulator, tmp_path: Path, command: str) -> None:
    """The import hook holds `import pydantic` (the first heavy import) until the signal comes: the SIGINT lands
    mid-import, as it does on a busy machine in the first seconds."""
    creds = credentials(sim, tmp_path, "startup")
    items = tmp_path / "items.txt"
    items.write_text("a\n")
    extra = ["batch", "--template", "{item}", "--items", str(items), "--ai", "bulk"] if command == "batch" else []
    env = {**clean_env(), "PYTHONPATH": str(HOOKS), "JUNIOR_AI_TEST_IMPORT_HOOK": "block:pydantic"}
    process = await anyio.open_process(
        [sys.executable, "-m", "junior_ai", "--credentials", str(creds), *(extra or ["serve"])],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    async with process:
        assert process.stderr is not None and process.stdout is not None
        errors = BufferedByteReceiveStream(process.stderr)
        with anyio.fail_after(120):
            while b"import-hook: blocking pydantic" not in await errors.receive_until(b"\n", 1_000_000):
                pass
            process.send_signal(signal.SIGINT)
            code = await process.wait()
            rest = b""
            async for chunk in errors:
                rest += chunk
            stdout = b"".join([chunk async for chunk in process.stdout])
    assert code == 130
    assert b"Traceback" not in rest and b"KeyboardInterrupt" not in rest
    assert stdout == b""
