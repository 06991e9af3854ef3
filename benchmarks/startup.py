"""Start-up benchmarks (`python -m benchmarks.run --only startup`): what a host and a CLI user wait for, first.

- spawn → first `ask_one` answer from a zero-latency AI, for an OpenAI-only, a Gemini-only and a mixed
  configuration, as a ratio to (a bare MCPServer's spawn → first echo + the import time of the SDKs that
  configuration needs, measured as `python -c "import <sdk>"` minus `python -c "import sys"`). The mixed
  configuration asks the AI configured last, whose SDK the server would load second.
- `junior-ai ask` wall time against a plain `python -c` script making the same call with the same SDK.

All measured in this run, the variants interleaved repeat by repeat so a busy moment hits each alike; medians.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from benchmarks.harness import FAKE_KEY, ROOT, credentials, echo_command, junior_command, session

RowT = TypeVar("RowT")

MODEL = "startup-0ms"

CONFIGS: dict[str, tuple[dict[str, tuple[str, str]], str, tuple[str, ...]]] = {
    "OpenAI-only": ({"o": ("openai_compatible", MODEL)}, "o", ("import openai",)),
    "Gemini-only": ({"g": ("gemini", MODEL)}, "g", ("from google import genai",)),
    "mixed": (
        {"o": ("openai_compatible", MODEL), "g": ("gemini", MODEL)},
        "g",
        ("import openai", "from google import genai"),
    ),
}
"""name → (AIs, the AI asked, the SDK imports that configuration needs)."""


def plain_script(provider: str, port: int) -> str:
    """The same one call `junior-ai ask` makes, written by hand with the SDK."""
    if provider == "openai_compatible":
        return (
            "import openai\n"
            f"client = openai.OpenAI(api_key={FAKE_KEY!r}, base_url='http://127.0.0.1:{port}/v1', max_retries=0)\n"
            "messages = [{'role': 'user', 'content': 'hello'}]\n"
            f"reply = client.chat.completions.create(model={MODEL!r}, messages=messages)\n"
            "print(reply.choices[0].message.content)\n"
        )
    return (
        "from google import genai\n"
        "from google.genai import types\n"
        f"options = types.HttpOptions(base_url='http://127.0.0.1:{port}', api_version='v1beta', timeout=60000)\n"
        f"client = genai.Client(api_key={FAKE_KEY!r}, http_options=options)\n"
        f"print(client.models.generate_content(model={MODEL!r}, contents='hello').text)\n"
    )


def timed_run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


async def first_answer(command: list[str], tool: str, arguments: dict[str, Any]) -> float:
    started = time.perf_counter()
    async with session(command) as client:
        result = await client.call_tool(tool, arguments)
        elapsed = time.perf_counter() - started
    assert not result.is_error, result
    return elapsed


async def startup_rows(port: int, repeats: int, row: Callable[..., RowT]) -> list[RowT]:
    paths = {name: credentials(port, ais) for name, (ais, _, _) in CONFIGS.items()}
    single = {"openai_compatible": paths["OpenAI-only"], "gemini": paths["Gemini-only"]}
    samples: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        samples.setdefault(key, []).append(value)

    python = [sys.executable, "-c"]
    for _ in range(repeats):
        add("bare echo", await first_answer(echo_command(), "echo", {"text": "hello"}))
        add("python", timed_run([*python, "import sys"]))
        for name, (_, ai, imports) in CONFIGS.items():
            add(f"ours {name}", await first_answer(junior_command(paths[name]), "ask_one", {"ai": ai, "prompt": "hi"}))
            add(f"sdk {name}", timed_run([*python, "; ".join(imports)]))
        for provider, path in single.items():
            ask = [sys.executable, "-m", "junior_ai", "--credentials", str(path), "ask", "hello"]
            add(f"cli {provider}", timed_run(ask))
            add(f"plain {provider}", timed_run([*python, plain_script(provider, port)]))
    for path in paths.values():
        path.unlink(missing_ok=True)

    m = {key: statistics.median(values) for key, values in samples.items()}
    rows: list[RowT] = []
    for name, (_, ai, imports) in CONFIGS.items():
        sdk = max(0.0, m[f"sdk {name}"] - m["python"])
        baseline = m["bare echo"] + sdk
        ratio = m[f"ours {name}"] / baseline
        rows.append(
            row(
                f"time to first answer, {name}",
                f"spawn -> first ask_one answer ({ai}, zero latency)",
                f"{m[f'ours {name}'] * 1000:.0f} ms",
                f"{baseline * 1000:.0f} ms = bare MCPServer first echo {m['bare echo'] * 1000:.0f} ms + "
                f"{' + '.join(imports)} {sdk * 1000:.0f} ms",
                ratio,
                "<= 1.25",
                ratio <= 1.25,
            )
        )
    for provider, label in (("openai_compatible", "OpenAI"), ("gemini", "Gemini")):
        ratio = m[f"cli {provider}"] / m[f"plain {provider}"]
        rows.append(
            row(
                f"junior-ai ask, {label}",
                "CLI wall time vs a plain python -c script making the same SDK call",
                f"{m[f'cli {provider}'] * 1000:.0f} ms",
                f"{m[f'plain {provider}'] * 1000:.0f} ms",
                ratio,
                "<= 1.3",
                ratio <= 1.3,
            )
        )
    return rows
