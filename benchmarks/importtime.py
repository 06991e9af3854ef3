"""What `junior-ai serve` and `junior-ai ask` import, heaviest first: `python -m benchmarks.importtime`.

Runs each command under `python -X importtime` against the provider simulator (its own process) with an
OpenAI-only, a Gemini-only or a mixed configuration: `serve` through a real stdio MCP session (initialize, one
`ask_one`, close), `ask` as a one-shot CLI run. Prints the top of each list by cumulative time (top-level imports
only, so a package is not counted twice) and the total, and whether any module that must stay off that path
(simulator, batch, provider batch, catalog, HTTP, the SDK of a provider that is not configured) was imported.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anyio
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from benchmarks.harness import ROOT, credentials, simulator_process

CONFIGS: dict[str, dict[str, tuple[str, str]]] = {
    "openai": {"o": ("openai_compatible", "it-0ms")},
    "gemini": {"g": ("gemini", "it-0ms")},
    "mixed": {"o": ("openai_compatible", "it-0ms"), "g": ("gemini", "it-0ms")},
}

NEVER_ON_PATH = (
    "junior_ai.ai.simulator",
    "junior_ai.ai.batch",
    "junior_ai.ai.provider_batch",
    "junior_ai.ai.catalog",
    "junior_ai.tools.batch",
    "junior_ai.server.batch_cli",
    "junior_ai.server.http_auth",
    "uvicorn",
    "starlette",
    "pypdf",
)
"""Modules that no stdio `serve` nor `ask` of one prompt needs. (`genai_prices` is needed: the first answer's cost
comes from its table; it is loaded in the background once the clients are built.)"""


@dataclass(frozen=True)
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    module: str


def parse(stderr: str) -> list[ImportLine]:
    """`import time:  self |  cumulative | <2 spaces per depth>name` lines (the header line skipped)."""
    lines = []
    for raw in stderr.splitlines():
        if not raw.startswith("import time:") or "imported package" in raw:
            continue
        self_us, cumulative_us, name = raw.removeprefix("import time:").split("|", 2)
        name = name.removeprefix(" ")
        depth = (len(name) - len(name.lstrip(" "))) // 2
        lines.append(ImportLine(int(self_us), int(cumulative_us), depth, name.strip()))
    return lines


def unexpected(lines: list[ImportLine], config: str, floor: set[str]) -> list[str]:
    banned = list(NEVER_ON_PATH)
    providers = {provider for provider, _ in CONFIGS[config].values()}
    if "gemini" not in providers:
        banned.append("google.genai")
    if "openai_compatible" not in providers:
        banned.append("openai")
    return sorted(
        {
            line.module
            for line in lines
            if line.module not in floor and any(line.module == b or line.module.startswith(b + ".") for b in banned)
        }
    )


def report(title: str, lines: list[ImportLine], config: str, top: int, floor: set[str]) -> str:
    """`floor`: the modules the bare MCPServer imports too (what no MCP server can avoid)."""
    roots = sorted((line for line in lines if line.depth == 0), key=lambda line: -line.cumulative_us)
    total_ms = sum(line.cumulative_us for line in roots) / 1000
    ours = sum(line.self_us for line in lines if line.module.startswith("junior_ai")) / 1000
    extra = sum(line.self_us for line in lines if line.module not in floor) / 1000
    beyond = f"{extra:.0f} ms in modules the bare MCPServer does not import, " if floor else ""
    out = [f"## {title} ({config}): {total_ms:.0f} ms in imports; {beyond}{ours:.0f} ms in junior_ai's own modules"]
    out += [f"{line.cumulative_us / 1000:8.1f} ms  {line.module}" for line in roots[:top]]
    heavy_ours = sorted(
        (line for line in lines if line.module.startswith("junior_ai")), key=lambda line: -line.cumulative_us
    )
    out.append("  junior_ai modules by cumulative time:")
    out += [f"  {line.cumulative_us / 1000:8.1f} ms  {line.module}" for line in heavy_ours[:8]]
    own_cost = sorted((line for line in lines if line.module not in floor), key=lambda line: -line.self_us)
    out.append("  heaviest modules by their own (self) time" + (", beyond the bare MCPServer's:" if floor else ":"))
    out += [f"  {line.self_us / 1000:8.1f} ms  {line.module}" for line in own_cost[:top]]
    stray = unexpected(lines, config, floor)
    out.append(f"  off-path modules imported: {', '.join(stray) if stray else 'none'}")
    return "\n".join(out)


def env() -> dict[str, str]:
    return {**os.environ, "JUNIOR_AI_LOG_LEVEL": "ERROR", "PYTHONDONTWRITEBYTECODE": "1"}


async def serve_imports(command: list[str], tool: str, arguments: dict[str, str]) -> str:
    """stderr of `python -X importtime <command>` serving one stdio session that calls `tool` once."""
    with tempfile.TemporaryFile("w+") as errlog:
        params = StdioServerParameters(
            command=sys.executable, args=["-X", "importtime", *command], env=env(), cwd=str(ROOT)
        )
        async with Client(stdio_client(params, errlog=errlog)) as client:
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, result
        errlog.seek(0)
        return errlog.read()


def ask_imports(path: Path, ai: str) -> str:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "junior_ai", "--credentials", str(path), "ask", "--ai", ai, "hi"],
        env=env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.importtime", description=__doc__)
    parser.add_argument("--config", choices=sorted(CONFIGS), action="append")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    echo = [str(ROOT / "benchmarks" / "echo_server.py")]
    floor = {line.module for line in parse(anyio.run(serve_imports, echo, "echo", {"text": "hi"}))}
    with simulator_process({}) as port:
        for config in args.config or ["mixed"]:
            path = credentials(port, CONFIGS[config])
            ai = next(iter(CONFIGS[config]))
            serve = ["-m", "junior_ai", "--credentials", str(path), "serve"]
            try:
                served = parse(anyio.run(serve_imports, serve, "ask_one", {"ai": ai, "prompt": "hello"}))
                print(report("junior-ai serve", served, config, args.top, floor))
                print()
                print(report("junior-ai ask", parse(ask_imports(path, ai)), config, args.top, set()))
                print()
            finally:
                path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
