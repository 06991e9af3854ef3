"""Readable renderings of consensus and debate results (the text a host shows next to the structured result)."""

from __future__ import annotations

from junior_ai.tools.collab.results import ConsensusResult, DebateResult
from junior_ai.tools.results import render_cost


def render_consensus(result: ConsensusResult) -> str:
    lines = [f"# Consensus: {result.agreement}" + (" (partial)" if result.partial else "")]
    lines.append(f"\n{result.answer or 'No synthesis could be produced; see the answers below.'}")
    if result.votes:
        lines.append("\nVotes: " + ", ".join(f"{option} {count}" for option, count in result.votes.items()))
    if result.dissent:
        lines.append("\nDissent:")
        lines.extend(f"- {d.ai}: {d.point}" for d in result.dissent)
    if result.risks:
        lines.append("\nOpen risks:")
        lines.extend(f"- {risk}" for risk in result.risks)
    final: dict[str, str] = {}
    for entry in result.rounds:
        if entry.recommendation:
            final[entry.ai] = entry.recommendation
    if final:
        lines.append("\nFinal positions:")
        lines.extend(f"- {ai}: {text}" for ai, text in final.items())
    lines.append(
        f"\nJudge: {result.judge or 'none'}; critique rounds: {result.critique_rounds_run}; "
        f"{result.elapsed_ms:.0f} ms; {result.usage.total_tokens} tokens"
        + (f"; {cost}" if (cost := render_cost(result.cost_usd, result.unknown_cost_calls)) else "")
    )
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def render_debate(result: DebateResult) -> str:
    lines = [f"# Debate: {result.topic}" + (" (partial)" if result.partial else "")]
    lines.append("Positions: " + "; ".join(f"{ai} argues {stance}" for ai, stance in result.positions.items()))
    for side in result.sides:
        lines.append(f"\n## Strongest arguments — {side.stance}")
        lines.extend(f"- {argument}" for argument in side.strongest_arguments)
    lines.append(f"\nVerdict ({result.judge or 'no judge'}): {result.verdict or 'none could be produced'}")
    cost = render_cost(result.cost_usd, result.unknown_cost_calls)
    lines.append(
        f"\n{len(result.rounds)} turns ({result.mode} mode) in {result.elapsed_ms:.0f} ms; "
        f"{result.usage.total_tokens} tokens" + (f"; {cost}." if cost else ".")
    )
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)
