"""list_ais over real HTTP with several tokens: each principal sees only its own figures per AI (calls, errors,
tokens, cost, latency), never the process-wide ones that would show another principal's activity; the admin
principal also sees everyone's totals; the server's configuration warnings reach only the admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from junior_ai.ai.simulator import Simulator
from tests.http_servers import junior_server, mcp_session, write_config
from tests.test_http_auth import new_token_via_cli, simulated_ai
from tests.test_server_tools import text_of


def row(listing: Any) -> dict[str, Any]:
    (ai,) = (listing.structured_content or {})["ais"]
    return dict(ai)


async def test_list_ais_shows_each_principal_only_its_own_calls_and_latency_and_the_admin_the_totals(
    sim: Simulator, tmp_path: Path
) -> None:
    alice, alice_hash = new_token_via_cli("alice")
    bob, bob_hash = new_token_via_cli("bob")
    ops, ops_hash = new_token_via_cli("ops")
    settings = {
        "http_tokens": {"alice": alice_hash, "bob": bob_hash, "ops": ops_hash},
        "admin_principal": "ops",
        "principals": {"carol": {"usd_per_day": 1}},  # no token named carol: a configuration warning
    }
    config = write_config(tmp_path / "c.json", simulated_ai(sim), settings)
    with junior_server(config) as server:
        async with mcp_session(server.url, alice) as client:
            for prompt in ("one", "two"):
                answer = await client.call_tool("ask_one", {"ai": "ai", "prompt": prompt})
                assert not answer.is_error, text_of(answer)
            alices = await client.call_tool("list_ais", {})
        async with mcp_session(server.url, bob) as client:
            bobs = await client.call_tool("list_ais", {})
        async with mcp_session(server.url, ops) as client:
            admins = await client.call_tool("list_ais", {})

    mine, his, admin_row = row(alices), row(bobs), row(admins)
    assert mine["calls"] == 2 and mine.get("mean_latency_ms") is not None and mine["tokens"]["total_tokens"] > 0
    # bob has asked nothing: nothing of alice's activity shows through, not even how long her calls took
    assert his["calls"] == 0 and his["errors"] == 0 and his["tokens"]["total_tokens"] == 0
    assert his.get("mean_latency_ms") is None and his.get("cost_usd") is None
    assert "mean latency -" in text_of(bobs)
    assert admin_row["calls"] == 0 and admin_row.get("mean_latency_ms") is None  # the admin's own row is its own
    admin = admins.structured_content or {}
    assert admin["principals"]["alice"]["calls"] == 2 and admin["total_usage"]["total_tokens"] > 0
    assert (bobs.structured_content or {}).get("principals") is None
    # configuration warnings are the operator's: they name other principals
    assert (bobs.structured_content or {})["warnings"] == [] and "carol" not in text_of(bobs)
    assert any("carol" in warning for warning in admin["warnings"])
