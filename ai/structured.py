"""Structured output that is checked: a `json_schema` answer is parsed and validated, never trusted.

- `check_answer` parses an answer (bare JSON, or JSON in one Markdown code fence, as models often wrap it) and
  validates it with `jsonschema`; it returns the value, or the first few problems as readable lines.
- `correction` is the follow-up turn that shows the AI what was wrong, for the one corrective retry.
- `strict_problem` says whether OpenAI-compatible strict mode can be used for a schema: strict mode requires every
  object to list all of its properties as required and to set `additionalProperties: false`, and it supports only
  a subset of keywords. A schema outside those rules is sent without `strict` (noted in `adaptations`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from junior_ai.ai.types import GenerateRequest, Message

MAX_ERRORS = 5
"""How many validation problems a result carries: enough to act on, never a wall of text."""
_MAX_ERROR_CHARS = 300
_FENCE = re.compile(r"^```(?:json|JSON)?\s*\n(.*?)\n?```$", re.DOTALL)

# Keywords OpenAI's strict structured-output mode accepts (its documented subset of JSON Schema).
_STRICT_KEYWORDS = frozenset(
    {
        "$schema",
        "$defs",
        "$ref",
        "definitions",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "description",
        "title",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)


@dataclass(frozen=True)
class Checked:
    """What an answer amounted to: `data` when `errors` is empty."""

    data: Any
    errors: list[str]

    @property
    def valid(self) -> bool:
        return not self.errors


def parse_json(text: str) -> Any:
    """The JSON value in `text`: the whole text, or the content of a single code fence around it.

    Raises `json.JSONDecodeError`; prose around the JSON ("Sure! Here it is: {...}") is deliberately not dug
    through, since a model that answers so is not following the format it was asked for.
    """
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    return json.loads(fenced.group(1) if fenced else stripped)


def check_answer(text: str, schema: dict[str, Any]) -> Checked:
    try:
        data = parse_json(text)
    except json.JSONDecodeError as exc:
        preview = _clip(text.strip()[:80])
        return Checked(None, [f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); it began {preview!r}"])
    except RecursionError:
        return Checked(None, ["the JSON is nested too deeply to read"])
    from jsonschema import Draft202012Validator  # only a call that brings a json_schema pays for the import

    validator = Draft202012Validator(schema)
    try:
        problems = sorted(validator.iter_errors(data), key=lambda error: list(error.absolute_path))
    except RecursionError:
        return Checked(None, ["the JSON is nested too deeply to validate"])
    errors = [f"{_where(list(error.absolute_path))}: {_clip(error.message)}" for error in problems[:MAX_ERRORS]]
    return Checked(data if not errors else None, errors)


def correction(request: GenerateRequest, answer: str, errors: list[str]) -> GenerateRequest:
    """The request once more, with the invalid answer and what was wrong with it as the last two turns."""
    listed = "\n".join(f"- {error}" for error in errors)
    follow_up = (
        "Your answer did not match the required JSON schema:\n"
        f"{listed}\n"
        "Reply again with only the JSON value that satisfies the schema: no prose, no code fences."
    )
    return request.model_copy(
        update={
            "messages": (
                *request.messages,
                Message(role="assistant", content=answer),
                Message(role="user", content=follow_up),
            )
        }
    )


def schema_instruction(schema: dict[str, Any]) -> str:
    """The system-prompt text that carries the schema when a provider takes only `json_object` mode."""
    return "Answer with only a JSON value (no prose, no code fences) that satisfies this JSON Schema:\n" + json.dumps(
        schema, ensure_ascii=False
    )


def strict_problem(schema: dict[str, Any]) -> str | None:
    """Why `schema` cannot be sent in OpenAI strict mode, or None when it can."""
    if schema.get("type") != "object":
        return "the top level is not an object"
    try:
        return _strict_walk(schema, "(root)")
    except RecursionError:
        return "the schema is nested too deeply to check"


def _strict_walk(node: Any, where: str) -> str | None:
    if not isinstance(node, dict):
        return None
    for keyword in node:
        if keyword not in _STRICT_KEYWORDS:
            return f"keyword {keyword!r} at {where} is not supported in strict mode"
    types = node.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types) or "properties" in node
    if is_object:
        properties = node.get("properties") or {}
        if node.get("additionalProperties") is not False:
            return f"the object at {where} does not set additionalProperties: false"
        missing = sorted(set(properties) - set(node.get("required") or []))
        if missing:
            return f"the object at {where} does not require {', '.join(missing)}"
        for name, sub in properties.items():
            if (problem := _strict_walk(sub, f"{where}/{name}")) is not None:
                return problem
    children: list[tuple[str, Any]] = []
    if isinstance(node.get("items"), dict):
        children.append((f"{where}/items", node["items"]))
    for index, option in enumerate(node.get("anyOf") or []):
        children.append((f"{where}/anyOf/{index}", option))
    for defs in ("$defs", "definitions"):
        for name, sub in (node.get(defs) or {}).items():
            children.append((f"{where}/{defs}/{name}", sub))
    for path, child in children:
        if (problem := _strict_walk(child, path)) is not None:
            return problem
    return None


def _where(path: list[Any]) -> str:
    return "/" + "/".join(str(part) for part in path) if path else "(root)"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"
