"""The data that crosses the AI layer's boundary: requests in, responses and per-AI results out."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, computed_field, model_serializer
from pydantic.json_schema import SkipJsonSchema

from junior_ai.core.config import ReasoningEffort
from junior_ai.core.errors import CallStatus, InvalidOutputError, ProviderError, RateLimitedError
from junior_ai.core.pricing import PriceSource
from junior_ai.core.usage import TokenUsage

Role = Literal["user", "assistant"]
Path = Literal["async", "sync_fallback"]


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class TextPart(BaseModel):
    """A block of shared text (a file with its path and line numbers, a diff), sent before the prompt."""

    model_config = ConfigDict(frozen=True)

    type: Literal["text"] = "text"
    text: str


class FilePart(BaseModel):
    """An image or PDF, sent as the provider's native part. `text` is a PDF's extracted text, for providers that
    cannot read PDFs; `name` is the path the user gave, used in what we report and in error messages."""

    model_config = ConfigDict(frozen=True)

    type: Literal["file"] = "file"
    name: str
    mime_type: str
    data: bytes
    text: str | None = None

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


ContentPart = Annotated[TextPart | FilePart, Field(discriminator="type")]


class GenerateRequest(BaseModel):
    """What to ask one AI. `messages` is the conversation; the last one is the user's turn."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[Message, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    json_schema: dict[str, Any] | None = None
    model: str | None = None
    """Overrides the AI's configured model for this call."""
    context: tuple[ContentPart, ...] = ()
    """What the user shared (files, diffs, images, PDFs): placed before the text of the last user message. One
    tuple is shared by every AI of a fan-out and every round of a consensus: it was read once."""
    reasoning_effort: ReasoningEffort | None = None
    """None: the AI's configured default (or the provider's own)."""

    def attachment_names(self, *, images_only: bool = False) -> tuple[str, ...]:
        return tuple(p.name for p in self.context if isinstance(p, FilePart) and (p.is_image or not images_only))

    @classmethod
    def from_prompt(cls, prompt: str, **kwargs: Any) -> GenerateRequest:
        return cls(messages=(Message(role="user", content=prompt),), **kwargs)


class AIResponse(BaseModel):
    """One successful answer."""

    model_config = ConfigDict(frozen=True)

    text: str
    model: str
    finish_reason: str | None = None
    usage: TokenUsage = TokenUsage()
    usage_known: bool = True
    """False when the provider sent no token counts: `usage` is then zeros, not what the call consumed."""
    latency_ms: float = 0.0
    path: Path = "async"
    attempts: int = 1
    cost_usd: float | None = None
    cost_source: PriceSource = "unknown"
    reported_cost_usd: float | None = None
    """The provider's own figure for this call (OpenRouter's `usage.cost`), when it sends one."""
    adaptations: tuple[str, ...] = ()
    """Parameters sent differently because the model rejected them as given (see ai/adapt.py)."""
    data: Any = None
    """With `json_schema`: the parsed answer, validated against the schema."""


class StreamDelta(BaseModel):
    """A piece of streamed text."""

    model_config = ConfigDict(frozen=True)

    text: str


class StreamEnd(BaseModel):
    """The last item of a stream: what the whole answer amounted to."""

    model_config = ConfigDict(frozen=True)

    model: str
    finish_reason: str | None = None
    usage: TokenUsage = TokenUsage()
    usage_known: bool = True
    reported_cost_usd: float | None = None
    adaptations: tuple[str, ...] = ()


StreamEvent = StreamDelta | StreamEnd


class NullCostModel(BaseModel):
    """A result whose cost fields stay in the output as null when unknown, even where None fields are left out
    (`exclude_none`): "cost unknown" must be visible, never read as an absent field or as free."""

    null_kept: ClassVar[tuple[str, ...]] = ("cost_usd",)

    # No return annotation on purpose: pydantic would publish it as the output schema instead of the fields'.
    @model_serializer(mode="wrap")
    def _keep_cost_nulls(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            for name in self.null_kept:
                data.setdefault(name, None)
        return data


class CallResult(NullCostModel):
    """The outcome of one AI's part in a fan-out: always present, whatever happened."""

    model_config = ConfigDict(frozen=True)

    ai: str
    model: str
    status: CallStatus
    text: str | None = None
    latency_ms: float = 0.0
    usage: TokenUsage | None = None
    path: Path | None = None
    error: str | None = None
    retry_after_s: float | None = Field(default=None, description="Set when rate limited and the provider said when.")
    attempts: int = 0
    finish_reason: str | None = None
    cost_usd: float | None = Field(default=None, description="USD for this call; null when not known (not free).")
    cost_source: PriceSource | None = Field(
        default=None, description="Where cost_usd came from: table, settings, reported, local or unknown."
    )
    partial: bool = Field(default=False, description="True when `text` is an unfinished answer.")
    full_text_uri: str | None = Field(default=None, description="Resource with the whole answer when trimmed.")
    adaptations: list[str] = Field(default_factory=list, description="Parameters adapted to what the model accepts.")
    # In every result, but left out of the published output schemas (each tool's schema costs host context):
    data: SkipJsonSchema[Any] = None
    """With json_schema: the parsed answer, valid for the schema."""
    validation_errors: SkipJsonSchema[list[str] | None] = None
    """With status invalid_output: the first ways the answer failed the schema."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_known(self) -> bool:
        """False when this call's cost is not known: cost_usd is then null, which is not zero."""
        return self.cost_usd is not None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class BatchPoll(BaseModel):
    """Where a provider batch job stands."""

    model_config = ConfigDict(frozen=True)

    state: str
    done: bool
    error: str | None = None


class BatchOutcome(BaseModel):
    """One request's answer from a finished provider batch job, by the key it was submitted with."""

    model_config = ConfigDict(frozen=True)

    key: str
    text: str | None = None
    error: str | None = None
    usage: TokenUsage | None = None


def ok_result(ai: str, response: AIResponse) -> CallResult:
    """The `CallResult` for a successful call."""
    return CallResult(
        ai=ai,
        model=response.model,
        status="ok",
        text=response.text,
        latency_ms=response.latency_ms,
        usage=response.usage if response.usage_known else None,
        path=response.path,
        attempts=response.attempts,
        finish_reason=response.finish_reason,
        cost_usd=response.cost_usd,
        cost_source=response.cost_source,
        adaptations=list(response.adaptations),
        data=response.data,
    )


def failed_result(ai: str, model: str, error: ProviderError, latency_ms: float) -> CallResult:
    """The `CallResult` for a call that ended in `error`."""
    if isinstance(error, InvalidOutputError):
        return CallResult(
            ai=ai,
            model=error.model or model,
            status=error.status,
            text=error.text,
            latency_ms=error.latency_ms or latency_ms,
            usage=error.usage,
            cost_usd=error.cost_usd,
            error=error.message,
            validation_errors=error.validation_errors,
            attempts=error.attempts,
        )
    return CallResult(
        ai=ai,
        model=model,
        status=error.status,
        latency_ms=latency_ms,
        error=error.message,
        retry_after_s=error.retry_after_s if isinstance(error, RateLimitedError) else None,
        attempts=error.attempts,
    )


class ModelListing(BaseModel):
    """Which models one AI offers, and where that list came from."""

    model_config = ConfigDict(frozen=True)

    ai: str
    models: list[str]
    source: Literal["provider", "cache", "config"]
    fetched_at: float | None = None
    note: str | None = None
