"""Batch templates: `{item}`, `{item.field}` and `{item[key]}` are the only placeholders; `{{` and `}}` are
literal braces. Anything else in braces (`{itemx}`, `{items}`, `{name}`, a lone `{`) is refused before any item is
sent: it would otherwise go out verbatim, the same prompt for every item, paid for once per item."""

from __future__ import annotations

import json
import re
from typing import Any

from junior_ai.core.errors import InvalidInputError

_TOKEN = re.compile(
    r"\{\{|\}\}"  # escaped braces
    r"|\{item(?:\.(?P<field>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<key>[^\[\]{}]+)\])?\}"  # the placeholders
    r"|[{}]"  # anything else: an error
)


def check_template(template: str, option: str = "template") -> str:
    """The template, if it has at least one placeholder and no stray braces; else an `InvalidInputError`."""
    placeholders = 0
    for match in _TOKEN.finditer(template):
        piece = match.group(0)
        if piece in ("{{", "}}"):
            continue
        if piece in ("{", "}"):
            end = template.find("}", match.start()) if piece == "{" else match.start()
            shown = template[match.start() : end + 1] if piece == "{" and 0 <= end - match.start() < 40 else piece
            raise InvalidInputError(
                f"{option} has {shown!r} at character {match.start() + 1}, which is not a placeholder. The "
                "placeholders are {item}, {item.field} and {item[key]}; write {{ and }} for literal braces."
            )
        placeholders += 1
    if not placeholders:
        raise InvalidInputError(
            f"{option} must use {{item}} (or {{item.field}} / {{item[key]}} for object items), e.g. "
            "'Summarise: {item}'; write {{ and }} for literal braces."
        )
    return template


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render(template: str, item: Any) -> str:
    """`{item}` is the item itself (JSON for objects); `{item.field}` / `{item[key]}` a field of an object item
    (a missing field is a `KeyError` naming it). Assumes `check_template` passed."""

    def substitute(match: re.Match[str]) -> str:
        piece = match.group(0)
        if piece in ("{{", "}}"):
            return piece[0]
        field = match.group("field") or match.group("key")
        if field is None:
            if piece in ("{", "}"):
                return piece
            return _text(item)
        if not isinstance(item, dict) or field not in item:
            raise KeyError(field)
        return _text(item[field])

    return _TOKEN.sub(substitute, template)
