"""Costs out of the box: the packaged price table, overrides, reported costs, cached and reasoning tokens, honest
unknowns, budgets that refuse what they cannot count, and totals."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price, wait_prices_updated_sync
from genai_prices.data_snapshot import get_snapshot, set_custom_snapshot
from hypothesis import given
from hypothesis import strategies as st
from mcp.client.client import Client

from junior_ai.ai.batch import render_items
from junior_ai.ai.call import call_ai_async
from junior_ai.ai.provider_batch import run_provider_batch
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import ReplyRule, Scenario, Simulator
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.config import AIConfig, JuniorConfig, Settings
from junior_ai.core.errors import InvalidInputError
from junior_ai.core.pricing import PriceBook, provider_id_for
from junior_ai.core.usage import TokenUsage
from junior_ai.server.app import build_server
from junior_ai.server.batch_cli import run_batch
from junior_ai.tools.arguments import AskBatchArgs, ConsensusArgs, DebateArgs, ListAIsArgs
from junior_ai.tools.batch import ask_batch
from junior_ai.tools.collab.consensus import consensus
from junior_ai.tools.collab.debate import debate
from junior_ai.tools.collab.render import render_debate
from junior_ai.tools.list_ais import list_ais
from junior_ai.tools.results import format_usd
from tests.conftest import OPENAI_KEY, ROOT, config_of, gemini_ai, openai_ai, run_junior_ai

QUESTION = "Postgres or SQLite for a single-user desktop app?"
BOOK = PriceBook(Settings())
PROVIDER_BATCH_CASES = [
    pytest.param(openai_ai, "openai", "openai", "gpt-4o-mini", id="openai"),
    pytest.param(gemini_ai, "gemini", "google", "gemini-2.5-flash", id="gemini"),
]


def table_figures(provider: str, model: str) -> tuple[Decimal, Decimal]:
    """The table's own input and output prices per million tokens, read through the library."""
    _, info = get_snapshot().find_provider_model(model, None, provider, None)
    prices = info.get_prices(datetime.now(tz=UTC))
    return prices.input_mtok, prices.output_mtok  # type: ignore[attr-defined]


def table_cost(usage: TokenUsage, model: str, provider: str) -> float:
    calculation = calc_price(
        Usage(
            input_tokens=usage.prompt_tokens,
            cache_read_tokens=usage.cached_tokens,
            output_tokens=usage.completion_tokens,
            output_reasoning_tokens=usage.reasoning_tokens,
        ),
        model,
        provider_id=provider,
    )
    return float(calculation.total_price)


@pytest.mark.parametrize(
    ("name", "provider", "model"),
    [
        ("openai", "openai", "gpt-4o-mini"),
        ("gemini", "google", "gemini-2.5-flash"),
        ("grok", "x-ai", "grok-3"),
        ("deepseek", "deepseek", "deepseek-chat"),
        ("mistral", "mistral", "mistral-small-latest"),
        ("groq", "groq", "llama-3.3-70b-versatile"),
    ],
)
def test_real_model_names_are_priced_from_the_packaged_table(name: str, provider: str, model: str) -> None:
    ai = AIConfig(name=name, provider="gemini" if name == "gemini" else "openai_compatible", model=model)
    rate = PriceBook(Settings()).rate(ai, model)
    expected_in, expected_out = table_figures(provider, model)
    assert rate.source == "table" and rate.provider == provider
    assert rate.input_per_million == pytest.approx(float(expected_in))
    assert rate.output_per_million == pytest.approx(float(expected_out))


def test_every_cloud_preset_maps_to_a_provider_the_table_knows() -> None:
    providers = {p.id for p in get_snapshot().providers}
    for name in ("openai", "gemini", "grok", "deepseek", "mistral", "groq", "together", "anthropic", "cohere"):
        ai = AIConfig(name=name, provider="openai_compatible", model="m", base_url="http://127.0.0.1:1/v1")
        assert provider_id_for(ai) in providers, name
    assert provider_id_for(AIConfig(name="openrouter", provider="openai_compatible", model="m")) in providers


def test_an_ai_with_its_own_name_is_priced_by_its_base_url_and_local_servers_are_free() -> None:
    book = PriceBook(Settings())
    proxy = AIConfig(
        name="work", provider="openai_compatible", model="gpt-4o-mini", base_url="https://api.openai.com/v1"
    )
    assert book.rate(proxy, "gpt-4o-mini").provider == "openai"
    for ai in (
        AIConfig(name="ollama", provider="openai_compatible", model="llama3.2", base_url="http://localhost:11434/v1"),
        AIConfig(name="mine", provider="openai_compatible", model="qwen", base_url="http://localhost:1234/v1"),
    ):
        rate = book.rate(ai, ai.model)
        assert (rate.source, rate.input_per_million, rate.output_per_million) == ("local", 0.0, 0.0)
        assert book.cost(ai, TokenUsage(prompt_tokens=10**6, completion_tokens=10**6), ai.model).usd == 0.0


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_call_costs_the_table_price_with_cached_and_reasoning_tokens(sim: Simulator, stream: bool) -> None:
    sim.set_scenario("gpt-4o-mini", Scenario(cached_tokens=5, reasoning_tokens=40))
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "openai", "gpt-4o-mini")))
    try:
        response = await call_ai_async(
            registry, "openai", GenerateRequest.from_prompt("a prompt long enough to have cached tokens"), stream=stream
        )
    finally:
        await registry.aclose()
    usage = response.usage
    assert (usage.cached_tokens, usage.reasoning_tokens) == (5, 40)
    assert usage.completion_tokens > 40  # the answer's own tokens plus the reasoning
    assert response.cost_source == "table"
    assert response.cost_usd == pytest.approx(table_cost(usage, "gpt-4o-mini", "openai"))
    uncached = table_cost(usage.model_copy(update={"cached_tokens": 0}), "gpt-4o-mini", "openai")
    assert response.cost_usd is not None and response.cost_usd < uncached  # the cache discount reached the bill


@pytest.mark.parametrize("stream", [False, True])
async def test_gemini_thinking_tokens_are_billed_as_output(sim: Simulator, stream: bool) -> None:
    sim.set_scenario("gemini-2.5-flash", Scenario(reasoning_tokens=300, cached_tokens=4))
    registry = await initialize_all_clients_async(config_of(gemini_ai(sim, "gemini", "gemini-2.5-flash")))
    try:
        response = await call_ai_async(
            registry,
            "gemini",
            GenerateRequest.from_prompt("think first, then answer this question at length"),
            stream=stream,
        )
    finally:
        await registry.aclose()
    usage = response.usage
    assert usage.reasoning_tokens == 300 and usage.cached_tokens == 4 and usage.completion_tokens > 300
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert response.cost_usd == pytest.approx(table_cost(usage, "gemini-2.5-flash", "google"))
    _, output_price = table_figures("google", "gemini-2.5-flash")
    answer_only = usage.model_copy(update={"completion_tokens": usage.completion_tokens - 300, "reasoning_tokens": 0})
    thinking_cost = (response.cost_usd or 0) - table_cost(answer_only, "gemini-2.5-flash", "google")
    assert thinking_cost == pytest.approx(300 * float(output_price) / 1e6)


async def test_settings_prices_override_the_table(sim: Simulator) -> None:
    config = config_of(
        openai_ai(sim, "openai", "gpt-4o-mini"),
        prices={"gpt-4o-mini": {"input_per_million": 1.0, "output_per_million": 2.0}},
    )
    registry = await initialize_all_clients_async(config)
    try:
        response = await call_ai_async(registry, "openai", GenerateRequest.from_prompt("hello"))
    finally:
        await registry.aclose()
    usage = response.usage
    assert response.cost_source == "settings"
    assert response.cost_usd == pytest.approx((usage.prompt_tokens * 1.0 + usage.completion_tokens * 2.0) / 1e6)


@pytest.mark.parametrize("stream", [False, True])
async def test_openrouters_reported_cost_wins_and_is_marked_reported(sim: Simulator, stream: bool) -> None:
    sim.set_scenario("openai/gpt-4o-mini", Scenario(reported_cost_usd=0.0123))
    config = config_of(
        openai_ai(sim, "openrouter", "openai/gpt-4o-mini"),
        prices={"openai/gpt-4o-mini": {"input_per_million": 99.0, "output_per_million": 99.0}},
    )
    registry = await initialize_all_clients_async(config)
    try:
        response = await call_ai_async(registry, "openrouter", GenerateRequest.from_prompt("hi"), stream=stream)
    finally:
        await registry.aclose()
    assert (response.cost_usd, response.cost_source) == (0.0123, "reported")


async def test_an_unknown_model_costs_null_not_zero_and_totals_count_it(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "openai", "gpt-4o-mini"), openai_ai(sim, "mystery", "no-such-model-xyz"))
    async with Client(build_server(config)) as client:
        many = (await client.call_tool("ask_many", {"prompt": "hello"})).structured_content or {}
        listing = await client.call_tool("list_ais", {})
    by_ai = {r["ai"]: r for r in many["results"]}
    # Other None fields are left out on the MCP wire; an unknown cost stays, as null.
    assert by_ai["mystery"]["cost_usd"] is None and by_ai["mystery"]["cost_known"] is False
    assert by_ai["openai"]["cost_known"] is True and by_ai["openai"]["cost_usd"] > 0
    assert {"cached_tokens", "reasoning_tokens"} <= set(by_ai["openai"]["usage"])  # on the wire, not in the schema
    assert many["unknown_cost_calls"] == 1 and many["cost_usd"] == pytest.approx(by_ai["openai"]["cost_usd"])
    ais = {ai["name"]: ai for ai in (listing.structured_content or {})["ais"]}
    assert ais["mystery"]["price"]["source"] == "unknown" and ais["mystery"]["unknown_cost_calls"] == 1
    assert '"no-such-model-xyz"' in ais["mystery"]["price"]["fix"]
    assert ais["openai"]["price"]["source"] == "table" and ais["openai"]["cost_usd"] > 0
    assert (listing.structured_content or {})["session_unknown_cost_calls"] == 1
    text = "\n".join(block.text for block in listing.content if block.type == "text")
    assert "1 call of unknown cost" in text and "per M in/out (table)" in text


def stance(recommendation: str, changed: bool | None = None) -> str:
    data: dict[str, Any] = {"recommendation": recommendation, "key_reasons": ["r"], "risks": ["k"], "confidence": 0.8}
    if changed is not None:
        data = {"critique": "fine", "changed": changed, **data}
    return json.dumps(data)


def script(sim: Simulator, model: str, round0: str) -> None:
    rules = (
        ReplyRule(contains="[stage: synthesis]", reply=json.dumps({"answer": "SQLite", "agreement": "majority"})),
        ReplyRule(contains="[stage: critique", reply=stance(round0[:40], changed=True)),
        ReplyRule(contains="[stage: independent answer]", reply=round0),
    )
    sim.set_scenario(model, Scenario(rules=rules))


async def run_consensus(config: JuniorConfig, **arguments: Any) -> Any:
    registry = await initialize_all_clients_async(config)
    try:
        return await consensus(registry, ConsensusArgs.parse(question=QUESTION, **arguments))
    finally:
        await registry.aclose()


async def test_max_cost_usd_refuses_up_front_naming_the_unpriced_ai_and_the_fix(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "openai", "gpt-4o-mini"), openai_ai(sim, "mystery", "no-such-model-xyz"))
    with pytest.raises(InvalidInputError) as caught:
        await run_consensus(config, max_cost_usd=1.0)
    message = str(caught.value)
    assert "mystery" in message and '"settings": {"prices": {"no-such-model-xyz"' in message
    assert sim.state.requests() == []  # refused before anything was spent


async def test_max_cost_usd_stops_a_consensus_before_a_stage_that_would_exceed_it(sim: Simulator) -> None:
    # Long first answers make the critique round (which quotes them all) far dearer than round 0.
    models = ("model-a", "model-b", "model-c")
    for model in models:
        script(sim, model, stance(f"{model} " + "because " * 5_000))
    prices = {m: {"input_per_million": 1000.0, "output_per_million": 1000.0} for m in models}
    config = config_of(*(openai_ai(sim, m[-1], m) for m in models), prices=prices)

    limited = await run_consensus(config, rounds=1, max_cost_usd=50.0)
    assert limited.critique_rounds_run == 0
    assert any("critique round 1 was skipped: it would exceed max_cost_usd" in n for n in limited.notes)
    assert limited.cost_usd is not None and 0 < limited.cost_usd <= 50.0
    assert not any("[stage: critique" in r.full_text for r in sim.state.requests())

    roomy = await run_consensus(config, rounds=1, max_cost_usd=10_000.0)
    assert roomy.critique_rounds_run == 1 and roomy.cost_usd is not None and roomy.cost_usd > limited.cost_usd


async def test_max_cost_usd_below_the_first_round_is_refused_before_any_call(sim: Simulator) -> None:
    prices = {"model-a": {"input_per_million": 1000.0, "output_per_million": 1000.0}}
    config = config_of(openai_ai(sim, "a", "model-a"), openai_ai(sim, "b", "model-a"), prices=prices)
    with pytest.raises(InvalidInputError, match="below the estimated"):
        await run_consensus(config, max_cost_usd=0.0001)
    assert sim.state.requests() == []


async def test_a_batch_summary_totals_its_costs_and_counts_the_unknown(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "openai", "gpt-4o-mini"), openai_ai(sim, "mystery", "no-such-model-xyz"))
    registry = await initialize_all_clients_async(config)
    try:
        summary = await ask_batch(
            registry, AskBatchArgs.parse(template="Define {item}", items=[f"w{i}" for i in range(6)], ais=["openai"])
        )
        mixed = await ask_batch(
            registry, AskBatchArgs.parse(template="Define {item}", items=["x", "y"], ais=["openai", "mystery"])
        )
    finally:
        await registry.aclose()
    assert summary.counts == {"ok": 6} and summary.unknown_cost_calls == 0
    assert summary.cost_usd == pytest.approx(table_cost(summary.usage, "gpt-4o-mini", "openai"))
    assert mixed.unknown_cost_calls == 2 and mixed.cost_usd is not None and mixed.cost_usd > 0


async def test_the_cli_batch_progress_line_shows_the_running_cost(sim: Simulator, tmp_path: Path) -> None:
    items = tmp_path / "items.txt"
    items.write_text("".join(f"thing {i}\n" for i in range(5)))
    out, progress = tmp_path / "out.jsonl", io.StringIO()
    code = await run_batch(
        config_of(openai_ai(sim, "openai", "gpt-4o-mini")),
        template="Item: {item}",
        items_path=items,
        ai="openai",
        out=out,
        max_concurrency=2,
        timeout_s=10,
        max_input_tokens=None,
        progress_stream=progress,
    )
    assert code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    total = sum(r["cost_usd"] for r in records)
    assert all(r["cost_known"] for r in records) and total > 0
    assert "5/5 done (0 already done), 0 failed" in progress.getvalue()
    assert format_usd(total) in progress.getvalue().splitlines()[-2]  # the last progress line
    assert f"cost {format_usd(total)}" in progress.getvalue().splitlines()[-1]


def test_starting_the_server_does_not_import_the_price_table() -> None:
    code = "import sys, junior_ai.server.app, junior_ai.server.cli; sys.exit('genai_prices' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0


def test_price_updates_stay_off_unless_the_setting_turns_them_on() -> None:
    ai = AIConfig(name="openai", provider="openai_compatible", model="gpt-4o-mini")
    quiet = PriceBook(Settings())
    quiet.rate(ai, "gpt-4o-mini")
    assert not quiet._updates.running  # the shipped table only: no fetch


def test_price_updates_when_turned_on_bring_new_prices_in(tmp_path: Path) -> None:
    listing = [
        {
            "id": "openai",
            "name": "OpenAI",
            "api_pattern": r"https://api\.openai\.com",
            "models": [
                {"id": "gpt-4o-mini", "match": {"equals": "gpt-4o-mini"}, "prices": {"input_mtok": 7, "output_mtok": 9}}
            ],
        }
    ]
    body = json.dumps(listing).encode()

    class PriceList(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), PriceList)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ai = AIConfig(name="openai", provider="openai_compatible", model="gpt-4o-mini")
    book = PriceBook(Settings(price_updates=True))
    book._updates.url = f"http://127.0.0.1:{server.server_address[1]}/data.json"  # loopback, never the real list
    try:
        book.rate(ai, "gpt-4o-mini")  # the first lookup starts the updater
        assert book._updates.running
        assert wait_prices_updated_sync(timeout=60)
        rate = book.rate(ai, "gpt-4o-mini")
        assert (rate.input_per_million, rate.output_per_million) == (7.0, 9.0)
    finally:
        book.close()
        server.shutdown()
        server.server_close()
        set_custom_snapshot(None)  # the rest of the session prices from the shipped table again
    assert not book._updates.running


def test_doctor_shows_each_price_and_flags_the_unknown(sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(
        json.dumps(
            {
                "openai": {"api_key": OPENAI_KEY, "base_url": sim.openai_base_url},
                "mystery": {
                    "provider": "openai_compatible",
                    "model": "no-such-model-xyz",
                    "api_key": OPENAI_KEY,
                    "base_url": sim.openai_base_url,
                },
            }
        )
    )
    path.chmod(0o600)
    result = run_junior_ai("--credentials", str(path), "doctor")
    assert result.returncode == 0, result.stdout + result.stderr  # an unknown price is a warning, not a failure
    price_in, price_out = table_figures("openai", "gpt-4o-mini")
    openai_row = next(line for line in result.stdout.splitlines() if line.startswith("openai "))
    assert f"${float(price_in):g}/${float(price_out):g} (table)" in openai_row
    assert "warning: mystery: no price known for model 'no-such-model-xyz'" in result.stdout
    assert '"settings": {"prices": {"no-such-model-xyz"' in result.stdout


@pytest.mark.parametrize(("make", "name", "provider", "model"), PROVIDER_BATCH_CASES)
async def test_provider_batch_items_are_billed_at_the_tables_batch_rates(
    sim: Simulator, make: Any, name: str, provider: str, model: str
) -> None:
    registry = await initialize_all_clients_async(config_of(make(sim, name, model)))
    try:
        results = await run_provider_batch(
            registry, name, list(render_items("Describe {item}", ["a", "b"])), poll_initial_s=0.01, poll_max_s=0.02
        )
    finally:
        await registry.aclose()
    for result in results:
        assert result.ok and result.usage is not None
        usage = Usage(input_tokens=result.usage.prompt_tokens, output_tokens=result.usage.completion_tokens)
        batch = calc_price(usage, model, provider_id=provider, price_context={"processing": "batch"})
        live = calc_price(usage, model, provider_id=provider)
        assert result.cost_usd == pytest.approx(float(batch.total_price)) and batch.total_price < live.total_price


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "0.5", True, None])
def test_a_nonsense_reported_cost_is_ignored(value: Any) -> None:
    from junior_ai.ai.openai_compat import _reported_cost

    assert _reported_cost({"cost": value}) is None
    assert _reported_cost({"cost": 0.25}) == 0.25


async def test_a_debate_carries_its_total_and_the_count_of_unknown_costs(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "openai", "gpt-4o-mini"), openai_ai(sim, "mystery", "no-such-model-xyz"))
    registry = await initialize_all_clients_async(config)
    try:
        result = await debate(registry, DebateArgs.parse(topic="Tabs or spaces?", rounds=1, judge="openai"))
    finally:
        await registry.aclose()
    assert result.unknown_cost_calls == 1  # mystery's one turn; openai's turn and verdict are priced
    assert result.cost_usd is not None and result.cost_usd > 0
    assert "1 call of unknown cost" in render_debate(result)


async def test_list_ais_says_openrouter_calls_are_billed_at_the_reported_cost(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "openrouter", "openai/gpt-4o-mini")))
    try:
        listing = await list_ais(registry, ListAIsArgs())
    finally:
        await registry.aclose()
    price = listing.ais[0].price
    expected_in, expected_out = table_figures("openrouter", "openai/gpt-4o-mini")
    assert price is not None and price.source == "table" and price.reported  # the figures are the table's
    assert (price.input_per_million, price.output_per_million) == (float(expected_in), float(expected_out))


def test_a_zero_price_in_settings_declares_a_model_free_not_unknown() -> None:
    ai = AIConfig(name="mine", provider="openai_compatible", model="house-model", base_url="https://llm.example/v1")
    free = {"house-model": {"input_per_million": 0.0, "output_per_million": 0.0}}
    cost = PriceBook(Settings(prices=free)).cost(ai, TokenUsage(prompt_tokens=500, completion_tokens=500), ai.model)  # type: ignore[arg-type]
    assert (cost.usd, cost.source) == (0.0, "settings")
    assert PriceBook(Settings()).cost(ai, TokenUsage(prompt_tokens=500), ai.model).usd is None


FLAT_AND_TIERED = [
    ("openai", "openai", "gpt-4o-mini"),
    ("openai", "openai", "o3-mini"),
    ("gemini", "google", "gemini-2.5-flash"),
    ("grok", "x-ai", "grok-3"),
    ("deepseek", "deepseek", "deepseek-chat"),
    ("anthropic", "anthropic", "claude-sonnet-4-5"),
    ("gemini", "google", "gemini-2.5-pro"),
]


@given(
    case=st.sampled_from(FLAT_AND_TIERED),
    prompt=st.integers(0, 400_000),
    cached=st.integers(0, 400_000),
    completion=st.integers(0, 100_000),
    reasoning=st.integers(0, 100_000),
)
def test_every_call_is_priced_exactly_as_the_library_prices_it(
    case: tuple[str, str, str], prompt: int, cached: int, completion: int, reasoning: int
) -> None:
    name, provider, model = case
    usage = TokenUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cached_tokens=min(cached, prompt),
        reasoning_tokens=min(reasoning, completion),
    )
    ai = AIConfig(name=name, provider="gemini" if name == "gemini" else "openai_compatible", model=model)
    cost = BOOK.cost(ai, usage, model)
    assert cost.source == "table"
    assert cost.usd == pytest.approx(table_cost(usage, model, provider), rel=1e-12, abs=1e-15)


async def test_a_consensus_without_a_budget_runs_with_an_unpriced_ai_and_counts_its_calls(sim: Simulator) -> None:
    for model in ("gpt-4o-mini", "no-such-model-xyz"):
        script(sim, model, stance(f"{model} says SQLite"))
    config = config_of(openai_ai(sim, "openai", "gpt-4o-mini"), openai_ai(sim, "mystery", "no-such-model-xyz"))
    result = await run_consensus(config, rounds=1, judge="openai")
    assert result.critique_rounds_run == 1
    assert result.unknown_cost_calls == 2  # mystery's round 0 and critique; openai's calls and the verdict are priced
    assert result.cost_usd is not None and result.cost_usd > 0


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet-4-5", "my-priced-model"])
def test_negative_token_counts_from_a_provider_never_make_a_negative_cost(model: str) -> None:
    book = PriceBook(Settings(prices={"my-priced-model": {"input_per_million": 1.0, "output_per_million": 1.0}}))  # type: ignore[dict-item]
    ai = AIConfig(name="openai" if model.startswith("gpt") else "anthropic", provider="openai_compatible", model=model)
    nonsense = TokenUsage(prompt_tokens=-500, completion_tokens=10, cached_tokens=-3, reasoning_tokens=99)
    cost = book.cost(ai, nonsense, model)
    assert cost.usd is not None and cost.usd >= 0
