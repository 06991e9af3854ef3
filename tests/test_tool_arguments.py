"""Each tool's parameters are declared once, in its arguments model: the published input schema is the model's."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client

from junior_ai.ai.simulator import Simulator
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
from tests.test_server_stdio import RawSession, initialize, start_server, write_credentials

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


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("ask_one", {"ai": "x", "prompt": "hi", "background": "yes"}, "background: Input should be a valid boolean"),
        ("ask_one", {"ai": "x", "prompt": "hi", "temperature": True}, "temperature: Input should be a valid number"),
        ("ask_one", {"ai": "x", "prompt": "hi", "temperature": "0.5"}, "temperature: Input should be a valid number"),
        ("ask_one", {"ai": "x", "prompt": "hi", "max_tokens": "10"}, "max_tokens: Input should be a valid integer"),
        ("list_ais", {"models": "yes"}, "models: Input should be a valid boolean"),
    ],
)
async def test_values_the_published_schema_forbids_are_refused_not_coerced(
    tool: str, arguments: dict[str, Any], message: str
) -> None:
    async with Client(build_server(JuniorConfig())) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert f"arguments of {tool}: {message}" in result.content[0].text  # type: ignore[union-attr]


def test_an_integer_is_still_a_number() -> None:
    assert AskOneArgs.parse(ai="x", prompt="hi", temperature=1, timeout_s=30).temperature == 1


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("ask_many", {"prompt": "hi", "ais": ["x" * 400_000]}),
        ("consensus", {"question": "q", "judge": "j" * 400_000}),
        ("debate", {"topic": "t", "judge": "j" * 400_000}),
        ("ask_one", {"ai": "x", "prompt": "hi", "thread_id": "t" * 400_000}),
        ("ask_many", {"prompt": "hi", "diff": "HEAD~" * 80_000}),
        ("ask_one", {"ai": "x", "prompt": "hi", "z" * 100_000: 1}),
    ],
)
async def test_an_error_never_echoes_a_huge_name_back(tool: str, arguments: dict[str, Any]) -> None:
    async with Client(build_server(JuniorConfig())) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert len(result.content[0].text) < 1_000  # type: ignore[union-attr]


async def test_nan_over_a_real_stdio_session_is_refused_as_not_finite(sim: Simulator, tmp_path: Path) -> None:
    """The SDK's own validation runs first: it must not answer NaN with a bound ("should be <= 2"). json.dumps
    writes NaN as the bare token a careless client sends."""
    process = await start_server(write_credentials(sim, tmp_path / "credentials.json"))
    async with process:
        session = RawSession(process)
        with anyio.fail_after(60):
            await initialize(session)
            for tool, arguments, field in [
                ("ask_one", {"ai": "oai", "prompt": "hi", "temperature": math.nan}, "temperature"),
                ("ask_many", {"prompt": "hi", "deadline_s": math.nan}, "deadline_s"),
                ("collect", {"job_id": "job_x", "wait_s": math.nan}, "wait_s"),
            ]:
                reply = await session.request("tools/call", {"name": tool, "arguments": arguments})
                assert reply["result"]["isError"] is True
                assert f"{field}: must be a finite number" in reply["result"]["content"][0]["text"]
        await process.stdin.aclose()  # type: ignore[union-attr]
        with anyio.fail_after(60):
            await process.wait()
