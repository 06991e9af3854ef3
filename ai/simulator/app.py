"""The simulator's HTTP routes: one request flow (latency, fault, answer) behind both wire formats."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from junior_ai.ai.simulator.batches import BatchEngine
from junior_ai.ai.simulator.scenario import (
    IMAGE_REJECTED,
    PDF_REJECTED,
    Fault,
    Scenario,
    count_tokens,
    echo_reply,
    json_reply,
    schema_in_text,
    split_chunks,
    unsupported_parameter_message,
)
from junior_ai.ai.simulator.state import RequestRecord, SimulatorState, matching_rule
from junior_ai.ai.simulator.wire import Answer, GeminiWire, OpenAIWire, Wire, sse

DROP_MARKER = "simulated connection drop"


class _DropResponse(Response):
    """Starts a 200 with a Content-Length it never fulfils, then aborts: the client sees the connection cut."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"id": "chatcmpl-sim", "choi', "more_body": True})
        raise ConnectionAbortedError(DROP_MARKER)


async def _sleep_unless_disconnected(request: Request, seconds: float) -> bool:
    """Sleep `seconds` (forever if inf); return True, early, if the client goes away meanwhile."""
    if seconds <= 0:
        return False
    disconnected = False
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            nonlocal disconnected
            while True:
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    disconnected = True
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(watch)
        if math.isinf(seconds):
            await anyio.sleep_forever()
        await anyio.sleep(seconds)
        tg.cancel_scope.cancel()
    return disconnected


HELD_POLL_S = 0.01


async def _wait_while_held(request: Request, state: SimulatorState, record: RequestRecord) -> bool:
    """Wait while a test holds this request (see `SimulatorState.hold`); True if the client went away meanwhile."""
    while state.is_held(record):
        if await _sleep_unless_disconnected(request, HELD_POLL_S):
            return True
    return False


def _api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:]
    return request.headers.get("x-goog-api-key") or request.query_params.get("key")


class SimulatorApp:
    def __init__(self, state: SimulatorState) -> None:
        self.state = state
        self.openai = OpenAIWire()
        self.gemini = GeminiWire()
        self.batches = BatchEngine(state)

    def build(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self.openai_chat, methods=["POST"]),
                Route("/v1/models", self.openai_models, methods=["GET"]),
                Route("/v1/files", self.batches.upload_file, methods=["POST"]),
                Route("/v1/files/{file_id}/content", self.batches.file_content, methods=["GET"]),
                Route("/v1/batches", self.batches.create_openai_batch, methods=["POST"]),
                Route("/v1/batches/{batch_id}", self.batches.get_openai_batch, methods=["GET"]),
                Route("/{version}/batches/{batch_id}", self.batches.get_gemini_batch, methods=["GET"]),
                Route("/{version}/models", self.gemini_models, methods=["GET"]),
                Route("/{version}/models/{target}", self.gemini_generate, methods=["POST"]),
            ]
        )

    async def openai_chat(self, request: Request) -> Response:
        body = await _json_body(request)
        if body is None:
            return JSONResponse(self.openai.error_body(400, "request body is not valid JSON"), status_code=400)
        model = str(body.get("model", ""))
        return await self._serve(request, "openai", self.openai, model, body, bool(body.get("stream")))

    async def gemini_generate(self, request: Request) -> Response:
        model, _, action = request.path_params["target"].partition(":")
        if action == "batchGenerateContent":
            return await self.batches.create_gemini_batch(request, model)
        if action == "countTokens":
            counted = await _json_body(request) or {}
            return JSONResponse({"totalTokens": count_tokens(" ".join(_texts(counted)))})
        if action not in {"generateContent", "streamGenerateContent"}:
            return JSONResponse(self.gemini.error_body(404, f"unknown action {action!r}"), status_code=404)
        body = await _json_body(request)
        if body is None:
            return JSONResponse(self.gemini.error_body(400, "request body is not valid JSON"), status_code=400)
        return await self._serve(request, "gemini", self.gemini, model, body, action == "streamGenerateContent")

    async def openai_models(self, request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": 0, "owned_by": "simulator"} for name in self._models()
                ],
            }
        )

    async def gemini_models(self, request: Request) -> Response:
        return JSONResponse(
            {
                "models": [
                    {"name": f"models/{name}", "displayName": name, "supportedGenerationMethods": ["generateContent"]}
                    for name in self._models()
                ]
            }
        )

    def _models(self) -> list[str]:
        return sorted(self.state.scenarios) or ["sim-fast", "sim-300ms"]

    async def _serve(
        self,
        request: Request,
        provider: Literal["openai", "gemini"],
        wire: Wire,
        model: str,
        body: dict[str, Any],
        stream: bool,
    ) -> Response:
        state = self.state
        scenario = state.scenario_for(model)
        record = state.begin(
            provider=provider, path=request.url.path, model=model, body=body, api_key=_api_key(request), stream=stream
        )
        try:
            sent = {**body, **(body.get("generationConfig") or {})}
            rejected = [parameter for parameter in scenario.rejects if parameter in sent]
            if "json_schema" in scenario.rejects and (body.get("response_format") or {}).get("type") == "json_schema":
                rejected.append("json_schema")
            refusal = unsupported_parameter_message(rejected[0]) if rejected else _media_refusal(scenario, record)
            if refusal is not None:
                state.finish(record, "fault", 400)
                return JSONResponse(wire.error_body(400, refusal), status_code=400)
            if await self._hold(request, scenario.hold_until_in_flight):
                state.finish(record, "disconnected")
                return Response(status_code=499)
            rule = matching_rule(scenario, record.full_text)
            delay = state.latency_for(scenario) + (rule.delay_s if rule else 0.0)
            if await _sleep_unless_disconnected(request, delay) or await _wait_while_held(request, state, record):
                state.finish(record, "disconnected")
                return Response(status_code=499)
            fault = scenario.fault if state.should_fault(model, scenario) else None
            schema = wire.json_schema(body)
            if schema is None and (body.get("response_format") or {}).get("type") == "json_object":
                schema = schema_in_text(record.full_text) or {}
            text = state.next_reply(model, scenario, record.full_text) or (
                json_reply(schema) if schema is not None else echo_reply(model, record.prompt)
            )
            answer = Answer(
                model=model,
                text=text,
                prompt_tokens=wire.prompt_tokens(body),
                cached_tokens=scenario.cached_tokens,
                reasoning_tokens=scenario.reasoning_tokens,
                reported_cost_usd=scenario.reported_cost_usd,
                omit_usage=scenario.omit_usage,
            )
            if fault is not None and not (stream and fault.kind in {"truncate", "stall"}):
                return await self._fault(request, record, wire, fault, model, stream)
            if not stream:
                state.finish(record, "completed", 200)
                return JSONResponse(wire.completion(answer))
            return StreamingResponse(
                self._stream(record, wire, answer, scenario.chunk_count, scenario.chunk_delay_s, fault),
                media_type="text/event-stream",
            )
        except BaseException:
            state.finish(record, "disconnected")
            raise

    async def _hold(self, request: Request, count: int) -> bool:
        """Wait until `count` requests have been in flight together; True if the client went away meanwhile."""
        while self.state.max_in_flight < count:
            if await _sleep_unless_disconnected(request, 0.005):
                return True
        return False

    async def _fault(
        self, request: Request, record: RequestRecord, wire: Wire, fault: Fault, model: str, stream: bool
    ) -> Response:
        state = self.state
        if fault.kind == "status":
            state.finish(record, "fault", fault.status)
            headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else None
            message = fault.message or f"simulated HTTP {fault.status}"
            body = fault.body if fault.body is not None else wire.error_body(fault.status, message)
            return JSONResponse(body, status_code=fault.status, headers=headers)
        if fault.kind in {"hang", "stall"}:
            await _sleep_unless_disconnected(request, math.inf)
            state.finish(record, "disconnected")
            return Response(status_code=499)
        if fault.kind in {"drop", "truncate"}:
            state.finish(record, "fault", 200)
            return _DropResponse()
        state.finish(record, "fault", 200)
        if fault.kind == "malformed":
            if stream:
                return Response(b"data: {this is: not json\n\n", media_type="text/event-stream")
            return Response(b'{"this is": not json', media_type="application/json")
        body = wire.empty(model) if fault.kind == "empty" and isinstance(wire, GeminiWire) else wire.blocked(model)
        if stream:
            return Response(
                wire.blocked_stream(model) if fault.kind == "blocked" else sse(body), media_type="text/event-stream"
            )
        return JSONResponse(body)

    async def _stream(
        self, record: RequestRecord, wire: Wire, answer: Answer, count: int, delay: float, fault: Fault | None
    ) -> AsyncIterator[bytes]:
        outcome: Literal["completed", "fault", "disconnected"] = "disconnected"
        try:
            for index, piece in enumerate(split_chunks(answer.text, count)):
                if index > 0 and delay:
                    await anyio.sleep(delay)
                if fault is not None and index == 1:
                    if fault.kind == "stall":
                        await anyio.sleep_forever()
                    outcome = "fault"  # truncate: end the stream cleanly but unfinished
                    return
                yield wire.stream_piece(answer, piece)
                self.state.chunk_sent(record)
            yield wire.stream_end(answer)
            outcome = "completed"
        finally:
            self.state.finish(record, outcome, 200)


def _media_refusal(scenario: Scenario, record: RequestRecord) -> str | None:
    kinds = [mime for mime, _ in record.attachments()] if scenario.rejects_images or scenario.rejects_pdfs else []
    if scenario.rejects_images and any(kind.startswith("image/") for kind in kinds):
        return IMAGE_REJECTED
    if scenario.rejects_pdfs and "application/pdf" in kinds:
        return PDF_REJECTED
    return None


def _texts(value: Any) -> list[str]:
    """Every "text" field anywhere in a request body."""
    if isinstance(value, dict):
        own = [value["text"]] if isinstance(value.get("text"), str) else []
        return own + [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError, ClientDisconnect):
        return None  # a client gone before sending its body gets an answer nobody reads
    return data if isinstance(data, dict) else None
