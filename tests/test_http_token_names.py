"""Token names: one rule for `junior-ai token new` and for settings.http_tokens, "local" reserved, no hash under two
names, and a warning at start for admin_principal or limits that name a principal nobody can be."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from junior_ai.ai.simulator import Simulator
from junior_ai.core.config import config_from_mapping, principal_name_problem
from junior_ai.core.errors import ConfigError
from junior_ai.server.auth import hash_token, new_token
from tests.conftest import run_junior_ai
from tests.http_servers import junior_server, mcp_session, write_config
from tests.test_http_auth import INITIALIZE, MCP_HEADERS, new_token_via_cli, simulated_ai
from tests.test_http_oauth import RESOURCE, local_issuer

BAD_NAMES = ["Alice Smith", "a:b", "-x", "local", "x" * 41]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_token_new_and_the_config_refuse_the_same_names_with_the_same_reason(name: str) -> None:
    problem = principal_name_problem(name)
    assert problem is not None
    done = run_junior_ai("token", "new", "--", name)
    assert done.returncode == 2 and problem in done.stderr and "jai_" not in done.stdout
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"settings": {"http_tokens": {name: hash_token(new_token())}}}, env={})
    assert problem in str(caught.value) and "Traceback" not in str(caught.value)


def test_the_name_rule_says_a_name_starts_with_a_letter_or_digit_and_local_is_reserved() -> None:
    dash = run_junior_ai("token", "new", "--", "-x")
    local = run_junior_ai("token", "new", "local")
    assert "starting with a letter or digit" in dash.stderr  # "-x" is made of allowed characters: say why not
    assert local.returncode == 2 and "reserved" in local.stderr


def test_a_long_name_is_not_echoed_as_it_may_be_a_pasted_token() -> None:
    token = new_token()
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"settings": {"http_tokens": {token: hash_token(token)}}}, env={})
    assert token not in str(caught.value) and "not a usable principal name" in str(caught.value)


def test_the_same_hash_under_two_names_is_a_config_error_naming_both() -> None:
    shared = hash_token(new_token())
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"settings": {"http_tokens": {"alice": shared, "bob": shared}}}, env={})
    message = str(caught.value)
    assert "http_tokens.alice" in message and "http_tokens.bob" in message and "same hash" in message
    assert shared not in message and "junior-ai token new bob" in message


def test_limits_or_an_admin_for_a_principal_without_a_token_warn_unless_it_is_an_oauth_colon_subject() -> None:
    settings = {
        "http_tokens": {"alice": hash_token(new_token())},
        "admin_principal": "alcie",
        "principals": {"alice": {"usd_per_day": 1}, "bob": {"usd_per_day": 1}, "local": {}, "*": {}},
    }
    warnings = config_from_mapping({"settings": settings}, env={}).warnings
    assert len(warnings) == 2
    admin, limits = warnings
    assert "settings.admin_principal" in admin and "'alcie'" in admin and "Did you mean 'alice'?" in admin
    assert "settings.principals.bob" in limits and "junior-ai token new bob" in limits
    oauth = {"issuer": "https://login.example.com", "resource": "https://mcp.example.com/mcp"}
    oauth_settings = settings | {"oauth": oauth, "admin_principal": "oauth:anyone", "principals": {"oauth:x": {}}}
    assert config_from_mapping({"settings": oauth_settings}, env={}).warnings == ()  # any subject may be one
    (bare,) = config_from_mapping({"settings": settings | {"oauth": oauth, "principals": {}}}, env={}).warnings
    assert "'alcie'" in bare and "Did you mean 'alice'?" in bare  # a token's name wins over the OAuth guess
    (subject,) = config_from_mapping({"settings": oauth_settings | {"admin_principal": "carol"}}, env={}).warnings
    assert "did you mean 'oauth:carol'?" in subject and "OAuth callers are named oauth:<subject>" in subject


def test_the_server_warns_on_stderr_at_start_about_an_admin_nobody_can_be(tmp_path: Path) -> None:
    settings = {"http_tokens": {"alice": hash_token(new_token())}, "admin_principal": "root"}
    config = write_config(tmp_path / "c.json", {}, settings)
    with junior_server(config) as server:
        warnings = [event["warning"] for event in server.events("config_warning")]
    assert any("settings.admin_principal names principal 'root'" in warning for warning in warnings)


async def test_a_removed_token_works_until_the_server_restarts_and_is_refused_after(tmp_path: Path) -> None:
    alice, alice_hash = new_token_via_cli("alice")
    bob, bob_hash = new_token_via_cli("bob")
    config = write_config(tmp_path / "c.json", {}, {"http_tokens": {"alice": alice_hash, "bob": bob_hash}})
    with junior_server(config) as server:
        write_config(config, {}, {"http_tokens": {"bob": bob_hash}})  # alice's token revoked in the file
        async with httpx2.AsyncClient(timeout=120) as http:
            still = await http.post(server.url, json=INITIALIZE, headers=MCP_HEADERS | bearer(alice))
    with junior_server(config) as restarted:
        async with httpx2.AsyncClient(timeout=120) as http:
            refused = await http.post(restarted.url, json=INITIALIZE, headers=MCP_HEADERS | bearer(alice))
            kept = await http.post(restarted.url, json=INITIALIZE, headers=MCP_HEADERS | bearer(bob))
    assert still.status_code == 200  # the running server read its tokens at start (README: restart to revoke)
    assert refused.status_code == 401 and kept.status_code == 200


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_oauth_subject_named_local_is_not_the_local_principal(sim: Simulator, tmp_path: Path) -> None:
    with local_issuer() as issuer:
        settings = {"oauth": {"issuer": issuer.url, "resource": RESOURCE}}
        config = write_config(tmp_path / "c.json", simulated_ai(sim), settings)
        with junior_server(config) as server:
            async with mcp_session(server.url, issuer.token(sub="local")) as client:
                listing = await client.call_tool("list_ais", {})
    assert (listing.structured_content or {})["principal"] == "oauth:local"
