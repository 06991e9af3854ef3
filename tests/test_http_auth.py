"""HTTP deployment: tokens, binding rules, Host/Origin checks, the health endpoint — against real server processes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2
import pytest

from junior_ai.ai.simulator import Simulator
from junior_ai.server.auth import hash_token
from tests.conftest import OPENAI_KEY, run_junior_ai
from tests.http_servers import junior_server, mcp_session, run_serve, write_config
from tests.test_server_tools import text_of

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def simulated_ai(sim: Simulator, model: str = "http-model", **fields: Any) -> dict[str, Any]:
    return {
        "ai": {
            "provider": "openai_compatible",
            "api_key": OPENAI_KEY,
            "base_url": sim.openai_base_url,
            "model": model,
            "timeout_s": 20,
            **fields,
        }
    }


def new_token_via_cli(name: str) -> tuple[str, str]:
    """(token, the settings line's hash) exactly as `junior-ai token new NAME` prints them."""
    done = run_junior_ai("token", "new", name)
    assert done.returncode == 0, done.stderr
    token = re.search(r"^\s+(jai_\S+)$", done.stdout, re.MULTILINE)
    line = re.search(rf'^\s+"{name}": "(sha256:[0-9a-f]{{64}})"$', done.stdout, re.MULTILINE)
    assert token and line, done.stdout
    return token.group(1), line.group(1)


def test_token_new_prints_a_fresh_token_once_and_only_its_hash_for_the_settings() -> None:
    first, first_hash = new_token_via_cli("alice")
    second, _ = new_token_via_cli("alice")
    assert first != second and len(first) > 40
    assert first_hash == hash_token(first) and first not in first_hash


def test_token_new_refuses_a_name_that_cannot_be_a_principal() -> None:
    done = run_junior_ai("token", "new", "Alice Smith")
    assert done.returncode == 2 and "not a usable principal name" in done.stderr


async def test_no_token_or_a_bad_one_gets_401_before_any_mcp_processing_and_a_good_one_is_served(
    sim: Simulator, tmp_path: Path
) -> None:
    token, line = new_token_via_cli("alice")
    config = write_config(tmp_path / "c.json", simulated_ai(sim), {"http_tokens": {"alice": line}})
    with junior_server(config) as server:
        async with httpx2.AsyncClient() as http:
            missing = await http.post(server.url, json=INITIALIZE, headers=MCP_HEADERS)
            wrong = await http.post(
                server.url, json=INITIALIZE, headers=MCP_HEADERS | {"Authorization": f"Bearer {token}x"}
            )
            not_bearer = await http.post(
                server.url, json=INITIALIZE, headers=MCP_HEADERS | {"Authorization": f"Basic {token}"}
            )
            health = await http.get(f"http://127.0.0.1:{server.port}/healthz")
        assert missing.headers["www-authenticate"] == "Bearer"  # RFC 6750 3.1: no error code without credentials
        for refused in (missing, wrong, not_bearer):
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "jsonrpc" not in refused.text  # answered by the auth layer, not by MCP
        assert health.status_code == 200 and health.text == "ok"  # no auth, no data
        assert sim.state.requests() == []
        async with mcp_session(server.url, token) as client:
            answer = await client.call_tool("ask_one", {"ai": "ai", "prompt": "hello"})
            listing = await client.call_tool("list_ais", {})
    assert not answer.is_error and "reply to" in text_of(answer)
    assert (listing.structured_content or {})["principal"] == "alice"
    assert token not in "\n".join(server.lines)  # the token itself is never logged


def test_a_non_loopback_bind_without_auth_is_refused_with_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.json", {}, {})
    done = run_serve(config, host="0.0.0.0")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("junior-ai:")]
    assert len(lines) == 1 and "without authentication" in lines[0] and "junior-ai token new" in lines[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_an_invalid_configuration_is_not_served_over_http_and_says_why_in_one_line(tmp_path: Path, host: str) -> None:
    """Served anyway, an HTTP replica would drop the file's tokens (no auth on loopback) and answer /healthz 200;
    on 0.0.0.0 the refusal must name the invalid file, not ask for tokens the file already holds."""
    _, alice_line = new_token_via_cli("alice")
    settings = {"http_tokens": {"alice": alice_line}, "state_url": "redis://:PwLeak12@127.0.0.1:99999/0"}
    config = write_config(tmp_path / "c.json", {}, settings)
    done = run_serve(config, host=host)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("junior-ai:")]
    assert len(lines) == 1, done.stderr
    assert "not serving" in lines[0] and "c.json" in lines[0] and "settings.state_url" in lines[0]
    assert "add tokens" not in done.stderr and "http_serving" not in done.stderr
    assert "PwLeak12" not in done.stderr


def test_insecure_no_auth_serves_a_non_loopback_bind_and_warns_at_every_start(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.json", {}, {})
    for _ in range(2):
        with junior_server(config, "--insecure-no-auth", host="0.0.0.0") as server:
            assert server.events("serving_without_authentication")


async def test_host_and_origin_are_checked_on_a_non_loopback_bind(sim: Simulator, tmp_path: Path) -> None:
    token, line = new_token_via_cli("alice")
    settings = {"http_tokens": {"alice": line}, "allowed_hosts": ["mcp.example.com"]}
    config = write_config(tmp_path / "c.json", simulated_ai(sim), settings)
    with junior_server(config, host="0.0.0.0") as server:
        url = f"http://127.0.0.1:{server.port}/mcp"
        auth = MCP_HEADERS | {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient() as http:
            rebound = await http.post(url, json=INITIALIZE, headers=auth | {"Host": "attacker.example"})
            foreign_origin = await http.post(url, json=INITIALIZE, headers=auth | {"Origin": "http://attacker.example"})
            proxied = await http.post(
                url, json=INITIALIZE, headers=auth | {"Host": "mcp.example.com", "Origin": "https://mcp.example.com"}
            )
            direct = await http.post(url, json=INITIALIZE, headers=auth)
    assert rebound.status_code in (400, 403, 421) and "result" not in rebound.text
    assert foreign_origin.status_code == 403 and "result" not in foreign_origin.text
    assert proxied.status_code == 200 and "serverInfo" in proxied.text
    assert direct.status_code == 200 and "serverInfo" in direct.text


async def test_host_is_checked_on_loopback_too(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.json", {}, {})
    with junior_server(config) as server:
        async with httpx2.AsyncClient() as http:
            rebound = await http.post(server.url, json=INITIALIZE, headers=MCP_HEADERS | {"Host": "attacker.example"})
    assert rebound.status_code in (400, 403, 421) and "serverInfo" not in rebound.text


async def test_slash_variants_never_redirect_to_the_sent_host_and_host_ports_are_parsed_strictly(
    sim: Simulator, tmp_path: Path
) -> None:
    token, line = new_token_via_cli("alice")
    config = write_config(tmp_path / "c.json", simulated_ai(sim), {"http_tokens": {"alice": line}})
    with junior_server(config) as server:
        base = f"http://127.0.0.1:{server.port}"
        auth = MCP_HEADERS | {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(follow_redirects=False) as http:
            evil_paths = [
                await http.post(f"{base}{path}", json=INITIALIZE, headers=auth | {"Host": "evil.example"})
                for path in ("/mcp/", "/mcp//", "/mcp%2f", "/healthz/")
            ]
            same_host_slash = await http.post(f"{base}/mcp/", json=INITIALIZE, headers=auth)
            bad_hosts = [
                await http.post(f"{base}/mcp", json=INITIALIZE, headers=auth | {"Host": host})
                for host in (
                    f"127.0.0.1:{server.port}.evil.example",
                    f"127.0.0.1:{server.port}@evil.example",
                    "127.0.0.1:abc",
                )
            ]
            bad_origin = await http.post(
                f"{base}/mcp",
                json=INITIALIZE,
                headers=auth | {"Origin": f"http://127.0.0.1:{server.port}.evil.example"},
            )
            upper = await http.post(f"{base}/mcp", json=INITIALIZE, headers=auth | {"Host": f"LOCALHOST:{server.port}"})
            twice = await http.post(
                f"{base}/mcp",
                json=INITIALIZE,
                headers=[(k, v) for k, v in MCP_HEADERS.items()]
                + [("Authorization", f"Bearer {token}"), ("Authorization", "Bearer other")],
            )
    for refused in evil_paths:
        assert refused.status_code == 421 and "location" not in refused.headers
    assert same_host_slash.status_code == 404 and "location" not in same_host_slash.headers
    for refused in bad_hosts:
        assert refused.status_code == 421 and "serverInfo" not in refused.text
    assert bad_origin.status_code == 403
    assert upper.status_code == 200 and "serverInfo" in upper.text
    assert twice.status_code == 401 and "serverInfo" not in twice.text


def test_a_plain_token_pasted_into_http_tokens_is_a_config_error_that_does_not_echo_it(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.json", {}, {"http_tokens": {"alice": "jai_plain-secret-token-value"}})
    done = run_junior_ai("--credentials", str(config), "doctor")
    out = done.stdout + done.stderr
    assert "sha256:<64 hex digits>" in out and "jai_plain-secret-token-value" not in out
