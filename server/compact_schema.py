"""Smaller tool schemas, same meaning: a host re-sends `tools/list` to its model on every turn.

pydantic's JSON schemas carry a generated `title` on every property and model, `"default": null` on every
optional field, and `anyOf: [{type: X}, {type: null}]` for `X | None`. None of that helps a model call a
tool; all of it costs context. This rewrites them: an optional argument is simply not required (the server still
accepts an explicit null), and an optional result field is left out of the result when it has no value.
"""

from __future__ import annotations

from typing import Any

_SCHEMA_MAPS = {"properties", "$defs", "definitions", "patternProperties"}
"""Keywords whose value maps names to schemas (so a property called "title" is not a title keyword)."""


def compact(schema: Any, *, for_output: bool = False) -> Any:
    """Drop titles and null defaults; for output schemas also defaults, descriptions, enums, `required` and the
    type of scalar properties: the model reads the result, whose text rendering explains itself, and an output
    schema only has to admit it."""
    if isinstance(schema, list):
        return [compact(item, for_output=for_output) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (for_output and key in {"description", "required", "enum"}):
            continue
        if key == "additionalProperties" and value is True:  # the default
            continue
        if key == "default" and (value is None or for_output):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            result[key] = {name: compact(sub, for_output=for_output) for name, sub in value.items()}
        else:
            result[key] = compact(value, for_output=for_output)
    result = _drop_null(result)
    if for_output and len(result) == 1 and result.get("type") in _SCALARS:
        # The property's name is what tells a model something; `{}` admits the value just as well, and a host
        # re-reads every output schema on every turn.
        return {}
    return result


_SCALARS = {"string", "number", "integer", "boolean"}


def _drop_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, {"type": "null"}]` → `X` (with the outer keywords kept).

    Sound for inputs, where None means "omitted" and the field is not required anyway; for outputs, the server
    leaves None fields out of the structured result (`exclude_none`). The cost fields are the exception (an
    unknown cost is sent as null: `NullCostModel`), and their scalar schema compacts to `{}`, which admits null.
    """
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return schema
    other = next(option for option in options if option != {"type": "null"})
    if not isinstance(other, dict):
        return schema
    merged = {key: value for key, value in schema.items() if key != "anyOf"}
    merged.update(other)
    return merged


def compact_tool_schemas(tools: list[Any]) -> None:
    """Rewrite the published input and output schemas of registered MCPServer tools in place."""
    for tool in tools:
        tool.parameters = compact(tool.parameters)
        if tool.fn_metadata.output_schema is not None:
            tool.fn_metadata.output_schema = compact(tool.fn_metadata.output_schema, for_output=True)
