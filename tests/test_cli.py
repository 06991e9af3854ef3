"""The command line without an MCP host: `ask` and `doctor` run the same code against the simulator."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from junior_ai.ai.simulator import Fault, Scenario, Simulator
from tests.conftest import GEMINI_KEY, OPENAI_KEY, ROOT, run_junior_ai


def run(*args: str, credentials: Path) -> subprocess.CompletedProcess[str]:
    return run_junior_ai("--credentials", str(credentials), *args)


def credentials(sim: Simulator, path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "openai": {"model": "cli-oai", "api_key": OPENAI_KEY, "base_url": sim.openai_base_url},
                "gemini": {"model": "cli-gem", "api_key": GEMINI_KEY, "base_url": sim.gemini_base_url},
                "grok": {"model": "cli-grok", "api_key": OPENAI_KEY, "base_url": sim.openai_base_url, "enabled": False},
            }
        )
    )
    path.chmod(0o600)
    return path


def test_ask_one_ai_and_all(sim: Simulator, tmp_path: Path) -> None:
    path = credentials(sim, tmp_path / "credentials.json")
    one = run("ask", "--ai", "gemini", "What is MCP?", credentials=path)
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("## gemini (cli-gem) — ok") and "reply to" in one.stdout
    everyone = run("ask", "--all", "compare", credentials=path)
    assert everyone.returncode == 0 and "2/2 AIs answered" in everyone.stdout
    assert OPENAI_KEY not in one.stdout + one.stderr + everyone.stdout + everyone.stderr


def test_doctor_prints_a_table_and_a_fix_per_failure(sim: Simulator, tmp_path: Path) -> None:
    sim.set_scenario("cli-gem", Scenario(fault=Fault(kind="status", status=401, message="API key not valid")))
    result = run("doctor", credentials=credentials(sim, tmp_path / "credentials.json"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"Configuration: {tmp_path / 'credentials.json'}"
    table = {line.split()[0]: line.split()[1] for line in lines[2:5]}
    assert table == {"gemini": "auth_error", "openai": "ok", "grok": "disabled"}
    assert "fix: check the API key" in result.stdout and GEMINI_KEY not in result.stdout + result.stderr


def test_bad_config_is_reported_by_doctor_and_ask(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text('{"openai": {"api_key": "sk-x", "modle": "gpt"}}')
    path.chmod(0o600)
    doctor = run("doctor", credentials=path)
    ask = run("ask", "hi", credentials=path)
    assert doctor.returncode == 2 and "unknown field 'modle'. Did you mean 'model'?" in doctor.stderr
    assert ask.returncode == 2 and "unknown field 'modle'" in ask.stderr and "Traceback" not in ask.stderr


def test_ask_wait_has_no_overall_deadline_and_shows_progress(sim: Simulator, tmp_path: Path) -> None:
    sim.set_scenario("cli-oai", Scenario(chunk_count=15, chunk_delay_s=0.15))  # ~2 s of streaming
    path = credentials(sim, tmp_path / "credentials.json")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "settings": {"deadline_s": 0.5}}))
    cut = run("ask", "--ai", "openai", "tell me everything", credentials=path)
    waited = run("ask", "--ai", "openai", "--wait", "tell me everything", credentials=path)
    assert "— timeout" in cut.stdout  # the deadline cut it, as configured
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.startswith("## openai (cli-oai) — ok") and "tokens received" in waited.stderr


def test_ask_wait_is_not_cut_at_the_job_limit(sim: Simulator, tmp_path: Path) -> None:
    sim.set_scenario("cli-oai", Scenario(chunk_count=15, chunk_delay_s=0.15))  # ~2 s of streaming
    path = credentials(sim, tmp_path / "credentials.json")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "settings": {"deadline_s": 0.5, "job_ttl_s": 0.5}}))
    waited = run("ask", "--ai", "openai", "--wait", "tell me everything", credentials=path)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.startswith("## openai (cli-oai) — ok")
    # progress lines count whole steps, never a raw fraction like "0.00296112/2"
    assert not any(re.match(r"^\d+\.\d", line) for line in waited.stderr.splitlines())


def test_ctrl_c_during_ask_wait_prints_the_answers_that_finished(sim: Simulator, tmp_path: Path) -> None:
    sim.state.hold("cli-gem")
    path = credentials(sim, tmp_path / "credentials.json")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "JUNIOR_AI_CREDENTIALS"}
    command = [sys.executable, "-m", "junior_ai", "--credentials", str(path), "ask", "--all", "--wait", "q"]
    try:
        with subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stderr is not None
            seen = []
            for line in proc.stderr:  # progress: wait until openai's answer is in
                seen.append(line)
                if line.split(" ", 1)[-1].startswith("openai: ok"):
                    break
            assert sim.state.wait_for(lambda s: len(s.requests("cli-gem")) == 1, 30)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    finally:
        sim.state.release("cli-gem")
    assert proc.returncode == 130, "".join(seen) + err
    assert out.startswith("## openai (cli-oai) — ok") and "reply to" in out
    assert "interrupted" in err and "not finished: gemini" in err and "Traceback" not in err
    assert sim.state.wait_for(lambda s: s.requests("cli-gem")[0].outcome == "disconnected", 30)
