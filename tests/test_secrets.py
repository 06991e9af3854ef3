"""API keys never reach a log line, an error or a tool result — even when a provider echoes them back."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from mcp.client.client import Client

from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.core.log import configure_logging
from junior_ai.core.redact import MASK, redact
from junior_ai.server.app import build_server
from tests.conftest import GEMINI_KEY, OPENAI_KEY, config_of, gemini_ai, openai_ai


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer, json=True)
    yield buffer
    configure_logging("INFO", json=True)


def test_redact_scrubs_known_keys_and_key_shaped_strings() -> None:
    text = (
        f"key={OPENAI_KEY} other=sk-proj-abcdefghijklmnop1234 url=https://x/v1?key=AIzaSyD-secret&x=1 "
        "Authorization: Bearer abc.def-ghi_jkl123"
    )
    cleaned = redact(text)
    assert OPENAI_KEY not in cleaned and "sk-proj-abcdefghijklmnop1234" not in cleaned
    assert "AIzaSyD-secret" not in cleaned and "abc.def-ghi_jkl123" not in cleaned
    assert cleaned.count(MASK) == 4


def test_redact_masks_every_key_shape_however_it_is_written_and_leaves_plain_text_alone() -> None:
    # The patterns are only tried when a piece they all need is present: each shape must still be caught.
    shapes = [
        "sk-abcdefghijklmnop1234",
        "xai-abcdefghijklmnop1234",
        "AIzaSyD-abcdefghijklmnopqrstu",
        "BEARER abcdefgh.ijkl",
        "bEaReR abcdefgh.ijkl",
        "https://x/v1?TOKEN=s3cr3t-value",
        "https://user:pa55word@host/v1",
    ]
    for shape in shapes:
        assert redact(f'{{"text": "see {shape} here"}}').count(MASK) == 1, shape
    plain = '{"index":1,"status":"ok","text":"[batch-0ms] reply: Echo item number 7","latency_ms":1.5}'
    assert redact(plain) == plain


async def test_no_key_in_logs_errors_or_results_across_faults(sim: Simulator, log_output: io.StringIO) -> None:
    echo = f"Incorrect API key provided: {OPENAI_KEY} / {GEMINI_KEY}"
    sim.set_scenario("auth-o", Scenario(fault=Fault(kind="status", status=401, message=echo)))
    sim.set_scenario("auth-g", Scenario(fault=Fault(kind="status", status=403, message=echo)))
    sim.set_scenario("limit", Scenario(fault=Fault(kind="status", status=429, retry_after="1", message=echo, times=1)))
    sim.set_scenario("boom", Scenario(fault=Fault(kind="status", status=500, message=echo)))
    sim.set_scenario("bad", Scenario(fault=Fault(kind="status", status=400, message=echo)))
    config = config_of(
        openai_ai(sim, "o1", "auth-o"),
        gemini_ai(sim, "g1", "auth-g"),
        openai_ai(sim, "o2", "limit"),
        gemini_ai(sim, "g2", "boom"),
        openai_ai(sim, "o3", "bad"),
        gemini_ai(sim, "g3", "fine"),
    )
    seen: list[str] = []
    async with Client(build_server(config)) as client:
        many = await client.call_tool("ask_many", {"prompt": "hi", "timeout_s": 5})
        seen.append(many.model_dump_json())
        for ai in ("o1", "g1", "g2", "o3"):
            one = await client.call_tool("ask_one", {"ai": ai, "prompt": "hi", "timeout_s": 3})
            assert one.is_error
            seen.append(one.model_dump_json())
        seen.append((await client.call_tool("list_ais", {})).model_dump_json())
    seen.append(log_output.getvalue())
    everything = "\n".join(seen)
    assert "Incorrect API key provided" in everything  # the provider's words survive, minus the key
    assert OPENAI_KEY not in everything and GEMINI_KEY not in everything
    # The keys really were sent: the simulator saw them on the wire.
    assert {r.api_key for r in sim.state.requests()} == {OPENAI_KEY, GEMINI_KEY}
