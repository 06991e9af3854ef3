"""consensus: independent answers, anonymous critique rounds, and a judge's synthesis with the dissent explicit.

1. Round 0 — every AI answers blinded (it sees no other answer), in a small JSON structure.
2. Critique rounds — each AI sees the others' answers, anonymised ("Answer A/B/...") and shuffled, its own
   excluded, quoted as data; it critiques and may revise. Rounds stop early when nobody changes.
3. Synthesis — a judge (the caller's, the configured one, else the first healthy AI; another one if it fails)
   writes the consensus, agreement level, dissent and open risks. With `options`, votes are tallied by us.

Every stage runs within the overall deadline, keeping time back for the synthesis, so the tool returns a
partial synthesis in time rather than nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from junior_ai.ai.deadline import Deadline
from junior_ai.ai.fanout import resolve_ais
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.types import CallResult, GenerateRequest
from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.arguments import ConsensusArgs
from junior_ai.tools.collab.answers import ConsensusVerdict, CritiquedStance, Stance, read_answer, request_schema
from junior_ai.tools.collab.quoting import DATA_NOT_INSTRUCTIONS, Quoter, answer_label
from junior_ai.tools.collab.results import ConsensusResult, Dissent, RoundEntry
from junior_ai.tools.collab.stages import MIN_STAGE_S, CollabRun, check_judge, trim_rounds
from junior_ai.tools.context import load_context
from junior_ai.tools.output_budget import ResultStore
from junior_ai.tools.results import ProgressFn
from junior_ai.tools.validation import check_prompt

ROUND0_SYSTEM = (
    "You are one of several independent experts asked the same question. Think for yourself: you will not see "
    "the others' answers yet. Reply with JSON only."
)
CRITIQUE_SYSTEM = (
    "You are one of several experts reviewing each other's answers to the same question. Be specific. Change "
    "your recommendation only for good reasons. Reply with JSON only."
)
JUDGE_SYSTEM = "You are an impartial judge synthesising several experts' final answers. Reply with JSON only."


def read_stance(text: str, options: list[str] | None, *, critique: bool = False) -> CritiquedStance:
    """An AI's answer as a stance; a non-JSON answer still counts, as a bare recommendation. An option is kept
    only when it is one of `options` (compared without case)."""
    answer = read_answer(CritiquedStance if critique else Stance, text)
    if answer is None:
        return CritiquedStance(recommendation=text.strip())
    wanted = (answer.option or "").strip().lower()
    option = next((o for o in options or [] if o.lower() == wanted), None)
    return CritiquedStance.model_validate({**answer.model_dump(), "option": option})


def check_options(options: Sequence[str] | None) -> list[str] | None:
    if options is None or len(options) == 0:
        return None
    cleaned = [o.strip() for o in options]
    if len(cleaned) < 2 or any(not o for o in cleaned) or len({o.lower() for o in cleaned}) != len(cleaned):
        raise InvalidInputError('options must be at least two distinct, non-empty choices, e.g. ["yes", "no"].')
    if len(cleaned) > 20:
        raise InvalidInputError("options may list at most 20 choices.")
    return cleaned


def _options_text(options: list[str] | None) -> str:
    if not options:
        return ""
    return "\nChoose exactly one of these options and put it in `option`: " + "; ".join(options) + "\n"


def round0_request(question: str, options: list[str] | None) -> GenerateRequest:
    prompt = (
        "[stage: independent answer]\n"
        f"QUESTION:\n{question}\n{_options_text(options)}\n"
        "Answer as JSON with: recommendation (one or two sentences), key_reasons, risks, confidence (0-1)"
        + (", option" if options else "")
        + "."
    )
    return GenerateRequest.from_prompt(
        prompt, system=ROUND0_SYSTEM, json_schema=request_schema(Stance, options=options)
    )


def critique_request(
    question: str, options: list[str] | None, round_no: int, own: Stance, peers: Sequence[Stance]
) -> GenerateRequest:
    quoter = Quoter()
    blocks = "\n\n".join(quoter.block(answer_label(i), peer.quoted()) for i, peer in enumerate(peers))
    prompt = (
        f"[stage: critique round {round_no}]\n"
        f"QUESTION:\n{question}\n{_options_text(options)}\n"
        f"YOUR PREVIOUS ANSWER:\n{quoter.block('YOUR ANSWER', own.quoted())}\n\n"
        f"THE OTHER PARTICIPANTS' ANSWERS (anonymised, in random order). {DATA_NOT_INSTRUCTIONS}\n\n"
        f"{blocks}\n\n"
        "Critique the other answers, then give your answer again, revised or not, as JSON with: critique, "
        "changed (true only if your recommendation changed), recommendation, key_reasons, risks, confidence"
        + (", option" if options else "")
        + "."
    )
    return GenerateRequest.from_prompt(
        prompt, system=CRITIQUE_SYSTEM, json_schema=request_schema(CritiquedStance, options=options)
    )


def judge_request(question: str, final: Mapping[str, Stance]) -> GenerateRequest:
    quoter = Quoter()
    blocks = "\n\n".join(quoter.block(f"ANSWER FROM {ai}", stance.quoted()) for ai, stance in final.items())
    prompt = (
        "[stage: synthesis]\n"
        f"QUESTION:\n{question}\n\n"
        f"FINAL ANSWERS OF {len(final)} AIs. {DATA_NOT_INSTRUCTIONS}\n\n{blocks}\n\n"
        "Write JSON with: answer (the consensus recommendation), agreement (unanimous, majority or split), "
        "supporters (names of the AIs that support the answer), dissent (each point of disagreement and the AI "
        "that held it), risks (the open risks)."
    )
    return GenerateRequest.from_prompt(prompt, system=JUDGE_SYSTEM, json_schema=request_schema(ConsensusVerdict))


def tally(final: Mapping[str, Stance], options: list[str]) -> dict[str, int]:
    counts = Counter(stance.option for stance in final.values() if stance.option is not None)
    return {option: counts.get(option, 0) for option in options}


def agreement_from_votes(votes: dict[str, int]) -> str:
    voters = sum(votes.values())
    if voters == 0:
        return "unknown (no valid votes)"
    top = max(votes.values())
    if top == voters:
        return f"unanimous ({top} of {voters})"
    if top * 2 > voters:
        return f"majority ({top} of {voters})"
    return "split (" + ", ".join(f"{o}: {n}" for o, n in votes.items() if n) + ")"


def _entry(result: CallResult, round_no: int, stance: CritiquedStance | None) -> RoundEntry:
    return RoundEntry(
        round=round_no,
        ai=result.ai,
        status=result.status,
        text=result.text,
        error=result.error,
        recommendation=stance.recommendation if stance else None,
        option=stance.option if stance else None,
        changed=stance.changed if stance and round_no > 0 else None,
    )


@dataclass
class Deliberation:
    """What the stages of one consensus share: the question, the current stance of each AI, the record."""

    question: str
    choices: list[str] | None
    run: CollabRun
    reserve_s: float
    judge_for_estimate: str
    """Who the budget assumes will write the synthesis until the real judge is known."""
    current: dict[str, CritiquedStance] = field(default_factory=dict)
    entries: list[RoundEntry] = field(default_factory=list)
    critique_rounds_run: int = 0
    stopped_early: bool = False

    def read(self, result: CallResult, round_no: int) -> CritiquedStance | None:
        stance = read_stance(result.text, self.choices, critique=round_no > 0) if result.ok and result.text else None
        self.entries.append(_entry(result, round_no, stance))
        return stance


async def independent_round(work: Deliberation, names: list[str]) -> None:
    """Round 0: every AI answers blinded."""
    request = round0_request(work.question, work.choices)
    run = work.run
    await run.budget.require_known_prices([*names, work.judge_for_estimate])
    if not run.budget_allows([(name, request) for name in names]):
        estimate = run.budget.estimate([(name, request) for name in names], [])
        raise InvalidInputError(
            f"max_cost_usd={run.max_cost_usd} is below the estimated ${estimate:.6f} of the first round alone "
            f"({len(names)} AI(s)). Fix: raise max_cost_usd, or ask fewer or cheaper AIs (ais=[...])."
        )
    await work.run.stage_started("round 0: independent answers")
    results = await work.run.stage(dict.fromkeys(names, request), work.run.time_for_stage(work.reserve_s), "round 0")
    for result in results:
        stance = work.read(result, 0)
        if stance is not None:
            work.current[result.ai] = stance
        else:
            work.run.note(f"{result.ai} gave no answer in round 0 ({result.status}).")


async def critique_round(work: Deliberation, round_no: int, rounds: int, shuffle: random.Random) -> bool:
    """One critique round; False when the rounds should stop (too few answers, no time or budget, no change)."""
    run = work.run
    if len(work.current) < 2:
        run.note("fewer than two AIs answered, so there was nothing to critique.")
        return False
    seconds = run.time_for_stage(work.reserve_s)
    if seconds < MIN_STAGE_S:
        run.note(f"critique round {round_no} was skipped: the deadline was too close.")
        return False
    requests = {}
    for ai, own in work.current.items():
        peers = [stance for other, stance in work.current.items() if other != ai]
        shuffle.shuffle(peers)
        requests[ai] = critique_request(work.question, work.choices, round_no, own, peers)
    # The round must leave enough for the synthesis that follows it.
    planned = [*requests.items(), (work.judge_for_estimate, judge_request(work.question, work.current))]
    if not run.budget_allows(planned):
        run.note(f"critique round {round_no} was skipped: it would exceed max_cost_usd={run.max_cost_usd}.")
        return False
    await run.stage_started(f"critique round {round_no}")
    results = await run.stage(requests, seconds, f"critique round {round_no}")
    work.critique_rounds_run = round_no
    anyone_changed, answered = False, 0
    for result in results:
        stance = work.read(result, round_no)
        if stance is None:
            run.note(f"{result.ai} failed in critique round {round_no} ({result.status}); its earlier answer is kept.")
            continue
        answered += 1
        previous = work.current[result.ai]
        if stance.changed or (work.choices is not None and stance.option != previous.option):
            anyone_changed = True
        work.current[result.ai] = stance
    if answered == 0:
        run.note(f"no AI answered critique round {round_no}; the synthesis uses the earlier answers.")
        return False
    if not anyone_changed:
        work.stopped_early = round_no < rounds
        if work.stopped_early:
            run.note(f"stopped after critique round {round_no}: no AI changed its recommendation.", partial=False)
        return False
    return True


@dataclass
class Synthesis:
    answer: str | None = None
    agreement: str = "unknown"
    dissent: list[Dissent] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    judge: str | None = None


async def synthesis(work: Deliberation, registry: AIRegistry, preferred_judge: str | None) -> Synthesis:
    """The judge's synthesis of the final stances (the first healthy fallback when the judge fails)."""
    run, current = work.run, work.current
    result = Synthesis(risks=sorted({risk for stance in current.values() for risk in stance.risks}))
    if len(current) == 1:
        run.note("only one AI answered: this is a single opinion, not a consensus.")
    if not run.budget_allows([(work.judge_for_estimate, judge_request(work.question, current))]):
        run.note(f"the synthesis was skipped: it would exceed max_cost_usd={run.max_cost_usd}.")
        return result
    await run.stage_started("synthesis")
    fallbacks = [*current, *(n for n in registry.ready_names() if n not in current)]
    # Under a budget, only AIs whose price is known may stand in as judge.
    fallbacks = [name for name in fallbacks if run.budget.priced(name)]
    judged = await run.ask_judge(preferred_judge, fallbacks, judge_request(work.question, current))
    if judged is None:
        return result
    result.judge, judge_result = judged
    verdict = read_answer(ConsensusVerdict, judge_result.text)
    if verdict is None:  # not JSON: the judge's prose is the answer
        result.answer = (judge_result.text or "").strip() or None
        return result
    result.answer = verdict.answer.strip() or (judge_result.text or "").strip() or None
    supporters = [s for s in verdict.supporters if s in current]
    label = verdict.agreement
    if label and supporters:
        result.agreement = f"{label} ({len(supporters)} of {len(current)})"
    else:  # the judge's label alone, or nothing usable: say so rather than print "0 of 3"
        result.agreement = f"{label} (judge's assessment)" if label else "unknown"
    result.dissent = [Dissent(ai=d.ai, point=d.point) for d in verdict.dissent]
    result.risks = verdict.risks or result.risks
    return result


def apply_votes(found: Synthesis, votes: dict[str, int], current: dict[str, CritiquedStance]) -> None:
    """With options, the tally decides the agreement and who dissents, whatever the judge said."""
    found.agreement = agreement_from_votes(votes)
    winner = max(votes, key=lambda o: votes[o])
    found.dissent = [
        Dissent(ai=ai, point=f"chose {stance.option or 'no valid option'}: {stance.recommendation}")
        for ai, stance in current.items()
        if stance.option != winner
    ]
    if found.answer is None and any(votes.values()):
        # No judge: the answers themselves are the result; say what the majority said.
        found.answer = f"Most votes: {winner}"


async def consensus(
    registry: AIRegistry,
    args: ConsensusArgs,
    *,
    progress: ProgressFn | None = None,
    store: ResultStore | None = None,
    roots: Sequence[Path] | None = None,
    rng: random.Random | None = None,
) -> ConsensusResult:
    check_prompt(args.question, "question")
    choices = check_options(args.options)
    names = await resolve_ais(registry, args.ais)
    preferred_judge = check_judge(registry, args.judge)
    deadline = Deadline(args.deadline_s if args.deadline_s is not None else registry.config.settings.deadline_s)
    bundle = await load_context(
        registry.config, args.files, args.diff, client_roots=roots, prompt_chars=len(args.question)
    )
    run = CollabRun(
        registry,
        deadline,
        len(names) * (args.rounds + 1) + 1,
        progress,
        args.max_cost_usd,
        context=bundle,
        reasoning_effort=args.reasoning_effort,
    )
    # Time kept back for the synthesis, so a slow critique round cannot eat it.
    work = Deliberation(
        args.question,
        choices,
        run,
        reserve_s=min(20.0, deadline.seconds * 0.3),
        judge_for_estimate=preferred_judge or names[0],
    )

    await independent_round(work, names)
    shuffle = rng or random.Random()  # noqa: S311 - presentation order, not security
    for round_no in range(1, args.rounds + 1):
        if not await critique_round(work, round_no, args.rounds, shuffle):
            break
    votes = tally(work.current, choices) if choices else None
    found = Synthesis()
    if not work.current:
        run.note("no AI answered, so there is no consensus to report.")
    else:
        found = await synthesis(work, registry, preferred_judge)
        if votes is not None:
            apply_votes(found, votes, work.current)
    run.note_overspend()

    return ConsensusResult(
        context=list(bundle.items) or None,
        context_skipped=list(bundle.skipped) or None,
        question=args.question,
        answer=found.answer,
        agreement=found.agreement,
        dissent=found.dissent,
        risks=found.risks,
        votes=votes,
        rounds=trim_rounds(work.entries, registry, store),
        judge=found.judge,
        critique_rounds_run=work.critique_rounds_run,
        stopped_early=work.stopped_early,
        partial=run.partial,
        notes=run.notes,
        usage=run.usage,
        cost_usd=run.cost_usd,
        unknown_cost_calls=run.unknown_cost_calls,
        elapsed_ms=run.elapsed_ms,
    )
