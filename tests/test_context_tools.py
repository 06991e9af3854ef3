"""Context through the tools: the bytes each provider receives, per-AI image refusals, PDFs as text where needed,
one read per call, the host's roots, a real stdio session and the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import ListRootsResult, Root

from junior_ai.ai.simulator import Scenario, Simulator
from junior_ai.core.config import JuniorConfig
from junior_ai.server.app import build_server
from tests.conftest import GEMINI_KEY, OPENAI_KEY, config_of, gemini_ai, openai_ai, run_junior_ai
from tests.context_files import make_repo, pdf_bytes, png_bytes
from tests.test_server_tools import text_of

OPENED: list[str] = []
"""Paths opened while counting is on (an audit hook: the real `open` calls, nothing patched)."""
COUNTING: list[bool] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if COUNTING and event == "open" and isinstance(args[0], str | Path):
        OPENED.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "project")
    (root / "src" / "app.py").write_text("def add(a, b):\n    return a - b  # bug\n")
    (root / "shot.png").write_bytes(png_bytes(32, 16))
    (root / "report.pdf").write_bytes(pdf_bytes("Revenue grew 12 percent"))
    return root


def config_for(sim: Simulator, project: Path, *ais: Any, **settings: Any) -> JuniorConfig:
    chosen = ais or (openai_ai(sim, "gpt", "ctx-oai", pdf_input="native"), gemini_ai(sim, "gemini", "ctx-gem"))
    return config_of(*chosen, allowed_paths=[str(project)], **settings)


async def call(config: JuniorConfig, tool: str, arguments: dict[str, Any]) -> Any:
    async with Client(build_server(config)) as client:
        return await client.call_tool(tool, arguments)


async def test_text_image_and_pdf_reach_both_protocols_as_the_files_bytes(sim: Simulator, project: Path) -> None:
    config = config_for(sim, project)
    result = await call(
        config, "ask_many", {"prompt": "review", "files": ["src/app.py", "shot.png", "report.pdf"], "diff": "HEAD"}
    )
    assert not result.is_error, text_of(result)
    expected = [
        ("image/png", (project / "shot.png").read_bytes()),
        ("application/pdf", pdf_bytes("Revenue grew 12 percent")),
    ]
    for model in ("ctx-oai", "ctx-gem"):
        (record,) = sim.state.requests(model)
        assert record.attachments() == expected
        texts = record.texts()
        assert texts[0].startswith("----- BEGIN src/app.py (2 lines) -----\n1  def add(a, b):\n2      return a - b")
        assert texts[1].startswith("----- BEGIN git diff HEAD -----") and "+    return a - b  # bug" in texts[1]
        assert texts[-1] == "review"
    structured = result.structured_content
    assert [(c["path"], c["kind"]) for c in structured["context"]] == [
        ("src/app.py", "text"),
        ("shot.png", "image"),
        ("report.pdf", "pdf"),
        ("git diff HEAD", "diff"),
    ]
    assert structured["context"][1]["bytes"] == len(png_bytes(32, 16))
    assert "Context sent (4 item(s)" in text_of(result) and "- shot.png (image," in text_of(result)


async def test_an_ai_that_cannot_take_images_fails_alone_naming_the_file(sim: Simulator, project: Path) -> None:
    sim.set_scenario("text-only", Scenario(rejects_images=True))
    config = config_for(sim, project, openai_ai(sim, "local", "text-only"), gemini_ai(sim, "gemini", "ctx-gem"))
    result = await call(config, "ask_many", {"prompt": "what is in this screenshot?", "files": ["shot.png"]})
    by_ai = {r["ai"]: r for r in result.structured_content["results"]}
    assert by_ai["gemini"]["status"] == "ok"
    assert by_ai["local"]["status"] == "bad_request"
    assert "local did not accept shot.png" in by_ai["local"]["error"]
    assert len(sim.state.requests("text-only")) == 1  # a refusal is not retried


async def test_gemini_rejecting_an_image_is_a_per_ai_error_too(sim: Simulator, project: Path) -> None:
    sim.set_scenario("gem-text", Scenario(rejects_images=True))
    config = config_for(sim, project, gemini_ai(sim, "gem", "gem-text"))
    result = await call(config, "ask_one", {"ai": "gem", "prompt": "describe", "files": ["shot.png"]})
    assert result.is_error and "gem did not accept shot.png" in text_of(result)


async def test_pdfs_go_as_extracted_text_to_an_ai_that_cannot_read_them(sim: Simulator, project: Path) -> None:
    config = config_for(sim, project, openai_ai(sim, "ollama", "local-model"))  # a local server: text
    result = await call(config, "ask_one", {"ai": "ollama", "prompt": "summarise", "files": ["report.pdf"]})
    (record,) = sim.state.requests("local-model")
    assert record.attachments() == []
    assert record.body["messages"][-1]["content"].startswith("--- report.pdf (text extracted from the PDF) ---")
    assert "Revenue grew 12 percent" in record.body["messages"][-1]["content"]
    assert any("report.pdf sent as extracted text" in note for note in result.structured_content["adaptations"])


async def test_a_native_pdf_refused_by_the_provider_is_resent_as_text_and_remembered(
    sim: Simulator, project: Path
) -> None:
    sim.set_scenario("no-pdf", Scenario(rejects_pdfs=True))
    config = config_for(sim, project, openai_ai(sim, "gpt", "no-pdf", pdf_input="native"))
    async with Client(build_server(config)) as client:
        first = await client.call_tool("ask_one", {"ai": "gpt", "prompt": "summarise", "files": ["report.pdf"]})
        await client.call_tool("ask_one", {"ai": "gpt", "prompt": "again", "files": ["report.pdf"]})
    assert first.structured_content["status"] == "ok"
    assert "PDFs were sent as extracted text" in first.structured_content["adaptations"][0]
    attempts = sim.state.requests("no-pdf")
    assert [bool(r.attachments()) for r in attempts] == [True, False, False]  # learned once, then remembered


async def test_each_file_is_read_once_for_a_fan_out_and_every_consensus_round(sim: Simulator, project: Path) -> None:
    config = config_for(
        sim, project, *(openai_ai(sim, f"ai{n}", f"once-{n}") for n in range(3)), gemini_ai(sim, "g", "once-g")
    )
    target = str(project / "src" / "app.py")
    async with Client(build_server(config)) as client:
        OPENED.clear()
        COUNTING.append(True)
        try:
            many = await client.call_tool("ask_many", {"prompt": "review", "files": ["src/app.py"]})
            assert OPENED.count(target) == 1
            OPENED.clear()
            agreed = await client.call_tool(
                "consensus", {"question": "is it right?", "files": ["src/app.py"], "rounds": 2}
            )
            assert OPENED.count(target) == 1
        finally:
            COUNTING.clear()
    assert many.structured_content["ok_count"] == 4 and not agreed.is_error
    consensus_calls = [r for r in sim.state.requests() if "is it right?" in r.full_text]
    assert len(consensus_calls) >= 5  # round 0, critique rounds and the judge ...
    assert all("----- BEGIN src/app.py" in r.full_text for r in consensus_calls)  # ... every one with the file


async def test_debate_shares_the_context_with_every_turn(sim: Simulator, project: Path) -> None:
    config = config_for(sim, project)
    result = await call(config, "debate", {"topic": "merge this?", "diff": "HEAD", "rounds": 1})
    assert not result.is_error
    assert all("git diff HEAD" in r.full_text for r in sim.state.requests())
    assert result.structured_content["context"][0]["kind"] == "diff"


async def test_a_refused_item_means_nothing_is_sent_to_any_ai(sim: Simulator, project: Path) -> None:
    (project / ".env").write_text("OPENAI_API_KEY=sk-live")
    result = await call(config_for(sim, project), "ask_many", {"prompt": "x", "files": ["src/app.py", ".env"]})
    assert result.is_error
    assert "Invalid input: nothing was sent: .env looks like a secret" in text_of(result)
    assert sim.state.requests() == []


async def test_over_the_size_caps_nothing_is_sent(sim: Simulator, project: Path) -> None:
    (project / "huge.txt").write_text("x" * 3_000)
    config = config_for(sim, project, context_max_file_bytes=2_000)
    result = await call(config, "ask_one", {"ai": "gpt", "prompt": "x", "files": ["huge.txt"]})
    assert result.is_error and "huge.txt (3,000 bytes)" in text_of(result)
    assert sim.state.requests() == []


async def test_the_hosts_roots_are_the_boundary_when_offered(sim: Simulator, project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.md").write_text("from the host's root")
    config = config_for(sim, project)  # allowed_paths says project; the host says other

    async def roots(_context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=other.as_uri(), name="other")])

    async with Client(build_server(config), mode="legacy", list_roots_callback=roots) as client:
        inside = await client.call_tool("ask_one", {"ai": "gpt", "prompt": "x", "files": ["notes.md"]})
        outside = await client.call_tool("ask_one", {"ai": "gpt", "prompt": "x", "files": [str(project / "src")]})
    assert not inside.is_error and inside.structured_content["context"][0]["path"] == "notes.md"
    assert outside.is_error and f"outside the allowed roots ({other})" in text_of(outside)


async def test_reasoning_effort_reaches_both_protocols(sim: Simulator, project: Path) -> None:
    config = config_for(
        sim, project, openai_ai(sim, "gpt", "effort-oai"), gemini_ai(sim, "g25", "gemini-2.5-flash"),
        gemini_ai(sim, "g3", "gemini-3-pro-preview"),
    )  # fmt: skip
    result = await call(config, "ask_many", {"prompt": "think", "reasoning_effort": "high"})
    assert result.structured_content["ok_count"] == 3
    assert sim.state.requests("effort-oai")[0].body["reasoning_effort"] == "high"
    assert thinking(sim, "gemini-2.5-flash") == {"thinkingBudget": 24576}
    assert thinking(sim, "gemini-3-pro-preview") == {"thinkingLevel": "HIGH"}


async def test_a_model_rejecting_reasoning_effort_is_adapted_and_remembered(sim: Simulator, project: Path) -> None:
    sim.set_scenario("plain-oai", Scenario(rejects=("reasoning_effort",)))
    sim.set_scenario("plain-gem", Scenario(rejects=("thinkingConfig",)))
    config = config_for(sim, project, openai_ai(sim, "o", "plain-oai"), gemini_ai(sim, "g", "plain-gem"))
    async with Client(build_server(config)) as client:
        first = await client.call_tool("ask_many", {"prompt": "a", "reasoning_effort": "low"})
        await client.call_tool("ask_many", {"prompt": "b", "reasoning_effort": "low"})
    by_ai = {r["ai"]: r for r in first.structured_content["results"]}
    assert by_ai["o"]["status"] == by_ai["g"]["status"] == "ok"
    assert by_ai["o"]["adaptations"] == ["reasoning_effort was not sent: plain-oai rejects it"]
    assert by_ai["g"]["adaptations"] == ["reasoning_effort (thinkingConfig) was not sent: plain-gem rejects it"]
    assert len(sim.state.requests("plain-oai")) == 3 and len(sim.state.requests("plain-gem")) == 3


async def test_a_per_ai_default_effort_comes_from_the_credentials_file(sim: Simulator, project: Path) -> None:
    config = config_for(sim, project, openai_ai(sim, "gpt", "default-effort", reasoning_effort="minimal"))
    await call(config, "ask_one", {"ai": "gpt", "prompt": "x"})
    await call(config, "ask_one", {"ai": "gpt", "prompt": "y", "reasoning_effort": "medium"})
    assert [r.body["reasoning_effort"] for r in sim.state.requests("default-effort")] == ["minimal", "medium"]


def thinking(sim: Simulator, model: str) -> dict[str, Any]:
    """The thinkingConfig a Gemini request carried, keys in the API's camelCase (the SDK writes snake_case, which
    the API also accepts)."""
    sent = sim.state.requests(model)[0].body["generationConfig"]["thinkingConfig"]
    return {"".join(w if i == 0 else w.title() for i, w in enumerate(k.split("_"))): v for k, v in sent.items()}


def credentials_file(sim: Simulator, path: Path, project: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "gpt": {"provider": "openai_compatible", "model": "cli-ctx-oai", "api_key": OPENAI_KEY,
                        "base_url": sim.openai_base_url, "pdf_input": "native", "reasoning_effort": "low"},
                "gemini": {"model": "cli-ctx-gem", "api_key": GEMINI_KEY, "base_url": sim.gemini_base_url},
                "settings": {"allowed_paths": [str(project)]},
            }
        )
    )  # fmt: skip
    path.chmod(0o600)
    return path


async def test_files_and_diff_over_a_real_stdio_session(sim: Simulator, project: Path, tmp_path: Path) -> None:
    credentials = credentials_file(sim, tmp_path / "credentials.json", project)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "junior_ai", "--credentials", str(credentials), "serve"]
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            result = await client.call_tool(
                "ask_many",
                {"prompt": "review", "ais": ["gemini", "gpt"], "files": ["src/app.py", "shot.png"], "diff": "HEAD"},
            )
            refused = await client.call_tool("ask_one", {"ai": "gpt", "prompt": "x", "files": [str(credentials)]})
    assert not result.is_error and result.structured_content["ok_count"] == 2
    for model in ("cli-ctx-oai", "cli-ctx-gem"):
        (record,) = sim.state.requests(model)
        assert record.attachments() == [("image/png", png_bytes(32, 16))]
    assert sim.state.requests("cli-ctx-oai")[0].body["reasoning_effort"] == "low"
    assert refused.is_error and "outside the allowed roots" in text_of(refused)


def test_the_cli_takes_file_diff_and_reasoning_effort(sim: Simulator, project: Path, tmp_path: Path) -> None:
    credentials = credentials_file(sim, tmp_path / "credentials.json", project)
    done = run_junior_ai(
        "--credentials", str(credentials), "ask", "--ai", "gpt", "--ai", "gemini", "--file", "src/app.py",
        "--file", "report.pdf", "--diff", "HEAD", "--reasoning-effort", "high", "review this",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Context sent (3 item(s)" in done.stdout and "- git diff HEAD (diff," in done.stdout
    oai = sim.state.requests("cli-ctx-oai")[0]
    assert oai.body["reasoning_effort"] == "high"
    assert oai.attachments() == [("application/pdf", pdf_bytes("Revenue grew 12 percent"))]
    assert thinking(sim, "cli-ctx-gem") == {"thinkingLevel": "HIGH"}
    refused = run_junior_ai("--credentials", str(credentials), "ask", "--ai", "gpt", "--file", "../x", "hi")
    assert refused.returncode == 2 and "nothing was sent" in refused.stderr


async def test_the_readme_review_example_lists_what_was_sent_and_what_was_not(sim: Simulator, tmp_path: Path) -> None:
    shop = make_repo(tmp_path / "shop")
    (shop / "src" / "app.py").write_text("".join(f"line {i}\n" for i in range(120)))
    (shop / ".env").write_text("STRIPE_KEY=sk_live_123\n")
    config = config_of(
        gemini_ai(sim, "gemini", "gemini-2.5-flash"), openai_ai(sim, "gpt", "gpt-4o-mini"), allowed_paths=[str(shop)]
    )
    arguments = {"prompt": "Review src/app.py and my uncommitted changes: bugs first.", "ais": ["gemini", "gpt"],
                 "files": ["src/app.py"], "diff": "HEAD"}  # fmt: skip
    result = await call(config, "ask_many", arguments)
    text = text_of(result)
    assert text.startswith("Context sent (2 item(s), ~")
    assert "\n- src/app.py (text, 970 bytes, ~" in text and "\n- git diff HEAD (diff, " in text
    assert "Not sent (1):\n- .env: looks like a secret (matches .env*)\n" in text
    assert all("sk_live_123" not in r.full_text for r in sim.state.requests())
    assert all(r.texts()[0].startswith("----- BEGIN src/app.py (120 lines) -----") for r in sim.state.requests())


async def test_a_bad_reasoning_effort_names_the_valid_values(sim: Simulator, project: Path) -> None:
    result = await call(config_for(sim, project), "ask_one", {"ai": "gpt", "prompt": "x", "reasoning_effort": "max"})
    assert result.is_error and "reasoning_effort must be one of minimal, low, medium, high" in text_of(result)
    assert sim.state.requests() == []


async def test_the_server_instructions_explain_files_diff_and_effort(two_ais: JuniorConfig) -> None:
    async with Client(build_server(two_ais)) as client:
        instructions = client.instructions or ""
    assert "`files` takes paths" in instructions and '"HEAD" (uncommitted changes)' in instructions
    assert "minimal, low, medium or high" in instructions


async def test_a_2025_11_25_host_over_stdio_sets_the_roots(sim: Simulator, project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "workspace"
    elsewhere.mkdir()
    (elsewhere / "notes.md").write_text("from the host's workspace")
    credentials = credentials_file(sim, tmp_path / "credentials.json", project)

    async def roots(_context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=elsewhere.as_uri(), name="workspace")])

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "junior_ai", "--credentials", str(credentials), "serve"]
    )
    with anyio.fail_after(60):
        async with Client(params, mode="legacy", list_roots_callback=roots) as client:
            result = await client.call_tool("ask_one", {"ai": "gpt", "prompt": "x", "files": ["notes.md"]})
    assert not result.is_error, text_of(result)
    assert "from the host's workspace" in sim.state.requests("cli-ctx-oai")[0].full_text
