"""Each tool's parameters are declared once, in its arguments model: the published input schema is the model's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client.client import Client

from junior_ai.core.config import JuniorConfig
from junior_ai.core.errors import InvalidInputError
from junior_ai.server.app import build_server
from junior_ai.server.compact_schema import compact
from junior_ai.tools.arguments import (
    AskBatchArgs,
    AskManyArgs,
    AskOneArgs,
    CollectArgs,
    ConsensusArgs,
    DebateArgs,
    ListAIsArgs,
    ToolArguments,
)

MODELS: list[type[ToolArguments]] = [
    AskOneArgs,
    AskManyArgs,
    ConsensusArgs,
    DebateArgs,
    AskBatchArgs,
    ListAIsArgs,
    CollectArgs,
]


async def test_every_published_input_schema_is_its_arguments_model_schema() -> None:
    async with Client(build_server(JuniorConfig())) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for model in MODELS:
        published = tools[model.TOOL].input_schema
        assert published == compact(model.model_json_schema()), model.TOOL
    assert set(tools) == {model.TOOL for model in MODELS}


async def test_tools_list_stays_small_for_a_host_context() -> None:
    async with Client(build_server(JuniorConfig())) as client:
        tools = (await client.list_tools()).tools
    wire = json.dumps([tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools])
    assert len(wire) / 4 < 2_500, f"tools/list is ~{len(wire) / 4:.0f} tokens"


@pytest.mark.parametrize("model", MODELS)
def test_an_unknown_argument_is_refused_by_every_model(model: type[ToolArguments]) -> None:
    with pytest.raises(InvalidInputError, match=f"arguments of {model.TOOL}: .*Extra inputs are not permitted"):
        model.parse(no_such_argument=1)


def test_a_bad_value_names_the_argument_and_the_rule() -> None:
    with pytest.raises(InvalidInputError, match=r"rounds: Input should be less than or equal to 3"):
        ConsensusArgs.parse(question="q", rounds=9)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize(
    ("model", "values", "field"),
    [
        (CollectArgs, {"job_id": "job_x"}, "wait_s"),
        (AskOneArgs, {"ai": "a", "prompt": "p"}, "temperature"),
        (AskOneArgs, {"ai": "a", "prompt": "p"}, "timeout_s"),
        (AskManyArgs, {"prompt": "p"}, "deadline_s"),
        (ConsensusArgs, {"question": "q"}, "max_cost_usd"),
        (DebateArgs, {"topic": "t"}, "deadline_s"),
    ],
)
def test_nan_and_infinity_are_refused_for_every_number(
    model: type[ToolArguments], values: dict[str, Any], field: str, bad: float
) -> None:
    # NaN compares false with every bound (so `ge=0` let it through) and inf passes a lower bound.
    with pytest.raises(InvalidInputError, match=f"{field}: must be a finite number"):
        model.parse(**values, **{field: bad})
