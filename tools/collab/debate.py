"""debate: AIs argue assigned positions over rounds, then a judge names the strongest arguments and a verdict.

Modes:
- `rounds` (default): every AI argues its stance concurrently; from round 2 on each sees the previous round's
  arguments of the other sides (quoted as data) and rebuts them.
- `sequential`: the AIs speak one after another, each building on (or pushing back against) everything said
  so far in the debate — the "build on the previous answer" chain. Slower by nature: one call at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
from junior_ai.tools.context import load_context
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


@dataclass
class Debate:
    """What the turns and the verdict of one debate share: who argues what, the latest argument of each AI."""

    topic: str
    names: list[str]
    positions: dict[str, str]
    run: CollabRun
    reserve_s: float
    entries: list[RoundEntry] = field(default_factory=list)
    latest: dict[str, str] = field(default_factory=dict)  # AI → its most recent argument

    def record(self, result: CallResult, turn: int) -> None:
        stance = self.positions[result.ai]
        self.entries.append(
            RoundEntry(round=turn, ai=result.ai, status=result.status, text=result.text, stance=stance,
                       error=result.error)
        )  # fmt: skip
        if result.ok and result.text:
            self.latest[result.ai] = result.text
        else:
            self.run.note(f"{result.ai} ({stance}) did not argue in turn {turn} ({result.status}).")

    def heard_by(self, ai: str, arguments: dict[str, str]) -> list[tuple[str, str]]:
        return [(self.positions[other], text) for other, text in arguments.items() if other != ai]


async def concurrent_turn(debate: Debate, turn: int, seconds: float) -> None:
    """Every AI argues at once, rebutting what the others said in the previous turn."""
    heard_before = dict(debate.latest)
    requests = {
        ai: turn_request(debate.topic, debate.positions[ai], turn, debate.heard_by(ai, heard_before))
        for ai in debate.names
    }
    for result in await debate.run.stage(requests, seconds, f"turn {turn}"):
        debate.record(result, turn)


async def sequential_turn(debate: Debate, turn: int) -> None:
    """The AIs speak one after another, each hearing everything said so far."""
    for ai in debate.names:
        seconds = debate.run.time_for_stage(debate.reserve_s)
        if seconds < MIN_STAGE_S:
            debate.run.note(f"{ai} did not speak in turn {turn}: the deadline was too close.")
            continue
        request = turn_request(debate.topic, debate.positions[ai], turn, debate.heard_by(ai, debate.latest))
        (result,) = await debate.run.stage({ai: request}, seconds, f"turn {turn}")
        debate.record(result, turn)


async def judge_debate(
    debate: Debate, registry: AIRegistry, preferred_judge: str | None
) -> tuple[list[SideSummary], str | None, str | None]:
    """(each side's strongest arguments, the verdict, the judge) — empty when no judge answered."""
    await debate.run.stage_started("verdict")
    fallbacks = [*debate.latest, *(n for n in registry.ready_names() if n not in debate.latest)]
    final = [(debate.positions[ai], text) for ai, text in debate.latest.items()]
    judged = await debate.run.ask_judge(
        preferred_judge, fallbacks, judge_request(debate.topic, debate.positions, final)
    )
    if judged is None:
        return [], None, None
    judge_name, judge_result = judged
    answer = read_answer(DebateVerdict, judge_result.text) or DebateVerdict()
    sides = [SideSummary(stance=side.stance, strongest_arguments=side.strongest_arguments) for side in answer.sides]
    verdict = (answer.verdict or judge_result.text or "").strip() or None
    return sides, verdict, judge_name


async def debate(
    registry: AIRegistry,
    args: DebateArgs,
    *,
    progress: ProgressFn | None = None,
    store: ResultStore | None = None,
    roots: Sequence[Path] | None = None,
) -> DebateResult:
    check_prompt(args.topic, "topic")
    names = await resolve_ais(registry, args.ais)
    positions = assign_stances(names, args.stances)
    preferred_judge = check_judge(registry, args.judge)
    deadline = Deadline(args.deadline_s if args.deadline_s is not None else registry.config.settings.deadline_s)
    bundle = await load_context(
        registry.config, args.files, args.diff, client_roots=roots, prompt_chars=len(args.topic)
    )
    run = CollabRun(
        registry,
        deadline,
        len(names) * args.rounds + 1,
        progress,
        None,
        context=bundle,
        reasoning_effort=args.reasoning_effort,
    )
    work = Debate(args.topic, names, positions, run, reserve_s=min(20.0, deadline.seconds * 0.3))

    for turn in range(1, args.rounds + 1):
        seconds = run.time_for_stage(work.reserve_s)
        if seconds < MIN_STAGE_S:
            run.note(f"turn {turn} was skipped: the deadline was too close.")
            break
        await run.stage_started(f"turn {turn}")
        if args.mode == "rounds":
            await concurrent_turn(work, turn, seconds)
        else:
            await sequential_turn(work, turn)

    sides: list[SideSummary] = []
    verdict, judge_name = None, None
    if len(work.latest) < 2:
        run.note("fewer than two sides argued, so there is no debate to judge.")
    else:
        sides, verdict, judge_name = await judge_debate(work, registry, preferred_judge)

    return DebateResult(
        context=list(bundle.items) or None,
        context_skipped=list(bundle.skipped) or None,
        topic=args.topic,
        mode=args.mode,
        positions=positions,
        rounds=trim_rounds(work.entries, registry, store),
        sides=sides,
        verdict=verdict,
        judge=judge_name,
        partial=run.partial,
        notes=run.notes,
        usage=run.usage,
        cost_usd=run.cost_usd,
        unknown_cost_calls=run.unknown_cost_calls,
        elapsed_ms=run.elapsed_ms,
    )
