"""`junior-ai collect` against a real server that wants tokens: --token or $JUNIOR_AI_TOKEN as a bearer token, a
401 that names the fix, and the token never printed back."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio

from junior_ai.ai.simulator import Simulator
from tests.conftest import ROOT
from tests.http_servers import junior_server, mcp_session, write_config
from tests.test_http_auth import new_token_via_cli, simulated_ai
from tests.test_server_tools import text_of


async def collect_cli(url: str, job_id: str, *args: str, env_token: str | None = None) -> tuple[int, str, str]:
    """`python -m junior_ai collect` as a user runs it: (exit code, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "JUNIOR_AI_TOKEN"}
    if env_token is not None:
        env["JUNIOR_AI_TOKEN"] = env_token
    with anyio.fail_after(120):
        done = await anyio.run_process(
            [sys.executable, "-m", "junior_ai", "collect", job_id, "--url", url, "--wait-s", "20", *args],
            cwd=ROOT,
            env=env,
            check=False,
        )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_collect_sends_its_token_and_a_401_names_the_fix_without_echoing_the_token(
    sim: Simulator, tmp_path: Path
) -> None:
    alice, alice_hash = new_token_via_cli("alice")
    bob, bob_hash = new_token_via_cli("bob")
    settings = {"http_tokens": {"alice": alice_hash, "bob": bob_hash}}
    config = write_config(tmp_path / "c.json", simulated_ai(sim), settings)
    with junior_server(config) as server:
        async with mcp_session(server.url, alice) as client:
            started = await client.call_tool("ask_one", {"ai": "ai", "prompt": "later", "background": True})
        job_id = (started.structured_content or {})["job_id"]

        no_token = await collect_cli(server.url, job_id)
        wrong_token = await collect_cli(server.url, job_id, "--token", alice + "x")
        bobs_token = await collect_cli(server.url, job_id, env_token=bob)
        by_flag = await collect_cli(server.url, job_id, "--token", alice)
        by_env = await collect_cli(server.url, job_id, env_token=alice)

    code, _out, err = no_token
    assert code == 2 and "wants a token: pass --token or set JUNIOR_AI_TOKEN" in err
    assert "running" not in err and "Traceback" not in err
    code, _out, err = wrong_token
    assert code == 2 and "refused the token" in err and "wants a token" not in err
    assert alice not in err and "Traceback" not in err  # not even the token it refused
    code, _out, err = bobs_token
    assert code == 1 and f"no job {job_id!r}" in err  # bob's token works, and alice's job is not his to see
    for code, out, err in (by_flag, by_env):
        assert code == 0, err
        assert "reply to" in out and alice not in out + err
    assert not started.is_error, text_of(started)
    assert alice not in "\n".join(server.lines)
