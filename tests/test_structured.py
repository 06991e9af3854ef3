"""Checking structured answers: parsing, validation messages, strict-mode eligibility, hostile inputs."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client.client import Client

from junior_ai.ai.simulator import Scenario, Simulator
from junior_ai.ai.structured import MAX_ERRORS, check_answer, strict_problem
from junior_ai.core.errors import InvalidInputError
from junior_ai.server.app import build_server
from junior_ai.tools.validation import check_json_schema
from tests.conftest import config_of, gemini_ai, openai_ai

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": {"type": "string"}}, "n": {"type": "integer"}},
    "required": ["tags", "n"],
    "additionalProperties": False,
}


def test_bare_json_and_a_single_code_fence_are_accepted() -> None:
    assert check_answer('{"tags": ["a"], "n": 1}', SCHEMA).data == {"tags": ["a"], "n": 1}
    assert check_answer('```json\n{"tags": [], "n": 2}\n```', SCHEMA).data == {"tags": [], "n": 2}


def test_prose_around_json_is_not_json() -> None:
    checked = check_answer('Sure! Here it is: {"tags": [], "n": 2}', SCHEMA)
    assert not checked.valid and checked.data is None
    assert checked.errors[0].startswith("not JSON") and "Sure!" in checked.errors[0]


def test_validation_errors_name_the_path_and_are_capped() -> None:
    checked = check_answer('{"tags": [1, 2, 3, 4, 5, 6, 7], "n": "x", "extra": true}', SCHEMA)
    assert not checked.valid and len(checked.errors) == MAX_ERRORS
    assert any(error.startswith("/tags/0:") for error in checked.errors)
    huge = check_answer('{"tags": ["' + "x" * 10_000 + '"], "n": 1, "extra": "' + "y" * 10_000 + '"}', SCHEMA)
    assert all(len(error) <= 320 for error in huge.errors)


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (SCHEMA, None),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, "additionalProperties"),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
            "does not require a",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string", "minLength": 2}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "'minLength'",
        ),
        (
            {
                "type": "object",
                "properties": {"inner": {"type": "object", "properties": {"b": {"type": "number"}}}},
                "required": ["inner"],
                "additionalProperties": False,
            },
            "(root)/inner",
        ),
    ],
)
def test_strict_mode_eligibility(schema: dict[str, Any], problem: str | None) -> None:
    found = strict_problem(schema)
    assert (found is None) if problem is None else (found is not None and problem in found)


def deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    current = schema
    for _ in range(levels):
        current["properties"] = {"a": {"type": "object"}}
        current = current["properties"]["a"]
    return schema


def test_hostile_depths_are_errors_not_crashes() -> None:
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        check_json_schema(deep(5_000))
    assert strict_problem(deep(5_000)) is not None
    nested = "[" * 100_000 + "]" * 100_000
    assert not check_answer(nested, {"type": "object"}).valid


async def test_mcp_ask_many_reports_invalid_structured_answers_per_ai_never_ok(sim: Simulator) -> None:
    sim.set_scenario("chatty", Scenario(replies=("Sure! ... {oops",)))
    config = config_of(openai_ai(sim, "good", "exact"), gemini_ai(sim, "bad", "chatty"))
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    async with Client(build_server(config)) as client:
        result = await client.call_tool("ask_many", {"prompt": "Count", "json_schema": schema})
        listed = await client.call_tool("list_ais", {})
    by_ai = {r["ai"]: r for r in (result.structured_content or {})["results"]}
    assert by_ai["good"]["status"] == "ok" and by_ai["good"]["data"] == {"n": 1}
    assert by_ai["bad"]["status"] == "invalid_output" and by_ai["bad"]["text"] == "Sure! ... {oops"
    assert "not JSON" in by_ai["bad"]["validation_errors"][0]
    counts = {info["name"]: info["invalid_outputs"] for info in (listed.structured_content or {})["ais"]}
    assert counts == {"good": 0, "bad": 1}
