"""The fault matrix: every provider failure, for both protocols, through a real MCP session.

For each fault: the right status, the right number of attempts (from the simulator's log), an actionable error,
the other AI in the same ask_many unaffected, the server still serving — and no key anywhere in the output.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import pytest
from mcp.client.client import Client

from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.core.config import AIConfig
from junior_ai.core.log import configure_logging
from junior_ai.server.app import build_server
from tests.conftest import GEMINI_KEY, OPENAI_KEY, config_of, gemini_ai, openai_ai


@dataclass(frozen=True)
class Case:
    name: str
    fault: Fault | None
    status: str
    attempts: int
    phrase: str
    partial: bool = False
    refused: bool = False


def http_date_in(seconds: float) -> str:
    return formatdate(time.time() + seconds, usegmt=True)


CASES = [
    Case(
        "429 retry-after seconds",
        Fault(kind="status", status=429, retry_after="1"),
        "rate_limited",
        3,
        "rate limited by faulty",
    ),
    Case(
        "429 retry-after date",
        Fault(kind="status", status=429, retry_after="DATE"),
        "rate_limited",
        3,
        "rate limited by faulty",
    ),
    Case("500", Fault(kind="status", status=500), "unavailable", 3, "try again or ask another AI"),
    Case("502", Fault(kind="status", status=502), "unavailable", 3, "try again or ask another AI"),
    Case("503", Fault(kind="status", status=503), "unavailable", 3, "try again or ask another AI"),
    Case("401", Fault(kind="status", status=401), "auth_error", 1, "Fix: check the API key for 'faulty'"),
    Case("403", Fault(kind="status", status=403), "auth_error", 1, "Fix: check the API key for 'faulty'"),
    Case("400", Fault(kind="status", status=400), "bad_request", 1, "Fix: check the arguments"),
    Case("connection refused", None, "unavailable", 3, "could not reach faulty", refused=True),
    Case("reset mid-body", Fault(kind="drop"), "unavailable", 3, "could not reach faulty"),
    Case("hang", Fault(kind="hang"), "timeout", 1, "did not answer within"),
    Case("stall mid-stream", Fault(kind="stall"), "timeout", 3, "stopped sending for 0.3 s", partial=True),
    Case("malformed JSON", Fault(kind="malformed"), "error", 3, "could not be parsed"),
    Case("truncated stream", Fault(kind="truncate"), "error", 3, "ended before the answer was complete"),
    Case("safety block", Fault(kind="blocked"), "blocked", 1, "withheld its answer"),
    Case("empty candidates", Fault(kind="empty"), "blocked", 1, "withheld its answer"),
]


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer, json=True)
    yield buffer
    configure_logging("INFO", json=True)


def faulty_ai(sim: Simulator, protocol: str, case: Case, model: str) -> AIConfig:
    make = openai_ai if protocol == "openai" else gemini_ai
    overrides: dict[str, Any] = {"timeout_s": 1.5 if case.fault is not None and case.fault.kind == "hang" else 8}
    if case.refused:
        overrides["base_url"] = "http://127.0.0.1:9" + ("/v1" if protocol == "openai" else "")
    return make(sim, "faulty", model, **overrides)


@pytest.mark.parametrize("protocol", ["openai", "gemini"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_fault(sim: Simulator, protocol: str, case: Case, captured_logs: io.StringIO) -> None:
    if case.fault is not None and case.fault.kind == "empty" and protocol == "openai":
        pytest.skip("empty candidates is a Gemini answer shape")
    model = f"fault-{protocol}-{case.name.replace(' ', '-')}"
    fault = case.fault
    if fault is not None and fault.retry_after == "DATE":
        fault = fault.model_copy(update={"retry_after": http_date_in(1.5)})
    sim.set_scenario(model, Scenario(chunk_count=3, fault=fault))
    config = config_of(
        faulty_ai(sim, protocol, case, model),
        (gemini_ai if protocol == "openai" else openai_ai)(sim, "healthy", "healthy-model"),
        retry_base_delay_s=0.02,
        idle_timeout_s=0.3,
        max_attempts=3,
    )
    async with Client(build_server(config)) as client:
        many = await client.call_tool("ask_many", {"prompt": "hello", "deadline_s": 20})
        after = await client.call_tool("list_ais", {})
    outputs = many.model_dump_json() + after.model_dump_json() + captured_logs.getvalue()

    results = {r["ai"]: r for r in (many.structured_content or {})["results"]}
    faulty, healthy = results["faulty"], results["healthy"]
    assert faulty["status"] == case.status, faulty
    assert faulty["attempts"] == case.attempts, faulty
    assert case.phrase in faulty["error"], faulty["error"]
    assert faulty.get("partial", False) is case.partial
    if not case.refused:
        assert len(sim.state.requests(model)) == case.attempts
    assert healthy["status"] == "ok"
    assert not after.is_error and len((after.structured_content or {})["ais"]) == 2  # still serving
    assert OPENAI_KEY not in outputs and GEMINI_KEY not in outputs
