"""Tool results that tell the truth: no AI answering is an error result that still lists every AI; empty or
missing AI lists are refused rather than read as "every AI"; every URI handed out reads back; the output budget
counts everything a result echoes; one cap on everything a call sends; only real placeholders in templates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client.client import Client

from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.template import check_template, render
from junior_ai.core.config import JuniorConfig
from junior_ai.core.errors import InvalidInputError
from junior_ai.server.app import build_server
from junior_ai.tools.result_fit import fit_result
from tests.conftest import config_of, gemini_ai, openai_ai


def text_of(result: Any) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def result_tokens(result: Any) -> int:
    return (len(text_of(result)) + len(json.dumps(result.structured_content or {}))) // 4


def down_pair(sim: Simulator) -> JuniorConfig:
    sim.set_scenario("down", Scenario(fault=Fault(kind="status", status=503)))
    sim.set_scenario("denied", Scenario(fault=Fault(kind="status", status=401)))
    return config_of(openai_ai(sim, "o", "down"), gemini_ai(sim, "g", "denied"), max_attempts=1)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("ask_many", {"prompt": "hi"}),
        ("consensus", {"question": "postgres or sqlite?", "rounds": 0}),
        ("debate", {"topic": "tabs or spaces", "rounds": 1}),
    ],
)
async def test_no_ai_answering_is_an_error_result_that_lists_each_ai(
    sim: Simulator, tool: str, arguments: dict[str, Any]
) -> None:
    async with Client(build_server(down_pair(sim))) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    text = text_of(result)
    assert "No AI answered" in text
    assert "- o: unavailable" in text and "- g: auth_error" in text


async def test_one_ai_answering_is_not_an_error(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "o", "fine"), gemini_ai(sim, "g", "down"), max_attempts=1)
    sim.set_scenario("down", Scenario(fault=Fault(kind="status", status=503)))
    async with Client(build_server(config)) as client:
        result = await client.call_tool("ask_many", {"prompt": "hi"})
    assert not result.is_error and (result.structured_content or {})["ok_count"] == 1


@pytest.mark.parametrize("tool", ["ask_many", "consensus", "debate", "ask_batch"])
async def test_an_empty_ais_list_is_refused_not_read_as_every_ai(two_ais: JuniorConfig, tool: str) -> None:
    arguments: dict[str, Any] = {
        "ask_many": {"prompt": "hi"},
        "consensus": {"question": "q"},
        "debate": {"topic": "t"},
        "ask_batch": {"template": "x {item}", "items": ["a"]},
    }[tool] | {"ais": []}
    async with Client(build_server(two_ais)) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert "name at least one AI, or omit `ais` for all" in text_of(result)


async def test_ask_batch_without_ai_or_ais_is_refused_with_the_list_of_ais(
    sim: Simulator, two_ais: JuniorConfig
) -> None:
    async with Client(build_server(two_ais)) as client:
        result = await client.call_tool("ask_batch", {"template": "x {item}", "items": ["a", "b"]})
    assert result.is_error
    assert "name the AI" in text_of(result) and "oai" in text_of(result) and "gem" in text_of(result)
    assert not sim.state.requests()  # nothing was sent


async def test_a_trimmed_answer_of_an_ai_model_with_a_slash_reads_back(sim: Simulator) -> None:
    long_answer = "word " * 30_000
    sim.set_scenario("vendor/long-model", Scenario(replies=(long_answer,)))
    config = config_of(openai_ai(sim, "openai", "m"), output_budget_tokens=1_000)
    async with Client(build_server(config)) as client:
        result = await client.call_tool("ask_one", {"ai": "openai:vendor/long-model", "prompt": "hi"})
        uri = (result.structured_content or {})["full_text_uri"]
        read = await client.read_resource(uri)
    assert read.contents[0].text == long_answer  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("consensus", {"question": "Which? " + "q" * 150_000, "rounds": 0}),
        ("consensus", {"question": "Which?", "options": ["a" * 100_000, "b" * 100_000], "rounds": 0}),
        ("debate", {"topic": "t", "stances": ["s" * 120_000, "t" * 120_000], "rounds": 1}),
    ],
    ids=["long-question", "long-options", "long-stances"],
)
async def test_the_output_budget_counts_what_a_result_echoes(
    sim: Simulator, tool: str, arguments: dict[str, Any]
) -> None:
    config = config_of(openai_ai(sim, "o", "m"), gemini_ai(sim, "g", "m"), output_budget_tokens=20_000)
    async with Client(build_server(config)) as client:
        result = await client.call_tool(tool, arguments)
    assert result_tokens(result) <= 20_000, result_tokens(result)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("ask_one", {"ai": "oai", "prompt": "hi", "system": "s" * 600_000}),
        ("ask_many", {"prompt": "p" * 300_000, "system": "s" * 300_000}),
        ("consensus", {"question": "q", "options": ["o" * 100_000] * 6}),
        ("debate", {"topic": "t", "stances": ["s" * 300_000, "x" * 300_000]}),
        ("ask_batch", {"template": "{item}" + "t" * 400_000, "items": ["i" * 200_000], "ai": "oai"}),
        ("ask_batch", {"template": "{item}", "items": ["i" * 1_000] * 600, "ai": "oai"}),
    ],
    ids=["system", "prompt+system", "options", "stances", "template+items", "many-items"],
)
async def test_one_cap_on_everything_a_call_sends(
    sim: Simulator, two_ais: JuniorConfig, tool: str, arguments: dict[str, Any]
) -> None:
    async with Client(build_server(two_ais)) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert "the limit is 500,000 for everything one call sends" in text_of(result)
    assert "Invalid input: arguments of" in text_of(result)
    assert not sim.state.requests()


@pytest.mark.parametrize(
    "template", ["Say {itemx}", "Say {items}", "{item} and {name}", "JSON: {item} {", "{item} }", "{item.}"]
)
def test_a_template_with_anything_but_placeholders_in_braces_is_refused(template: str) -> None:
    with pytest.raises(InvalidInputError, match=r"not a placeholder|must use \{item\}"):
        check_template(template)


def test_escaped_braces_and_bracket_fields_render() -> None:
    template = 'Return {{"name": "{item[full name]}", "id": {item.id}}} for {item}'
    check_template(template)
    rendered = render(template, {"full name": "Ada", "id": 7})
    assert rendered == 'Return {"name": "Ada", "id": 7} for {"full name": "Ada", "id": 7}'


async def test_ask_batch_refuses_a_template_without_a_real_placeholder_before_sending(
    sim: Simulator, two_ais: JuniorConfig
) -> None:
    async with Client(build_server(two_ais)) as client:
        result = await client.call_tool("ask_batch", {"template": "Say {itemx}", "items": ["a", "b"], "ai": "oai"})
    assert result.is_error and "not a placeholder" in text_of(result)
    assert not sim.state.requests()


@pytest.mark.parametrize(
    "arguments",
    [
        {"ai": "oai", "prompt": "hi", "temprature": 1},  # unknown argument
        {"ai": "oai", "prompt": "hi", "temperature": 7},  # schema violation
        {"ai": "nope", "prompt": "hi"},  # refused by the tool itself
        {"ai": "oai", "prompt": "hi", "system": "s" * 600_000},  # the total-size cap
    ],
    ids=["unknown-argument", "schema", "unknown-ai", "size-cap"],
)
async def test_every_bad_input_error_has_one_style(two_ais: JuniorConfig, arguments: dict[str, Any]) -> None:
    async with Client(build_server(two_ais)) as client:
        result = await client.call_tool("ask_one", arguments)
    assert result.is_error
    assert text_of(result).startswith("Invalid input: ")
    assert "Error executing tool" not in text_of(result)
    assert "Invalid input for" not in text_of(result)


async def test_ask_batch_with_both_ai_and_ais_is_refused(sim: Simulator, two_ais: JuniorConfig) -> None:
    async with Client(build_server(two_ais)) as client:
        result = await client.call_tool(
            "ask_batch", {"template": "x {item}", "items": ["a"], "ai": "oai", "ais": ["gem"]}
        )
    assert result.is_error and "either ai (one AI) or ais (several), not both" in text_of(result)
    assert not sim.state.requests()


def test_many_short_strings_are_cut_to_the_budget_too() -> None:
    data = {"ais": [{"name": f"ai{n}", "models": [f"vendor/model-{m:04d}" for m in range(600)]} for n in range(8)]}
    text, fitted = fit_result("listing", data, budget_tokens=5_000, store=None)
    assert len(text) + len(json.dumps(fitted)) <= 5_000 * 4
    models = fitted["ais"][0]["models"]
    assert models[0] == "vendor/model-0000" and "more cut to fit the output budget" in models[-1]
