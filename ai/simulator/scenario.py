"""What a simulated model does: how fast it answers, what it says, and how it fails.

A scenario is looked up by model name: first in the simulator's table (set by tests, the demo or a
`--config` file), else read from the name itself: a model called `echo-300ms` answers after 300 ms.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "status",  # an HTTP error answer with the provider's real error body
    "hang",  # accept the request and never answer (until the client goes away)
    "drop",  # start a response, then cut the connection mid-body
    "malformed",  # 200 with a body that is not JSON
    "truncate",  # streaming: a couple of chunks, then the stream ends without finishing
    "stall",  # streaming: a first chunk, then silence
    "blocked",  # a safety block (Gemini promptFeedback / OpenAI content_filter)
    "empty",  # Gemini: no candidates at all
]


class Fault(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind
    status: int = 500
    retry_after: str | None = None
    """Sent verbatim as the Retry-After header: seconds ("2") or an HTTP date."""
    message: str | None = None
    body: dict[str, Any] | None = None
    """With kind "status": the error body verbatim (a provider's exact shape, e.g. Gemini's API_KEY_INVALID
    details); None builds the protocol's usual body around `message`."""
    times: int | None = None
    """Fail only the first `times` requests for this model, then answer normally; None fails every request."""


class ReplyRule(BaseModel):
    """Answer `reply` when the request's prompt text contains `contains` (first matching rule wins)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contains: str
    reply: str
    delay_s: float = Field(default=0.0, ge=0)
    """Extra latency for requests this rule answers (e.g. to stall one stage of a multi-stage tool)."""


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_s: float = Field(default=0.0, ge=0)
    jitter_s: float = Field(default=0.0, ge=0)
    """Uniform random extra latency (seeded: runs are repeatable)."""
    chunk_count: int = Field(default=3, ge=1)
    chunk_delay_s: float = Field(default=0.0, ge=0)
    replies: tuple[str, ...] = ()
    """Scripted answers, used in turn (cycling); empty means the deterministic echo."""
    rules: tuple[ReplyRule, ...] = ()
    """Scripted answers chosen by prompt content; checked before `replies`."""
    fault: Fault | None = None
    cached_tokens: int = Field(default=0, ge=0)
    """Prompt tokens reported as read from the provider's cache (capped at the prompt's size)."""
    reasoning_tokens: int = Field(default=0, ge=0)
    """Thinking tokens reported on top of the answer's (OpenAI `reasoning_tokens`, Gemini `thoughtsTokenCount`)."""
    reported_cost_usd: float | None = Field(default=None, ge=0)
    """Reported per call as `usage.cost` on the OpenAI wire, as OpenRouter does."""
    hold_until_in_flight: int = Field(default=0, ge=0)
    """Hold the answer until this many requests (any model) have been in flight at once since the last reset: a
    barrier that proves calls run concurrently (one after another they would never get there) without timing."""
    omit_usage: bool = False
    """Answer without any token counts (`"usage": null`, no usage chunk, no `usageMetadata`), as some
    OpenAI-compatible servers do."""
    rejects: tuple[str, ...] = ()
    """Request parameters this model refuses with a 400, as OpenAI's reasoning models do ("temperature",
    "max_tokens"), or a model without thinking does ("reasoning_effort", "thinkingConfig"); "json_schema" refuses
    `response_format: json_schema` as many compatible servers do."""
    rejects_images: bool = False
    """Refuse requests carrying an image with a 400, as a text-only model does."""
    rejects_pdfs: bool = False
    """Refuse requests carrying a PDF file part with a 400, as a server that cannot read PDFs does."""


def unsupported_parameter_message(parameter: str) -> str:
    """OpenAI's own wording, which clients (ours included) recognise."""
    if parameter == "json_schema":
        return "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."
    message = f"Unsupported parameter: '{parameter}' is not supported with this model."
    if parameter == "max_tokens":
        message += " Use 'max_completion_tokens' instead."
    return message


IMAGE_REJECTED = "Invalid content type. image_url is only supported by certain models."
PDF_REJECTED = "Invalid content type. file parts (PDF) are not supported by this model."


_LATENCY_IN_NAME = re.compile(r"(\d+)ms\b")


def scenario_from_name(model: str) -> Scenario:
    match = _LATENCY_IN_NAME.search(model)
    return Scenario(latency_s=int(match.group(1)) / 1000) if match else Scenario()


def prompt_digest(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:8]


def echo_reply(model: str, prompt: str) -> str:
    """The deterministic default answer: names the model and a digest of the prompt, so tests can check both."""
    snippet = " ".join(prompt.split())[:60]
    return f"[{model}] reply to {prompt_digest(prompt)}: {snippet}"


def instance_of(schema: dict[str, Any]) -> Any:
    """A small value that satisfies a JSON schema, for structured-output requests."""
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: instance_of(sub) for name, sub in properties.items() if isinstance(sub, dict)}
    if kind == "array":
        items = schema.get("items")
        return [instance_of(items)] if isinstance(items, dict) and schema.get("minItems", 0) > 0 else []
    return {"string": "simulated", "integer": 1, "number": 1.0, "boolean": True, "null": None}.get(str(kind))


def schema_in_text(text: str) -> dict[str, Any] | None:
    """The first JSON Schema object written into a prompt (json_object mode carries the schema there)."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    for start in (i for i, char in enumerate(text) if char == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and ("properties" in value or "type" in value):
            found = value
            break
    return found


def json_reply(schema: dict[str, Any]) -> str:
    return json.dumps(instance_of(schema))


def count_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def split_chunks(text: str, count: int) -> list[str]:
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
