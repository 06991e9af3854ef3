"""MCP prompts: templates a host shows as slash commands, steering the host model to use the tools well."""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from junior_ai.core.errors import InvalidInputError


def parse_list(text: str, argument: str) -> list[str]:
    """A list-valued prompt argument (prompt arguments are strings): a JSON array when it looks like one (so items
    may contain commas), else one item per line when there are several lines, else comma-separated."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{argument} looks like a JSON array but is not valid JSON ({exc.msg} at character {exc.pos + 1}). "
                'Write it as ["first", "second"], or separate the items with commas.'
            ) from None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidInputError(f'{argument} must be a JSON array of strings, e.g. ["first", "second"].')
        return [item.strip() for item in value if item.strip()]
    separator = "\n" if "\n" in stripped else ","
    return [item.strip() for item in stripped.split(separator) if item.strip()]


def second_opinion_text(question: str, ais: str = "") -> str:
    target = f"the AIs {ais}" if ais else "every configured AI (call list_ais first to see which are healthy)"
    return (
        f"Get a second opinion on this from {target} using the ask_many tool"
        + (f" with ais={json.dumps(parse_list(ais, 'ais'))}" if ais else "")
        + ".\n\n"
        f"Question:\n{question}\n\n"
        "Pass the question as the prompt, with enough context that a model with no access to our conversation "
        "can answer it. Share code, documents and screenshots by reference, never by pasting: their paths go in "
        '`files` (files, folders, images, PDFs) and changes in `diff` ("HEAD" for uncommitted work, "staged", '
        '"main...HEAD" for a branch). When the answers arrive, present them side by side: where they agree, '
        "where they differ "
        "and why, and which answer you find most convincing. If an AI failed, say so and give its status."
    )


def consensus_text(question: str, options: str = "") -> str:
    choices = parse_list(options, "options")
    return (
        "Use the consensus tool to get a considered, collective answer to this question"
        + (f", with options={json.dumps(choices, ensure_ascii=False)} so the votes are tallied" if choices else "")
        + ".\n\n"
        f"Question:\n{question}\n\n"
        "Make the question self-contained (the AIs cannot see our conversation). Keep rounds=1 unless the "
        "question is contentious. Then report: the consensus answer, the agreement level with its counts, "
        "every point of dissent and which AI held it, and the open risks. Do not hide the dissent: it is "
        "often the most useful part. If the result is marked partial, say what was missing. If it comes back "
        "still running with a job_id (a long deliberation outlives one call), call the collect tool with that "
        "job_id, again while it says running, until you have the full synthesis."
    )


def debate_text(topic: str, stances: str = "") -> str:
    positions = parse_list(stances, "stances")
    return (
        "Use the debate tool on this topic"
        + (
            f" with stances={json.dumps(positions, ensure_ascii=False)} (one AI per stance, so pass as many AIs)"
            if positions
            else ""
        )
        + ".\n\n"
        f"Topic:\n{topic}\n\n"
        "Afterwards, summarise each side's strongest arguments in a few bullets, give the judge's verdict, and "
        "add your own assessment of which arguments hold up — clearly labelled as yours. If the debate comes back "
        "still running with a job_id, call the collect tool with that job_id (again while it says running) to get "
        "the verdict."
    )


def code_review_text(code: str, focus: str = "") -> str:
    return (
        "Ask several AIs to review this code with the ask_many tool (or consensus, for a single verdict on "
        "whether it is ready to merge).\n\n"
        f"Focus: {focus or 'correctness, security, error handling, concurrency, and readability'}\n\n"
        f"What to review:\n{code}\n\n"
        "Do not paste code into the prompt: the tool reads it from disk, once, and shows you what it sent. Pass "
        'files and folders by path in `files`, and changes in `diff`: "HEAD" for uncommitted work (staged, '
        'unstaged and new files), "staged", "main...HEAD" for a branch, or a commit id. Paste only code that '
        "exists nowhere on disk. In the prompt, give the focus and ask each AI for concrete findings with file and "
        "line references and a severity (blocker / should fix / nit). Then merge the findings: deduplicate, mark "
        "which AIs found each one, and list the blockers first. Flag findings only one AI reported as "
        "lower-confidence rather than dropping them."
    )


Question = Annotated[str, Field(description="The question, self-contained (the AIs cannot see this chat).")]
AIs = Annotated[
    str,
    Field(description='Optional AIs to ask: a JSON array (["gemini", "openai"]) or names separated by commas.'),
]
Options = Annotated[
    str,
    Field(
        description='Optional choices to vote on: a JSON array (["Postgres, managed", "SQLite"]) for choices that '
        "contain commas, else one per line or separated by commas."
    ),
]
Stances = Annotated[
    str,
    Field(
        description="Optional positions, one per AI: a JSON array, one per line, or separated by commas "
        "(default: for / against / alternative)."
    ),
]
Topic = Annotated[str, Field(description="What to debate.")]
Code = Annotated[
    str, Field(description="What to review: file or folder paths, a diff such as HEAD or main...HEAD, or code.")
]
Focus = Annotated[str, Field(description="Optional: what to look at (default: correctness, security, ...).")]


def register_prompts(server: MCPServer[Any]) -> None:
    @server.prompt(name="second_opinion", title="Second opinion", description="Ask other AIs the same question.")
    def second_opinion(question: Question, ais: AIs = "") -> str:
        return second_opinion_text(question, ais)

    @server.prompt(name="consensus", title="Consensus", description="Several AIs critique and converge.")
    def consensus(question: Question, options: Options = "") -> str:
        return consensus_text(question, options)

    @server.prompt(name="debate", title="Debate", description="AIs argue positions; a judge gives a verdict.")
    def debate(topic: Topic, stances: Stances = "") -> str:
        return debate_text(topic, stances)

    @server.prompt(
        name="code_review", title="Code review", description="Multi-AI code review of paths, a diff or code, merged."
    )
    def code_review(code: Code, focus: Focus = "") -> str:
        return code_review_text(code, focus)
