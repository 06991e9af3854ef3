"""`junior-ai`: the stdio MCP server (default), plus `ask`, `doctor` and `demo` for use without an MCP host.

Only `serve` is for hosts; it never prints. The other commands print for a person.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn

import anyio

from junior_ai.core.arg_types import port_number, positive_seconds, seconds_or_zero
from junior_ai.core.config import JuniorConfig, load_config, principal_name_problem
from junior_ai.core.errors import ConfigError, JuniorAIError, ProviderError
from junior_ai.core.log import configure_logging, get_logger
from junior_ai.core.redact import redact
from junior_ai.core.version import __version__

log = get_logger(__name__)


def load_or_report(path: str | None) -> tuple[JuniorConfig, str | None]:
    """The configuration, or an empty one plus the error text: the server still starts and tools report it."""
    try:
        config = load_config(path)
    except ConfigError as error:
        text = redact(str(error))
        log.error("config_invalid", error=text)
        return JuniorConfig(), text
    for warning in config.warnings:
        log.warning("config_warning", warning=warning)
    return config, None


async def run_until_signalled(run: Callable[[], Awaitable[None]]) -> None:
    """Run the server until it ends (stdin EOF, host gone) or SIGTERM/SIGINT; either way the lifespan's
    cleanup closes every AI client before the process exits."""
    async with anyio.create_task_group() as tg:

        async def watch_signals() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("shutdown_signal", signal=signal.Signals(signum).name)
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(watch_signals)
        await run()
        tg.cancel_scope.cancel()


def cmd_serve(args: argparse.Namespace) -> int:
    from junior_ai.server.app import build_server
    from junior_ai.server.stdio import run_stdio

    if args.transport != "stdio" and not os.environ.get("JUNIOR_AI_LOG_LEVEL"):
        configure_logging("INFO")  # an HTTP server is a daemon: where it listens and what it refuses are logged
    config, error = load_or_report(args.credentials)
    if args.transport == "stdio":
        server = build_server(config, config_error=error)
        anyio.run(run_until_signalled, lambda: run_stdio(server))
        return 0
    from junior_ai.server.http_serve import serve_http

    return serve_http(config, error, host=args.host, port=args.port, insecure_no_auth=args.insecure_no_auth)


def cmd_token_new(args: argparse.Namespace) -> int:
    from junior_ai.server.auth import hash_token, new_token

    problem = principal_name_problem(args.name)
    if problem is not None:
        print(f"junior-ai token new: {problem}.", file=sys.stderr)
        return 2
    token = new_token()
    print(f"Token for {args.name} (shown once; give it to them, it is not stored anywhere):\n\n    {token}\n")
    print('Paste this line into "settings": {"http_tokens": {...}} of the server\'s credentials file:\n')
    print(f'    "{args.name}": "{hash_token(token)}"')
    return 0


WAIT_DEADLINE_S = 7 * 86_400.0
"""`ask --wait`'s deadline: effectively none, as every AI's own timeout_s (at most 600 s) ends its call first."""


def cmd_ask(args: argparse.Namespace) -> int:
    from junior_ai.ai.registry import cleanup_async_ai_clients, start_registry
    from junior_ai.server.batch_files import read_json_schema
    from junior_ai.tools import ask as ask_tools
    from junior_ai.tools.arguments import AskManyArgs, AskOneArgs
    from junior_ai.tools.context import describe_context
    from junior_ai.tools.jobs import observe
    from junior_ai.tools.jobs.observe import JobObserver
    from junior_ai.tools.results import render_ask_many, render_call

    config = load_config(args.credentials)
    schema = read_json_schema(Path(args.json_schema)) if args.json_schema else None
    names: list[str] = args.ai or []
    common: dict[str, Any] = {
        "prompt": args.prompt,
        "system": args.system,
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "json_schema": schema,
        "timeout_s": args.timeout,
        "files": args.file,
        "diff": args.diff,
        "reasoning_effort": args.reasoning_effort,
    }
    # --wait: no overall deadline; each AI's own timeout_s (retries included) bounds its call instead.
    no_deadline = {"deadline_s": WAIT_DEADLINE_S} if args.wait else {}
    finished = JobObserver()  # answers that finished, printed even when Ctrl-C comes before the rest

    async def show_progress(done: float, total: float | None, message: str | None) -> None:
        if args.wait:
            # Progress counts characters of a streaming answer as fractions of a step: show whole steps.
            line = f"{int(done)}{f'/{total:g}' if total else ''} {message or ''}".rstrip()
            print(redact(line), file=sys.stderr, flush=True)

    async def run() -> int:
        observe.bind(finished)
        # Clients are built on demand: asking one AI loads only its provider's SDK.
        registry = start_registry(config)
        try:
            if args.all or len(names) > 1:
                many_args = AskManyArgs.parse(ais=None if args.all else names, **common)
                many_args = many_args.model_copy(update=no_deadline)
                many = await ask_tools.ask_many(registry, many_args, progress=show_progress)
                print(redact(describe_context(many.context, many.context_skipped) + render_ask_many(many)))
                return 0 if many.ok_count else 1
            name = names[0] if names else await registry.first_usable()
            try:
                one_args = AskOneArgs.parse(ai=name, **common).model_copy(update=no_deadline)
                result = await ask_tools.ask_one(registry, one_args, progress=show_progress)
            except ProviderError as error:
                print(redact(f"{error.status} from {error.ai}: {error.message}"), file=sys.stderr)
                return 1
            print(redact(describe_context(result.context, result.context_skipped) + render_call(result)))
            return 0
        finally:
            await cleanup_async_ai_clients(registry)

    try:
        return anyio.run(run)
    except KeyboardInterrupt:
        # Ctrl-C: the requests still open were closed as the run was cancelled; what finished is kept.
        if finished.arrived:
            print("\n\n".join(render_call(result) for result in finished.arrived))
        waiting = [ai for ai in finished.expected if ai not in {r.ai for r in finished.arrived}]
        print(
            f"\ninterrupted: {len(finished.arrived)} answers printed; not finished: {', '.join(waiting) or '-'}.",
            file=sys.stderr,
        )
        return 130


def cmd_batch(args: argparse.Namespace) -> int:
    from junior_ai.server.batch_cli import run_batch

    if len(args.ai) > 1:
        print(
            f"junior-ai batch: --ai was given {len(args.ai)} times ({', '.join(args.ai)}); a batch runs on one AI. "
            "Fix: run batch once per AI, each with its own --out.",
            file=sys.stderr,
        )
        return 2
    config = load_config(args.credentials)

    async def run() -> int:
        return await run_batch(
            config,
            template=args.template,
            items_path=args.items,
            ai=args.ai[0],
            out=args.out,
            max_concurrency=args.max_concurrency,
            timeout_s=args.timeout,
            max_input_tokens=args.max_input_tokens,
            via=args.via,
            job_id=args.job_id,
            items_format=args.items_format,
            system=args.system,
            json_schema_path=args.json_schema,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
        )

    try:
        return anyio.run(run)
    except KeyboardInterrupt:
        message = f"\ninterrupted: finished items are in {args.out}; run the same command to resume."
        print(message, file=sys.stderr)
        return 130


def cmd_collect(args: argparse.Namespace) -> int:
    from junior_ai.server.collect_cli import TOKEN_ENV, run_collect

    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)

    async def run() -> int:
        return await run_collect(args.url, args.job_id, wait_s=args.wait_s, cancel=args.cancel, token=token)

    try:
        return anyio.run(run)
    except KeyboardInterrupt:
        print(f"\nthe job goes on; run `junior-ai collect {args.job_id}` to attach again.", file=sys.stderr)
        return 130


def cmd_doctor(args: argparse.Namespace) -> int:
    from junior_ai.server.doctor import run_doctor

    return anyio.run(run_doctor, args.credentials, args.timeout)


def cmd_demo(args: argparse.Namespace) -> int:
    from junior_ai.server.demo import run_demo

    return anyio.run(run_demo)


def cmd_simulator(args: argparse.Namespace) -> int:
    from junior_ai.ai.simulator.__main__ import main as simulator_main

    return simulator_main(["--port", str(args.port), *(["--config", str(args.config)] if args.config else [])])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="junior-ai",
        description="Junior AI: an MCP server that asks other AI models for second opinions.",
    )
    parser.add_argument("--version", action="version", version=f"junior-ai {__version__}")
    parser.add_argument(
        "--credentials",
        help="credentials file (default: $JUNIOR_AI_CREDENTIALS, ./credentials.json, "
        "~/.config/junior-ai/credentials.json)",
    )
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the MCP server (what MCP hosts start; the default)")
    serve.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_number, default=8000)
    serve.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve a non-loopback address without authentication (only behind an authenticating proxy)",
    )
    serve.set_defaults(handler=cmd_serve)

    token = commands.add_parser("token", help="bearer tokens for HTTP clients")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    token_new = token_commands.add_parser("new", help="print a fresh token and the settings line holding its hash")
    token_new.add_argument("name", help="the principal's name (who the token is for), e.g. alice")
    token_new.set_defaults(handler=cmd_token_new)

    ask = commands.add_parser("ask", help="ask one or more AIs from the terminal (same code as the tools)")
    ask.add_argument("prompt")
    ask.add_argument("--ai", action="append", help="AI to ask; repeat for several (default: the first AI)")
    ask.add_argument("--all", action="store_true", help="ask every enabled AI")
    ask.add_argument("--system")
    ask.add_argument("--temperature", type=float)
    ask.add_argument("--max-tokens", type=int)
    ask.add_argument("--json-schema", help="file holding a JSON Schema the answer must follow")
    ask.add_argument("--timeout", type=float, help="per-AI timeout in seconds")
    ask.add_argument("--file", action="append", help="file, folder, image or PDF to share; repeat for several")
    ask.add_argument("--diff", help="git changes to share: HEAD (uncommitted), staged, main...HEAD or a commit")
    ask.add_argument("--reasoning-effort", choices=["minimal", "low", "medium", "high"])
    ask.add_argument("--wait", action="store_true", help="no overall deadline: wait for every answer, with progress")
    ask.set_defaults(handler=cmd_ask)

    batch = commands.add_parser("batch", help="run a template over a file of items; resumable")
    batch.add_argument("--template", required=True, help="prompt with {item} or {item.field}")
    batch.add_argument(
        "--items",
        required=True,
        help="items.jsonl (a JSON value per line), items.txt (a line each), a pipe, or - for standard input",
    )
    batch.add_argument(
        "--items-format",
        choices=["auto", "lines", "jsonl"],
        default="auto",
        help="how to read --items (auto: JSON lines for .jsonl/.ndjson, else a line per item)",
    )
    # append: a repeated --ai is refused in cmd_batch, not silently reduced to the last one
    batch.add_argument("--ai", required=True, action="append", help="AI, 'name:model' or alias (one per batch)")
    batch.add_argument("--out", type=Path, default=Path("results.jsonl"), help="appended to; re-run to resume")
    batch.add_argument(
        "--max-concurrency",
        type=int,
        help="calls in flight (default and ceiling: the AI's max_concurrency, 16 unless configured); halved on 429",
    )
    batch.add_argument("--timeout", type=float, help="per-item timeout in seconds")
    batch.add_argument("--max-input-tokens", type=int, help="refuse items above this, before sending")
    batch.add_argument(
        "--via",
        choices=["live", "provider-batch"],
        default="live",
        help="live calls (default) or the provider's own batch API (OpenAI /v1/batches, Gemini batch mode)",
    )
    batch.add_argument("--job-id", help="with --via provider-batch: resume this submitted job instead of submitting")
    batch.add_argument("--system", help="system prompt for every item")
    batch.add_argument(
        "--json-schema", type=Path, metavar="FILE", help="JSON Schema file: answers are validated, `data` written"
    )
    batch.add_argument("--temperature", type=float)
    batch.add_argument("--max-tokens", type=int)
    batch.set_defaults(handler=cmd_batch)

    collect = commands.add_parser("collect", help="attach to a job on a running HTTP server and print its result")
    collect.add_argument("job_id")
    collect.add_argument("--url", default="http://127.0.0.1:8000/mcp", help="the server's MCP endpoint")
    collect.add_argument("--wait-s", type=seconds_or_zero, help="how long each round waits on the server")
    collect.add_argument("--cancel", action="store_true", help="stop the job instead")
    collect.add_argument(
        "--token",
        help="bearer token for a server with http_tokens or OAuth (default: $JUNIOR_AI_TOKEN, which keeps it out "
        "of the process list); the one the job was started with",
    )
    collect.set_defaults(handler=cmd_collect)

    doctor = commands.add_parser("doctor", help="check the configuration and make one tiny call to each AI")
    doctor.add_argument("--timeout", type=positive_seconds, default=20.0)
    doctor.set_defaults(handler=cmd_doctor)

    demo = commands.add_parser("demo", help="offline demo: simulated AIs, the real server over stdio")
    demo.set_defaults(handler=cmd_demo)

    simulator = commands.add_parser(
        "simulator", help="serve the offline provider simulator (OpenAI and Gemini wire formats) on 127.0.0.1"
    )
    simulator.add_argument("--port", type=port_number, default=8765)
    simulator.add_argument("--config", type=Path, help='JSON: model name -> scenario, e.g. {"slow": {"latency_s": 1}}')
    simulator.set_defaults(handler=cmd_simulator)
    return parser


FAST_EXIT_COMMANDS = frozenset({"serve", "ask"})
"""Commands whose every resource is closed by the time they return, so the process may skip interpreter teardown."""


def main(argv: list[str] | None = None) -> int:
    return run_command(argv)[0]


def run_command(argv: list[str] | None = None) -> tuple[int, str | None]:
    """(exit code, the command that ran)."""
    # First: logging to stderr. Any byte on stdout would corrupt the stdio protocol.
    configure_logging()
    args = build_parser().parse_args(argv)
    if getattr(args, "handler", None) is None:
        args = build_parser().parse_args([*(argv if argv is not None else sys.argv[1:]), "serve"])
    from junior_ai.server.launch import stop_quietly

    if signal.getsignal(signal.SIGINT) is stop_quietly:  # start-up is over: each command handles Ctrl-C itself
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code: int = args.handler(args)
    except JuniorAIError as error:
        print(redact(f"junior-ai: {error}"), file=sys.stderr)
        return 2, args.command
    except BaseExceptionGroup as group:
        # An error raised inside a task group arrives wrapped: ours are still one line each, not a traceback.
        ours, rest = group.split(JuniorAIError)
        if ours is None or rest is not None:
            raise
        for leaf in _leaves(ours):
            print(redact(f"junior-ai: {leaf}"), file=sys.stderr)
        return 2, args.command
    except KeyboardInterrupt:
        return 130, args.command
    return code, args.command


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for error in group.exceptions:
        leaves.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return leaves


def entry() -> NoReturn:
    """The `junior-ai` console script and `python -m junior_ai`: `main`, then, for `serve` and `ask`, an exit that
    skips the interpreter's teardown. By then every AI client is closed and every file written; what is left is
    freeing ~100k objects of two SDKs (0.3-3 s on a busy machine) and joining threads: an SDK import still
    running when a shutdown arrived, or a blocking call abandoned at its deadline. A host that stops its server
    expects it gone at once, and a CLI answer should not wait for garbage collection."""
    from junior_ai.server.launch import stop_quietly

    signal.signal(signal.SIGINT, stop_quietly)  # quiet until the command starts (see server/launch.py)
    code, command = run_command()
    if command not in FAST_EXIT_COMMANDS:
        raise SystemExit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # the reader is gone or the stream closed: nothing to deliver
            stream.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    entry()
