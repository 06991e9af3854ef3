"""debate and the MCP prompts, against scripted simulated AIs and through an MCP session."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client.client import Client

from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, ReplyRule, Scenario, Simulator
from junior_ai.core.config import JuniorConfig
from junior_ai.core.errors import InvalidInputError
from junior_ai.server.app import build_server
from junior_ai.tools.arguments import DebateArgs
from junior_ai.tools.collab.debate import debate
from tests.conftest import config_of, gemini_ai, openai_ai

TOPIC = "Tabs or spaces?"
VERDICT = json.dumps(
    {
        "sides": [
            {"stance": "for", "strongest_arguments": ["accessibility"]},
            {"stance": "against", "strongest_arguments": ["consistency"]},
        ],
        "verdict": "spaces, narrowly",
    }
)


def debater(sim: Simulator, model: str, argument: str, *, fault: Fault | None = None) -> None:
    sim.set_scenario(
        model,
        Scenario(
            rules=(
                ReplyRule(contains="[stage: verdict]", reply=VERDICT),
                ReplyRule(contains="[stage: debate turn", reply=argument),
            ),
            fault=fault,
        ),
    )


def pair(sim: Simulator) -> JuniorConfig:
    return config_of(openai_ai(sim, "pro", "model-pro"), gemini_ai(sim, "con", "model-con"))


async def run(config: JuniorConfig, **kwargs: Any) -> Any:
    registry = await initialize_all_clients_async(config)
    try:
        extras = {key: kwargs.pop(key) for key in ("progress", "store") if key in kwargs}
        return await debate(registry, DebateArgs.parse(topic=TOPIC, **kwargs), **extras)
    finally:
        await registry.aclose()


def turns(sim: Simulator, model: str) -> list[str]:
    return [r.full_text for r in sim.state.requests(model) if "[stage: debate turn" in r.full_text]


async def test_rounds_mode_assigns_stances_and_shows_each_side_the_other(sim: Simulator) -> None:
    debater(sim, "model-pro", "PRO-ARGUMENT tabs are accessible")
    debater(sim, "model-con", "CON-ARGUMENT spaces render the same everywhere")
    result = await run(pair(sim), rounds=2)
    assert result.positions == {"pro": "for", "con": "against"}
    assert [(e.round, e.ai, e.stance, e.status) for e in result.rounds] == [
        (1, "pro", "for", "ok"),
        (1, "con", "against", "ok"),
        (2, "pro", "for", "ok"),
        (2, "con", "against", "ok"),
    ]
    first_pro, second_pro = turns(sim, "model-pro")
    assert "YOUR POSITION: for" in first_pro and "CON-ARGUMENT" not in first_pro  # openings are independent
    assert "CON-ARGUMENT" in second_pro and "PRO-ARGUMENT" not in second_pro  # sees the other side only
    assert "ARGUMENT FOR 'against'" in second_pro and "con" not in second_pro.split("TOPIC")[1].split()
    assert result.verdict == "spaces, narrowly"
    assert [(s.stance, s.strongest_arguments) for s in result.sides] == [
        ("for", ["accessibility"]),
        ("against", ["consistency"]),
    ]
    assert not result.partial


async def test_sequential_mode_builds_on_the_previous_speaker(sim: Simulator) -> None:
    debater(sim, "model-pro", "PRO-SAYS")
    debater(sim, "model-con", "CON-SAYS")
    result = await run(pair(sim), rounds=1, mode="sequential")
    (pro_turn,) = turns(sim, "model-pro")
    (con_turn,) = turns(sim, "model-con")
    assert "CON-SAYS" not in pro_turn  # first speaker has heard nothing
    assert "PRO-SAYS" in con_turn  # second speaker builds on the first
    pro_request, con_request = (
        next(r for r in sim.state.requests(m) if "debate turn" in r.full_text) for m in ("model-pro", "model-con")
    )
    assert pro_request.ended is not None and con_request.started >= pro_request.ended  # one after another
    assert result.mode == "sequential" and result.verdict


async def test_custom_stances_and_a_failing_debater(sim: Simulator) -> None:
    debater(sim, "model-pro", "A")
    debater(sim, "model-con", "B")
    sim.set_scenario("model-third", Scenario(fault=Fault(kind="status", status=503)))
    config = config_of(
        openai_ai(sim, "pro", "model-pro"), gemini_ai(sim, "con", "model-con"), openai_ai(sim, "third", "model-third")
    )
    result = await run(config, rounds=1, stances=["tabs", "spaces", "whatever the formatter says"])
    assert result.positions["third"] == "whatever the formatter says"
    assert result.partial and result.verdict == "spaces, narrowly"
    assert any("third (whatever the formatter says) did not argue in turn 1 (unavailable)" in n for n in result.notes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ais": ["pro"]}, "a debate needs at least two AIs"),
        ({"stances": ["only one"]}, "one position per debating AI: 2 AIs (pro, con) but 1 stances"),
        ({"rounds": 0}, "rounds: Input should be greater than or equal to 1"),
        ({"topic": "  "}, "topic is empty"),
        ({"topic": ""}, "topic: String should have at least 1 character"),
    ],
)
async def test_bad_debate_arguments_are_rejected(sim: Simulator, kwargs: dict[str, Any], message: str) -> None:
    registry = await initialize_all_clients_async(pair(sim))
    try:
        with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            await debate(registry, DebateArgs.parse(**({"topic": TOPIC} | kwargs)))
    finally:
        await registry.aclose()


async def test_debate_through_an_mcp_session_with_progress(sim: Simulator) -> None:
    debater(sim, "model-pro", "A")
    debater(sim, "model-con", "B")
    seen: list[str] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")

    async with Client(build_server(pair(sim))) as client:
        result = await client.call_tool("debate", {"topic": TOPIC, "rounds": 1}, progress_callback=progress)
    assert not result.is_error
    assert (result.structured_content or {})["verdict"] == "spaces, narrowly"
    assert [m for m in seen if m.startswith("stage:")] == ["stage: turn 1", "stage: verdict"]
    assert "Verdict (" in result.content[0].text  # type: ignore[union-attr]


async def test_prompts_are_listed_and_render_the_arguments(two_ais: JuniorConfig) -> None:
    async with Client(build_server(two_ais)) as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        review = await client.get_prompt("code_review", {"code": "def f(): pass", "focus": "naming"})
        opinion = await client.get_prompt("second_opinion", {"question": "Is X safe?", "ais": "gem, oai"})
        agreed = await client.get_prompt("consensus", {"question": "Ship?", "options": "yes,no"})
    assert set(listed) == {"second_opinion", "consensus", "debate", "code_review"}
    assert [a.name for a in listed["consensus"].arguments or []] == ["question", "options"]
    review_text = review.messages[0].content.text  # type: ignore[union-attr]
    assert "def f(): pass" in review_text and "naming" in review_text and "ask_many" in review_text
    assert "Do not paste code" in review_text and "`files`" in review_text and '"HEAD"' in review_text
    assert "`diff`" in opinion.messages[0].content.text  # type: ignore[union-attr]
    assert 'ais=["gem", "oai"]' in opinion.messages[0].content.text  # type: ignore[union-attr]
    assert 'options=["yes", "no"]' in agreed.messages[0].content.text  # type: ignore[union-attr]
