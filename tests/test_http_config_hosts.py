"""Configuration an admin writes for a shared deployment means what it says: `allowed_hosts` names match Hosts
case-insensitively and an entry that can never match is refused; warnings only suggest names that can be used;
error examples survive the redaction every shown error goes through."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from junior_ai.core.config import config_from_mapping
from junior_ai.core.errors import ConfigError
from junior_ai.core.redact import redact
from junior_ai.server.auth import hash_token, new_token
from tests.http_servers import junior_server, write_config
from tests.test_http_auth import INITIALIZE, MCP_HEADERS, new_token_via_cli


async def test_allowed_hosts_written_in_upper_case_match_any_case_of_that_host_over_http(tmp_path: Path) -> None:
    token, line = new_token_via_cli("alice")
    settings = {"http_tokens": {"alice": line}, "allowed_hosts": ["Proxy:8080", "MCP.Example.com", "Edge:*"]}
    config = write_config(tmp_path / "c.json", {}, settings)
    hosts = ["proxy:8080", "Proxy:8080", "mcp.example.com", "MCP.EXAMPLE.COM", "edge:9443", "EDGE:1"]
    with junior_server(config) as server:
        async with httpx2.AsyncClient() as http:
            auth = MCP_HEADERS | {"Authorization": f"Bearer {token}"}
            statuses = {
                host: (await http.post(server.url, json=INITIALIZE, headers=auth | {"Host": host})).status_code
                for host in [*hosts, "proxy:8081", "edge"]
            }
    assert statuses == dict.fromkeys(hosts, 200) | {"proxy:8081": 421, "edge": 421}


@pytest.mark.parametrize("entry", ["*", "*:8000", "", "http://proxy.example/", "proxy:0", "proxy:8080/mcp", "*.x.com"])
def test_an_allowed_hosts_entry_that_can_never_match_is_a_config_error_saying_what_to_write(entry: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"settings": {"allowed_hosts": ["ok.example", entry]}}, env={})
    message = str(caught.value)
    assert "allowed_hosts" in message and "can never match a Host header" in message and '"proxy:*"' in message
    assert "Traceback" not in message


def test_allowed_hosts_are_kept_lower_cased_and_trimmed() -> None:
    config = config_from_mapping({"settings": {"allowed_hosts": [" Proxy:8080", "[FD00::2]:*", "MCP.Example"]}}, env={})
    assert config.settings.allowed_hosts == ["proxy:8080", "[fd00::2]:*", "mcp.example"]


def test_a_wrongly_cased_principal_gets_a_suggestion_it_can_use_and_no_command_that_would_refuse_it() -> None:
    settings = {
        "http_tokens": {"alice": hash_token(new_token()), "bob": hash_token(new_token())},
        "admin_principal": "Alice",
        "principals": {"Bob": {"usd_per_day": 1}, "carl": {}},
    }
    admin, bob, carl = config_from_mapping({"settings": settings}, env={}).warnings
    assert "Did you mean 'alice'?" in admin and "token new Alice" not in admin
    assert "Did you mean 'bob'?" in bob and "token new Bob" not in bob and "not a usable principal name" in bob
    assert "junior-ai token new carl" in carl  # a usable name may get a token of its own


def test_without_tokens_an_unknown_admin_is_not_told_to_mean_local() -> None:
    (warning,) = config_from_mapping({"settings": {"admin_principal": "carol"}}, env={}).warnings
    assert "'carol'" in warning and "local" not in warning.split("applies to no one")[1]


def test_the_state_url_example_survives_the_redaction_every_shown_error_goes_through() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"settings": {"state_url": "redis://:PwLeakL12@127.0.0.1:99999/0"}}, env={})
    shown = redact(str(caught.value))
    assert "PwLeakL12" not in shown and "[REDACTED]" not in shown
    assert '"redis://host:6379/0"' in shown and '":PASSWORD@"' in shown
