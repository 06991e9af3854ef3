"""Model catalog, `name:model` routing, aliases and allowlists, parameter adaptation, and cost accounting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp.client.client import Client

from junior_ai.ai.catalog import ModelCatalog
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Scenario, Simulator
from junior_ai.core.config import JuniorConfig, Settings
from junior_ai.server.app import build_server
from tests.conftest import config_of, gemini_ai, openai_ai
from tests.test_server_tools import text_of


def with_cache(config: JuniorConfig, tmp_path: Path, **settings: Any) -> JuniorConfig:
    merged = config.settings.model_copy(update={"cache_dir": str(tmp_path), **settings})
    return config.model_copy(update={"settings": Settings.model_validate(merged.model_dump())})


async def test_list_ais_with_models_lists_both_protocols_and_caches_on_disk(sim: Simulator, tmp_path: Path) -> None:
    for model in ("alpha-1", "alpha-2", "beta-1"):
        sim.set_scenario(model, Scenario())
    config = with_cache(config_of(openai_ai(sim, "oai", "alpha-1"), gemini_ai(sim, "gem", "beta-1")), tmp_path)
    async with Client(build_server(config)) as client:
        first = await client.call_tool("list_ais", {"models": True})
        second = await client.call_tool("list_ais", {"models": True})
    ais = {a["name"]: a for a in (first.structured_content or {})["ais"]}
    assert ais["oai"]["models"] == ["alpha-1", "alpha-2", "beta-1"] and ais["oai"]["models_source"] == "provider"
    assert ais["gem"]["models"] == ["alpha-1", "alpha-2", "beta-1"] and ais["gem"]["models_source"] == "provider"
    assert {a["models_source"] for a in (second.structured_content or {})["ais"]} == {"cache"}
    cached = json.loads((tmp_path / "models.json").read_text())
    assert cached["gem"]["base_url"] == sim.gemini_base_url and cached["gem"]["models"] == ais["gem"]["models"]
    assert "oai models (provider): alpha-1, alpha-2, beta-1" in text_of(first)


async def test_listing_expires_after_the_ttl_and_falls_back_to_config(sim: Simulator, tmp_path: Path) -> None:
    sim.set_scenario("only-model", Scenario())
    now = [1_000.0]
    catalog = ModelCatalog(tmp_path, ttl_s=60, clock=lambda: now[0])
    dead = openai_ai(sim, "dead", "configured-model", base_url="http://127.0.0.1:9/v1", timeout_s=2)
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "live", "only-model"), dead))
    try:
        assert (await catalog.listing(registry.get("live"))).source == "provider"
        now[0] += 30
        assert (await catalog.listing(registry.get("live"))).source == "cache"
        now[0] += 31
        assert (await catalog.listing(registry.get("live"))).source == "provider"  # expired: asked again
        fallback = await catalog.listing(registry.get("dead"))
    finally:
        await registry.aclose()
    assert fallback.source == "config" and fallback.models == ["configured-model"]
    assert "could not list its models" in (fallback.note or "")


async def test_name_colon_model_routes_to_that_model(sim: Simulator, tmp_path: Path) -> None:
    config = with_cache(config_of(openai_ai(sim, "oai", "default-model")), tmp_path)
    async with Client(build_server(config)) as client:
        result = await client.call_tool("ask_one", {"ai": "oai:special-model", "prompt": "which model?"})
        many = await client.call_tool("ask_many", {"prompt": "both", "ais": ["oai", "oai:special-model"]})
    assert (result.structured_content or {})["model"] == "special-model"
    assert [r.model for r in sim.state.requests()][:1] == ["special-model"]
    results = (many.structured_content or {})["results"]
    assert [(r["ai"], r["model"]) for r in results] == [
        ("oai", "default-model"),
        ("oai:special-model", "special-model"),
    ]


async def test_aliases_resolve_and_typos_get_a_did_you_mean(sim: Simulator, tmp_path: Path) -> None:
    config = with_cache(
        config_of(
            openai_ai(sim, "oai", "gpt-4o", allowed_models=("gpt-4o", "gpt-4o-mini")), gemini_ai(sim, "gem", "gem-pro")
        ),
        tmp_path,
    )
    config = config.model_copy(update={"aliases": {"fast": "oai:gpt-4o-mini", "deep": "gem"}})
    async with Client(build_server(config)) as client:
        fast = await client.call_tool("ask_one", {"ai": "fast", "prompt": "hi"})
        model_typo = await client.call_tool("ask_one", {"ai": "oai:gpt-4o-mino", "prompt": "hi"})
        ai_typo = await client.call_tool("ask_one", {"ai": "fsat", "prompt": "hi"})
        not_allowed = await client.call_tool("ask_one", {"ai": "oai:o3", "prompt": "hi"})
    assert (fast.structured_content or {})["model"] == "gpt-4o-mini" and (fast.structured_content or {})["ai"] == "fast"
    assert model_typo.is_error and "Did you mean 'gpt-4o-mini'" in text_of(model_typo)
    assert ai_typo.is_error and "Did you mean 'fast'?" in text_of(ai_typo) and "aliases: deep, fast" in text_of(ai_typo)
    assert not_allowed.is_error and "no model 'o3' in allowed_models" in text_of(not_allowed)
    assert {r.model for r in sim.state.requests()} == {"gpt-4o-mini"}  # nothing else was called


@pytest.mark.parametrize(
    ("rejected", "arguments", "sent_after", "note"),
    [
        ("temperature", {"temperature": 0.2}, lambda body: "temperature" not in body, "temperature was not sent"),
        (
            "max_tokens",
            {"max_tokens": 50},
            lambda body: body.get("max_completion_tokens") == 50 and "max_tokens" not in body,
            "max_tokens was sent as max_completion_tokens",
        ),
    ],
)
async def test_a_rejected_parameter_is_adapted_once_and_remembered(
    sim: Simulator, rejected: str, arguments: dict[str, Any], sent_after: Any, note: str
) -> None:
    sim.set_scenario("reasoner", Scenario(rejects=(rejected,)))
    config = config_of(openai_ai(sim, "oai", "reasoner"))
    async with Client(build_server(config)) as client:
        first = await client.call_tool("ask_one", {"ai": "oai", "prompt": "think", **arguments})
        second = await client.call_tool("ask_one", {"ai": "oai", "prompt": "again", **arguments})
    requests = sim.state.requests("reasoner")
    assert [r.status for r in requests] == [400, 200, 200]  # one rejection, then adapted every time
    assert rejected in requests[0].body and sent_after(requests[1].body) and sent_after(requests[2].body)
    for result in (first, second):
        assert not result.is_error
        assert any(note in adaptation for adaptation in (result.structured_content or {})["adaptations"])


async def test_cost_is_computed_per_call_and_totalled_per_session(sim: Simulator) -> None:
    config = config_of(
        openai_ai(sim, "oai", "priced"),
        gemini_ai(sim, "gem", "unpriced"),
        prices={"priced": {"input_per_million": 2.0, "output_per_million": 10.0}},
    )
    async with Client(build_server(config)) as client:
        many = await client.call_tool("ask_many", {"prompt": "what does it cost?"})
        listing = await client.call_tool("list_ais", {})
    results = {r["ai"]: r for r in (many.structured_content or {})["results"]}
    usage = results["oai"]["usage"]
    expected = (usage["prompt_tokens"] * 2.0 + usage["completion_tokens"] * 10.0) / 1_000_000
    assert results["oai"]["cost_usd"] == pytest.approx(expected)
    assert results["gem"]["cost_usd"] is None and results["gem"]["cost_known"] is False  # no price, no made-up cost
    assert (many.structured_content or {})["cost_usd"] == pytest.approx(expected)
    session = listing.structured_content or {}
    assert session["session_cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert session["session_usage"]["total_tokens"] == sum(r["usage"]["total_tokens"] for r in results.values())
