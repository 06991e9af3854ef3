"""Checks on tool arguments that a JSON schema cannot express, with messages that say how to fix them."""

from __future__ import annotations

from typing import Any

from junior_ai.core.errors import InvalidInputError

MAX_PROMPT_CHARS = 500_000
"""Far above any model's context window in practice; stops a runaway paste before it costs anything."""


def check_prompt(prompt: str, field: str = "prompt") -> str:
    if not prompt or not prompt.strip():
        raise InvalidInputError(f"{field} is empty. Pass the question or task for the AI as {field}.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInputError(
            f"{field} is {len(prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}. Shorten it, or split the "
            "work into several calls."
        )
    return prompt


def check_json_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """A caller's JSON schema for structured output: must be a valid JSON Schema describing an object."""
    if schema is None:
        return None
    # Imported here: jsonschema costs ~0.1 s of start-up that `junior-ai batch` and calls without a schema skip.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except RecursionError:
        raise InvalidInputError("json_schema is nested too deeply; flatten it (e.g. with $defs and $ref).") from None
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise InvalidInputError(
            f"json_schema is not a valid JSON Schema at {where}: {exc.message}. Example of a valid one: "
            '{"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}.'
        ) from None
    if schema.get("type") != "object":
        raise InvalidInputError(
            'json_schema must describe an object at the top level ("type": "object"); providers require it for '
            "structured output. Wrap other values in a property."
        )
    return schema
