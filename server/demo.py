"""`junior-ai demo`: the whole path, offline and without keys.

Starts the provider simulator on a free loopback port with four simulated AIs (Gemini and OpenAI-compatible,
different latencies), spawns the real `junior-ai serve` over stdio as an MCP client would, and prints what a
host sees: list_ais, ask_one, ask_many (with progress) and its fan-out timing, and a consensus run.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from junior_ai.ai.simulator import ReplyRule, Scenario, Simulator

QUESTION = "Should a small team write its HTTP retry logic by hand or use a library?"

DEMO_AIS: dict[str, dict[str, Any]] = {
    "gemini": {
        "provider": "gemini",
        "model": "gemini-2.5-flash",
        "latency_s": 0.6,
        "reply": "Use a library (tenacity or the SDK's own), but own the policy: deadlines, which "
        "errors retry, and honouring Retry-After.",
    },
    "openai": {
        "provider": "openai_compatible",
        "model": "gpt-4o-mini",
        "latency_s": 0.3,
        "reply": "A library. Hand-written retry loops get jitter and Retry-After wrong more often than not.",
    },
    "grok": {
        "provider": "openai_compatible",
        "model": "grok-3",
        "latency_s": 0.9,
        "reply": "By hand, if it is twenty lines: you need deadline awareness that generic libraries lack.",
    },
    "deepseek": {
        "provider": "openai_compatible",
        "model": "deepseek-chat",
        "latency_s": 0.45,
        "reply": "Library for backoff, your code for the deadline and error classification.",
    },
}


def _stance(recommendation: str, option: str, confidence: float, changed: bool | None = None) -> str:
    data: dict[str, Any] = {
        "recommendation": recommendation,
        "key_reasons": ["backoff with jitter is easy to get subtly wrong"],
        "risks": ["a generic library may ignore the call's deadline"],
        "confidence": confidence,
        "option": option,
    }
    if changed is not None:
        data = {"critique": "The other answers underrate deadline handling.", "changed": changed, **data}
    return json.dumps(data)


JUDGE_REPLY = json.dumps(
    {
        "answer": "Use a library for backoff and jitter, and keep deadline and error classification in your own code.",
        "agreement": "majority",
        "supporters": ["gemini", "openai", "deepseek"],
        "dissent": [{"ai": "grok", "point": "A twenty-line hand-written loop is easier to make deadline-aware."}],
        "risks": ["Library defaults can retry non-idempotent requests."],
    }
)


def _rules(name: str, spec: dict[str, Any]) -> tuple[ReplyRule, ...]:
    """Scripted consensus answers, so the demo shows a realistic synthesis."""
    option = "by hand" if name == "grok" else "library"
    return (
        ReplyRule(contains="[stage: synthesis]", reply=JUDGE_REPLY),
        ReplyRule(contains="[stage: critique", reply=_stance(spec["reply"], option, 0.8, changed=False)),
        ReplyRule(contains="[stage: independent answer]", reply=_stance(spec["reply"], option, 0.7)),
    )


def _credentials(simulator: Simulator) -> dict[str, Any]:
    """What a new user writes: a key per AI (here also the simulator's address). Provider and model come from the
    presets, which the simulated models are named after, and so do the prices (the packaged genai-prices table):
    no `settings.prices`."""
    entries: dict[str, Any] = {}
    for name, spec in DEMO_AIS.items():
        gemini = spec["provider"] == "gemini"
        entries[name] = {
            "api_key": f"demo-key-{name}-not-secret",
            "base_url": simulator.gemini_base_url if gemini else simulator.openai_base_url,
            "timeout_s": 20,
        }
    return entries


def _say(text: str = "") -> None:
    print(text, flush=True)


async def run_demo() -> int:
    scenarios = {
        spec["model"]: Scenario(latency_s=spec["latency_s"], replies=(spec["reply"],), rules=_rules(name, spec))
        for name, spec in DEMO_AIS.items()
    }
    with Simulator(scenarios) as simulator, tempfile.TemporaryDirectory() as tmp:
        credentials = Path(tmp) / "credentials.json"
        credentials.write_text(json.dumps(_credentials(simulator), indent=2), encoding="utf-8")
        credentials.chmod(0o600)
        _say(
            f"Provider simulator on 127.0.0.1:{simulator.port} (OpenAI + Gemini wire protocols), "
            f"{len(DEMO_AIS)} simulated AIs."
        )
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "junior_ai", "--credentials", str(credentials), "serve"],
            env={**os.environ, "JUNIOR_AI_LOG_LEVEL": os.environ.get("JUNIOR_AI_LOG_LEVEL", "WARNING")},
        )
        spawn = time.perf_counter()
        async with Client(params) as client:
            _say(f"Spawned `junior-ai serve` over stdio; initialized in {(time.perf_counter() - spawn) * 1000:.0f} ms.")
            tools = await client.list_tools()
            _say(f"Tools: {', '.join(tool.name for tool in tools.tools)}\n")

            _say("$ list_ais")
            listing = await client.call_tool("list_ais", {})
            _say(_text(listing) + "\n")

            _say(f'$ ask_one ai=openai prompt="{QUESTION}"')
            one = await client.call_tool("ask_one", {"ai": "openai", "prompt": QUESTION})
            _say(_text(one) + "\n")

            _say(f'$ ask_many prompt="{QUESTION}"   (all AIs, concurrently)')

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                _say(f"  progress {progress:.0f}/{total or 0:.0f}: {message}")

            started = time.perf_counter()
            many = await client.call_tool("ask_many", {"prompt": QUESTION}, progress_callback=on_progress)
            wall_ms = (time.perf_counter() - started) * 1000
            _say(_text(many) + "\n")

            results = (many.structured_content or {}).get("results", [])
            latencies = [r["latency_ms"] for r in results if r["status"] == "ok"]
            simulated = [spec["latency_s"] * 1000 for spec in DEMO_AIS.values()]
            _say("Fan-out timing:")
            _say(
                f"  simulated latencies: {', '.join(f'{s:.0f} ms' for s in simulated)} "
                f"(slowest {max(simulated):.0f} ms, sum {sum(simulated):.0f} ms)"
            )
            _say(
                f"  measured per-AI latencies sum to {sum(latencies):.0f} ms; ask_many wall time {wall_ms:.0f} ms "
                f"= {wall_ms / max(simulated):.2f}x the slowest AI, {sum(latencies) / wall_ms:.1f}x faster than "
                "asking them one after another."
            )

            _say(f'\n$ consensus question="{QUESTION}" options=["library", "by hand"] rounds=1')
            started = time.perf_counter()
            agreed = await client.call_tool(
                "consensus",
                {"question": QUESTION, "options": ["library", "by hand"], "rounds": 1},
                progress_callback=on_progress,
            )
            consensus_ms = (time.perf_counter() - started) * 1000
            _say(_text(agreed))
            judge = (agreed.structured_content or {}).get("judge") or "openai"
            judge_ms = DEMO_AIS[judge]["latency_s"] * 1000
            _say(
                f"\nconsensus wall time {consensus_ms:.0f} ms: 2 rounds x {len(DEMO_AIS)} AIs + the judge ({judge}). "
                f"Simulated floor {2 * max(simulated) + judge_ms:.0f} ms (the slowest AI twice, then the judge); "
                f"one call at a time would take {2 * sum(simulated) + judge_ms:.0f} ms."
            )
            ok = (
                many.is_error is False
                and len(latencies) == len(DEMO_AIS)
                and agreed.is_error is False
                and (agreed.structured_content or {}).get("votes") == {"library": 3, "by hand": 1}
            )
            _say("\n$ list_ais   (after the run: usage and cost so far, priced from the packaged price table)")
            _say(_text(await client.call_tool("list_ais", {})))
        _say(f"\nSimulator saw {len(simulator.state.requests())} requests. Demo {'OK' if ok else 'FAILED'}.")
        return 0 if ok else 1


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")
