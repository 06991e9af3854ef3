"""Parameter adaptation: when a model rejects a parameter we sent, send it the way the model wants — once,
remembered for that model for the rest of the session, and reported in every result it affects.

Known cases (OpenAI-compatible APIs): reasoning models reject `temperature`, and newer models want
`max_completion_tokens` instead of `max_tokens`; models without reasoning reject `reasoning_effort`, servers
that cannot read PDFs reject `file` parts (the PDF's extracted text goes instead), and many compatible servers
reject `response_format: json_schema`; those get `json_object` mode with the schema in the system prompt (the
answer is validated the same way either way, see ai/structured.py). Gemini: models without thinking reject
`thinkingConfig`.
"""

from __future__ import annotations

import threading
from typing import Any

from junior_ai.ai.structured import schema_instruction

DROP_TEMPERATURE = "drop_temperature"
MAX_COMPLETION_TOKENS = "max_completion_tokens"
DROP_REASONING_EFFORT = "drop_reasoning_effort"
DROP_THINKING = "drop_thinking"
PDF_AS_TEXT = "pdf_as_text"
JSON_OBJECT = "json_object"

_NOTES = {
    DROP_TEMPERATURE: "temperature was not sent: {model} rejects it",
    MAX_COMPLETION_TOKENS: "max_tokens was sent as max_completion_tokens, as {model} requires",
    DROP_REASONING_EFFORT: "reasoning_effort was not sent: {model} rejects it",
    DROP_THINKING: "reasoning_effort (thinkingConfig) was not sent: {model} rejects it",
    PDF_AS_TEXT: "PDFs were sent as extracted text: {model} does not read PDF files",
    JSON_OBJECT: "{model} rejects response_format json_schema: json_object was sent, the schema in the system prompt",
}


def note(adaptation: str, model: str) -> str:
    return _NOTES[adaptation].format(model=model)


def adaptation_for(message: str, params: dict[str, Any]) -> str | None:
    """The adaptation a 400 message asks for, if we recognise it and it applies to what we sent."""
    text = message.lower()
    if _json_schema_of(params) is not None and ("json_schema" in text or "response_format" in text):
        return JSON_OBJECT
    if "max_tokens" in params and "max_completion_tokens" in text:
        return MAX_COMPLETION_TOKENS
    if "reasoning_effort" in params and ("reasoning_effort" in text or "reasoning effort" in text):
        return DROP_REASONING_EFFORT
    if "temperature" in params and "temperature" in text:
        return DROP_TEMPERATURE
    if _sends_file_parts(params) and any(word in text for word in ("file", "pdf")):
        return PDF_AS_TEXT
    return None


def thinking_adaptation_for(message: str, sent_thinking: bool) -> str | None:
    """Gemini: a 400 about the thinking configuration we sent."""
    return DROP_THINKING if sent_thinking and "thinking" in message.lower() else None


def _sends_file_parts(params: dict[str, Any]) -> bool:
    for message in params.get("messages", ()):
        content = message.get("content")
        if isinstance(content, list) and any(part.get("type") == "file" for part in content):
            return True
    return False


class ParamMemory:
    """Adaptations learned per model; shared by the async and the sync (worker thread) paths."""

    def __init__(self) -> None:
        self._by_model: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def learn(self, model: str, adaptation: str) -> bool:
        """Remember it; False if it was already known (then retrying would not help)."""
        with self._lock:
            known = self._by_model.setdefault(model, set())
            if adaptation in known:
                return False
            known.add(adaptation)
            return True

    def knows(self, model: str, adaptation: str) -> bool:
        with self._lock:
            return adaptation in self._by_model.get(model, ())

    def apply(self, model: str, params: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        """`params` with this model's adaptations, and a note for each one that changed something."""
        with self._lock:
            known = set(self._by_model.get(model, ()))
        adapted = dict(params)
        notes = []
        if DROP_TEMPERATURE in known and "temperature" in adapted:
            del adapted["temperature"]
            notes.append(_NOTES[DROP_TEMPERATURE].format(model=model))
        if MAX_COMPLETION_TOKENS in known and "max_tokens" in adapted:
            adapted["max_completion_tokens"] = adapted.pop("max_tokens")
            notes.append(_NOTES[MAX_COMPLETION_TOKENS].format(model=model))
        if DROP_REASONING_EFFORT in known and "reasoning_effort" in adapted:
            del adapted["reasoning_effort"]
            notes.append(_NOTES[DROP_REASONING_EFFORT].format(model=model))
        schema = _json_schema_of(adapted)
        if JSON_OBJECT in known and schema is not None:
            adapted["response_format"] = {"type": "json_object"}
            adapted["messages"] = _with_schema_in_system(adapted.get("messages", []), schema)
            notes.append(_NOTES[JSON_OBJECT].format(model=model))
        return adapted, tuple(notes)


def _json_schema_of(params: dict[str, Any]) -> dict[str, Any] | None:
    response_format = params.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    schema = (response_format.get("json_schema") or {}).get("schema")
    return schema if isinstance(schema, dict) else None


def _with_schema_in_system(messages: list[dict[str, Any]], schema: dict[str, Any]) -> list[dict[str, Any]]:
    instruction = schema_instruction(schema)
    if messages and messages[0].get("role") == "system":
        first = messages[0]
        return [{**first, "content": f"{first.get('content', '')}\n\n{instruction}"}, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]
