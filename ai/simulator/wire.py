"""The two wire formats the simulator speaks: OpenAI chat completions and Gemini generateContent.

Each `Wire` turns the same simulated answer into that provider's real JSON and SSE shapes, and each
provider's real error body (`{"error": {...}}`), so the real SDKs parse what they would in production.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from junior_ai.ai.simulator.scenario import count_tokens
from junior_ai.ai.simulator.state import openai_text

_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_OPENAI_TYPE = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    429: "rate_limit_error",
}


@dataclass(frozen=True)
class Answer:
    model: str
    text: str
    prompt_tokens: int
    cached_tokens: int = 0
    """How much of the prompt the simulated provider says it read from its cache."""
    reasoning_tokens: int = 0
    """Simulated thinking: output tokens billed on top of the text's own."""
    reported_cost_usd: float | None = None
    """Sent as OpenRouter's `usage.cost` (OpenAI wire only)."""
    omit_usage: bool = False
    """Send no token counts at all."""

    @property
    def usage(self) -> tuple[int, int, int]:
        """Prompt, output (thinking included) and total tokens."""
        completion = count_tokens(self.text) + self.reasoning_tokens
        return self.prompt_tokens, completion, self.prompt_tokens + completion

    @property
    def cached(self) -> int:
        return min(self.cached_tokens, self.prompt_tokens)


def sse(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


class Wire(Protocol):
    def prompt_tokens(self, body: dict[str, Any]) -> int: ...
    def json_schema(self, body: dict[str, Any]) -> dict[str, Any] | None: ...
    def error_body(self, status: int, message: str) -> dict[str, Any]: ...
    def completion(self, answer: Answer) -> dict[str, Any]: ...
    def blocked(self, model: str) -> dict[str, Any]: ...
    def blocked_stream(self, model: str) -> bytes: ...
    def stream_piece(self, answer: Answer, piece: str) -> bytes: ...
    def stream_end(self, answer: Answer) -> bytes: ...


class OpenAIWire:
    def prompt_tokens(self, body: dict[str, Any]) -> int:
        return count_tokens(" ".join(openai_text(m.get("content", "")) for m in body.get("messages", [])))

    def json_schema(self, body: dict[str, Any]) -> dict[str, Any] | None:
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
            return schema if isinstance(schema, dict) else {}
        return None

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {
            "error": {
                "message": message,
                "type": _OPENAI_TYPE.get(status, "server_error"),
                "param": None,
                "code": str(status),
            }
        }

    def _usage(self, answer: Answer) -> dict[str, Any]:
        prompt, completion, total = answer.usage
        usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
        if answer.cached:
            usage["prompt_tokens_details"] = {"cached_tokens": answer.cached}
        if answer.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": answer.reasoning_tokens}
        if answer.reported_cost_usd is not None:
            usage["cost"] = answer.reported_cost_usd
        return usage

    def completion(self, answer: Answer) -> dict[str, Any]:
        return {
            "id": "chatcmpl-sim",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": answer.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}
            ],
            "usage": None if answer.omit_usage else self._usage(answer),
        }

    def blocked(self, model: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-sim",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": "content_filter"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1},
        }

    def blocked_stream(self, model: str) -> bytes:
        return sse(self._chunk(model, {}, "content_filter")) + sse("[DONE]")

    def _chunk(self, model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-sim",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def stream_piece(self, answer: Answer, piece: str) -> bytes:
        return sse(self._chunk(answer.model, {"content": piece}, None))

    def stream_end(self, answer: Answer) -> bytes:
        usage_chunk = {
            "id": "chatcmpl-sim",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": answer.model,
            "choices": [],
            "usage": self._usage(answer),
        }
        end = sse(self._chunk(answer.model, {}, "stop"))
        return end + (b"" if answer.omit_usage else sse(usage_chunk)) + sse("[DONE]")


class GeminiWire:
    def prompt_tokens(self, body: dict[str, Any]) -> int:
        texts = [p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", [])]
        return count_tokens(" ".join(texts))

    def json_schema(self, body: dict[str, Any]) -> dict[str, Any] | None:
        config = body.get("generationConfig") or {}
        if config.get("responseMimeType") != "application/json":
            return None
        schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
        return schema if isinstance(schema, dict) else {}

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"error": {"code": status, "message": message, "status": _GEMINI_STATUS.get(status, "UNKNOWN")}}

    def _usage(self, answer: Answer) -> dict[str, int]:
        prompt, completion, total = answer.usage
        # Gemini counts thinking apart from the answer's own tokens.
        usage = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": completion - answer.reasoning_tokens,
            "totalTokenCount": total,
        }
        if answer.cached:
            usage["cachedContentTokenCount"] = answer.cached
        if answer.reasoning_tokens:
            usage["thoughtsTokenCount"] = answer.reasoning_tokens
        return usage

    def completion(self, answer: Answer) -> dict[str, Any]:
        body: dict[str, Any] = {
            "candidates": [
                {"content": {"parts": [{"text": answer.text}], "role": "model"}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": self._usage(answer),
            "modelVersion": answer.model,
        }
        if answer.omit_usage:
            del body["usageMetadata"]
        return body

    def blocked(self, model: str) -> dict[str, Any]:
        return {
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": 1},
            "modelVersion": model,
        }

    def blocked_stream(self, model: str) -> bytes:
        return sse(self.blocked(model))

    def empty(self, model: str) -> dict[str, Any]:
        return {"candidates": [], "usageMetadata": {"promptTokenCount": 1}, "modelVersion": model}

    def stream_piece(self, answer: Answer, piece: str) -> bytes:
        return sse(
            {
                "candidates": [{"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}],
                "modelVersion": answer.model,
            }
        )

    def stream_end(self, answer: Answer) -> bytes:
        end: dict[str, Any] = {
            "candidates": [{"content": {"parts": [{"text": ""}], "role": "model"}, "finishReason": "STOP", "index": 0}],
            "modelVersion": answer.model,
        }
        if not answer.omit_usage:
            end["usageMetadata"] = self._usage(answer)
        return sse(end)
