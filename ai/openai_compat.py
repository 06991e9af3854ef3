"""Every OpenAI-compatible provider (OpenAI, Grok, DeepSeek, OpenRouter, Ollama, vLLM...): one class, a base_url."""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import anyio
import httpx2
import openai
from openai.types.chat import ChatCompletion

from junior_ai.ai.adapt import PDF_AS_TEXT, ParamMemory, adaptation_for, note
from junior_ai.ai.parts import openai_content, pdf_as_text_reason, pdf_names, reads_pdf_natively
from junior_ai.ai.stream_guard import StreamSilence, guarded
from junior_ai.ai.structured import strict_problem
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
from junior_ai.ai.types import AIResponse, BatchOutcome, BatchPoll, GenerateRequest, StreamDelta, StreamEnd, StreamEvent
from junior_ai.core.config import AIConfig
from junior_ai.core.errors import (
    AsyncPathBrokenError,
    MalformedResponseError,
    ProviderError,
    UnavailableError,
)
from junior_ai.core.log import get_logger
from junior_ai.core.usage import TokenUsage

log = get_logger(__name__)

# Local servers (Ollama, LM Studio, vLLM) ignore the key, but the SDK insists on one.
_NO_KEY = "not-needed"


class OpenAICompatibleClient:
    """An OpenAI-compatible AI: an `AsyncOpenAI` for calls, an `OpenAI` for the sync fallback."""

    def __init__(self, config: AIConfig, async_client: openai.AsyncOpenAI | None, sync_client: openai.OpenAI) -> None:
        self._config = config
        self._async = async_client
        self._sync = sync_client
        self._closed = False
        self._memory = ParamMemory()

    @classmethod
    def build(cls, config: AIConfig) -> OpenAICompatibleClient:
        options: dict[str, Any] = {
            "api_key": config.api_key.get_secret_value() if config.api_key else _NO_KEY,
            "base_url": config.base_url,
            "max_retries": 0,  # our retry policy owns retries, Retry-After and the deadline
            "timeout": config.timeout_s,
        }
        # The SDK's own default HTTP clients, but sharing the process's one TLS context (see ai/tls.py).
        transport: dict[str, Any] = {"timeout": config.timeout_s, "verify": shared_ssl_context()}
        sync_client = openai.OpenAI(**options, http_client=openai.DefaultHttpxClient(**transport))
        _ = sync_client.chat.completions  # the SDK imports its resources on first use: here, not on the event loop
        try:
            built = openai.AsyncOpenAI(**options, http_client=openai.DefaultAsyncHttpxClient(**transport))
            _ = built.chat.completions
            async_client: openai.AsyncOpenAI | None = built
        except Exception:
            # The AI still works through the sync client; `async_ready` says so.
            async_client = None
        return cls(config, async_client, sync_client)

    @property
    def config(self) -> AIConfig:
        return self._config

    @property
    def async_ready(self) -> bool:
        return self._async is not None

    def _params(self, request: GenerateRequest, *, pdf_native: bool = True, pdf_why: str = "") -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        *earlier, last = request.messages
        messages.extend({"role": m.role, "content": m.content} for m in earlier)
        content = openai_content(
            request.context, last.content, pdf_native=pdf_native, ai=self._config.name, pdf_why=pdf_why
        )
        messages.append({"role": last.role, "content": content})
        params: dict[str, Any] = {"model": request.model or self._config.model, "messages": messages}
        effort = request.reasoning_effort or self._config.reasoning_effort
        if effort is not None:
            params["reasoning_effort"] = effort
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.json_schema is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "response",
                    "schema": request.json_schema,
                    # Strict mode makes the provider guarantee the shape, but only takes schemas within its rules.
                    "strict": strict_problem(request.json_schema) is None,
                },
            }
        return params

    def _adapted(self, request: GenerateRequest) -> tuple[str, dict[str, Any], tuple[str, ...]]:
        model = request.model or self._config.model
        pdfs = pdf_names(request.context)
        pdf_native, why = True, ""  # only a PDF in the context asks how PDFs are sent (not worked out per call)
        if pdfs:
            remembered = self._memory.knows(model, PDF_AS_TEXT)
            pdf_native = reads_pdf_natively(self._config) and not remembered
            why = f"model {model} refused PDF files before" if remembered else pdf_as_text_reason(self._config)
        params, notes = self._memory.apply(model, self._params(request, pdf_native=pdf_native, pdf_why=why))
        if pdfs and not pdf_native:
            if self._memory.knows(model, PDF_AS_TEXT):
                notes = (*notes, note(PDF_AS_TEXT, model))
            else:
                notes = (*notes, f"{', '.join(pdfs)} sent as extracted text: {self._config.name} takes PDFs as text")
        if request.json_schema is not None and params.get("response_format", {}).get("type") == "json_schema":
            problem = strict_problem(request.json_schema)
            if problem is not None:
                notes = (*notes, f"json_schema sent without strict mode: {problem}")
        return model, params, notes

    def _learned(self, exc: Exception, model: str, params: dict[str, Any]) -> bool:
        """True when `exc` is a 400 over a parameter we can send differently (learned now: retry once)."""
        if not isinstance(exc, openai.BadRequestError):
            return False
        adaptation = adaptation_for(_provider_message(exc), params)
        if adaptation is None or not self._memory.learn(model, adaptation):
            return False
        log.info("parameter_adapted", ai=self._config.name, model=model, adaptation=adaptation)
        return True

    async def _create(
        self, request: GenerateRequest, timeout_s: float, **extra: Any
    ) -> tuple[Any, str, tuple[str, ...]]:
        """The async chat call with this model's parameter adaptations; a rejected parameter is learned and the
        call sent once more. Returns (the SDK's answer, the model, the adaptation notes)."""
        if self._async is None:
            raise AsyncPathBrokenError(f"{self._config.name} has no async client", ai=self._config.name)
        while True:
            model, params, notes = self._adapted(request)
            try:
                return await self._async.chat.completions.create(**params, **extra, timeout=timeout_s), model, notes
            except Exception as exc:
                if self._learned(exc, model, params):
                    continue
                raise self._translate(exc, timeout_s, async_path=True, request=request) from exc

    async def generate(self, request: GenerateRequest, *, timeout_s: float) -> AIResponse:
        started = time.perf_counter()
        completion, _model, notes = await self._create(request, timeout_s)
        return self._to_response(completion, started, "async", notes)

    def generate_sync(self, request: GenerateRequest, *, timeout_s: float) -> AIResponse:
        started = time.perf_counter()
        while True:
            model, params, notes = self._adapted(request)
            try:
                completion = self._sync.chat.completions.create(**params, timeout=timeout_s)
                break
            except Exception as exc:
                if self._learned(exc, model, params):
                    continue
                raise self._translate(exc, timeout_s, async_path=False, request=request) from exc
        return self._to_response(completion, started, "sync_fallback", notes)

    async def stream(
        self, request: GenerateRequest, *, timeout_s: float, idle_timeout_s: float
    ) -> AsyncGenerator[StreamEvent, None]:
        response, model, notes = await self._create(
            request, timeout_s, stream=True, stream_options={"include_usage": True}
        )

        finish_reason: str | None = None
        usage, usage_known = TokenUsage(), False
        reported_cost: float | None = None
        chunks = response.__aiter__()
        try:
            guard = guarded(chunks, first_timeout_s=timeout_s, idle_timeout_s=idle_timeout_s)
            async with aclosing(guard) as guarded_chunks:
                async for chunk in guarded_chunks:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage, reported_cost = _usage(chunk.usage), _reported_cost(chunk.usage)
                        usage_known = True
                    for choice in chunk.choices:
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
                        if choice.delta.content:
                            yield StreamDelta(text=choice.delta.content)
        except StreamSilence as silence:
            raise silence_error(self._config, silence.first, timeout_s, idle_timeout_s) from silence
        except ProviderError:
            raise
        except Exception as exc:
            raise self._translate(exc, timeout_s, async_path=True) from exc
        finally:
            with anyio.CancelScope(shield=True):
                await response.close()
        if finish_reason is None:
            raise incomplete_stream_error(self._config)
        if finish_reason == "content_filter":
            raise blocked_error(self._config, "content filter")
        yield StreamEnd(
            model=model,
            finish_reason=finish_reason,
            usage=usage,
            usage_known=usage_known,
            reported_cost_usd=reported_cost,
            adaptations=notes,
        )

    async def submit_batch(self, requests: list[tuple[str, GenerateRequest]]) -> str:
        client = self._require_async()
        lines = [
            json.dumps(
                {"custom_id": key, "method": "POST", "url": "/v1/chat/completions", "body": self._adapted(request)[1]}
            )
            for key, request in requests
        ]
        try:
            upload = await client.files.create(file=("batch.jsonl", "\n".join(lines).encode()), purpose="batch")
            job = await client.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
        except Exception as exc:
            raise self._translate(exc, self._config.timeout_s, async_path=False) from exc
        return job.id

    async def poll_batch(self, job_id: str) -> BatchPoll:
        try:
            job = await self._require_async().batches.retrieve(job_id)
        except Exception as exc:
            raise self._translate(exc, self._config.timeout_s, async_path=False) from exc
        done = job.status in {"completed", "failed", "expired", "cancelled"}
        error = None
        if done and job.status != "completed":
            messages = [e.message for e in (job.errors.data if job.errors and job.errors.data else []) if e.message]
            error = f"batch {job.status}: " + ("; ".join(messages) or "no reason given")
        return BatchPoll(state=job.status, done=done, error=error)

    async def batch_results(self, job_id: str) -> list[BatchOutcome]:
        client = self._require_async()
        try:
            job = await client.batches.retrieve(job_id)
            if not job.output_file_id:
                return []
            content = await client.files.content(job.output_file_id)
        except Exception as exc:
            raise self._translate(exc, self._config.timeout_s, async_path=False) from exc
        outcomes = []
        for line in content.text.splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            response = record.get("response") or {}
            body = response.get("body") or {}
            if response.get("status_code") == 200 and body.get("choices"):
                usage = body.get("usage")  # none sent: unknown, so the item is not priced as free
                outcomes.append(
                    BatchOutcome(
                        key=record["custom_id"],
                        text=body["choices"][0]["message"].get("content") or "",
                        usage=_usage(usage) if usage else None,
                    )
                )
            else:
                error = record.get("error") or body.get("error") or {}
                outcomes.append(BatchOutcome(key=record["custom_id"], error=detail(error.get("message", error))))
        return outcomes

    def _require_async(self) -> openai.AsyncOpenAI:
        if self._async is None:
            raise UnavailableError(f"{self._config.name} has no async client for batch jobs", ai=self._config.name)
        return self._async

    async def list_models(self) -> list[str]:
        if self._async is None:
            raise AsyncPathBrokenError(f"{self._config.name} has no async client", ai=self._config.name)
        try:
            page = await self._async.models.list()
        except Exception as exc:
            raise self._translate(exc, self._config.timeout_s, async_path=False) from exc
        return [model.id for model in page.data]

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._async is not None:
            await self._async.close()
        self._sync.close()

    def _to_response(
        self, completion: object, started: float, path: str, adaptations: tuple[str, ...] = ()
    ) -> AIResponse:
        if not isinstance(completion, ChatCompletion) or not completion.choices:
            raise MalformedResponseError(
                f"{self._config.name} answered with something that is not a chat completion.",
                ai=self._config.name,
            )
        choice = completion.choices[0]
        if choice.finish_reason == "content_filter" and not choice.message.content:
            raise blocked_error(self._config, "content filter")
        return AIResponse(
            text=choice.message.content or "",
            model=completion.model or self._config.model,
            finish_reason=choice.finish_reason,
            usage=_usage(completion.usage) if completion.usage else TokenUsage(),
            usage_known=completion.usage is not None,
            reported_cost_usd=_reported_cost(completion.usage),
            latency_ms=(time.perf_counter() - started) * 1000,
            path="async" if path == "async" else "sync_fallback",
            adaptations=adaptations,
        )

    def _translate(
        self, exc: Exception, timeout_s: float, *, async_path: bool, request: GenerateRequest | None = None
    ) -> ProviderError:
        config = self._config
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            return timeout_error(config, timeout_s)
        if isinstance(exc, openai.APIConnectionError):
            return connection_error(config, exc.__cause__ or exc)
        if isinstance(exc, openai.APIStatusError):
            attachments = request.attachment_names() if request is not None else ()
            return error_from_status(
                config, exc.status_code, _provider_message(exc), exc.response.headers, attachments, body=exc.body
            )
        if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
            return MalformedResponseError(
                f"{config.name} sent a response that could not be parsed ({detail(exc)}).", ai=config.name
            )
        if isinstance(exc, openai.APIError):
            # An error event inside a stream: the provider failed mid-answer.
            return UnavailableError(f"{config.name} failed mid-answer: {detail(exc.message)}", ai=config.name)
        if isinstance(exc, httpx2.TransportError):
            return connection_error(config, exc)
        return unexpected_error(config, exc, async_path=async_path)


def _provider_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return exc.message


def _usage(raw: Any) -> TokenUsage:
    """OpenAI's usage object (or its JSON, from a batch file): `completion_tokens` already includes the reasoning
    tokens, `prompt_tokens` the cached ones (DeepSeek, Groq, xAI and OpenRouter report the same fields)."""
    prompt = _count(_field(raw, "prompt_tokens"))
    completion = _count(_field(raw, "completion_tokens"))
    return TokenUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_count(_field(raw, "total_tokens")) or prompt + completion,
        cached_tokens=_count(_field(_field(raw, "prompt_tokens_details"), "cached_tokens")),
        reasoning_tokens=_count(_field(_field(raw, "completion_tokens_details"), "reasoning_tokens")),
    )


def _reported_cost(raw: Any) -> float | None:
    """OpenRouter puts what the call cost, in USD, in `usage.cost`; other providers send nothing there."""
    cost = _field(raw, "cost")
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0:
        return None
    return float(cost)


def _field(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
