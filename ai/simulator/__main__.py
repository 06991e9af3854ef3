"""`python -m junior_ai.ai.simulator --port N [--config scenarios.json]`: serve the simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from junior_ai.ai.simulator.scenario import Scenario
from junior_ai.ai.simulator.server import Simulator
from junior_ai.core.arg_types import port_number
from junior_ai.core.log import configure_logging


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    parser = argparse.ArgumentParser(prog="python -m junior_ai.ai.simulator", description=__doc__)
    parser.add_argument("--port", type=port_number, default=8765)
    parser.add_argument(
        "--config", type=Path, help='JSON mapping model names to scenarios, e.g. {"slow": {"latency_s": 1}}'
    )
    args = parser.parse_args(argv)
    scenarios: dict[str, Scenario] = {}
    if args.config:
        try:
            raw = json.loads(args.config.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("expected a JSON object mapping model names to scenarios")
            scenarios = {str(name): Scenario.model_validate(value) for name, value in raw.items()}
        except (OSError, ValueError) as error:  # json and pydantic errors are ValueErrors
            parser.error(f"--config {args.config}: {error}")
    try:
        simulator = Simulator(scenarios, port=args.port)
    except OSError as error:
        parser.error(f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}); pick another --port")
    sys.stderr.write(
        f"provider simulator on {simulator.openai_base_url} (OpenAI) and {simulator.gemini_base_url} (Gemini)\n"
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a person stops it
        simulator.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
