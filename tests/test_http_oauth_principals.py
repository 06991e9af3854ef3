"""OAuth subjects and static token names are two name spaces that never merge: a JWT's principal is `oauth:<sub>`,
so a subject equal to a token's name (the admin's included) is somebody else; a subject that names no one ("" or
"*") is refused; the session cap counts under the same principal the tool calls see; and settings for an OAuth
caller are written under `oauth:<sub>`."""

from __future__ import annotations

from pathlib import Path

import httpx2

from junior_ai.ai.simulator import Simulator
from tests.http_servers import junior_server, mcp_session, write_config
from tests.test_http_auth import INITIALIZE, MCP_HEADERS, new_token_via_cli, simulated_ai
from tests.test_http_isolation import read_error, read_text
from tests.test_http_oauth import RESOURCE, local_issuer


async def test_a_jwt_whose_subject_is_a_token_name_is_not_that_principal_nor_the_admin(
    sim: Simulator, tmp_path: Path
) -> None:
    alice, alice_line = new_token_via_cli("alice")
    carol, carol_line = new_token_via_cli("carol")
    with local_issuer() as issuer:
        settings = {
            "oauth": {"issuer": issuer.url, "resource": RESOURCE},
            "http_tokens": {"alice": alice_line, "carol": carol_line},
            "admin_principal": "carol",
            "principals": {"oauth:dave": {"usd_per_day": 5}},
        }
        config = write_config(tmp_path / "c.json", simulated_ai(sim), settings)
        with junior_server(config) as server:
            async with mcp_session(server.url, alice) as real_alice:
                asked = await real_alice.call_tool("ask_one", {"ai": "ai", "prompt": "launch codes 1234"})
                thread = f"junior://threads/{(asked.structured_content or {})['thread_id']}"
                own = await read_text(real_alice, thread)
            async with mcp_session(server.url, issuer.token(sub="alice")) as fake_alice:
                refused = await read_error(fake_alice, thread)
                listed = await read_text(fake_alice, "junior://threads")
                await fake_alice.call_tool("ask_one", {"ai": "ai", "prompt": "spent on whose budget?"})
                fake_alice_view = (await fake_alice.call_tool("list_ais", {})).structured_content or {}
            async with mcp_session(server.url, issuer.token(sub="carol")) as fake_carol:
                fake_carol_view = (await fake_carol.call_tool("list_ais", {})).structured_content or {}
            async with mcp_session(server.url, carol) as real_carol:
                admin_view = (await real_carol.call_tool("list_ais", {})).structured_content or {}
    assert "launch codes" in own
    assert "launch codes" not in refused and "launch codes" not in listed
    assert fake_alice_view["principal"] == "oauth:alice"
    assert fake_carol_view["principal"] == "oauth:carol" and "principals" not in fake_carol_view
    assert admin_view["principal"] == "carol" and "alice" in admin_view["principals"]
    # Each spent on its own account: the JWT's call is not alice's.
    assert admin_view["principals"]["alice"]["calls"] == 1 and admin_view["principals"]["oauth:alice"]["calls"] == 1


async def test_jwts_whose_subject_is_empty_or_the_wildcard_get_401(tmp_path: Path) -> None:
    with local_issuer() as issuer:
        config = write_config(tmp_path / "c.json", {}, {"oauth": {"issuer": issuer.url, "resource": RESOURCE}})
        with junior_server(config) as server:
            async with httpx2.AsyncClient() as http:
                statuses = {
                    sub: (
                        await http.post(
                            server.url,
                            json=INITIALIZE,
                            headers=MCP_HEADERS | {"Authorization": f"Bearer {issuer.token(sub=sub)}"},
                        )
                    ).status_code
                    for sub in ("", "*", "   ", "dave")
                }
    assert statuses == {"": 401, "*": 401, "   ": 401, "dave": 200}


async def test_an_oauth_subject_can_be_the_admin_when_named_oauth_colon_subject(sim: Simulator, tmp_path: Path) -> None:
    with local_issuer() as issuer:
        settings = {"oauth": {"issuer": issuer.url, "resource": RESOURCE}, "admin_principal": "oauth:dave"}
        config = write_config(tmp_path / "c.json", simulated_ai(sim), settings)
        with junior_server(config) as server:
            assert server.events("config_warning") == []
            async with mcp_session(server.url, issuer.token(sub="dave")) as dave:
                view = (await dave.call_tool("list_ais", {})).structured_content or {}
    assert view["principal"] == "oauth:dave" and "principals" in view


async def test_the_session_cap_counts_a_jwt_and_a_token_of_the_same_name_as_two_principals(tmp_path: Path) -> None:
    alice, alice_line = new_token_via_cli("alice")
    with local_issuer() as issuer:
        settings = {
            "oauth": {"issuer": issuer.url, "resource": RESOURCE},
            "http_tokens": {"alice": alice_line},
            "max_sessions_per_principal": 1,
        }
        config = write_config(tmp_path / "c.json", {}, settings)
        with junior_server(config) as server:
            async with httpx2.AsyncClient() as http:

                async def initialize(token: str) -> int:
                    headers = MCP_HEADERS | {"Authorization": f"Bearer {token}"}
                    return (await http.post(server.url, json=INITIALIZE, headers=headers)).status_code

                statuses = [await initialize(alice), await initialize(issuer.token(sub="alice"))]
                statuses.append(await initialize(issuer.token(sub="alice")))
            server.wait_for_line('"session_refused"')  # the log line is read from stderr by another thread
            refused = server.events("session_refused")
    assert statuses == [200, 200, 503]
    assert [event["principal"] for event in refused] == ["oauth:alice"]
