"""Gemini through google-genai: `client.aio` for calls, the same client's sync side for the fallback."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import anyio
import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as gtypes

from junior_ai.ai.adapt import DROP_THINKING, ParamMemory, note, thinking_adaptation_for
from junior_ai.ai.effort import gemini_thinking
from junior_ai.ai.stream_guard import StreamSilence, guarded
from junior_ai.ai.tls import shared_ssl_context
from junior_ai.ai.translate import (
    blocked_error,
    connection_error,
    detail,
    error_from_status,
    incomplete_stream_error,
    silence_error,
    timeout_error,
    unexpected_error,
)
from junior_ai.ai.types import (
    AIResponse,
    BatchOutcome,
    BatchPoll,
    ContentPart,
    GenerateRequest,
    Message,
    StreamDelta,
    StreamEnd,
    StreamEvent,
    TextPart,
)
from junior_ai.core.config import AIConfig
from junior_ai.core.errors import (
    AsyncPathBrokenError,
    MalformedResponseError,
    ProviderError,
)
from junior_ai.core.usage import TokenUsage

# Pinned so the real API and our simulator agree on paths (`/v1beta/models/...`).
DEFAULT_API_VERSION = "v1beta"
_BLOCK_REASONS = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "RECITATION", "SPII", "IMAGE_SAFETY"}


class GeminiClient:
    """A Gemini AI. One `genai.Client` owns both transports: `.aio` (async) and its sync methods."""

    def __init__(self, config: AIConfig, client: genai.Client, *, async_ready: bool = True) -> None:
        self._config = config
        self._client = client
        self._async_ready = async_ready
        self._closed = False
        self._memory = ParamMemory()
        # Built once, here, so a category or threshold the SDK does not know fails at start-up (init_error,
        # shown by list_ais and doctor) rather than on every call.
        self._safety = [
            gtypes.SafetySetting(**setting.model_dump(exclude_none=True)) for setting in config.safety_settings or ()
        ]

    @classmethod
    def build(cls, config: AIConfig) -> GeminiClient:
        http_options = gtypes.HttpOptions(
            base_url=config.base_url,
            api_version=config.api_version or DEFAULT_API_VERSION,
            # google-genai has no timeout by default; without one a hung provider holds a thread forever.
            timeout=int(config.timeout_s * 1000),
            retry_options=None,  # our retry policy owns retries
            # One shared TLS context instead of one per transport (`ssl` is the websocket transport's key).
            client_args={"verify": shared_ssl_context()},
            async_client_args={"verify": shared_ssl_context(), "ssl": shared_ssl_context()},
        )
        client = genai.Client(
            api_key=config.api_key.get_secret_value() if config.api_key else None, http_options=http_options
        )
        try:
            _ = client.aio  # builds the async transport now, so a failure shows at start-up
            async_ready = True
        except Exception:
            async_ready = False
        return cls(config, client, async_ready=async_ready)

    @property
    def config(self) -> AIConfig:
        return self._config

    @property
    def async_ready(self) -> bool:
        return self._async_ready

    def _thinking(self, request: GenerateRequest) -> tuple[gtypes.ThinkingConfig | None, tuple[str, ...]]:
        """The thinking configuration to send, and the note when this model is known to reject it."""
        effort = request.reasoning_effort or self._config.reasoning_effort
        if effort is None:
            return None, ()
        model = request.model or self._config.model
        if self._memory.knows(model, DROP_THINKING):
            return None, (note(DROP_THINKING, model),)
        return gemini_thinking(model, effort), ()

    def _learned(self, exc: Exception, request: GenerateRequest) -> bool:
        """True when `exc` is a 400 over the thinking configuration we sent (learned now: send again without)."""
        if not isinstance(exc, genai_errors.APIError) or exc.code != 400:
            return False
        thinking, _ = self._thinking(request)
        adaptation = thinking_adaptation_for(str(exc.message or exc), thinking is not None)
        model = request.model or self._config.model
        return adaptation is not None and self._memory.learn(model, adaptation)

    def _generation_config(self, request: GenerateRequest, timeout_s: float) -> gtypes.GenerateContentConfig:
        settings: dict[str, Any] = {"http_options": gtypes.HttpOptions(timeout=max(1, int(timeout_s * 1000)))}
        thinking, _ = self._thinking(request)
        if thinking is not None:
            settings["thinking_config"] = thinking
        if request.system:
            settings["system_instruction"] = request.system
        if request.temperature is not None:
            settings["temperature"] = request.temperature
        if request.max_tokens is not None:
            settings["max_output_tokens"] = request.max_tokens
        if request.json_schema is not None:
            # `response_json_schema` takes standard JSON Schema as callers write it; `response_schema` accepts
            # only Gemini's OpenAPI subset and would reject common keywords such as additionalProperties.
            settings["response_mime_type"] = "application/json"
            settings["response_json_schema"] = request.json_schema
        if self._safety:
            # Passed through as configured: batch extraction over technical text trips the defaults often enough.
            settings["safety_settings"] = self._safety
        return gtypes.GenerateContentConfig(**settings)

    def _contents(self, request: GenerateRequest) -> list[gtypes.Content]:
        *earlier, last = request.messages
        contents = [
            gtypes.Content(role="model" if m.role == "assistant" else "user", parts=[gtypes.Part(text=m.content)])
            for m in earlier
        ]
        contents.append(gtypes.Content(role="user", parts=gemini_parts(request.context, last.content)))
        return contents

    async def generate(self, request: GenerateRequest, *, timeout_s: float) -> AIResponse:
        if not self._async_ready:
            raise AsyncPathBrokenError(f"{self._config.name} has no async client", ai=self._config.name)
        started = time.perf_counter()
        while True:
            try:
                response = await self._client.aio.models.generate_content(
                    model=request.model or self._config.model,
                    contents=self._contents(request),
                    config=self._generation_config(request, timeout_s),
                )
                break
            except Exception as exc:
                if self._learned(exc, request):
                    continue
                raise self._translate(exc, timeout_s, async_path=True, request=request) from exc
        return self._to_response(response, request, started, "async")

    def generate_sync(self, request: GenerateRequest, *, timeout_s: float) -> AIResponse:
        started = time.perf_counter()
        while True:
            try:
                response = self._client.models.generate_content(
                    model=request.model or self._config.model,
                    contents=self._contents(request),
                    config=self._generation_config(request, timeout_s),
                )
                break
            except Exception as exc:
                if self._learned(exc, request):
                    continue
                raise self._translate(exc, timeout_s, async_path=False, request=request) from exc
        return self._to_response(response, request, started, "sync_fallback")

    async def stream(
        self, request: GenerateRequest, *, timeout_s: float, idle_timeout_s: float
    ) -> AsyncGenerator[StreamEvent, None]:
        if not self._async_ready:
            raise AsyncPathBrokenError(f"{self._config.name} has no async client", ai=self._config.name)
        model = request.model or self._config.model
        while True:
            try:
                chunks = await self._client.aio.models.generate_content_stream(
                    model=model, contents=self._contents(request), config=self._generation_config(request, timeout_s)
                )
                break
            except Exception as exc:
                if self._learned(exc, request):
                    continue
                raise self._translate(exc, timeout_s, async_path=True, request=request) from exc
        _, notes = self._thinking(request)

        finish_reason: str | None = None
        usage, usage_known = TokenUsage(), False
        produced_text = False
        saw_no_candidates = False
        learned = False
        iterator = chunks.__aiter__()
        try:
            guard = guarded(iterator, first_timeout_s=timeout_s, idle_timeout_s=idle_timeout_s)
            async with aclosing(guard) as guarded_chunks:
                async for chunk in guarded_chunks:
                    model = chunk.model_version or model
                    if chunk.usage_metadata is not None:
                        usage, usage_known = _usage(chunk.usage_metadata), True
                    self._raise_if_prompt_blocked(chunk)
                    saw_no_candidates = saw_no_candidates or not chunk.candidates
                    for candidate in chunk.candidates or []:
                        if candidate.finish_reason is not None:
                            finish_reason = _enum_name(candidate.finish_reason)
                    text = _text_of(chunk)
                    if text:
                        produced_text = True
                        yield StreamDelta(text=text)
        except StreamSilence as silence:
            raise silence_error(self._config, silence.first, timeout_s, idle_timeout_s) from silence
        except ProviderError:
            raise
        except Exception as exc:
            # The API's 400 arrives with the stream's first read, not when the stream is opened.
            learned = not produced_text and self._learned(exc, request)
            if not learned:
                raise self._translate(exc, timeout_s, async_path=True, request=request) from exc
        finally:
            with anyio.CancelScope(shield=True):
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
        if learned:  # sent again, once, the way this model accepts
            async with aclosing(self.stream(request, timeout_s=timeout_s, idle_timeout_s=idle_timeout_s)) as again:
                async for event in again:
                    yield event
            return
        if finish_reason is None and saw_no_candidates and not produced_text:
            raise blocked_error(self._config, "safety block: no candidates")
        if finish_reason is None:
            raise incomplete_stream_error(self._config)
        if finish_reason in _BLOCK_REASONS and not produced_text:
            raise blocked_error(self._config, f"safety block: {finish_reason}")
        yield StreamEnd(
            model=model, finish_reason=finish_reason.lower(), usage=usage, usage_known=usage_known, adaptations=notes
        )

    async def count_tokens(self, request: GenerateRequest) -> int:
        """Gemini's own count of the request's input tokens (batch uses it to refuse oversize items unsent)."""
        try:
            counted = await self._client.aio.models.count_tokens(
                model=request.model or self._config.model, contents=self._contents(request)
            )
        except Exception as exc:
            raise self._translate(exc, self._config.timeout_s, async_path=False) from exc
        return int(counted.total_tokens or 0)

    async def submit_batch(self, requests: list[tuple[str, GenerateRequest]]) -> str:
        model = requests[0][1].model or self._config.model
        inlined = []
        for key, original in requests:
            config = self._generation_config(original, self._config.timeout_s).model_copy(
                update={"http_options": None, "system_instruction": None}
            )
            # Batch requests carry no system instruction slot in this API version: fold it into the prompt.
            request = (
                original.model_copy(
                    update={"messages": (Message(role="user", content=original.system), *original.messages)}
                )
                if original.system
                else original
            )
            inlined.append(
                gtypes.InlinedRequest(contents=self._contents(request), metadata={"key": key}, config=config)
            )
        try:
            job = await self._client.aio.batches.create(model=model, src=inlined)
        except Exception as exc:
            raise self._translate(exc, self._config.timeout_s, async_path=False) from exc
        return job.name or ""

    async def poll_batch(self, job_id: str) -> BatchPoll:
        job = await self._get_batch(job_id)
        state = _enum_name(job.state) if job.state is not None else "JOB_STATE_UNSPECIFIED"
        done = state in {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}
        error = None
        if done and state != "JOB_STATE_SUCCEEDED":
            # google-genai leaves a Gemini API job's error message unmapped, so often there is no reason to give.
            reason = job.error.message if job.error and job.error.message else "the provider gave no reason"
            error = f"batch {state.lower()}: {reason}"
        return BatchPoll(state=state, done=done, error=error)

    async def batch_results(self, job_id: str) -> list[BatchOutcome]:
        job = await self._get_batch(job_id)
        outcomes = []
        for item in job.dest.inlined_responses if job.dest and job.dest.inlined_responses else []:
            key = str((item.metadata or {}).get("key", ""))
            if item.response is not None:
                usage = _usage(item.response.usage_metadata) if item.response.usage_metadata else None
                outcomes.append(BatchOutcome(key=key, text=_text_of(item.response), usage=usage))
            else:
                message = item.error.message if item.error and item.error.message else "no answer"
                outcomes.append(BatchOutcome(key=key, error=detail(message)))
        return outcomes

    async def _get_batch(self, job_id: str) -> gtypes.BatchJob:
        try:
            return await self._client.aio.batches.get(name=job_id)
        except Exception as exc:
            raise self._translate(exc, self._config.timeout_s, async_path=False) from exc

    async def list_models(self) -> list[str]:
        names = []
        try:
            async for model in await self._client.aio.models.list():
                if model.name:
                    names.append(model.name.removeprefix("models/"))
        except Exception as exc:
            raise self._translate(exc, self._config.timeout_s, async_path=False) from exc
        return names

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._async_ready:
            await self._client.aio.aclose()
        self._client.close()

    def _raise_if_prompt_blocked(self, response: gtypes.GenerateContentResponse) -> None:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            raise blocked_error(self._config, f"safety block: {_enum_name(feedback.block_reason)}")

    def _to_response(self, response: object, request: GenerateRequest, started: float, path: str) -> AIResponse:
        if not isinstance(response, gtypes.GenerateContentResponse):
            raise MalformedResponseError(f"{self._config.name} sent an unexpected response.", ai=self._config.name)
        self._raise_if_prompt_blocked(response)
        if not response.candidates:
            raise blocked_error(self._config, "safety block: no candidates")
        candidate = response.candidates[0]
        finish = _enum_name(candidate.finish_reason) if candidate.finish_reason is not None else None
        text = _text_of(response)
        if not text and finish in _BLOCK_REASONS:
            raise blocked_error(self._config, f"safety block: {finish or 'unknown'}")
        return AIResponse(
            adaptations=self._thinking(request)[1],
            text=text,
            model=response.model_version or request.model or self._config.model,
            finish_reason=finish.lower() if finish else None,
            usage=_usage(response.usage_metadata) if response.usage_metadata else TokenUsage(),
            usage_known=response.usage_metadata is not None,
            latency_ms=(time.perf_counter() - started) * 1000,
            path="async" if path == "async" else "sync_fallback",
        )

    def _translate(
        self, exc: Exception, timeout_s: float, *, async_path: bool, request: GenerateRequest | None = None
    ) -> ProviderError:
        config = self._config
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, genai_errors.APIError):
            headers = getattr(getattr(exc, "response", None), "headers", None)
            attachments = request.attachment_names() if request is not None else ()
            return error_from_status(
                config, exc.code, exc.message or exc.status or exc, headers, attachments, body=exc.details
            )
        if isinstance(exc, httpx2.TimeoutException):
            return timeout_error(config, timeout_s)
        if isinstance(exc, httpx2.TransportError):
            return connection_error(config, exc)
        if isinstance(exc, json.JSONDecodeError | genai_errors.UnknownApiResponseError):
            return MalformedResponseError(
                f"{config.name} sent a response that could not be parsed ({detail(exc)}).", ai=config.name
            )
        return unexpected_error(config, exc, async_path=async_path)


def gemini_parts(context: tuple[ContentPart, ...], prompt: str) -> list[gtypes.Part]:
    parts = [
        gtypes.Part(text=part.text)
        if isinstance(part, TextPart)
        else gtypes.Part(inline_data=gtypes.Blob(mime_type=part.mime_type, data=part.data))
        for part in context
    ]
    parts.append(gtypes.Part(text=prompt))
    return parts


def _enum_name(value: object) -> str:
    name = getattr(value, "name", None) or str(value)
    return str(name).upper()


def _text_of(response: gtypes.GenerateContentResponse) -> str:
    if not response.candidates:
        return ""
    content = response.candidates[0].content
    if content is None or not content.parts:
        return ""
    return "".join(part.text for part in content.parts if part.text and not part.thought)


def _usage(meta: gtypes.GenerateContentResponseUsageMetadata) -> TokenUsage:
    """Gemini counts its thinking apart from the answer (`thoughts_token_count`) but bills it as output: both go
    into `completion_tokens`, as OpenAI's count does. `cached_content_token_count` is part of the prompt."""
    prompt = meta.prompt_token_count or 0
    thoughts = meta.thoughts_token_count or 0
    completion = (meta.candidates_token_count or 0) + thoughts
    return TokenUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=meta.total_token_count or prompt + completion,
        cached_tokens=meta.cached_content_token_count or 0,
        reasoning_tokens=thoughts,
    )
