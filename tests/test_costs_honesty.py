"""Costs that stay honest under attack: answers without token counts, absurd figures, budgets with stand-in judges,
hosts we cannot identify, prices that change with the clock, labels that say where a figure came from, keys pasted
in odd places, and mistyped price settings (the issue 16 attack report)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from mcp.client.client import Client
from pydantic import ValidationError

from junior_ai.ai.batch import render_items
from junior_ai.ai.call import call_ai_async
from junior_ai.ai.provider_batch import run_provider_batch
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, ReplyRule, Scenario, Simulator
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.config import AIConfig, JuniorConfig, Settings, load_config
from junior_ai.core.errors import ConfigError, InvalidInputError
from junior_ai.core.pricing import PriceBook
from junior_ai.core.usage import TokenUsage
from junior_ai.server.app import build_server
from junior_ai.tools.arguments import ConsensusArgs, ListAIsArgs
from junior_ai.tools.collab.consensus import consensus
from junior_ai.tools.list_ais import list_ais
from junior_ai.tools.results import format_usd
from tests.conftest import OPENAI_KEY, config_of, gemini_ai, openai_ai, run_junior_ai

QUESTION = "Postgres or SQLite for a single-user desktop app?"
PASTED_KEY = "sk-proj-PASTEDKEYabcdefghijklmnop0123"


def stance(recommendation: str) -> str:
    return json.dumps({"recommendation": recommendation, "key_reasons": ["r"], "risks": ["k"], "confidence": 0.8})


def script(sim: Simulator, model: str, round0: str, **scenario: Any) -> None:
    rules = (
        ReplyRule(contains="[stage: synthesis]", reply=json.dumps({"answer": "SQLite", "agreement": "majority"})),
        ReplyRule(
            contains="[stage: critique", reply=json.dumps({"critique": "ok", "changed": False, **json.loads(round0)})
        ),
        ReplyRule(contains="[stage: independent answer]", reply=round0),
    )
    sim.set_scenario(model, Scenario(rules=rules, **scenario))


async def run_consensus(config: JuniorConfig, **arguments: Any) -> Any:
    registry = await initialize_all_clients_async(config)
    try:
        return await consensus(registry, ConsensusArgs.parse(question=QUESTION, **arguments))
    finally:
        await registry.aclose()


def write_credentials(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


# 1. An answer without token counts is of unknown cost, not free.


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("make", [openai_ai, gemini_ai], ids=["openai", "gemini"])
async def test_an_answer_without_token_counts_has_unknown_cost_not_zero(
    sim: Simulator, make: Any, stream: bool
) -> None:
    name, model = ("openai", "gpt-4o-mini") if make is openai_ai else ("gemini", "gemini-2.5-flash")
    sim.set_scenario(model, Scenario(omit_usage=True))
    registry = await initialize_all_clients_async(config_of(make(sim, name, model)))
    try:
        response = await call_ai_async(registry, name, GenerateRequest.from_prompt("hello"), stream=stream)
        listing = await list_ais(registry, ListAIsArgs())
    finally:
        await registry.aclose()
    assert response.text and not response.usage_known
    assert (response.cost_usd, response.cost_source) == (None, "unknown")
    info = listing.ais[0]
    assert info.unknown_cost_calls == 1 and info.cost_usd is None
    assert listing.session_cost_usd is None and listing.session_unknown_cost_calls == 1


@pytest.mark.parametrize(
    ("make", "name", "model"),
    [(openai_ai, "openai", "gpt-4o-mini"), (gemini_ai, "gemini", "gemini-2.5-flash")],
    ids=["openai", "gemini"],
)
async def test_a_provider_batch_item_without_token_counts_has_unknown_cost(
    sim: Simulator, make: Any, name: str, model: str
) -> None:
    sim.set_scenario(model, Scenario(omit_usage=True))
    registry = await initialize_all_clients_async(config_of(make(sim, name, model)))
    try:
        results = await run_provider_batch(
            registry, name, list(render_items("Describe {item}", ["a", "b"])), poll_initial_s=0.01, poll_max_s=0.02
        )
    finally:
        await registry.aclose()
    assert [(r.ok, r.cost_usd) for r in results] == [(True, None), (True, None)]


async def test_max_cost_usd_stops_the_stages_after_an_answer_without_token_counts(sim: Simulator) -> None:
    script(sim, "model-a", stance("SQLite"))
    script(sim, "model-n", stance("SQLite too"), omit_usage=True)
    prices = {m: {"input_per_million": 1.0, "output_per_million": 1.0} for m in ("model-a", "model-n")}
    config = config_of(openai_ai(sim, "a", "model-a"), openai_ai(sim, "n", "model-n"), prices=prices)
    result = await run_consensus(config, rounds=1, max_cost_usd=100.0)
    assert result.critique_rounds_run == 0 and result.unknown_cost_calls == 1
    assert any("came without token counts" in note for note in result.notes)
    assert not any("[stage: critique" in r.full_text for r in sim.state.requests())


# 2. An absurd reported figure never reaches a total.


async def test_an_absurd_reported_cost_is_unknown_and_every_total_stays_a_number(sim: Simulator) -> None:
    sim.set_scenario("openai/gpt-4o-mini", Scenario(reported_cost_usd=1e308))
    config = config_of(openai_ai(sim, "openrouter", "openai/gpt-4o-mini"), openai_ai(sim, "openai", "gpt-4o-mini"))
    async with Client(build_server(config)) as client:
        for _ in range(2):
            many = await client.call_tool("ask_many", {"prompt": "hello"})
            listing = await client.call_tool("list_ais", {})
            assert not many.is_error and not listing.is_error
    structured = many.structured_content or {}
    by_ai = {r["ai"]: r for r in structured["results"]}
    assert by_ai["openrouter"]["cost_known"] is False and by_ai["openrouter"]["cost_usd"] is None
    assert 0 < structured["cost_usd"] < 1  # openai's priced answer only
    session = (listing.structured_content or {})["session_cost_usd"]
    assert 0 < session < 1 and (listing.structured_content or {})["session_unknown_cost_calls"] == 2
    text = "\n".join(block.text for block in listing.content if block.type == "text")
    assert "inf" not in text.lower() and "e+" not in text


def test_a_mistyped_huge_price_gives_an_unknown_cost_not_a_300_digit_figure() -> None:
    ai = AIConfig(name="mine", provider="openai_compatible", model="m", base_url="https://llm.example/v1")
    with pytest.raises(ValidationError, match="input_per_million"):  # a 300-digit price is refused at load
        Settings(prices={"m": {"input_per_million": 1e300, "output_per_million": 1.0}})  # type: ignore[dict-item]
    # The largest price settings take, on a huge call: an absurd figure is unknown, not printed.
    book = PriceBook(Settings(prices={"m": {"input_per_million": 1e6, "output_per_million": 1.0}}))  # type: ignore[dict-item]
    assert book.cost(ai, TokenUsage(prompt_tokens=10**6, completion_tokens=1), "m").usd is None


# 3. A stand-in judge is checked against what is left of the budget; overspend is said.


async def test_a_stand_in_judge_that_would_exceed_max_cost_usd_is_skipped(sim: Simulator) -> None:
    # Long first answers make any judge that reads them dear at the answerers' price; the planned judge is cheap.
    for model in ("model-a", "model-b"):
        script(sim, model, stance(f"{model} " + "because " * 5_000))
    sim.set_scenario("model-j", Scenario(fault=Fault(kind="status", status=500)))
    prices = {
        "model-a": {"input_per_million": 1000.0, "output_per_million": 1000.0},
        "model-b": {"input_per_million": 1000.0, "output_per_million": 1000.0},
        "model-j": {"input_per_million": 1.0, "output_per_million": 1.0},
    }
    config = config_of(
        openai_ai(sim, "a", "model-a"),
        openai_ai(sim, "b", "model-b"),
        openai_ai(sim, "j", "model-j"),
        prices=prices,
        max_attempts=1,
    )
    result = await run_consensus(config, ais=["a", "b"], judge="j", rounds=0, max_cost_usd=35.0)
    assert result.cost_usd is not None and result.cost_usd <= 35.0
    assert any("judge a was skipped: it would exceed max_cost_usd" in note for note in result.notes)
    synthesis_asked = {r.model for r in sim.state.requests() if "[stage: synthesis]" in r.full_text}
    assert synthesis_asked == {"model-j"}


async def test_a_consensus_says_when_reported_costs_ended_above_max_cost_usd(sim: Simulator) -> None:
    script(sim, "or-model", stance("SQLite"), reported_cost_usd=5.0)
    script(sim, "gpt-4o-mini", stance("SQLite as well"))
    cheap = {"or-model": {"input_per_million": 0.01, "output_per_million": 0.01}}
    config = config_of(openai_ai(sim, "openrouter", "or-model"), openai_ai(sim, "openai", "gpt-4o-mini"), prices=cheap)
    result = await run_consensus(config, rounds=1, judge="openai", max_cost_usd=1.0)
    assert result.cost_usd is not None and result.cost_usd > 1.0
    assert any("more than max_cost_usd=1.0" in note for note in result.notes)


# 4. Hosts: local ports on local networks are free; unknown hosts are not guessed from the model name.


@pytest.mark.parametrize(
    "base_url", ["http://192.168.1.5:11434/v1", "http://127.0.0.2:11434/v1", "http://10.0.0.7:1234/v1"]
)
def test_a_local_server_on_its_default_port_is_free_at_any_loopback_or_lan_address(base_url: str) -> None:
    ai = AIConfig(name="box", provider="openai_compatible", model="deepseek-chat", base_url=base_url)
    rate = PriceBook(Settings()).rate(ai, ai.model)
    assert (rate.source, rate.input_per_million, rate.output_per_million) == ("local", 0.0, 0.0)


@pytest.mark.parametrize("base_url", ["https://llm.example.net/v1", "http://93.184.216.34:11434/v1"])
def test_an_ai_at_an_unknown_host_is_not_priced_from_its_model_name(base_url: str) -> None:
    ai = AIConfig(name="box", provider="openai_compatible", model="deepseek-chat", base_url=base_url)
    book = PriceBook(Settings())
    assert book.rate(ai, ai.model).source == "unknown"
    assert book.cost(ai, TokenUsage(prompt_tokens=100, completion_tokens=100), ai.model).usd is None


# 5. Prices that change with the time of day follow the clock.


def test_a_time_of_day_price_is_looked_up_at_the_time_of_each_call() -> None:
    times = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC), datetime(2026, 11, 23, 20, 0, tzinfo=UTC)]
    now = [times[0]]
    book = PriceBook(Settings(), clock=lambda: now[0])
    ai = AIConfig(name="deepseek", provider="openai_compatible", model="deepseek-chat")
    usage = TokenUsage(prompt_tokens=10_000, completion_tokens=2_000)
    seen = []
    for when in times:
        now[0] = when
        expected = calc_price(
            Usage(input_tokens=10_000, output_tokens=2_000), "deepseek-chat", provider_id="deepseek",
            genai_request_timestamp=when,
        )  # fmt: skip
        listed = calc_price(
            Usage(input_tokens=1_000), "deepseek-chat", provider_id="deepseek", genai_request_timestamp=when
        )
        rate = book.rate(ai, "deepseek-chat")
        assert rate.input_per_million == pytest.approx(float(listed.total_price * 1000))
        assert book.cost(ai, usage, "deepseek-chat").usd == pytest.approx(float(expected.total_price))
        seen.append(rate.input_per_million)
    assert seen[0] != seen[1]  # the table's two prices for the two times of day, not the first one cached


# 6. Labels say where a figure came from; only OpenRouter's usage.cost is billed.


async def test_a_usage_cost_from_a_provider_other_than_openrouter_is_ignored(sim: Simulator) -> None:
    sim.set_scenario("gpt-4o-mini", Scenario(reported_cost_usd=5.0))
    sim.set_scenario("house-model", Scenario(reported_cost_usd=5.0))
    config = config_of(
        openai_ai(sim, "openai", "gpt-4o-mini"),
        openai_ai(sim, "house", "house-model"),
        prices={"house-model": {"input_per_million": 1.0, "output_per_million": 1.0}},
    )
    registry = await initialize_all_clients_async(config)
    try:
        table = await call_ai_async(registry, "openai", GenerateRequest.from_prompt("hi"))
        settings = await call_ai_async(registry, "house", GenerateRequest.from_prompt("hi"))
    finally:
        await registry.aclose()
    assert table.cost_source == "table" and table.cost_usd is not None and table.cost_usd < 0.01
    usage = settings.usage
    assert settings.cost_source == "settings"
    assert settings.cost_usd == pytest.approx((usage.prompt_tokens + usage.completion_tokens) / 1e6)


async def test_list_ais_labels_openrouters_table_figures_as_table_and_says_calls_bill_as_reported(
    sim: Simulator,
) -> None:
    async with Client(build_server(config_of(openai_ai(sim, "openrouter", "openai/gpt-4o-mini")))) as client:
        listing = await client.call_tool("list_ais", {})
    price = (listing.structured_content or {})["ais"][0]["price"]
    assert price["source"] == "table" and price["reported"] is True
    text = "\n".join(block.text for block in listing.content if block.type == "text")
    assert "(table; calls billed at the provider's reported cost)" in text


# 7. doctor flags an OpenRouter model whose price is not known in advance.


def test_doctor_flags_an_openrouter_model_the_table_does_not_price(sim: Simulator, tmp_path: Path) -> None:
    path = write_credentials(
        tmp_path,
        {"openrouter": {"api_key": OPENAI_KEY, "base_url": sim.openai_base_url, "model": "acme/unlisted-model"}},
    )
    result = run_junior_ai("--credentials", str(path), "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning: openrouter: no price known in advance for model 'acme/unlisted-model'" in result.stdout
    assert '"settings": {"prices": {"acme/unlisted-model"' in result.stdout


# 8. Unknown cost is shown as unknown, null on the wire; small costs keep their digits; partial answers count.


async def test_an_unknown_cost_is_null_on_the_wire_and_said_in_the_text(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "mystery", "no-such-model-xyz"))
    async with Client(build_server(config)) as client:
        one = await client.call_tool("ask_one", {"ai": "mystery", "prompt": "hello"})
        listing = await client.call_tool("list_ais", {})
    structured = one.structured_content or {}
    assert "cost_usd" in structured and structured["cost_usd"] is None and structured["cost_known"] is False
    assert "cost unknown" in "\n".join(block.text for block in one.content if block.type == "text")
    info = (listing.structured_content or {})["ais"][0]
    assert info["cost_usd"] is None and info["unknown_cost_calls"] == 1  # not 0.0: nothing known was spent
    assert (listing.structured_content or {})["session_cost_usd"] is None


def test_the_cli_ask_says_when_a_cost_is_unknown(sim: Simulator, tmp_path: Path) -> None:
    path = write_credentials(
        tmp_path,
        {
            "mystery": {
                "provider": "openai_compatible",
                "model": "no-such-model-xyz",
                "api_key": OPENAI_KEY,
                "base_url": sim.openai_base_url,
            }
        },
    )
    result = run_junior_ai("--credentials", str(path), "ask", "hello")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cost unknown" in result.stdout


@pytest.mark.parametrize(
    ("usd", "shown"), [(0.0000318, "$0.00003180"), (0.00123, "$0.001230"), (0.0123, "$0.0123"), (0.0, "$0")]
)
def test_a_small_cost_is_shown_with_the_digits_it_needs(usd: float, shown: str) -> None:
    assert format_usd(usd) == shown


async def test_a_partial_answer_counts_as_unknown_cost_in_ask_many_and_list_ais_alike(sim: Simulator) -> None:
    sim.set_scenario("stalls", Scenario(chunk_count=3, fault=Fault(kind="stall")))
    config = config_of(openai_ai(sim, "staller", "stalls"), idle_timeout_s=0.3, max_attempts=1, retry_base_delay_s=0.02)
    async with Client(build_server(config)) as client:
        many = (await client.call_tool("ask_many", {"prompt": "hello", "deadline_s": 20})).structured_content or {}
        listing = (await client.call_tool("list_ais", {})).structured_content or {}
    assert many["results"][0]["partial"] is True
    assert many["unknown_cost_calls"] == 1
    assert listing["ais"][0]["unknown_cost_calls"] == 1 and listing["session_unknown_cost_calls"] == 1


# 9. A key pasted into "model" never comes back through a price message.


async def test_a_key_pasted_into_model_never_appears_in_price_output(sim: Simulator, tmp_path: Path) -> None:
    config = config_of(openai_ai(sim, "mystery", PASTED_KEY))
    async with Client(build_server(config)) as client:
        listing = await client.call_tool("list_ais", {})
    assert PASTED_KEY not in listing.model_dump_json()
    assert "[REDACTED]" in (listing.structured_content or {})["ais"][0]["price"]["fix"]
    with pytest.raises(InvalidInputError) as refused:
        await run_consensus(config_of(openai_ai(sim, "mystery", PASTED_KEY), openai_ai(sim, "b", PASTED_KEY)),
                            max_cost_usd=1.0)  # fmt: skip
    assert PASTED_KEY not in str(refused.value)
    path = write_credentials(
        tmp_path,
        {
            "mystery": {
                "provider": "openai_compatible",
                "model": PASTED_KEY,
                "api_key": OPENAI_KEY,
                "base_url": sim.openai_base_url,
            }
        },
    )
    doctor = run_junior_ai("--credentials", str(path), "doctor")
    assert "no price known" in doctor.stdout and PASTED_KEY not in doctor.stdout + doctor.stderr


# 10. A mistyped price field or price key gets a message that helps.


def test_a_misspelt_price_field_names_the_price_fields(tmp_path: Path) -> None:
    path = write_credentials(
        tmp_path,
        {
            "settings": {"prices": {"gpt-4o-mini": {"input_per_million": 1, "output_per_million": 2, "cached_per_million": 0.5}}},
            "openai": {"api_key": OPENAI_KEY},
        },
    )  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), env={})
    message = str(caught.value)
    assert "cached_per_million" in message and "Allowed fields: input_per_million, output_per_million." in message


def test_a_price_for_a_model_no_ai_uses_is_warned_about(tmp_path: Path) -> None:
    path = write_credentials(
        tmp_path,
        {
            "settings": {"prices": {"gpt-4o-mnii": {"input_per_million": 1, "output_per_million": 2}}},
            "openai": {"api_key": OPENAI_KEY, "model": "gpt-4o-mini"},
        },
    )
    warnings = load_config(str(path), env={}).warnings
    assert any("'gpt-4o-mnii'" in w and "Did you mean 'gpt-4o-mini'" in w for w in warnings), warnings


# 11. `junior-ai batch` with --ai given more than once refuses in one clear line.


def test_batch_with_a_repeated_ai_refuses_in_one_clear_line(tmp_path: Path) -> None:
    items = tmp_path / "items.txt"
    items.write_text("one\n")
    out = tmp_path / "out.jsonl"
    result = run_junior_ai(
        "batch", "--template", "Say {item}", "--items", str(items), "--ai", "a", "--ai", "b", "--ai", "c",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--ai was given 3 times (a, b, c)" in lines[0]
    assert not out.exists()
