"""`diff`: real git in a real repository made by the test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.context.assemble import Limits, assemble_context
from junior_ai.tools.context.boundary import Boundary
from junior_ai.tools.context.gitdiff import git_diff
from tests.context_files import git, make_repo

LIMITS = Limits(max_file_bytes=1_000_000, max_call_bytes=5_000_000, max_chars=500_000)


def boundary(root: Path) -> Boundary:
    return Boundary.build(client_roots=None, allowed_paths=[str(root)], cwd=root, home=Path("/nonexistent-home"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def test_head_is_every_uncommitted_change_staged_unstaged_and_untracked(repo: Path) -> None:
    (repo / "src" / "app.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "staged.py").write_text("x = 1\n")
    git(repo, "add", "staged.py")
    (repo / "new.py").write_text("y = 2\n")
    found = git_diff("HEAD", boundary(repo), 10_000)
    assert "-    return a + b\n+    return a - b" in found.text
    assert "+++ b/staged.py" in found.text and "+x = 1" in found.text
    assert "+++ b/new.py" in found.text and "+y = 2" in found.text


def test_staged_is_only_what_would_be_committed(repo: Path) -> None:
    (repo / "src" / "app.py").write_text("changed but not staged\n")
    (repo / "staged.py").write_text("x = 1\n")
    git(repo, "add", "staged.py")
    text = git_diff("staged", boundary(repo), 10_000).text
    assert "staged.py" in text and "app.py" not in text


def test_a_range_and_a_single_commit(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "feature.py").write_text("feature = True\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add the feature flag")
    commit = git(repo, "rev-parse", "--short", "HEAD").strip()
    assert "+feature = True" in git_diff("main...HEAD", boundary(repo), 10_000).text
    one = git_diff(commit, boundary(repo), 10_000).text
    assert "add the feature flag" in one and "+feature = True" in one


def test_secret_files_are_left_out_of_a_diff_and_listed(repo: Path) -> None:
    (repo / ".env").write_text("API_KEY=sk-live-123\n")
    (repo / "config").mkdir()
    (repo / "config" / "server.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    git(repo, "add", "-f", ".env", "config/server.pem")
    (repo / "src" / "app.py").write_text("def add(a, b):\n    return b + a\n")
    found = git_diff("HEAD", boundary(repo), 10_000)
    assert "sk-live-123" not in found.text and "PRIVATE KEY" not in found.text
    assert "return b + a" in found.text
    assert {path for path, _ in found.skipped} == {".env", "config/server.pem"}


def test_a_diff_of_a_subfolder_root_stays_inside_it(repo: Path) -> None:
    (repo / "src" / "app.py").write_text("inside\n")
    (repo / "outside.py").write_text("outside\n")
    git(repo, "add", "outside.py")
    text = git_diff("HEAD", boundary(repo / "src"), 10_000).text
    assert "inside" in text and "outside" not in text


def test_the_diff_is_one_context_item_of_kind_diff(repo: Path) -> None:
    (repo / "src" / "app.py").write_text("changed\n")
    bundle = assemble_context(None, "HEAD", boundary(repo), LIMITS)
    (item,) = bundle.items
    assert item.path == "git diff HEAD" and item.kind == "diff" and item.bytes > 0


def test_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(InvalidInputError, match="not in one"):
        git_diff("HEAD", boundary(plain), 10_000)


def test_an_unknown_revision_is_a_clear_error(repo: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not know this revision"):
        git_diff("no-such-branch", boundary(repo), 10_000)


@pytest.mark.parametrize("spec", ["--output=/tmp/x", "HEAD; rm -rf /", "a b", "$(id)"])
def test_option_or_shell_injection_in_the_spec_is_refused(repo: Path, spec: str) -> None:
    with pytest.raises(InvalidInputError, match="is not a revision spec"):
        git_diff(spec, boundary(repo), 10_000)


def test_no_changes_is_an_error_not_an_empty_item(repo: Path) -> None:
    with pytest.raises(InvalidInputError, match="no changes"):
        git_diff("HEAD", boundary(repo), 10_000)


def test_missing_git_is_a_clear_error(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo))  # a PATH without git on it, as on a machine without git
    with pytest.raises(InvalidInputError, match="needs git, which is not installed"):
        git_diff("HEAD", boundary(repo), 10_000)
    assert os.environ["PATH"] == str(repo)


def test_a_repositorys_own_config_cannot_make_the_diff_run_programs(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\necho x\n")
    script.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(script))
    git(repo, "config", "diff.external", str(script))
    git(repo, "config", "diff.py.textconv", str(script))
    (repo / ".gitattributes").write_text("*.py diff=py\n")
    (repo / "src" / "app.py").write_text("changed\n")
    found = git_diff("HEAD", boundary(repo), 10_000)
    assert "+changed" in found.text
    assert not marker.exists()


def test_a_diff_that_adds_a_private_key_is_refused(repo: Path) -> None:
    (repo / "src" / "app.py").write_text(
        "KEY = '''\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n'''\n"
    )
    with pytest.raises(InvalidInputError, match="contains a private key block"):
        assemble_context(None, "HEAD", boundary(repo), LIMITS)
