"""Parameter adaptation: when a model rejects a parameter we sent, send it the way the model wants — once,
remembered for that model for the rest of the session, and reported in every result it affects.

Known cases (OpenAI-compatible APIs): reasoning models reject `temperature`, and newer models want
`max_completion_tokens` instead of `max_tokens`.
"""

from __future__ import annotations

import threading
from typing import Any

DROP_TEMPERATURE = "drop_temperature"
MAX_COMPLETION_TOKENS = "max_completion_tokens"

_NOTES = {
    DROP_TEMPERATURE: "temperature was not sent: {model} rejects it",
    MAX_COMPLETION_TOKENS: "max_tokens was sent as max_completion_tokens, as {model} requires",
}


def adaptation_for(message: str, params: dict[str, Any]) -> str | None:
    """The adaptation a 400 message asks for, if we recognise it and it applies to what we sent."""
    text = message.lower()
    if "max_tokens" in params and "max_completion_tokens" in text:
        return MAX_COMPLETION_TOKENS
    if "temperature" in params and "temperature" in text:
        return DROP_TEMPERATURE
    return None


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
        return adapted, tuple(notes)
