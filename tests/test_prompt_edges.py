"""prompts/get edges: an unknown prompt or a missing argument is JSON-RPC -32602 with a clean message and no
traceback; prompt arguments carry descriptions; list-valued arguments take a JSON array (items with commas)."""

from __future__ import annotations

import logging

import pytest
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError

from junior_ai.core.config import JuniorConfig
from junior_ai.server.app import build_server


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("consensu", {"question": "q"}, "Unknown prompt 'consensu'. Did you mean 'consensus'?"),
        ("consensus", {}, "missing required argument 'question'"),
        ("debate", {"topic": "t", "stance": "a"}, "unknown argument 'stance'. Did you mean 'stances'?"),
        ("consensus", {"question": "q", "options": '["a", '}, "options looks like a JSON array but is not valid"),
    ],
    ids=["unknown-prompt", "missing-argument", "unknown-argument", "bad-json-array"],
)
async def test_a_bad_prompts_get_is_invalid_params_with_a_clean_message_and_no_traceback(
    name: str, arguments: dict[str, str], expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with Client(build_server(JuniorConfig())) as client:
        with pytest.raises(MCPError) as caught:
            await client.get_prompt(name, arguments)
    assert caught.value.code == -32602
    assert expected in caught.value.message
    assert "{" not in caught.value.message.replace('["a", ', "")  # no Python set printout
    assert not any(record.exc_info for record in caplog.records)
    assert "Traceback" not in caplog.text


async def test_every_prompt_argument_has_a_description() -> None:
    async with Client(build_server(JuniorConfig())) as client:
        prompts = (await client.list_prompts()).prompts
    arguments = [argument for prompt in prompts for argument in prompt.arguments or []]
    assert arguments and all(argument.description for argument in arguments)


@pytest.mark.parametrize(
    ("prompt", "arguments", "expected"),
    [
        ("consensus", {"question": "q", "options": '["postgres", "sqlite"]'}, '["postgres", "sqlite"]'),
        (
            "consensus",
            {"question": "q", "options": '["Postgres, managed", "SQLite"]'},
            '["Postgres, managed", "SQLite"]',
        ),
        ("consensus", {"question": "q", "options": "postgres, sqlite"}, '["postgres", "sqlite"]'),
        (
            "debate",
            {"topic": "t", "stances": "for it, with caveats\nagainst it"},
            '["for it, with caveats", "against it"]',
        ),
        ("second_opinion", {"question": "q", "ais": '["gemini", "openai"]'}, 'ais=["gemini", "openai"]'),
    ],
)
async def test_list_valued_prompt_arguments_accept_json_arrays_and_items_with_commas(
    prompt: str, arguments: dict[str, str], expected: str
) -> None:
    async with Client(build_server(JuniorConfig())) as client:
        result = await client.get_prompt(prompt, arguments)
    text = result.messages[0].content.text  # type: ignore[union-attr]
    assert expected in text
