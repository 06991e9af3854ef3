"""Requests the SDK's stdio reader cannot parse still get an answer.

The SDK validates each stdin line with pydantic; a line it cannot read (a lone surrogate escape, a number with
thousands of digits, nesting beyond ~200 levels, or broken JSON) is logged and dropped, and the host waits for its
own timeout. The HTTP transport answers such a request with a JSON-RPC error; over stdio we do the same: when the
line's top-level `id` and `method` can still be read, the request gets -32700 (not JSON) or -32600 (JSON, but not a
message we can read); when no id can be read, the line is logged (a reply without an id would answer nothing).
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError

from junior_ai.core.log import get_logger

log = get_logger(__name__)

_SCAN_LIMIT = 1 << 20
"""The id of a request is near its start; a multi-megabyte line is not scanned to the end to find it."""


def readable(line: str) -> bool:
    try:
        types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except Exception:
        return False
    return True


def _value_at(text: str, start: int) -> tuple[Any, bool]:
    """The JSON scalar (string or number) at `start`; (None, False) when it is anything else."""
    decoder = json.JSONDecoder(parse_int=lambda s: int(s) if len(s) <= 18 else s)
    try:
        value, _end = decoder.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None, False
    if isinstance(value, str | int) and not isinstance(value, bool):
        return value, True
    return None, False


def top_level_fields(line: str) -> dict[str, Any]:
    """The top-level `id` (string or integer) and whether there is a `method`, read by a scanner that tolerates
    what the SDK's parser does not (it never descends into nested values)."""
    text = line[:_SCAN_LIMIT]
    found: dict[str, Any] = {}
    depth = 0
    index = text.find("{")
    if index < 0:
        return found
    expecting_key = False
    while index < len(text):
        char = text[index]
        if char == '"':
            end = _string_end(text, index)
            if end < 0:
                break
            if depth == 1 and expecting_key:
                key = text[index + 1 : end]
                colon = text.find(":", end + 1)
                if colon < 0:
                    break
                value_start = colon + 1
                while value_start < len(text) and text[value_start] in " \t\r\n":
                    value_start += 1
                if key in ("id", "method"):
                    value, ok = _value_at(text, value_start)
                    if ok:
                        found[key] = value
                expecting_key = False
                index = value_start
                continue
            index = end + 1
            continue
        if char in "{[":
            depth += 1
            expecting_key = depth == 1 and char == "{"
        elif char in "}]":
            depth -= 1
            if depth <= 0:
                break
        elif char == "," and depth == 1:
            expecting_key = True
        index += 1
    return found


def _string_end(text: str, start: int) -> int:
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            return index
        index += 1
    return -1


def error_reply(line: str) -> JSONRPCError | None:
    """The JSON-RPC error for an unreadable request line, or None (logged) when it has no id to answer."""
    try:
        json.loads(line, parse_int=str, parse_float=str, parse_constant=str)
        code, what = INVALID_REQUEST, "Invalid request"
    except (ValueError, RecursionError):
        code, what = PARSE_ERROR, "Parse error"
    fields = top_level_fields(line)
    if "id" not in fields or "method" not in fields:
        log.warning("stdin_unreadable_message", error=what, chars=len(line), start=line[:80])
        return None
    message = (
        f"{what}: the server could not read this request (common causes: a lone surrogate escape such as "
        "\\ud800, a number with thousands of digits, or nesting deeper than 200 levels). Fix the message and "
        "send it again."
    )
    log.warning("stdin_unreadable_request", id=fields["id"], method=str(fields["method"])[:80], error=what)
    return JSONRPCError(jsonrpc="2.0", id=fields["id"], error=ErrorData(code=code, message=message))
