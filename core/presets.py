"""Known AI names and what they imply, so `"grok": {"api_key": "..."}` is a complete entry.

`auto_env` marks presets whose standard key variable alone enables the AI with no file entry. Anthropic's
is left out on purpose: hosts such as Claude Code export ANTHROPIC_API_KEY for themselves, and picking it
up silently would spend the user's money on calls they never configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Provider = Literal["gemini", "openai_compatible"]


@dataclass(frozen=True)
class Preset:
    provider: Provider
    base_url: str | None
    key_env: tuple[str, ...]
    default_model: str | None
    needs_key: bool = True
    auto_env: bool = True


PRESETS: dict[str, Preset] = {
    "gemini": Preset("gemini", None, ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "gemini-2.5-flash"),
    "openai": Preset("openai_compatible", "https://api.openai.com/v1", ("OPENAI_API_KEY",), "gpt-4o-mini"),
    "grok": Preset("openai_compatible", "https://api.x.ai/v1", ("XAI_API_KEY",), "grok-3"),
    "deepseek": Preset("openai_compatible", "https://api.deepseek.com/v1", ("DEEPSEEK_API_KEY",), "deepseek-chat"),
    "openrouter": Preset(
        "openai_compatible", "https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",), "openai/gpt-4o-mini"
    ),
    "mistral": Preset("openai_compatible", "https://api.mistral.ai/v1", ("MISTRAL_API_KEY",), "mistral-small-latest"),
    "groq": Preset("openai_compatible", "https://api.groq.com/openai/v1", ("GROQ_API_KEY",), "llama-3.3-70b-versatile"),
    "together": Preset(
        "openai_compatible",
        "https://api.together.xyz/v1",
        ("TOGETHER_API_KEY",),
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    ),
    "cohere": Preset(
        "openai_compatible",
        "https://api.cohere.ai/compatibility/v1",
        ("COHERE_API_KEY", "CO_API_KEY"),
        "command-a-03-2025",
    ),
    "anthropic": Preset(
        "openai_compatible",
        "https://api.anthropic.com/v1/",
        ("ANTHROPIC_API_KEY",),
        "claude-sonnet-4-5",
        auto_env=False,
    ),
    "ollama": Preset("openai_compatible", "http://localhost:11434/v1", (), "llama3.2", needs_key=False),
    "lmstudio": Preset("openai_compatible", "http://localhost:1234/v1", (), None, needs_key=False),
    "vllm": Preset("openai_compatible", "http://localhost:8000/v1", (), None, needs_key=False),
    "llamacpp": Preset("openai_compatible", "http://localhost:8080/v1", (), None, needs_key=False),
}
