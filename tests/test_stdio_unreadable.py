"""Over stdio, a request the SDK's reader cannot parse gets a JSON-RPC error reply instead of silence (the host
would otherwise wait for its own timeout); a line with no readable id is logged; the server keeps serving."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from junior_ai.ai.simulator import Simulator
from junior_ai.server.stdio_guard import error_reply, top_level_fields
from tests.test_server_stdio import RawSession, initialize, start_server, write_credentials

LONE_SURROGATE = '{"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": {"name": "ask_one", "arguments": {"ai": "oai", "prompt": "\\ud800"}}}'
HUGE_NUMBER = (
    '{"jsonrpc": "2.0", "id": 42, "method": "tools/call", "params": {"name": "ask_one", "arguments": {"ai": "oai", "prompt": "x", "max_tokens": '
    + "9" * 5000
    + "}}}"
)
DEEP = (
    '{"jsonrpc": "2.0", "id": "deep-43", "method": "tools/call", "params": {"name": "ask_batch", "arguments": {"items": '
    + "[" * 400
    + "]" * 400
    + "}}}"
)
BROKEN = '{"jsonrpc": "2.0", "id": 44, "method": "tools/call", "params": {"name": '


async def reply_to(session: RawSession, line: str, request_id: Any) -> dict[str, Any]:
    await session.stdin.send(line.encode() + b"\n")
    while True:
        message = json.loads(await session.reader.receive_until(b"\n", 10_000_000))
        if message.get("id") == request_id:
            return message


async def test_unparseable_requests_get_a_json_rpc_error_and_the_server_keeps_serving(
    sim: Simulator, tmp_path: Path
) -> None:
    process = await start_server(write_credentials(sim, tmp_path / "credentials.json"))
    async with process:
        session = RawSession(process)
        with anyio.fail_after(60):
            await initialize(session)
            await session.stdin.send(b"no id here, not even JSON\n")  # logged, never answered
            for line, request_id, code in (
                (LONE_SURROGATE, 41, -32600),
                (HUGE_NUMBER, 42, -32600),
                (DEEP, "deep-43", -32600),
                (BROKEN, 44, -32700),
            ):
                reply = await reply_to(session, line, request_id)
                assert reply["error"]["code"] == code, reply
                assert "could not read this request" in reply["error"]["message"]
            works = await session.request(
                "tools/call", {"name": "ask_one", "arguments": {"ai": "gem", "prompt": "ok?"}}
            )
        assert works["result"]["structuredContent"]["status"] == "ok"
        await process.stdin.aclose()  # type: ignore[union-attr]
        with anyio.fail_after(10):
            assert await process.wait() == 0
        assert process.stderr is not None
        stderr = (await process.stderr.receive(1_000_000)).decode(errors="replace")
        assert "stdin_unreadable_message" in stderr


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": 3, "method": "m", "params": {"id": 9}}', {"id": 3, "method": "m"}),
        ('{"params": {"id": 9, "method": "x"}, "method": "m", "id": "a\\"b"}', {"id": 'a"b', "method": "m"}),
        ('{"jsonrpc": "2.0", "method": "notify"}', {"method": "notify"}),
        ("[1, 2]", {}),
        ('{"id": ' + "1" * 30 + ', "method": "m"}', {"id": "1" * 30, "method": "m"}),
    ],
)
def test_the_top_level_id_and_method_are_read_without_descending_into_params(
    line: str, expected: dict[str, Any]
) -> None:
    assert top_level_fields(line) == expected


def test_a_notification_or_a_response_that_cannot_be_read_is_not_answered() -> None:
    assert error_reply('{"jsonrpc": "2.0", "method": "notifications/x", "params": {"a": "\\ud800"}}') is None
    assert error_reply('{"jsonrpc": "2.0", "id": 5, "result": {"a": "\\ud800"}}') is None
