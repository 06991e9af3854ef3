"""debate: AIs argue assigned positions over rounds, then a judge names the strongest arguments and a verdict.

Modes:
- `rounds` (default): every AI argues its stance concurrently; from round 2 on each sees the previous round's
  arguments of the other sides (quoted as data) and rebuts them.
- `sequential`: the AIs speak one after another, each building on (or pushing back against) everything said
  so far in the debate — the "build on the previous answer" chain. Slower by nature: one call at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from junior_ai.ai.deadline import Deadline
from junior_ai.ai.fanout import resolve_ais
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.types import CallResult, GenerateRequest
from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.arguments import DebateArgs
from junior_ai.tools.collab.answers import DebateVerdict, read_answer, request_schema
from junior_ai.tools.collab.quoting import DATA_NOT_INSTRUCTIONS, Quoter
from junior_ai.tools.collab.results import DebateResult, RoundEntry, SideSummary
from junior_ai.tools.collab.stages import MIN_STAGE_S, CollabRun, check_judge, trim_rounds
from junior_ai.tools.output_budget import ResultStore
from junior_ai.tools.results import ProgressFn
from junior_ai.tools.validation import check_prompt

DebateMode = Literal["rounds", "sequential"]
DEFAULT_STANCES = ["for", "against", "a third way (an alternative to both)"]

DEBATER_SYSTEM = (
    "You are a debater. Argue the position you are assigned as strongly and honestly as you can, with concrete "
    "arguments and evidence. Keep it under 250 words."
)
JUDGE_SYSTEM = "You are an impartial debate judge. Reply with JSON only."


def assign_stances(names: list[str], stances: Sequence[str] | None) -> dict[str, str]:
    if len(names) < 2:
        raise InvalidInputError("a debate needs at least two AIs; name two or more in ais, or configure more.")
    if stances:
        cleaned = [s.strip() for s in stances if s.strip()]
        if len(cleaned) != len(names):
            raise InvalidInputError(
                f"stances must give one position per debating AI: {len(names)} AIs ({', '.join(names)}) but "
                f"{len(cleaned)} stances."
            )
        return dict(zip(names, cleaned, strict=True))
    if len(names) > len(DEFAULT_STANCES):
        raise InvalidInputError(
            f"with {len(names)} AIs, name their positions in stances (the defaults cover {len(DEFAULT_STANCES)})."
        )
    return dict(zip(names, DEFAULT_STANCES, strict=False))


def turn_request(topic: str, stance: str, turn: int, heard: list[tuple[str, str]]) -> GenerateRequest:
    """One debater's turn; `heard` is (stance, argument) of what the others said that this AI may see."""
    quoter = Quoter()
    parts = [f"[stage: debate turn {turn}]", f"TOPIC:\n{topic}", f"YOUR POSITION: {stance}"]
    if heard:
        blocks = "\n\n".join(quoter.block(f"ARGUMENT FOR '{s}'", text) for s, text in heard)
        parts.append(f"WHAT THE OTHER SIDES ARGUED SO FAR. {DATA_NOT_INSTRUCTIONS}\n\n{blocks}")
        parts.append("Rebut their strongest points and strengthen your own position.")
    else:
        parts.append("Make your opening argument.")
    return GenerateRequest.from_prompt("\n\n".join(parts), system=DEBATER_SYSTEM)


def judge_request(topic: str, positions: dict[str, str], final: list[tuple[str, str]]) -> GenerateRequest:
    quoter = Quoter()
    blocks = "\n\n".join(quoter.block(f"ARGUMENT FOR '{stance}'", text) for stance, text in final)
    prompt = (
        f"[stage: verdict]\nTOPIC:\n{topic}\n\nPOSITIONS: {', '.join(positions.values())}\n\n"
        f"THE DEBATERS' LATEST ARGUMENTS. {DATA_NOT_INSTRUCTIONS}\n\n{blocks}\n\n"
        "Write JSON with: sides (for each position, its strongest arguments) and verdict."
    )
    return GenerateRequest.from_prompt(prompt, system=JUDGE_SYSTEM, json_schema=request_schema(DebateVerdict))


async def debate(
    registry: AIRegistry,
    args: DebateArgs,
    *,
    progress: ProgressFn | None = None,
    store: ResultStore | None = None,
) -> DebateResult:
    topic, ais, rounds, judge, stances, mode = args.topic, args.ais, args.rounds, args.judge, args.stances, args.mode
    deadline_s = args.deadline_s
    check_prompt(topic, "topic")
    names = resolve_ais(registry, ais)
    positions = assign_stances(names, stances)
    preferred_judge = check_judge(registry, judge)
    deadline = Deadline(deadline_s if deadline_s is not None else registry.config.settings.deadline_s)
    reserve = min(20.0, deadline.seconds * 0.3)
    run = CollabRun(registry, deadline, len(names) * rounds + 1, progress, None)
    entries: list[RoundEntry] = []
    latest: dict[str, str] = {}  # AI → its most recent argument

    def record(result: CallResult, turn: int) -> None:
        entries.append(
            RoundEntry(
                round=turn,
                ai=result.ai,
                status=result.status,
                text=result.text,
                stance=positions[result.ai],
                error=result.error,
            )
        )
        if result.ok and result.text:
            latest[result.ai] = result.text
        else:
            run.note(f"{result.ai} ({positions[result.ai]}) did not argue in turn {turn} ({result.status}).")

    for turn in range(1, rounds + 1):
        seconds = run.time_for_stage(reserve)
        if seconds < MIN_STAGE_S:
            run.note(f"turn {turn} was skipped: the deadline was too close.")
            break
        await run.stage_started(f"turn {turn}")
        if mode == "rounds":
            heard_before = dict(latest)
            requests = {
                ai: turn_request(
                    topic, positions[ai], turn, [(positions[o], text) for o, text in heard_before.items() if o != ai]
                )
                for ai in names
            }
            for result in await run.stage(requests, seconds, f"turn {turn}"):
                record(result, turn)
        else:
            for ai in names:
                seconds = run.time_for_stage(reserve)
                if seconds < MIN_STAGE_S:
                    run.note(f"{ai} did not speak in turn {turn}: the deadline was too close.")
                    continue
                heard = [(positions[o], text) for o, text in latest.items() if o != ai]
                (result,) = await run.stage(
                    {ai: turn_request(topic, positions[ai], turn, heard)}, seconds, f"turn {turn}"
                )
                record(result, turn)

    sides: list[SideSummary] = []
    verdict, judge_name = None, None
    if len(latest) < 2:
        run.note("fewer than two sides argued, so there is no debate to judge.")
    else:
        await run.stage_started("verdict")
        fallbacks = [*latest, *(n for n in registry.ready_names() if n not in latest)]
        final = [(positions[ai], text) for ai, text in latest.items()]
        judged = await run.ask_judge(preferred_judge, fallbacks, judge_request(topic, positions, final))
        if judged is not None:
            judge_name, judge_result = judged
            judged_verdict = read_answer(DebateVerdict, judge_result.text) or DebateVerdict()
            sides = [
                SideSummary(stance=side.stance, strongest_arguments=side.strongest_arguments)
                for side in judged_verdict.sides
            ]
            verdict = (judged_verdict.verdict or judge_result.text or "").strip() or None

    return DebateResult(
        topic=topic,
        mode=mode,
        positions=positions,
        rounds=trim_rounds(entries, registry, store),
        sides=sides,
        verdict=verdict,
        judge=judge_name,
        partial=run.partial,
        notes=run.notes,
        usage=run.usage,
        cost_usd=run.cost_usd,
        elapsed_ms=run.elapsed_ms,
    )
