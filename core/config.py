"""Configuration: which AIs exist, how to reach them, and the server-wide settings.

Where the configuration comes from, in order (the first file found is the only file read):

1. the path in `--credentials` or `JUNIOR_AI_CREDENTIALS` (an error if it does not exist),
2. `./credentials.json`,
3. `~/.config/junior-ai/credentials.json`.

The file maps AI names to entries (`{"openai": {"api_key": "...", "model": "gpt-4o-mini"}}`); the reserved
key `"settings"` holds server-wide settings. Then the environment, per AI (NAME upper-cased, `-` → `_`):
`JUNIOR_AI_<NAME>_API_KEY`, `_MODEL`, `_BASE_URL`, `_ENABLED` override the file. An AI's key is looked up
in `JUNIOR_AI_<NAME>_API_KEY`, then the file's `api_key`, then the provider's standard variable
(`OPENAI_API_KEY`, `GEMINI_API_KEY`/`GOOGLE_API_KEY`, `XAI_API_KEY`, ...). A standard variable alone also
enables its AI when the file does not mention it (see `core.presets`).
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlparse, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from junior_ai.core.errors import ConfigError
from junior_ai.core.hosts import allowed_host_problem
from junior_ai.core.presets import PRESETS, Provider
from junior_ai.core.principals import LOCAL, OAUTH_PREFIX
from junior_ai.core.redact import SECRETS, redact, register_config_secrets, register_url
from junior_ai.core.suggest import did_you_mean

ReasoningEffort = Literal["minimal", "low", "medium", "high"]
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
RESERVED_PRINCIPALS = frozenset({LOCAL})
"""Names no token may take: "local" is every stdio caller and every unauthenticated loopback HTTP caller."""

SETTINGS_KEY = "settings"
ALIASES_KEY = "aliases"
# Batch integrity (i11b): calls in flight per AI when its entry does not say. Batches run at this concurrency
# unless asked for less, and back off by themselves on 429, so it can be generous; 4 throttled batch work.
DEFAULT_MAX_CONCURRENCY = 16


def principal_name_problem(name: str) -> str | None:
    """Why `name` cannot name a token's principal, or None: the one rule for `junior-ai token new` and for the
    names in settings.http_tokens."""
    if name in RESERVED_PRINCIPALS:
        return (
            f"{name!r} is reserved for callers without a token (stdio and unauthenticated loopback HTTP); "
            "give the token another name"
        )
    if not NAME_PATTERN.fullmatch(name):
        # A long "name" may be a token pasted into the wrong place: not echoed.
        shown = repr(name) if len(name) <= 40 else f"a name of {len(name)} characters"
        return (
            f"{shown} is not a usable principal name: use 1-40 lowercase letters, digits, - or _, starting with "
            "a letter or digit (e.g. alice, ci-bot)"
        )
    return None


class SafetySetting(BaseModel):
    """One Gemini safety setting (category and threshold names as in Google's API documentation)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    category: str = Field(pattern=r"^HARM_CATEGORY_[A-Z_]+$")
    threshold: str = Field(pattern=r"^(BLOCK_[A-Z_]+|HARM_BLOCK_THRESHOLD_UNSPECIFIED|OFF)$")
    method: str | None = Field(default=None, pattern=r"^(SEVERITY|PROBABILITY|HARM_BLOCK_METHOD_UNSPECIFIED)$")


class AIConfig(BaseModel):
    """One configured AI, resolved: preset defaults applied, environment overrides applied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    provider: Provider
    model: str
    api_key: SecretStr | None = None
    base_url: str | None = None
    api_version: str | None = None
    enabled: bool = True
    timeout_s: float = Field(default=45.0, gt=0, le=600)
    max_concurrency: int = Field(default=DEFAULT_MAX_CONCURRENCY, ge=1, le=1000)
    rpm: int | None = Field(default=None, ge=1, le=100_000)
    """Requests per minute this AI may receive (spaced evenly); None: no limit of ours."""
    allowed_models: tuple[str, ...] | None = None
    """When set, `name:model` may only name these models (and they are the fallback model list)."""
    key_source: str = "none"
    """Where the key came from (a variable name or 'file'), for doctor's messages. Never the key."""
    # Context and reasoning (issue 12)
    reasoning_effort: ReasoningEffort | None = None
    """Default effort for calls that set none: OpenAI `reasoning_effort`, Gemini's thinking configuration."""
    pdf_input: Literal["native", "text"] | None = None
    """How PDFs reach an OpenAI-compatible AI: `file` parts, or extracted text. None: native for OpenAI and
    OpenRouter, text elsewhere (most compatible servers cannot read PDFs). Gemini always reads them natively."""
    # --- library API (issue 15): Gemini safety settings, passed through as written ---
    safety_settings: tuple[SafetySetting, ...] | None = None
    """Gemini only: `[{"category": "HARM_CATEGORY_...", "threshold": "BLOCK_..."}]`, sent with every call."""


class ModelPrice(BaseModel):
    """USD per million tokens, for cost accounting and `max_cost_usd` budgets (0 and 0 declares a model free)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    input_per_million: float = Field(ge=0, le=1_000_000, allow_inf_nan=False)
    output_per_million: float = Field(ge=0, le=1_000_000, allow_inf_nan=False)


class PrincipalLimits(BaseModel):
    """Limits for one principal (issue 14)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usd_per_day: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Spend per UTC day (needs prices); calls are refused once it is reached, until midnight UTC."""
    max_concurrent_calls: int | None = Field(default=None, ge=1, le=100_000)
    """Tool calls of this principal in flight at once (across replicas)."""


class OAuthSettings(BaseModel):
    """OAuth 2.1 resource server (issue 14): JWT access tokens from `issuer`, verified with its JWKS."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str
    """The authorization server (the tokens' `iss`), e.g. https://login.example.com/realms/acme."""
    resource: str
    """This server's public URL (the tokens' audience), e.g. https://mcp.example.com/mcp."""
    jwks_url: str | None = None
    """Where the issuer's signing keys are (default: from its /.well-known/openid-configuration)."""
    audience: str | None = None
    """The `aud` to require (default: `resource`)."""
    required_scopes: list[str] = Field(default_factory=list)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])


class Settings(BaseModel):
    """Server-wide settings (the file's `"settings"` entry)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    default_timeout_s: float = Field(default=45.0, gt=0, le=600)
    """Per-call timeout for an AI whose entry sets none; covers every retry."""
    deadline_s: float = Field(default=50.0, gt=0, le=3600)
    """Whole-tool deadline: below the common 60 s host timeout so partial results get back."""
    max_attempts: int = Field(default=3, ge=1, le=10)
    retry_base_delay_s: float = Field(default=0.5, ge=0, le=60)
    """First backoff ceiling; doubles per retry (full jitter), capped at 8 s. A Retry-After always wins."""
    breaker_threshold: int = Field(default=5, ge=1, le=1000)
    """Consecutive failed calls (after retries) that put an AI in cooldown."""
    breaker_cooldown_s: float = Field(default=30.0, ge=0, le=3600)
    stream: bool = True
    """Tools stream from the providers (stall detection, token progress, partial answers at the deadline). False
    trades those for less CPU per call (one JSON body instead of one parsed event per chunk)."""
    idle_timeout_s: float = Field(default=30.0, gt=0, le=600)
    """A stream silent this long mid-answer is cut and retried: a stall is caught well before the deadline."""
    output_budget_tokens: int = Field(default=20_000, ge=1_000, le=1_000_000)
    """Tool results stay under this (Claude Code refuses MCP results over 25k tokens); longer answers are trimmed
    and kept whole as resources."""
    # Upper bounds on every number: 1e308 is valid JSON, and an unbounded setting overflowed at start-up.
    result_ttl_s: float = Field(default=3600.0, gt=0, le=30 * 86_400)
    result_store_mb: float = Field(default=64.0, gt=0, le=1_048_576)
    judge: str | None = None
    """The AI that writes consensus and debate syntheses by default (else the first healthy AI)."""
    cache_dir: str | None = None
    """Where the model listings are cached (default: $XDG_CACHE_HOME or ~/.cache, under junior-ai/)."""
    models_ttl_s: float = Field(default=86_400.0, ge=0, le=365 * 86_400)
    thread_ttl_s: float = Field(default=86_400.0, gt=0, le=365 * 86_400)
    max_threads: int = Field(default=200, ge=1, le=1_000_000)
    max_thread_messages: int = Field(default=200, ge=2, le=1_000_000)
    """Per AI within a thread; the oldest turns are dropped beyond it."""
    threads_db: str | None = None
    """A SQLite file to keep conversation threads across restarts; None keeps them in memory only."""
    # Costs (issue 16): prices come from the genai-prices table shipped with the package; these override it.
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """Price per model name; wins over the packaged price table (and prices models the table does not know)."""
    price_updates: bool = False
    """Fetch genai-prices' maintained price list hourly over the network; off: only the shipped table is used."""
    # Context: files, directories, diffs, images and PDFs sent by reference (issue 12)
    allowed_paths: list[str] | None = None
    """Folders whose files may be shared with the AIs, when the MCP host declares no roots. None: the server's
    working directory (never the filesystem root or the home directory itself)."""
    context_allow: list[str] = Field(default_factory=list)
    """Patterns (gitignore style) that lift the secret-file refusal, e.g. [".env.example"]. Never the credentials
    file."""
    context_max_file_bytes: int = Field(default=5_000_000, ge=1_000, le=100_000_000)
    """One file's size limit; images and PDFs go inline, and providers take ~20 MB per request."""
    context_max_call_bytes: int = Field(default=15_000_000, ge=1_000, le=500_000_000)
    """All context of one call; base64 makes it a third bigger on the wire, under Gemini's 20 MB inline limit."""
    # Jobs (issue 18): work that continues after the deadline, collected later with the `collect` tool.
    continue_after_deadline: bool = True
    """A call still working at its deadline returns what it has plus a job id, and the work goes on; False cuts
    the work at the deadline instead."""
    job_ttl_s: float = Field(default=3600.0, gt=0, le=86_400)
    """The longest a job may run; each AI's own timeout_s bounds its calls well before this."""
    job_keep_s: float = Field(default=3600.0, gt=0, le=86_400)
    """How long a finished job's result stays collectable."""
    max_jobs_per_principal: int = Field(default=20, ge=1, le=10_000)
    """Background jobs (running, or finished and not collected) per caller; beyond it `background` is refused and
    a call reaching its deadline stops there. Calls still within their deadline never count."""
    job_poll_after_s: float = Field(default=5.0, gt=0, le=600)
    # --- Shared HTTP deployment (issue 14): authentication, principals, budgets, sessions, replicas ---
    http_tokens: dict[str, str] = Field(default_factory=dict)
    """Bearer tokens by principal name, as "sha256:<hex>" hashes (`junior-ai token new NAME` prints one)."""
    oauth: OAuthSettings | None = None
    """OAuth 2.1 resource-server mode: accept JWTs issued by this issuer (checked against its JWKS)."""
    admin_principal: str | None = None
    """This principal sees every principal's usage in list_ais."""
    principals: dict[str, PrincipalLimits] = Field(default_factory=dict)
    """Budgets and limits per principal (a token name, an OAuth subject, or "local"); "*" applies to the rest."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """Host header values accepted over HTTP besides the bind address (e.g. "mcp.example.com", "proxy:8080",
    "proxy:*" for any port); protects against DNS rebinding. Origins allowed are these hosts over http and https.
    Names compare case-insensitively (kept lower-cased); an entry that can never match is a config error."""
    max_sessions_per_principal: int = Field(default=20, ge=1, le=100_000)
    max_sessions: int = Field(default=1_000, ge=1, le=1_000_000)
    session_idle_timeout_s: float = Field(default=300.0, gt=0, le=86_400)
    """An HTTP session with no request for this long is closed (and its memory freed)."""
    call_lease_s: float = Field(default=30.0, ge=0.3, le=3_600)
    """A call's concurrent-call slot and budget reservation are leases, renewed every third of this while it runs:
    a replica that dies mid-call frees them after at most this long."""
    shutdown_grace_s: int = Field(default=10, ge=0, le=3_600)
    """On SIGTERM/SIGINT, HTTP tool calls in flight get this long to finish before they are cut."""

    @field_validator("http_tokens")
    @classmethod
    def _token_hashes(cls, tokens: dict[str, str]) -> dict[str, str]:
        named_by: dict[str, str] = {}
        for name, value in tokens.items():
            problem = principal_name_problem(name)
            if problem is not None:
                raise ValueError(f"http_tokens: {problem}")
            if not re.fullmatch(r"sha256:[0-9a-f]{64}", value):
                raise ValueError(
                    f"http_tokens.{name} must be 'sha256:<64 hex digits>' (a hash, never the token itself); "
                    f"run `junior-ai token new {name}` and paste the line it prints"
                )
            if value in named_by:
                raise ValueError(
                    f"http_tokens.{named_by[value]} and http_tokens.{name} hold the same hash, so one token would "
                    f"act as both; run `junior-ai token new {name}` for a token of its own (or remove one entry)"
                )
            named_by[value] = name
        return tokens

    @field_validator("allowed_hosts")
    @classmethod
    def _host_entries(cls, hosts: list[str]) -> list[str]:
        # Lower-cased here, so the SDK's own case-sensitive check sees what the guard hands it (a lower-cased Host).
        normalised = [host.strip().lower() for host in hosts]
        for entry in normalised:
            problem = allowed_host_problem(entry)
            if problem is not None:
                raise ValueError(problem)
        return normalised

    state_url: str | None = None
    """redis://host:6379/0: threads, kept results, usage, budgets, rpm limits and breakers shared by replicas,
    and stateless HTTP (threads_db is then not used). None keeps everything in this process."""


class JuniorConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    ais: tuple[AIConfig, ...] = ()
    settings: Settings = Settings()
    aliases: dict[str, str] = Field(default_factory=dict)
    """Short names for `ai` or `ai:model` targets, e.g. {"fast": "gemini:gemini-2.5-flash"}."""
    source: str | None = None
    """The file the configuration was read from, or None when it came from the environment alone."""
    warnings: tuple[str, ...] = ()

    def enabled(self) -> list[AIConfig]:
        return [ai for ai in self.ais if ai.enabled]

    def get(self, name: str) -> AIConfig | None:
        return next((ai for ai in self.ais if ai.name == name), None)


class _FileEntry(BaseModel):
    """One AI as written in the file; every field optional because presets fill the gaps."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    provider: Literal["gemini", "openai_compatible"] | None = None
    api_key: str | None = None
    model: str | None = None
    base_url: str | None = None
    api_version: str | None = None
    enabled: bool | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=600)
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    rpm: int | None = Field(default=None, ge=1, le=100_000)
    allowed_models: list[str] | None = None
    reasoning_effort: ReasoningEffort | None = None
    pdf_input: Literal["native", "text"] | None = None
    safety_settings: list[SafetySetting] | None = None


def find_credentials_file(explicit: str | None, env: Mapping[str, str], cwd: Path, home: Path) -> Path | None:
    """Apply the documented lookup order; an explicit path that does not exist is an error, not a skip."""
    chosen = explicit or env.get("JUNIOR_AI_CREDENTIALS")
    if chosen:
        path = Path(chosen).expanduser()
        origin = "--credentials" if explicit else "JUNIOR_AI_CREDENTIALS"
        problem = _why_not_a_file(path)
        if problem is not None:
            raise ConfigError(f"{origin} points at {path}, {problem}")
        return path
    for candidate in (cwd / "credentials.json", home / ".config" / "junior-ai" / "credentials.json"):
        if candidate.is_file():
            return candidate
    return None


def _why_not_a_file(path: Path) -> str | None:
    """None when `path` is a readable-looking regular file, else what it is instead and the fix."""
    try:
        status = path.stat()  # follows symlinks: a loop or a dangling link fails here
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link that loops back on itself. Fix: point it at the real credentials file."
        if path.is_symlink():
            return f"a symbolic link to {os.readlink(path)}, which does not exist. Fix: correct the link."
        if exc.errno == errno.EACCES:
            return "which cannot be checked (permission denied). Fix: check the permissions of its folders."
        return (
            "which does not exist. Fix: correct the path, or copy credentials.example.json there and fill in your keys."
        )
    if stat.S_ISDIR(status.st_mode):
        return (
            "which is a directory, not a file. Fix: point it at the credentials file itself, e.g. "
            f"{path / 'credentials.json'}."
        )
    if not stat.S_ISREG(status.st_mode):
        return "which is not a regular file. Fix: point it at a credentials JSON file."
    return None


def load_config(
    explicit_path: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
) -> JuniorConfig:
    """Load and validate the configuration. Raises `ConfigError` with an actionable message."""
    env = os.environ if env is None else env
    path = find_credentials_file(explicit_path, env, cwd or Path.cwd(), home or Path.home())
    raw: dict[str, Any] = {}
    warnings: list[str] = []
    if path is not None:
        raw = _read_json_object(path)
        warnings.extend(_permission_warnings(path))
    where = str(path) if path else "the environment"
    return config_from_mapping(raw, env=env, source=str(path) if path else None, warnings=warnings, where=where)


def config_from_mapping(
    data: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    source: str | None = None,
    warnings: list[str] | None = None,
    where: str | None = None,
) -> JuniorConfig:
    """The configuration from the credentials file's contents given as a mapping (the library's
    `JuniorAI.from_config({...})`), validated exactly as a file is; the environment still applies."""
    env = os.environ if env is None else env
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"the configuration must be a mapping of AI names to entries, got {type(data).__name__}; "
            'e.g. {"openai": {"api_key": "...", "model": "gpt-4o-mini"}}.'
        )
    raw = dict(data)
    warnings = list(warnings or [])
    path = source
    where = where or source or "the configuration"
    _register_secrets(raw, env)

    settings = _parse_settings(raw.pop(SETTINGS_KEY, {}), where)
    _check_state_url(settings.state_url, where)
    aliases = raw.pop(ALIASES_KEY, {})
    entries = {name: _parse_entry(name, value, where) for name, value in raw.items()}

    # A preset's standard key variable enables it even without a file entry.
    for name, preset in PRESETS.items():
        if name in entries or not preset.auto_env:
            continue
        if any(env.get(var) for var in preset.key_env) or env.get(_env_name(name, "API_KEY")):
            entries[name] = _FileEntry()

    ais = tuple(_resolve(name, entry, env, settings, where) for name, entry in sorted(entries.items()))
    for ai in ais:
        if ai.api_key is not None:
            SECRETS.add(ai.api_key.get_secret_value())
        register_url(ai.base_url)
    _check_allowed_models(ais, where)
    checked_aliases = _check_aliases(aliases, ais, where)
    _check_judge(settings.judge, ais, checked_aliases, where)
    warnings.extend(_unused_price_warnings(settings, ais, checked_aliases))
    warnings.extend(_unknown_principal_warnings(settings, where))
    return JuniorConfig(
        ais=ais,
        settings=settings,
        aliases=checked_aliases,
        source=path,
        warnings=tuple(warnings),
    )


def _unused_price_warnings(settings: Settings, ais: tuple[AIConfig, ...], aliases: Mapping[str, str]) -> list[str]:
    """Issue 16: a `settings.prices` entry no configured AI or alias uses is most likely a misspelt model name."""
    used = {ai.model for ai in ais} | {m for ai in ais for m in ai.allowed_models or ()}
    used |= {target.split(":", 1)[1] for target in aliases.values() if ":" in target}
    models = sorted(used)
    return [
        f"settings.prices has an entry for {redact(model)!r}, which no configured AI or alias uses as its model, so "
        f"it prices nothing unless a call names that model (ai:model) or a provider answers with that name."
        + did_you_mean(model, models)
        + ' Fix: spell the key exactly as the AI\'s "model".'
        for model in settings.prices
        if model not in used
    ]


def _unknown_principal_warnings(settings: Settings, where: str) -> list[str]:
    """admin_principal and settings.principals naming no one who can ever call: a typo that silently gives
    nobody the admin view or leaves the intended principal unlimited. Only knowable without OAuth (its subjects
    are not listed anywhere); "local" and "*" always exist."""
    oauth = settings.oauth is not None
    named = [("settings.admin_principal", settings.admin_principal)] if settings.admin_principal else []
    named += [(f"settings.principals.{name}", name) for name in settings.principals if name != "*"]
    warnings = []
    for setting, name in named:
        if name in settings.http_tokens or name == LOCAL or (oauth and name.startswith(OAUTH_PREFIX)):
            continue
        tokens = ", ".join(sorted(settings.http_tokens)) or "none"
        # Only names that can be a principal are suggested: a token's name, or (with OAuth) `oauth:<name>`.
        hint = did_you_mean(name, sorted(settings.http_tokens))
        if oauth and not hint and name.strip() and name.strip() != "*":
            hint = f" OAuth callers are named {OAUTH_PREFIX}<subject>: did you mean {OAUTH_PREFIX + name.strip()!r}?"
        problem = principal_name_problem(name)
        fix = (
            f"run `junior-ai token new {name}` and add the line it prints to settings.http_tokens"
            if problem is None
            else f"give a token a usable name ({problem})"
        )
        warnings.append(
            f"{where}: {setting} names principal {name!r}, but no token has that name (http_tokens: {tokens})"
            f"{' and it is no OAuth principal' if oauth else ''}, so it applies to no one.{hint} Fix: correct the "
            f"name, or {fix}."
        )
    return warnings


def _register_secrets(raw: Mapping[str, Any], env: Mapping[str, str]) -> None:
    """Every secret-bearing value, registered for redaction before anything is validated: an error about an
    entry (or a key pasted into the wrong field) must not be the way a secret leaks."""
    for name, entry in raw.items():
        if name not in (SETTINGS_KEY, ALIASES_KEY) and isinstance(entry, Mapping):
            register_config_secrets(entry)
    for variable, value in env.items():
        if variable.endswith(("_API_KEY", "_API_TOKEN")) or variable == "GOOGLE_API_KEY":
            SECRETS.add(value)
        elif variable.startswith("JUNIOR_AI_") and variable.endswith("_BASE_URL"):
            register_url(value)
    state_url = raw.get(SETTINGS_KEY, {}).get("state_url") if isinstance(raw.get(SETTINGS_KEY), Mapping) else None
    if isinstance(state_url, str):  # a Redis user, password or ?password= in the URL is a secret like any key
        register_url(state_url)


def _check_state_url(state_url: str | None, where: str) -> None:
    """A malformed state_url is a config error now, not a traceback from redis-py at the first call."""
    if not state_url:
        return
    try:
        _ = urlsplit(state_url).port
    except ValueError as error:
        raise ConfigError(
            f"{where}: settings.state_url is not a valid URL ({redact(str(error))}); write it like "
            # No "scheme://user:password@" in the example: every shown error is redacted, which would mangle it.
            '"redis://host:6379/0" (with a password: ":PASSWORD@" right before the host) or '
            '"unix:///path/redis.sock".'
        ) from error


def _check_judge(judge: str | None, ais: tuple[AIConfig, ...], aliases: Mapping[str, str], where: str) -> None:
    """`settings.judge` may be an AI, `ai:model` or an alias; anything else is a mistake, said at load time."""
    if judge is None:
        return
    names = {ai.name for ai in ais}
    ai_name = aliases.get(judge, judge).partition(":")[0]
    if ai_name not in names:
        known = sorted([*names, *aliases])
        raise ConfigError(
            f'{where}: "settings.judge" is {judge!r}, which is not a configured AI or alias.'
            f"{did_you_mean(ai_name, known)} Fix: use one of {', '.join(known) or 'none'} (or 'ai:model')."
        )


def _check_allowed_models(ais: tuple[AIConfig, ...], where: str) -> None:
    for ai in ais:
        if ai.allowed_models is not None and ai.model not in ai.allowed_models:
            raise ConfigError(
                f"{where}: AI {ai.name!r}: its model {ai.model!r} is not in its allowed_models "
                f'({", ".join(ai.allowed_models)}). Fix: add it, or set "model" to one of them.'
            )


def _check_aliases(value: Any, ais: tuple[AIConfig, ...], where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f'{where}: "aliases" must map names to "ai" or "ai:model" strings.')
    names = {ai.name for ai in ais}
    for alias, target in value.items():
        if alias in names:
            raise ConfigError(f"{where}: alias {alias!r} is also the name of an AI. Fix: rename the alias.")
        ai_name = target.partition(":")[0]
        if ai_name not in names:
            suggestion = did_you_mean(ai_name, sorted(names))
            raise ConfigError(
                f"{where}: alias {alias!r} points at {target!r}, but there is no AI {ai_name!r}.{suggestion} "
                f"AIs: {', '.join(sorted(names)) or 'none'}."
            )
    return dict(value)


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        data_bytes = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the credentials file ({exc.strerror}). Fix: check its permissions."
        ) from exc
    try:
        text = data_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid UTF-8 (byte {exc.start} cannot be decoded). Fix: save the file as UTF-8 "
            "(API keys and URLs are plain ASCII)."
        ) from None
    try:
        data = json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. "
            "Fix: correct the syntax (compare with credentials.example.json)."
        ) from exc
    except _DuplicateKeyError as exc:
        raise ConfigError(
            f"{path}: {exc.key!r} appears more than once in the same object; only one can count. Fix: keep one "
            "entry per name (merge the two, or rename one)."
        ) from None
    except _NonFiniteError as exc:
        raise ConfigError(
            f"{path}: the number {exc.text} is not a finite number. Fix: use an ordinary number in range."
        ) from None
    except RecursionError:
        raise ConfigError(
            f"{path}: the JSON is nested too deeply to be a configuration. Fix: compare with "
            "credentials.example.json (entries are at most three levels deep)."
        ) from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise ConfigError(f"{path}: a value cannot be read ({exc}). Fix: use ordinary numbers.") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be an object mapping AI names to entries, "
            f'e.g. {{"openai": {{"api_key": "...", "model": "gpt-4o-mini"}}}}.'
        )
    return data


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _NonFiniteError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _refuse_constant(text: str) -> float:
    raise _NonFiniteError(text)  # NaN, Infinity, -Infinity: JSON extensions Python accepts and we must not


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFiniteError(text[:40])
    return value


def _permission_warnings(path: Path) -> list[str]:
    if os.name != "posix":
        return []
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [f"{path} is readable by other users (mode {stat.filemode(mode)}). Fix: chmod 600 {path}"]
    return []


def _parse_settings(value: Any, where: str) -> Settings:
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: "settings" must be an object, got {type(value).__name__}.')
    try:
        return Settings.model_validate(value, strict=True)
    except ValidationError as exc:
        raise ConfigError(_describe_validation(exc, where, "settings", Settings)) from None


def _parse_entry(name: str, value: Any, where: str) -> _FileEntry:
    if not NAME_PATTERN.match(name):
        raise ConfigError(
            f"{where}: AI name {name!r} is not allowed. Fix: use lowercase letters, digits, '-' or '_' "
            "(it becomes part of environment variable names such as JUNIOR_AI_<NAME>_API_KEY)."
        )
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: AI {name!r} must be an object of settings, got {type(value).__name__}.")
    try:
        return _FileEntry.model_validate(value)
    except ValidationError as exc:
        # pydantic's own text would echo the input value, which may be a key.
        raise ConfigError(_describe_validation(exc, where, f"AI {name!r}", _FileEntry)) from None


def _describe_validation(exc: ValidationError, where: str, subject: str, model: type[BaseModel]) -> str:
    problems = []
    for err in exc.errors(include_input=False):
        field = redact(".".join(str(part) for part in err["loc"]) or "?")  # a price key may be a pasted key
        if err["type"] == "extra_forbidden":
            allowed = sorted(_model_at(model, err["loc"][:-1]).model_fields)
            suggestion = did_you_mean(str(err["loc"][-1]), allowed)
            problems.append(f"unknown field {field!r}.{suggestion} Allowed fields: {', '.join(allowed)}")
        else:  # our validators' own sentences read better without pydantic's "Value error, " in front
            problems.append(f"field {field!r}: {err['msg'].removeprefix('Value error, ')}")
    return (
        f"{where}: {subject}: "
        + "; ".join(problems)
        + ". Fix: correct the field (compare with credentials.example.json)."
    )


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model a nested field path leads to (settings.prices.<model> → ModelPrice), for its allowed fields."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            info = current.model_fields.get(part)
            if info is None:
                return model
            current = info.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]  # `part` is a key of the mapping
        else:
            return model
    return current if isinstance(current, type) and issubclass(current, BaseModel) else model


def _env_name(ai: str, suffix: str) -> str:
    return f"JUNIOR_AI_{ai.upper().replace('-', '_')}_{suffix}"


def _parse_bool(text: str, variable: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{variable}={text!r} is not a boolean. Fix: use true or false.")


def _check_url(url: str, where: str, name: str, origin: str) -> str:
    try:
        parsed = urlparse(url)
        _ = parsed.port  # raises ValueError for a port out of range or not a number
        valid = parsed.scheme in {"http", "https"} and bool(parsed.hostname)
    except ValueError:
        valid = False
    if not valid:
        # The value is not echoed: a key pasted into the wrong field must not be printed back.
        SECRETS.add(url)
        raise ConfigError(
            f"{where}: AI {name!r}, field 'base_url' (from {origin}): the value is not an http(s) URL. "
            "Fix: use the endpoint's root, e.g. https://api.openai.com/v1 or http://localhost:11434/v1."
        )
    return url


def _resolve(name: str, entry: _FileEntry, env: Mapping[str, str], settings: Settings, where: str) -> AIConfig:
    preset = PRESETS.get(name)
    provider = entry.provider or (preset.provider if preset else None)
    if provider is None:
        raise ConfigError(
            f"{where}: AI {name!r} is not a known name, so its provider cannot be inferred. Fix: add "
            '"provider": "openai_compatible" (with a "base_url") or "provider": "gemini". '
            f"Known names: {', '.join(sorted(PRESETS))}."
        )

    model = env.get(_env_name(name, "MODEL")) or entry.model or (preset.default_model if preset else None)
    if not model:
        raise ConfigError(
            f'{where}: AI {name!r} has no model. Fix: add "model": "<model name>" to its entry '
            f"or export {_env_name(name, 'MODEL')}."
        )

    base_url_origin = _env_name(name, "BASE_URL") if env.get(_env_name(name, "BASE_URL")) else "file"
    base_url = env.get(_env_name(name, "BASE_URL")) or entry.base_url
    if base_url is None and preset is not None and preset.provider == provider:
        base_url, base_url_origin = preset.base_url, "preset"
    if base_url is not None:
        base_url = _check_url(base_url, where, name, base_url_origin)
    if provider == "openai_compatible" and base_url is None:
        raise ConfigError(
            f"{where}: AI {name!r} is openai_compatible but has no base_url. Fix: add "
            '"base_url": "http://host:port/v1" to its entry.'
        )

    enabled_var = _env_name(name, "ENABLED")
    enabled = _parse_bool(env[enabled_var], enabled_var) if env.get(enabled_var) else entry.enabled
    enabled = True if enabled is None else enabled

    key, key_source = _find_key(name, entry, env, preset)
    needs_key = preset.needs_key if preset else provider == "gemini"
    if enabled and needs_key and key is None:
        variables = [_env_name(name, "API_KEY"), *(preset.key_env if preset else ())]
        raise ConfigError(
            f'{where}: AI {name!r} is enabled but has no API key. Fix: set "api_key" in its entry, '
            f'or export {" or ".join(variables)}, or set "enabled": false.'
        )

    return AIConfig(
        name=name,
        provider=provider,
        model=model,
        api_key=SecretStr(key) if key else None,
        base_url=base_url,
        api_version=entry.api_version,
        enabled=enabled,
        timeout_s=entry.timeout_s or settings.default_timeout_s,
        max_concurrency=entry.max_concurrency or DEFAULT_MAX_CONCURRENCY,
        rpm=entry.rpm,
        allowed_models=tuple(entry.allowed_models) if entry.allowed_models is not None else None,
        key_source=key_source,
        reasoning_effort=entry.reasoning_effort,
        pdf_input=entry.pdf_input,
        safety_settings=_safety_settings(entry, provider, name, where),
    )


def _safety_settings(entry: _FileEntry, provider: str, name: str, where: str) -> tuple[SafetySetting, ...] | None:
    if entry.safety_settings is None:
        return None
    if provider != "gemini":
        raise ConfigError(
            f"{where}: AI {name!r}: safety_settings applies to Gemini only, and {name!r} is {provider}. "
            "Fix: remove safety_settings from its entry."
        )
    return tuple(entry.safety_settings)


def _find_key(name: str, entry: _FileEntry, env: Mapping[str, str], preset: Any) -> tuple[str | None, str]:
    override = _env_name(name, "API_KEY")
    if env.get(override):
        return env[override], override
    if entry.api_key:
        return entry.api_key, "file"
    for variable in preset.key_env if preset else ():
        if env.get(variable):
            return env[variable], variable
    return None, "none"
