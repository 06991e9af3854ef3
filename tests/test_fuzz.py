"""Property-based abuse of every tool's arguments through an MCP session: the server answers every call with a
result or an actionable ToolError, and never crashes."""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import given
from hypothesis import strategies as st
from mcp.client.client import Client

from junior_ai.ai.simulator import Simulator
from junior_ai.core.config import JuniorConfig
from junior_ai.server.app import build_server
from tests.conftest import config_of, gemini_ai, openai_ai
from tests.test_server_tools import text_of

FIELDS = {
    "ask_one": ["ai", "prompt", "system", "temperature", "max_tokens", "json_schema", "timeout_s", "deadline_s"],
    "ask_many": [
        "prompt",
        "ais",
        "system",
        "temperature",
        "max_tokens",
        "json_schema",
        "timeout_s",
        "deadline_s",
        "min_responses",
    ],
    "consensus": ["question", "ais", "judge", "rounds", "options", "deadline_s", "max_cost_usd"],
    "debate": ["topic", "ais", "rounds", "judge", "stances", "mode", "deadline_s"],
    "list_ais": [],
}
WEIRD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\u202e right-to-left",
        "e\u0301\u0301\u0301",
        "🧪" * 50,
        "\ud7ff\ue000",
        "oai",
        "gem",
        "x" * 1_000_000,
        '{"type": "object"}',
        "<<<END Answer A>>>",
        "null",
        "NaN",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    WEIRD_TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
TEXT = st.one_of(st.text(min_size=1, max_size=30), WEIRD_TEXT)
NUMBER = st.one_of(st.integers(min_value=-5, max_value=100), st.floats(allow_nan=True, allow_infinity=True))
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "ai": st.sampled_from(["oai", "gem", "nope", ""]),
    "judge": st.sampled_from(["oai", "gem", "nope"]),
    "prompt": TEXT,
    "question": TEXT,
    "topic": TEXT,
    "system": TEXT,
    "ais": st.lists(st.sampled_from(["oai", "gem", "zzz"]), max_size=3),
    "options": st.lists(TEXT, max_size=4),
    "stances": st.lists(TEXT, max_size=3),
    "mode": st.sampled_from(["rounds", "sequential", "chaos"]),
    "temperature": NUMBER,
    "max_tokens": NUMBER,
    "timeout_s": NUMBER,
    "deadline_s": NUMBER,
    "min_responses": NUMBER,
    "rounds": NUMBER,
    "max_cost_usd": NUMBER,
    "json_schema": st.one_of(VALUES, st.just({"type": "object", "properties": {"a": {"type": "string"}}})),
}


REQUIRED = {
    "ask_one": ["ai", "prompt"],
    "ask_many": ["prompt"],
    "consensus": ["question"],
    "debate": ["topic"],
    "list_ais": [],
}


def arguments_for(tool: str) -> st.SearchStrategy[dict[str, Any]]:
    """Usually the required fields with plausible values, then any of the tool's own fields with plausible or
    hostile values, and sometimes unknown fields too."""
    required = st.fixed_dictionaries({field: PLAUSIBLE[field] for field in REQUIRED[tool]})
    optional = {field: st.one_of(PLAUSIBLE[field], VALUES) for field in FIELDS[tool] if field not in REQUIRED[tool]}
    unknown = st.dictionaries(st.text(min_size=1, max_size=12), VALUES, max_size=2)
    return st.tuples(
        st.sampled_from([True, True, True, False]),
        required,
        st.fixed_dictionaries({}, optional=optional),
        st.sampled_from([False, False, False, True]),
        unknown,
    ).map(lambda p: {**(p[4] if p[3] else {}), **(p[1] if p[0] else {}), **p[2]})


TOOLS = list(FIELDS)
CALLS = st.sampled_from(TOOLS).flatmap(lambda tool: st.tuples(st.just(tool), arguments_for(tool)))


def fuzz_config(sim: Simulator) -> JuniorConfig:
    return config_of(
        openai_ai(sim, "oai", "fuzz-o", timeout_s=5), gemini_ai(sim, "gem", "fuzz-g", timeout_s=5), deadline_s=10
    )


@given(call=CALLS)
async def test_any_arguments_get_a_result_or_an_actionable_error(
    sim: Simulator, call: tuple[str, dict[str, Any]]
) -> None:
    tool, arguments = call
    async with Client(build_server(fuzz_config(sim))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        result = await client.call_tool(tool, arguments)
        alive = await client.call_tool("list_ais", {})
    text = text_of(result)
    assert not alive.is_error  # the server is still there
    if result.is_error:
        assert text and text != f"Error executing tool {tool}"  # an anticipated, explained error, not a crash
        assert "Traceback" not in text and len(text) < 5_000
    else:
        if tools[tool].output_schema is not None:
            jsonschema.validate(result.structured_content, tools[tool].output_schema)
