"""The last checks on a tool result before it leaves: is it honest about failure, and does it fit the budget?

- Nobody answered: `ask_many`, `consensus` and `debate` with no AI answering are an error result (`isError`), still
  listing each AI with its status and error, so a host never reads "0/2 answered" as success.
- The output budget counts everything a result carries, echoes included (the question, options, stances, a thread
  id inside an error). Answers are trimmed earlier (`output_budget.Trimmer`); whatever still does not fit is cut
  here, longest strings first, and the full text rendering is kept as a resource.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from junior_ai.tools.output_budget import CHARS_PER_TOKEN, ResultStore

MIN_STRING_CHARS = 200
MIN_LIST_ITEMS = 10


def failed_calls(structured: BaseModel) -> list[tuple[str, str, str | None]] | None:
    """(ai, status, error) of every AI asked when none of them answered; None when at least one did, or when the
    result is not a fan-out."""
    entries = getattr(structured, "results", None)
    if entries is None:
        entries = getattr(structured, "rounds", None)
    if not isinstance(entries, list) or not entries:
        return None
    if any(getattr(entry, "status", None) == "ok" for entry in entries):
        return None
    seen: dict[str, tuple[str, str, str | None]] = {}
    for entry in entries:  # the last round's outcome per AI
        seen[entry.ai] = (entry.ai, entry.status, entry.error)
    return list(seen.values())


def nobody_answered_text(failures: list[tuple[str, str, str | None]]) -> str:
    lines = [f"No AI answered ({len(failures)} asked, 0 answered): this is a failure, not an answer."]
    lines.extend(f"- {ai}: {status}" + (f": {error}" if error else "") for ai, status, error in failures)
    lines.append("Fix the errors above (list_ais shows each AI's health), or ask other AIs.")
    return "\n".join(lines)


def _size(text: str, data: Any) -> int:
    return len(text) + len(json.dumps(data, ensure_ascii=False))


def _cap_strings(data: Any, cap: int) -> Any:
    if isinstance(data, str) and len(data) > cap:
        return data[:cap] + f" […{len(data) - cap:,} more characters cut to fit the output budget]"
    if isinstance(data, dict):
        capped: dict[str, Any] = {}
        for key, value in data.items():
            short = key if len(key) <= cap else f"{key[:cap]}…[{len(key):,} characters]"
            while short in capped:  # two long keys with one beginning: keep both
                short += "'"
            capped[short] = _cap_strings(value, cap)
        return capped
    if isinstance(data, list):
        return [_cap_strings(value, cap) for value in data]
    return data


def fit_result(
    text: str, data: dict[str, Any], *, budget_tokens: int, store: ResultStore | None
) -> tuple[str, dict[str, Any]]:
    """`text` and `data` (the structured content) cut to fit `budget_tokens` together. The full text is kept in
    `store` and the cut text names its URI."""
    budget = budget_tokens * CHARS_PER_TOKEN
    if _size(text, data) <= budget:
        return text, data
    # Half the budget each: the text rendering and the structured content both carry the same content.
    cap = max((len(s) for s in _strings(data)), default=0)
    fitted = data
    while cap > MIN_STRING_CHARS and len(json.dumps(fitted, ensure_ascii=False)) > budget // 2:
        cap //= 2
        fitted = _cap_strings(data, cap)
    # Many short strings (e.g. hundreds of model names per AI) can still be too much: shorten long lists of
    # strings, saying how many were left out.
    longest = max((len(items) for items in _string_lists(fitted)), default=0)
    while longest > MIN_LIST_ITEMS and len(json.dumps(fitted, ensure_ascii=False)) > budget // 2:
        longest //= 2
        fitted = _cap_lists(fitted, longest)
    if len(text) > budget // 2:
        note = ""
        if store is not None:
            uri = store.put(store.new_id(), "result", text)
            note = f"\n\n[result cut to fit the output budget: {len(text):,} characters in all; full text: {uri}]"
        else:
            note = f"\n\n[result cut to fit the output budget: {len(text):,} characters in all]"
        text = text[: budget // 2 - len(note)] + note
    return text, fitted


def _strings(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [*data.keys(), *(s for value in data.values() for s in _strings(value))]
    if isinstance(data, list):
        return [s for value in data for s in _strings(value)]
    return []


def _string_lists(data: Any) -> list[list[str]]:
    if isinstance(data, dict):
        return [found for value in data.values() for found in _string_lists(value)]
    if isinstance(data, list):
        if data and all(isinstance(item, str) for item in data):
            return [data]
        return [found for value in data for found in _string_lists(value)]
    return []


def _cap_lists(data: Any, length: int) -> Any:
    if isinstance(data, dict):
        return {key: _cap_lists(value, length) for key, value in data.items()}
    if isinstance(data, list):
        if len(data) > length and all(isinstance(item, str) for item in data):
            return [*data[:length], f"[… {len(data) - length:,} more cut to fit the output budget]"]
        return [_cap_lists(value, length) for value in data]
    return data
