"""The context boundary against an outside tester's attacks: hard links to the credentials file, a repository
whose config runs programs or reshapes the diff, `.git/` unlocked by a careless pattern, and the messages that
come back. Real files, real hard links, a real git repository; the simulator proves what was (not) sent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from junior_ai.ai.simulator import Simulator
from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.context.assemble import Limits, assemble_context
from junior_ai.tools.context.boundary import Boundary
from junior_ai.tools.context.gitdiff import git_diff
from tests.conftest import OPENAI_KEY, openai_ai
from tests.context_files import git, make_repo, pdf_bytes
from tests.test_context_tools import call, config_for
from tests.test_server_tools import text_of

LIMITS = Limits(max_file_bytes=1_000_000, max_call_bytes=5_000_000, max_chars=500_000)
API_KEY = "sk-attack-test-0123456789abcdef"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "proj")


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    path = tmp_path / "a12" / "creds.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"openai": {"api_key": API_KEY}}))
    return path


def boundary(root: Path, credentials: Path | None = None, **kwargs: object) -> Boundary:
    return Boundary.build(
        client_roots=None,
        allowed_paths=[str(root)],
        cwd=root,
        home=Path("/nonexistent-home"),
        credentials_file=str(credentials) if credentials else None,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_hard_link_to_the_credentials_file_is_refused_whatever_its_name(repo: Path, credentials: Path) -> None:
    os.link(credentials, repo / "hardcreds.txt")
    with pytest.raises(InvalidInputError, match=r"hardcreds\.txt is Junior AI's credentials file"):
        assemble_context(["hardcreds.txt"], None, boundary(repo, credentials), LIMITS)


def test_folder_expansion_leaves_out_a_hard_link_to_the_credentials_file(repo: Path, credentials: Path) -> None:
    os.link(credentials, repo / "src" / "settings.json")
    bundle = assemble_context(["."], None, boundary(repo, credentials), LIMITS)
    assert [i.path for i in bundle.items] == ["src/app.py"]
    assert ("src/settings.json", "Junior AI's credentials file (a hard link)") in [
        (s.path, s.reason) for s in bundle.skipped
    ]
    assert all(API_KEY not in getattr(p, "text", "") for p in bundle.parts)


def test_the_credentials_file_itself_inside_the_folder_is_left_out(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    inside = root / "junior.json"
    inside.write_text(json.dumps({"openai": {"api_key": API_KEY}}))
    bundle = assemble_context(["."], None, boundary(root, inside), LIMITS)
    assert [i.path for i in bundle.items] == ["src/app.py"]


def test_a_committed_hard_link_to_the_credentials_file_is_left_out_of_the_commits_diff(
    repo: Path, credentials: Path
) -> None:
    os.link(credentials, repo / "hardcreds.txt")
    (repo / "src" / "app.py").write_text("def add(a, b):\n    return a + b + 0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "oops")
    commit = git(repo, "rev-parse", "HEAD").strip()
    found = git_diff(commit, boundary(repo, credentials), 100_000)
    assert API_KEY not in found.text and "+    return a + b + 0" in found.text
    assert ("hardcreds.txt", "Junior AI's credentials file") in found.skipped


def test_an_untracked_hard_link_to_the_credentials_file_is_left_out_of_head(repo: Path, credentials: Path) -> None:
    os.link(credentials, repo / "notes.txt")
    (repo / "src" / "app.py").write_text("changed\n")
    found = git_diff("HEAD", boundary(repo, credentials), 100_000)
    assert API_KEY not in found.text
    assert ("notes.txt", "Junior AI's credentials file") in found.skipped


def test_a_diff_holding_an_api_key_value_is_refused_even_when_no_longer_linked(repo: Path, credentials: Path) -> None:
    (repo / "backup.txt").write_text(credentials.read_text())  # a copy: another file, the same keys
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "backup")
    commit = git(repo, "rev-parse", "HEAD").strip()
    (repo / "backup.txt").unlink()
    with pytest.raises(InvalidInputError, match="contains one of the API keys Junior AI uses"):
        assemble_context(None, commit, boundary(repo, credentials, secret_values=[API_KEY]), LIMITS)
    with pytest.raises(InvalidInputError, match="holds one of the API keys"):
        (repo / "copy.txt").write_text(credentials.read_text())
        assemble_context(["copy.txt"], None, boundary(repo, credentials, secret_values=[API_KEY]), LIMITS)


async def test_a_hard_link_to_the_credentials_file_reaches_no_ai_over_mcp(sim: Simulator, tmp_path: Path) -> None:
    project = make_repo(tmp_path / "proj")
    source = tmp_path / "credentials.json"
    source.write_text(json.dumps({"gpt": {"api_key": OPENAI_KEY}}))
    os.link(source, project / "hardcreds.txt")
    config = config_for(sim, project).model_copy(update={"source": str(source)})
    for files in (["hardcreds.txt"], ["."]):
        result = await call(config, "ask_one", {"ai": "gpt", "prompt": "review", "files": files})
        if files == ["hardcreds.txt"]:
            assert text_of(result).startswith("Invalid input: nothing was sent: hardcreds.txt is Junior AI's")
    assert all(OPENAI_KEY not in r.full_text for r in sim.state.requests())
    assert len(sim.state.requests()) == 1  # only the folder call was sent, without the link


def test_a_repositorys_clean_filter_does_not_run_when_the_diff_is_computed(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "filter-ran"
    script = tmp_path / "x.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    script.chmod(0o755)
    (repo / ".gitattributes").write_text("h.txt filter=cl\n*.md filter=proc\n")
    (repo / "h.txt").write_text("one\n")
    (repo / "notes.md").write_text("one\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "attributes")
    git(repo, "config", "filter.cl.clean", str(script))
    git(repo, "config", "filter.cl.smudge", str(script))
    git(repo, "config", "filter.cl.required", "true")
    git(repo, "config", "filter.proc.process", str(script))
    (repo / "h.txt").write_text("two\n")
    (repo / "notes.md").write_text("two\n")
    found = git_diff("HEAD", boundary(repo), 100_000)
    assert not marker.exists()
    assert "+two" in found.text and "-one" in found.text
    # The attack works on plain git, so the test would catch its return:
    git(repo, "diff", "HEAD", "--stat")
    assert marker.exists()


def test_a_repositorys_diff_settings_do_not_change_the_diff_that_is_sent(repo: Path) -> None:
    for key, value in (("diff.noprefix", "true"), ("diff.mnemonicPrefix", "true"), ("color.ui", "always"),
                       ("diff.relative", "true"), ("core.quotepath", "on")):  # fmt: skip
        git(repo, "config", key, value)
    (repo / "src" / "app.py").write_text("changed\n")
    (repo / "src" / "naïve.py").write_text("x = 1\n")
    git(repo, "add", "src/naïve.py")
    text = git_diff("staged", boundary(repo), 100_000).text
    assert "diff --git a/src/naïve.py b/src/naïve.py" in text and "\x1b[" not in text
    text = git_diff("HEAD", boundary(repo), 100_000).text
    assert "diff --git a/src/app.py b/src/app.py" in text and "--- a/src/app.py" in text


def test_anything_under_git_is_refused_even_when_context_allow_names_it(repo: Path) -> None:
    (repo / ".git" / "config").write_text("[remote]\n\turl = https://token@example.com/x\n")
    allowing = boundary(repo, allow_patterns=["config", ".git/", "*"])
    with pytest.raises(InvalidInputError, match=r"\.git/config is inside a \.git folder") as caught:
        assemble_context([".git/config"], None, allowing, LIMITS)
    assert "context_allow" not in str(caught.value)
    with pytest.raises(InvalidInputError, match=r"inside a \.git folder"):
        assemble_context([".git"], None, allowing, LIMITS)


def test_the_hint_after_a_secret_refusal_is_anchored_to_that_one_path(repo: Path) -> None:
    (repo / "deploy").mkdir()
    (repo / "deploy" / "server.pem").write_text("cert")
    with pytest.raises(InvalidInputError) as caught:
        assemble_context(["deploy/server.pem"], None, boundary(repo), LIMITS)
    assert '"context_allow": ["/deploy/server.pem"]' in str(caught.value)
    (repo / "other.pem").write_text("cert")
    following = boundary(repo, allow_patterns=["/deploy/server.pem"])
    assert [i.path for i in assemble_context(["deploy/server.pem"], None, following, LIMITS).items] == [
        "deploy/server.pem"
    ]
    with pytest.raises(InvalidInputError, match="looks like a secret"):
        assemble_context(["other.pem"], None, following, LIMITS)


def test_the_home_directory_named_as_a_tilde_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(InvalidInputError, match=r"your home directory .*\"allowed_paths\": \[\"~/code/my-project\"\]"):
        Boundary.build(client_roots=None, allowed_paths=["~"], cwd=tmp_path, home=Path.home())


def test_a_folder_with_nothing_sendable_names_the_real_reasons(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "odd").mkdir(parents=True)
    os.mkfifo(root / "odd" / "pipe")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("x")
    (root / "odd" / "link.txt").symlink_to(outside)
    with pytest.raises(InvalidInputError) as caught:
        assemble_context(["odd"], None, boundary(root), LIMITS)
    message = str(caught.value)
    assert "odd/pipe: not a regular file (a FIFO, socket or device)" in message
    assert f"odd/link.txt: symlink to {outside}, outside the allowed roots" in message
    (root / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="empty holds no files that may be sent: it is empty"):
        assemble_context(["empty"], None, boundary(root), LIMITS)


async def test_a_pdf_without_text_for_an_ai_taking_pdfs_as_text_says_so_without_contradiction(
    sim: Simulator, tmp_path: Path
) -> None:
    project = make_repo(tmp_path / "proj")
    (project / "broken.pdf").write_bytes(pdf_bytes("Revenue")[:60])  # truncated: no text to extract
    config = config_for(sim, project, openai_ai(sim, "openai", "local-pdf"))  # OpenAI's SDK, a loopback server
    result = await call(config, "ask_one", {"ai": "openai", "prompt": "summarise", "files": ["broken.pdf"]})
    message = text_of(result)
    assert "openai gets PDFs as extracted text (its server, 127.0.0.1, is not one known to read PDF files)" in message
    assert "no text could be extracted from broken.pdf" in message
    assert "cannot read PDFs" not in message and '"pdf_input": "native"' in message
    assert sim.state.requests("local-pdf") == []


async def test_context_refusals_over_mcp_read_like_every_other_invalid_input(sim: Simulator, tmp_path: Path) -> None:
    project = make_repo(tmp_path / "proj")
    (project / ".env").write_text("TOKEN=x")
    result = await call(config_for(sim, project), "ask_one", {"ai": "gpt", "prompt": "x", "files": [".env"]})
    assert result.is_error
    assert text_of(result).startswith("Invalid input: nothing was sent: .env looks like a secret")
    assert sim.state.requests() == []
