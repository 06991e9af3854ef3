"""The context boundary and assembly on real files: what may leave the machine, what is refused, what is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from junior_ai.ai.types import FilePart, TextPart
from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.context.assemble import Limits, assemble_context
from junior_ai.tools.context.boundary import Boundary
from tests.context_files import pdf_bytes, png_bytes

LIMITS = Limits(max_file_bytes=1_000_000, max_call_bytes=5_000_000, max_chars=500_000)


def boundary(root: Path, **kwargs: object) -> Boundary:
    return Boundary.build(
        client_roots=None,
        allowed_paths=[str(root)],
        cwd=root,
        home=Path("/nonexistent-home"),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("import os\n\nprint(os.getcwd())\n")
    return root


def test_a_text_file_becomes_one_numbered_block_with_its_path(project: Path) -> None:
    bundle = assemble_context(["src/app.py"], None, boundary(project), LIMITS)
    (part,) = bundle.parts
    assert isinstance(part, TextPart)
    assert part.text.splitlines() == [
        "----- BEGIN src/app.py (3 lines) -----",
        "1  import os",
        "2  ",
        "3  print(os.getcwd())",
        "----- END src/app.py -----",
    ]
    (item,) = bundle.items
    assert (item.path, item.kind, item.bytes) == ("src/app.py", "text", 30)
    assert item.tokens_estimate == -(-len(part.text) // 4)


def test_absolute_paths_inside_the_root_are_shown_relative_to_it(project: Path) -> None:
    bundle = assemble_context([str(project / "src" / "app.py")], None, boundary(project), LIMITS)
    assert [i.path for i in bundle.items] == ["src/app.py"]


def test_images_and_pdfs_become_file_parts_with_the_files_exact_bytes(project: Path) -> None:
    (project / "shot.png").write_bytes(png_bytes(640, 480))
    (project / "report.pdf").write_bytes(pdf_bytes("Revenue grew 12 percent"))
    bundle = assemble_context(["shot.png", "report.pdf"], None, boundary(project), LIMITS)
    image, pdf = bundle.parts
    assert isinstance(image, FilePart) and isinstance(pdf, FilePart)
    assert (image.mime_type, image.data) == ("image/png", (project / "shot.png").read_bytes())
    assert (pdf.mime_type, pdf.data) == ("application/pdf", (project / "report.pdf").read_bytes())
    assert pdf.text is not None and "Revenue grew 12 percent" in pdf.text
    assert [(i.kind, i.tokens_estimate) for i in bundle.items] == [("image", 85 + 170 * 2 * 1), ("pdf", 258 + 8)]


def test_a_file_is_recognised_by_its_bytes_not_its_name(project: Path) -> None:
    (project / "picture.txt").write_bytes(png_bytes())
    bundle = assemble_context(["picture.txt"], None, boundary(project), LIMITS)
    assert bundle.items[0].kind == "image"


def test_a_binary_file_of_another_kind_is_refused(project: Path) -> None:
    (project / "blob.bin").write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(InvalidInputError, match=r"blob.bin is a binary file .* PDF can"):
        assemble_context(["blob.bin"], None, boundary(project), LIMITS)


def test_a_path_outside_the_roots_is_refused_with_the_path_and_the_roots(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("private")
    with pytest.raises(InvalidInputError) as caught:
        assemble_context([str(outside)], None, boundary(project), LIMITS)
    message = str(caught.value)
    assert str(outside) in message and str(project) in message and "allowed_paths" in message


def test_dot_dot_is_resolved_before_the_check(project: Path, tmp_path: Path) -> None:
    (tmp_path / "secret-notes.txt").write_text("private")
    with pytest.raises(InvalidInputError, match="outside the allowed roots"):
        assemble_context(["src/../../secret-notes.txt"], None, boundary(project), LIMITS)


def test_a_symlink_inside_the_root_pointing_outside_is_refused(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_text("private")
    (project / "innocent.txt").symlink_to(target)
    with pytest.raises(InvalidInputError, match=rf"innocent.txt \(it resolves to {target}\) is outside"):
        assemble_context(["innocent.txt"], None, boundary(project), LIMITS)


@pytest.mark.parametrize(
    "name",
    [".env", ".env.production", "server.pem", "tls.key", "id_rsa", "id_ed25519.pub", ".netrc", ".npmrc", ".pypirc",
     "gcp-credentials.json", ".aws/credentials", "prod_aws_credentials", "home/.docker/config.json", ".kube/config",
     ".ssh/config", ".gnupg/pubring.kbx", ".pgpass"],
)  # fmt: skip
def test_secret_looking_files_are_refused_even_inside_the_root(project: Path, name: str) -> None:
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("TOKEN=abc")
    with pytest.raises(InvalidInputError, match="looks like a secret") as caught:
        assemble_context([name], None, boundary(project), LIMITS)
    assert "context_allow" in str(caught.value)


def test_context_allow_lifts_the_refusal_for_the_named_pattern_only(project: Path) -> None:
    (project / ".env.example").write_text("TOKEN=<your token>")
    (project / ".env").write_text("TOKEN=real")
    allowing = boundary(project, allow_patterns=[".env.example"])
    assert assemble_context([".env.example"], None, allowing, LIMITS).items[0].path == ".env.example"
    with pytest.raises(InvalidInputError, match="looks like a secret"):
        assemble_context([".env"], None, allowing, LIMITS)


def test_the_credentials_file_is_never_sent_even_when_allowed(project: Path) -> None:
    credentials = project / "my-config.json"
    credentials.write_text('{"openai": {"api_key": "sk-live"}}')
    allowing = boundary(project, credentials_file=str(credentials), allow_patterns=["*"])
    with pytest.raises(InvalidInputError, match="credentials file; it is never sent"):
        assemble_context(["my-config.json"], None, allowing, LIMITS)
    (project / "docs").mkdir()
    (project / "docs" / "readme.md").write_text("hello")
    bundle = assemble_context(["."], None, allowing, LIMITS)
    assert "my-config.json" not in [i.path for i in bundle.items]
    assert ("my-config.json", "Junior AI's credentials file") in [(s.path, s.reason) for s in bundle.skipped]


def test_a_missing_file_is_refused_and_nothing_is_sent_when_any_item_is_refused(project: Path) -> None:
    with pytest.raises(InvalidInputError) as caught:
        assemble_context(["src/app.py", "nope.py", ".env"], None, boundary(project), LIMITS)
    message = str(caught.value)
    assert message.startswith("nothing was sent (2 problems)")
    assert "nope.py does not exist" in message


def test_an_oversize_file_is_an_error_naming_it_never_a_truncation(project: Path) -> None:
    (project / "big.log").write_text("x" * 2_000)
    (project / "small.txt").write_text("y")
    limits = Limits(max_file_bytes=1_000, max_call_bytes=10_000, max_chars=500_000)
    with pytest.raises(InvalidInputError, match=r"exceed the 1,000-byte limit per file: big.log \(2,000 bytes\)"):
        assemble_context(["big.log", "small.txt"], None, boundary(project), limits)


def test_over_the_per_call_byte_cap_lists_the_largest_items(project: Path) -> None:
    for index, size in enumerate([900, 800, 700]):
        (project / f"f{index}.txt").write_text("z" * size)
    limits = Limits(max_file_bytes=1_000, max_call_bytes=2_000, max_chars=500_000)
    with pytest.raises(InvalidInputError, match=r"2,400 bytes, over the 2,000-byte limit .* f0.txt \(900\), f1.txt"):
        assemble_context(["f0.txt", "f1.txt", "f2.txt"], None, boundary(project), limits)


def test_text_counts_into_the_character_cap_with_the_prompt(project: Path) -> None:
    (project / "long.txt").write_text("a" * 400 + "\n")
    limits = Limits(max_file_bytes=10_000, max_call_bytes=10_000, max_chars=600)
    assemble_context(["long.txt"], None, boundary(project), limits, prompt_chars=100)
    with pytest.raises(InvalidInputError, match=r"over the 600-character limit .* long.txt"):
        assemble_context(["long.txt"], None, boundary(project), limits, prompt_chars=200)


def test_a_directory_expands_honouring_gitignore_in_a_stable_order(project: Path) -> None:
    root = project
    (root / ".gitignore").write_text("*.log\nbuild/\n!keep.log\n")
    (root / "build").mkdir()
    (root / "build" / "out.js").write_text("generated")
    (root / "debug.log").write_text("noise")
    (root / "keep.log").write_text("kept")
    (root / "src" / "nested").mkdir()
    (root / "src" / "nested" / ".gitignore").write_text("tmp_*\n")
    (root / "src" / "nested" / "tmp_x.py").write_text("scratch")
    (root / "src" / "nested" / "b.py").write_text("b = 1")
    (root / "src" / "a.py").write_text("a = 1")
    (root / "src" / "logo.png").write_bytes(png_bytes())
    (root / "src" / ".env.local").write_text("SECRET=1")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main")
    bundle = assemble_context(["."], None, boundary(root), LIMITS)
    assert [i.path for i in bundle.items] == [
        ".gitignore",
        "keep.log",
        "src/a.py",
        "src/app.py",
        "src/nested/.gitignore",
        "src/nested/b.py",
    ]
    skipped = {s.path: s.reason for s in bundle.skipped}
    assert skipped[".git"] == "version-control internals"
    assert skipped["src/.env.local"].startswith("looks like a secret")
    assert skipped["src/logo.png"].startswith("image file")
    assert assemble_context(["."], None, boundary(root), LIMITS) == bundle  # stable


def test_a_symlink_in_a_directory_that_escapes_the_root_is_skipped_and_listed(project: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("private")
    (project / "src" / "link.txt").symlink_to(tmp_path / "outside.txt")
    (project / "src" / "loop").symlink_to(project / "src")
    bundle = assemble_context(["src"], None, boundary(project), LIMITS)
    assert [i.path for i in bundle.items] == ["src/app.py"]
    reasons = {s.path: s.reason for s in bundle.skipped}
    assert "outside the allowed roots" in reasons["src/link.txt"]
    assert reasons["src/loop"].startswith("symlinked directory")


def test_a_directory_with_nothing_to_send_is_refused(project: Path) -> None:
    (project / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="empty holds no files"):
        assemble_context(["empty"], None, boundary(project), LIMITS)


def test_the_filesystem_root_and_the_home_directory_are_never_default_roots(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"filesystem root / .*allowed_paths"):
        Boundary.build(client_roots=None, allowed_paths=None, cwd=Path("/"), home=tmp_path)
    with pytest.raises(InvalidInputError, match=r"your home directory .*allowed_paths"):
        Boundary.build(client_roots=None, allowed_paths=None, cwd=tmp_path, home=tmp_path)
    with pytest.raises(InvalidInputError, match="filesystem root"):
        Boundary.build(client_roots=[Path("/")], allowed_paths=None, cwd=Path("/"), home=Path("/x"))


def test_host_roots_that_are_too_broad_give_way_to_the_settings(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    chosen = Boundary.build(client_roots=[home, Path("/")], allowed_paths=[str(project)], cwd=tmp_path, home=home)
    assert chosen.roots == (project,)


def test_roots_come_from_the_host_then_the_settings_then_the_working_directory(tmp_path: Path) -> None:
    host, configured, cwd = (tmp_path / n for n in ("host", "configured", "cwd"))
    for folder in (host, configured, cwd):
        folder.mkdir()
    home = tmp_path / "home"
    assert Boundary.build(client_roots=[host], allowed_paths=[str(configured)], cwd=cwd, home=home).roots == (host,)
    assert Boundary.build(client_roots=None, allowed_paths=[str(configured)], cwd=cwd, home=home).roots == (configured,)
    assert Boundary.build(client_roots=None, allowed_paths=None, cwd=cwd, home=home).roots == (cwd,)


def test_a_file_is_read_once_even_when_named_twice_and_inside_a_named_directory(project: Path) -> None:
    bundle = assemble_context(["src/app.py", "src", str(project / "src" / "app.py")], None, boundary(project), LIMITS)
    assert [i.path for i in bundle.items] == ["src/app.py"]


def test_git_info_exclude_is_honoured_like_gitignore(project: Path) -> None:
    (project / ".git" / "info").mkdir(parents=True)
    (project / ".git" / "info" / "exclude").write_text("scratch/\n")
    (project / "scratch").mkdir()
    (project / "scratch" / "notes.txt").write_text("private scratch")
    bundle = assemble_context(["."], None, boundary(project), LIMITS)
    assert [i.path for i in bundle.items] == ["src/app.py"]


def test_the_home_directory_is_never_a_root_even_when_allowed_paths_names_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "code" / "shop").mkdir(parents=True)
    with pytest.raises(InvalidInputError, match=r"your home directory .*from settings.allowed_paths.*allowed_paths"):
        Boundary.build(client_roots=None, allowed_paths=[str(home)], cwd=tmp_path, home=home)
    with pytest.raises(InvalidInputError, match="your home directory"):
        Boundary.build(client_roots=None, allowed_paths=[f"{home}/code/.."], cwd=tmp_path, home=home)
    project = home / "code" / "shop"
    assert Boundary.build(client_roots=None, allowed_paths=[str(project)], cwd=tmp_path, home=home).roots == (project,)


def test_an_empty_allowed_path_is_refused_not_read_as_the_working_directory(tmp_path: Path) -> None:
    for paths in ([""], [str(tmp_path), "  "]):
        with pytest.raises(InvalidInputError, match="allowed_paths holds an empty path"):
            Boundary.build(client_roots=None, allowed_paths=paths, cwd=tmp_path, home=Path("/nonexistent-home"))


def test_a_directory_over_the_per_call_cap_is_refused_before_all_of_it_is_read(project: Path) -> None:
    for index in range(20):
        (project / "src" / f"m{index:02d}.py").write_text("x" * 500)
    limits = Limits(max_file_bytes=1_000, max_call_bytes=3_000, max_chars=500_000)
    with pytest.raises(InvalidInputError, match=r"over the 3,000-byte limit per call\. Largest: src/m00.py \(500\)"):
        assemble_context(["src"], None, boundary(project), limits)


def test_a_fifo_in_a_directory_is_skipped_not_waited_on(project: Path) -> None:
    import os

    os.mkfifo(project / "src" / "pipe")
    bundle = assemble_context(["src"], None, boundary(project), LIMITS)
    assert [i.path for i in bundle.items] == ["src/app.py"]
    assert ("src/pipe", "not a regular file (a FIFO, socket or device)") in [(s.path, s.reason) for s in bundle.skipped]


def test_gemini_thinking_follows_the_model_family() -> None:
    from junior_ai.ai.effort import gemini_thinking

    assert gemini_thinking("gemini-2.5-flash", "minimal").thinking_budget == 0
    assert gemini_thinking("gemini-2.5-pro", "minimal").thinking_budget == 128
    assert gemini_thinking("gemini-2.5-pro", "high").thinking_budget == 32_768
    assert gemini_thinking("gemini-2.5-flash-lite", "medium").thinking_budget == 8_192
    level = gemini_thinking("gemini-3-flash", "low").thinking_level
    assert level is not None and level.value == "LOW"


@pytest.mark.parametrize("given", ["a" * 5000, "src/" + "b" * 300 + ".py", "", "  ", "src/\0app.py"])
def test_absurd_paths_are_refused_with_a_message_not_a_traceback(project: Path, given: str) -> None:
    with pytest.raises(InvalidInputError, match="nothing was sent"):
        assemble_context([given], None, boundary(project), LIMITS)


def test_a_directory_over_the_character_cap_is_refused_naming_the_largest_files(project: Path) -> None:
    for index in range(50):
        (project / "src" / f"gen{index:02d}.py").write_text(f"# {index}\n" + "y = 1\n" * (10 + index))
    limits = Limits(max_file_bytes=10_000, max_call_bytes=1_000_000, max_chars=2_000)
    with pytest.raises(InvalidInputError, match=r"over the 2,000-character limit per call\. Largest items"):
        assemble_context(["src"], None, boundary(project), limits)


def test_outside_the_roots_a_missing_file_is_refused_without_saying_whether_it_exists(project: Path) -> None:
    with pytest.raises(InvalidInputError) as caught:
        assemble_context(["/root/.ssh/no_such_key"], None, boundary(project), LIMITS)
    assert "outside the allowed roots" in str(caught.value) and "does not exist" not in str(caught.value)


KEY_BLOCK = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def test_a_private_key_under_an_innocent_name_is_refused_by_its_content(project: Path) -> None:
    (project / "notes.txt").write_text("my key:\n" + KEY_BLOCK)
    with pytest.raises(InvalidInputError, match=r"notes\.txt holds a private key block"):
        assemble_context(["notes.txt"], None, boundary(project), LIMITS)
    bundle = assemble_context(["."], None, boundary(project), LIMITS)
    assert "notes.txt" not in [i.path for i in bundle.items]
    assert ("notes.txt", "holds a private key block (-----BEGIN ... PRIVATE KEY-----)") in [
        (s.path, s.reason) for s in bundle.skipped
    ]
    allowed = boundary(project, allow_patterns=["notes.txt"])
    assert assemble_context(["notes.txt"], None, allowed, LIMITS).items[0].path == "notes.txt"
