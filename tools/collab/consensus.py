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

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from junior_ai.ai.deadline import Deadline
from junior_ai.ai.fanout import resolve_ais
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.types import CallResult, GenerateRequest
from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.arguments import ConsensusArgs
from junior_ai.tools.collab.quoting import (
    DATA_NOT_INSTRUCTIONS,
    Quoter,
    answer_label,
    parse_json_object,
    str_list,
)
from junior_ai.tools.collab.results import JUDGE_SCHEMA, ConsensusResult, Dissent, RoundEntry, stance_schema
from junior_ai.tools.collab.stages import MIN_STAGE_S, CollabRun, check_judge, trim_rounds
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


@dataclass(frozen=True)
class Stance:
    recommendation: str
    reasons: list[str]
    risks: list[str]
    confidence: float | None
    option: str | None
    changed: bool

    def as_json(self) -> str:
        data: dict[str, object] = {
            "recommendation": self.recommendation,
            "key_reasons": self.reasons,
            "risks": self.risks,
            "confidence": self.confidence,
        }
        if self.option is not None:
            data["option"] = self.option
        return json.dumps(data, ensure_ascii=False, indent=1)


def read_stance(text: str, options: list[str] | None) -> Stance:
    """An AI's answer as a Stance; a non-JSON answer still counts, as a bare recommendation."""
    data = parse_json_object(text) or {}
    option = None
    if options and isinstance(data.get("option"), str):
        wanted = data["option"].strip().lower()
        option = next((o for o in options if o.lower() == wanted), None)
    confidence = data.get("confidence")
    return Stance(
        recommendation=str(data.get("recommendation") or text).strip(),
        reasons=str_list(data.get("key_reasons")),
        risks=str_list(data.get("risks")),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        option=option,
        changed=data.get("changed") is True,
    )


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
    return GenerateRequest.from_prompt(prompt, system=ROUND0_SYSTEM, json_schema=stance_schema(options, critique=False))


def critique_request(
    question: str, options: list[str] | None, round_no: int, own: Stance, peers: list[Stance]
) -> GenerateRequest:
    quoter = Quoter()
    blocks = "\n\n".join(quoter.block(answer_label(i), peer.as_json()) for i, peer in enumerate(peers))
    prompt = (
        f"[stage: critique round {round_no}]\n"
        f"QUESTION:\n{question}\n{_options_text(options)}\n"
        f"YOUR PREVIOUS ANSWER:\n{quoter.block('YOUR ANSWER', own.as_json())}\n\n"
        f"THE OTHER PARTICIPANTS' ANSWERS (anonymised, in random order). {DATA_NOT_INSTRUCTIONS}\n\n"
        f"{blocks}\n\n"
        "Critique the other answers, then give your answer again, revised or not, as JSON with: critique, "
        "changed (true only if your recommendation changed), recommendation, key_reasons, risks, confidence"
        + (", option" if options else "")
        + "."
    )
    return GenerateRequest.from_prompt(
        prompt, system=CRITIQUE_SYSTEM, json_schema=stance_schema(options, critique=True)
    )


def judge_request(question: str, final: dict[str, Stance]) -> GenerateRequest:
    quoter = Quoter()
    blocks = "\n\n".join(quoter.block(f"ANSWER FROM {ai}", stance.as_json()) for ai, stance in final.items())
    prompt = (
        "[stage: synthesis]\n"
        f"QUESTION:\n{question}\n\n"
        f"FINAL ANSWERS OF {len(final)} AIs. {DATA_NOT_INSTRUCTIONS}\n\n{blocks}\n\n"
        "Write JSON with: answer (the consensus recommendation), agreement (unanimous, majority or split), "
        "supporters (names of the AIs that support the answer), dissent (each point of disagreement and the AI "
        "that held it), risks (the open risks)."
    )
    return GenerateRequest.from_prompt(prompt, system=JUDGE_SYSTEM, json_schema=JUDGE_SCHEMA)


def tally(final: dict[str, Stance], options: list[str]) -> dict[str, int]:
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


def _entry(result: CallResult, round_no: int, stance: Stance | None) -> RoundEntry:
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


async def consensus(
    registry: AIRegistry,
    args: ConsensusArgs,
    *,
    progress: ProgressFn | None = None,
    store: ResultStore | None = None,
    rng: random.Random | None = None,
) -> ConsensusResult:
    question, ais, judge, rounds, options = args.question, args.ais, args.judge, args.rounds, args.options
    deadline_s, max_cost_usd = args.deadline_s, args.max_cost_usd
    check_prompt(question, "question")
    choices = check_options(options)
    names = resolve_ais(registry, ais)
    preferred_judge = check_judge(registry, judge)
    shuffle = rng or random.Random()  # noqa: S311 - presentation order, not security
    deadline = Deadline(deadline_s if deadline_s is not None else registry.config.settings.deadline_s)
    # Time kept back for the synthesis, so a slow critique round cannot eat it.
    reserve = min(20.0, deadline.seconds * 0.3)
    run = CollabRun(registry, deadline, len(names) * (rounds + 1) + 1, progress, max_cost_usd)
    entries: list[RoundEntry] = []

    await run.stage_started("round 0: independent answers")
    results = await run.stage(
        dict.fromkeys(names, round0_request(question, choices)), run.time_for_stage(reserve), "round 0"
    )
    current: dict[str, Stance] = {}
    for result in results:
        stance = read_stance(result.text, choices) if result.ok and result.text else None
        if stance is not None:
            current[result.ai] = stance
        else:
            run.note(f"{result.ai} gave no answer in round 0 ({result.status}).")
        entries.append(_entry(result, 0, stance))

    critique_rounds_run, stopped_early = 0, False
    for round_no in range(1, rounds + 1):
        if len(current) < 2:
            run.note("fewer than two AIs answered, so there was nothing to critique.")
            break
        seconds = run.time_for_stage(reserve)
        if seconds < MIN_STAGE_S:
            run.note(f"critique round {round_no} was skipped: the deadline was too close.")
            break
        if not run.budget_allows(len(current) + 1):
            run.note(f"critique round {round_no} was skipped: it would exceed max_cost_usd={max_cost_usd}.")
            break
        await run.stage_started(f"critique round {round_no}")
        requests = {}
        for ai, own in current.items():
            peers = [stance for other, stance in current.items() if other != ai]
            shuffle.shuffle(peers)
            requests[ai] = critique_request(question, choices, round_no, own, peers)
        results = await run.stage(requests, seconds, f"critique round {round_no}")
        critique_rounds_run = round_no
        anyone_changed, answered = False, 0
        for result in results:
            stance = read_stance(result.text, choices) if result.ok and result.text else None
            entries.append(_entry(result, round_no, stance))
            if stance is None:
                run.note(
                    f"{result.ai} failed in critique round {round_no} ({result.status}); its earlier answer is kept."
                )
                continue
            answered += 1
            previous = current[result.ai]
            if stance.changed or (choices is not None and stance.option != previous.option):
                anyone_changed = True
            current[result.ai] = stance
        if answered == 0:
            run.note(f"no AI answered critique round {round_no}; the synthesis uses the earlier answers.")
            break
        if not anyone_changed:
            stopped_early = round_no < rounds
            if stopped_early:
                run.note(f"stopped after critique round {round_no}: no AI changed its recommendation.", partial=False)
            break

    votes = tally(current, choices) if choices else None
    answer, agreement, judge_name = None, "unknown", None
    dissent: list[Dissent] = []
    risks: list[str] = sorted({risk for stance in current.values() for risk in stance.risks})
    if not current:
        run.note("no AI answered, so there is no consensus to report.")
    else:
        if len(current) == 1:
            run.note("only one AI answered: this is a single opinion, not a consensus.")
        fallbacks = [*current, *(n for n in registry.ready_names() if n not in current)]
        if run.budget_allows(1):
            await run.stage_started("synthesis")
            judged = await run.ask_judge(preferred_judge, fallbacks, judge_request(question, current))
        else:
            run.note(f"the synthesis was skipped: it would exceed max_cost_usd={max_cost_usd}.")
            judged = None
        if judged is not None:
            judge_name, judge_result = judged
            verdict = parse_json_object(judge_result.text) or {}
            answer = str(verdict.get("answer") or judge_result.text or "").strip() or None
            supporters = [s for s in str_list(verdict.get("supporters")) if s in current]
            label = verdict.get("agreement") if verdict.get("agreement") in {"unanimous", "majority", "split"} else None
            if label and supporters:
                agreement = f"{label} ({len(supporters)} of {len(current)})"
            else:  # the judge's label alone, or nothing usable: say so rather than print "0 of 3"
                agreement = f"{label} (judge's assessment)" if label else "unknown"
            dissent = [
                Dissent(ai=str(d.get("ai")), point=str(d.get("point")))
                for d in verdict.get("dissent", [])
                if isinstance(d, dict) and d.get("point")
            ]
            risks = str_list(verdict.get("risks")) or risks
        if votes is not None:
            agreement = agreement_from_votes(votes)
            winner = max(votes, key=lambda o: votes[o])
            dissent = [
                Dissent(ai=ai, point=f"chose {stance.option or 'no valid option'}: {stance.recommendation}")
                for ai, stance in current.items()
                if stance.option != winner
            ]
        if answer is None:
            # No judge: the answers themselves are the result; say what the majority said if there is one.
            answer = f"Most votes: {max(votes, key=lambda o: votes[o])}" if votes and any(votes.values()) else None

    return ConsensusResult(
        question=question,
        answer=answer,
        agreement=agreement,
        dissent=dissent,
        risks=risks,
        votes=votes,
        rounds=trim_rounds(entries, registry, store),
        judge=judge_name,
        critique_rounds_run=critique_rounds_run,
        stopped_early=stopped_early,
        partial=run.partial,
        notes=run.notes,
        usage=run.usage,
        cost_usd=run.cost_usd,
        elapsed_ms=run.elapsed_ms,
    )
