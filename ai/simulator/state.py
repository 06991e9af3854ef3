"""What the simulator saw: every request, what became of it, and how many were in flight at once.

Written from the simulator's event loop thread, read from tests in another: every access holds the lock.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from junior_ai.ai.simulator.scenario import ReplyRule, Scenario, scenario_from_name

Outcome = Literal["pending", "completed", "fault", "disconnected"]


@dataclass
class RequestRecord:
    id: int
    provider: Literal["openai", "gemini"]
    path: str
    model: str
    body: dict[str, Any]
    api_key: str | None
    stream: bool
    started: float
    ended: float | None = None
    status: int | None = None
    outcome: Outcome = "pending"
    chunks_sent: int = 0

    @property
    def full_text(self) -> str:
        """Every text the request carried (system prompt, all turns), joined: what scripted rules match."""
        if self.provider == "openai":
            return "\n".join(openai_text(m.get("content", "")) for m in self.body.get("messages", []))
        system = self.body.get("systemInstruction") or {}
        parts = [p.get("text", "") for p in system.get("parts", [])] if isinstance(system, dict) else []
        parts += [p.get("text", "") for c in self.body.get("contents", []) for p in c.get("parts", [])]
        return "\n".join(parts)

    @property
    def prompt(self) -> str:
        """The last user text, whichever protocol carried it."""
        if self.provider == "openai":
            users = [m for m in self.body.get("messages", []) if m.get("role") == "user"]
            return openai_text(users[-1].get("content", "")) if users else ""
        contents = [c for c in self.body.get("contents", []) if c.get("role", "user") == "user"]
        parts = contents[-1].get("parts", []) if contents else []
        return "".join(p.get("text", "") for p in parts)

    def attachments(self) -> list[tuple[str, bytes]]:
        """Every image or file the request carried, as (MIME type, the bytes received), in order."""
        found: list[tuple[str, bytes]] = []
        if self.provider == "openai":
            for message in self.body.get("messages", []):
                content = message.get("content")
                for part in content if isinstance(content, list) else []:
                    if part.get("type") == "image_url":
                        found.append(_from_data_url(part["image_url"]["url"]))
                    elif part.get("type") == "file":
                        found.append(_from_data_url(part["file"]["file_data"]))
            return found
        for content in self.body.get("contents", []):
            for part in content.get("parts", []):
                # google-genai writes `inlineData` with a `mime_type` inside; the API takes either spelling.
                inline = part.get("inlineData") or part.get("inline_data")
                if inline:
                    mime = inline.get("mimeType") or inline.get("mime_type") or ""
                    found.append((mime, _b64(inline.get("data", ""))))
        return found

    def texts(self) -> list[str]:
        """The text pieces of the last user turn (context blocks first, the prompt last)."""
        if self.provider == "openai":
            users = [m for m in self.body.get("messages", []) if m.get("role") == "user"]
            content = users[-1].get("content", "") if users else ""
            if isinstance(content, str):
                return [content]
            return [p.get("text", "") for p in content if p.get("type") == "text"]
        contents = [c for c in self.body.get("contents", []) if c.get("role", "user") == "user"]
        return [p["text"] for p in (contents[-1].get("parts", []) if contents else []) if "text" in p]


def openai_text(content: Any) -> str:
    """The text of an OpenAI message's content, whether a string or a list of parts."""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content)


def _from_data_url(url: str) -> tuple[str, bytes]:
    head, _, data = url.partition(",")
    return head.removeprefix("data:").removesuffix(";base64"), _b64(data)


def _b64(data: str) -> bytes:
    """Standard or URL-safe base64, padded or not (google-genai sends URL-safe; the API takes both)."""
    return base64.urlsafe_b64decode(data.replace("+", "-").replace("/", "_") + "=" * (-len(data) % 4))


def matching_rule(scenario: Scenario, prompt: str) -> ReplyRule | None:
    return next((rule for rule in scenario.rules if rule.contains in prompt), None)


@dataclass
class SimulatorState:
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    seed: int = 1234
    _records: list[RequestRecord] = field(default_factory=list)
    _fault_counts: dict[str, int] = field(default_factory=dict)
    _reply_counts: dict[str, int] = field(default_factory=dict)
    _held: set[tuple[str, str | None]] = field(default_factory=set)
    _in_flight: int = 0
    _max_in_flight: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)
        self._rng = random.Random(self.seed)  # noqa: S311 - simulated jitter

    # --- configuration (tests) ---

    def set_scenario(self, model: str, scenario: Scenario) -> None:
        with self._lock:
            self.scenarios[model] = scenario
            self._fault_counts.pop(model, None)
            self._reply_counts.pop(model, None)

    def hold(self, model: str, contains: str | None = None) -> None:
        """Requests for `model` (only those whose text has `contains`, if given) wait, after their latency, until
        `release`: a test decides when an answer arrives instead of guessing a latency. A held request still
        notices the client going away."""
        with self._lock:
            self._held.add((model, contains))

    def release(self, model: str, contains: str | None = None) -> None:
        with self._lock:
            self._held.discard((model, contains))

    def is_held(self, record: RequestRecord) -> bool:
        with self._lock:
            held = [contains for model, contains in self._held if model == record.model]
        return any(contains is None or contains in record.full_text for contains in held)

    def reset(self) -> None:
        with self._lock:
            self._held.clear()
            self.scenarios.clear()
            self._records.clear()
            self._fault_counts.clear()
            self._reply_counts.clear()
            self._max_in_flight = self._in_flight

    # --- used by the routes ---

    def scenario_for(self, model: str) -> Scenario:
        with self._lock:
            return self.scenarios.get(model) or scenario_from_name(model)

    def latency_for(self, scenario: Scenario) -> float:
        with self._lock:
            jitter = self._rng.uniform(0, scenario.jitter_s) if scenario.jitter_s else 0.0
        return scenario.latency_s + jitter

    def should_fault(self, model: str, scenario: Scenario) -> bool:
        if scenario.fault is None:
            return False
        if scenario.fault.times is None:
            return True
        with self._lock:
            used = self._fault_counts.get(model, 0)
            if used >= scenario.fault.times:
                return False
            self._fault_counts[model] = used + 1
            return True

    def next_reply(self, model: str, scenario: Scenario, prompt: str = "") -> str | None:
        rule = matching_rule(scenario, prompt)
        if rule is not None:
            return rule.reply
        if not scenario.replies:
            return None
        with self._lock:
            index = self._reply_counts.get(model, 0)
            self._reply_counts[model] = index + 1
        return scenario.replies[index % len(scenario.replies)]

    def begin(self, **fields: Any) -> RequestRecord:
        with self._lock:
            record = RequestRecord(id=len(self._records) + 1, started=time.monotonic(), **fields)
            self._records.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._changed.notify_all()
            return record

    def finish(self, record: RequestRecord, outcome: Outcome, status: int | None = None) -> None:
        with self._lock:
            if record.ended is not None:
                return
            record.ended = time.monotonic()
            record.outcome = outcome
            if status is not None:
                record.status = status
            self._in_flight -= 1
            self._changed.notify_all()

    def chunk_sent(self, record: RequestRecord) -> None:
        with self._lock:
            record.chunks_sent += 1
            self._changed.notify_all()

    # --- read by tests ---

    def requests(self, model: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._records if model is None or r.model == model]

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._max_in_flight

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Block (in a test thread) until `predicate(self)` holds; False on timeout. Not for the event loop."""
        with self._changed:
            return bool(self._changed.wait_for(lambda: predicate(self), timeout))
