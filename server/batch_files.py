"""The files `junior-ai batch` reads and writes, and what can go wrong with each, as one-line errors.

- Items: a file, a pipe or process substitution (`--items <(cmd)`), or standard input (`--items -`). Read exactly
  once, lazily: a pipe cannot be read twice, so the total is counted as the items go by.
- `--out`: locked while a run writes it (a second run on the same file refuses instead of paying for every item
  twice); a torn last line left by a crash mid-write is cut off before appending, so the next record starts on a
  line of its own.
- `<out>.job`: the id of a submitted provider batch job, kept until its results are written.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.validation import check_json_schema

ItemsFormat = Literal["auto", "lines", "jsonl"]
JSON_SUFFIXES = {".jsonl", ".ndjson"}


def items_are_json(spec: str, fmt: ItemsFormat) -> bool:
    if fmt != "auto":
        return fmt == "jsonl"
    return spec != "-" and Path(spec).suffix in JSON_SUFFIXES


@contextlib.contextmanager
def open_items(spec: str) -> Iterator[TextIO]:
    """The items' text stream: standard input for `-`, else the file (or pipe) at `spec`."""
    if spec == "-":
        yield sys.stdin
        return
    path = Path(spec)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"--items {spec}: no such file. Pass a file of items, or - to read stdin.") from None
    except IsADirectoryError:
        raise InvalidInputError(f"--items {spec} is a directory; pass a file of items (one per line).") from None
    except OSError as error:
        raise InvalidInputError(f"--items {spec}: cannot read it ({error.strerror}).") from None
    with handle:
        yield handle


def read_items(handle: TextIO, *, as_json: bool, label: str) -> Iterator[Any]:
    """Items one at a time: a JSON value per line for JSON lines, else each non-blank line as a string."""
    try:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if not as_json:
                yield line.rstrip("\r\n")
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise InvalidInputError(f"{label}, line {number}: not valid JSON ({error.msg}).") from None
    except UnicodeDecodeError as error:
        raise InvalidInputError(f"{label}: not UTF-8 text ({error.reason} at byte {error.start}).") from None


def lock_file(out: Path) -> Path:
    return out.with_name(out.name + ".lock")


@contextlib.contextmanager
def locked_output(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on `out` for the run. The lock is the kernel's (flock), so a run killed with -9
    leaves no stale lock behind: the file may stay, the lock does not."""
    path = lock_file(out)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise unwritable(out, error) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise InvalidInputError(
                f"another junior-ai batch (pid {holder or 'unknown'}) is writing {out} right now; wait for it to "
                "finish or choose another --out. (Running both would pay for every item twice.)"
            ) from None
        # The file we locked may have been removed by a run that just finished: lock the one at the path.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def unwritable(out: Path, error: OSError) -> InvalidInputError:
    return InvalidInputError(
        f"cannot write --out {out} ({error.strerror}); choose a file in a directory you can write to."
    )


def cut_torn_tail(out: Path) -> int:
    """Remove a last line that has no newline (a record cut off by a crash mid-write); return the bytes removed.
    Its item is simply done again: appending after the fragment would glue the next record onto it."""
    try:
        with out.open("rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return 0
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return 0
            # Walk back to the last newline in blocks: the file may be large.
            position = size
            while position > 0:
                start = max(0, position - 65_536)
                handle.seek(start)
                block = handle.read(position - start)
                newline = block.rfind(b"\n")
                if newline >= 0:
                    keep = start + newline + 1
                    break
                position = start
            else:
                keep = 0
            handle.truncate(keep)
            return size - keep
    except FileNotFoundError:
        return 0
    except OSError as error:
        raise unwritable(out, error) from None


def open_output(out: Path) -> TextIO:
    try:
        if out.is_dir():
            raise IsADirectoryError(21, "it is a directory")
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as error:
        raise unwritable(out, error) from None
    return os.fdopen(fd, "a", encoding="utf-8")


def finished_keys(out: Path) -> set[str]:
    """Keys whose last recorded result is ok (a later failure of the same key does not undo an earlier success)."""
    done: set[str] = set()
    try:
        handle = out.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return done
    except OSError as error:
        raise InvalidInputError(f"cannot read --out {out} to resume ({error.strerror}).") from None
    with handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut off by a crash: that item is simply done again
            if isinstance(record, dict) and record.get("status") == "ok" and isinstance(record.get("key"), str):
                done.add(record["key"])
    return done


def job_file(out: Path) -> Path:
    """Where a submitted provider batch job's id is kept until its results are written (for resuming)."""
    return out.with_name(out.name + ".job")


def saved_job_id(saved: Path, ai: str) -> str | None:
    """The job id a previous run saved for this AI, or None; a damaged file is a one-line error with the fix."""
    try:
        text = saved.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"cannot read {saved} ({error}); delete it to submit a new job.") from None
    fix = f"delete {saved} to submit a new job, or pass --job-id with the id from the provider's console to resume it"
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        raise InvalidInputError(f"{saved} is {'empty' if not text.strip() else 'not valid JSON'}: {fix}.")
    job_id = record.get("job_id")
    if not isinstance(job_id, str) or not job_id.strip():
        raise InvalidInputError(f"{saved} has no job_id: {fix}.")
    return job_id if record.get("ai") == ai else None


def save_job_id(saved: Path, job_id: str, ai: str) -> None:
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"job_id": job_id, "ai": ai}))


def read_json_schema(path: Path) -> dict[str, Any]:
    """`--json-schema FILE`: a JSON Schema describing an object, checked before any item is sent."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInputError(f"--json-schema {path}: cannot read it ({error.strerror}).") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"--json-schema {path}: not valid JSON ({error}).") from None
    if not isinstance(schema, dict):
        raise InvalidInputError(f"--json-schema {path}: must hold a JSON object (a JSON Schema).")
    checked = check_json_schema(schema)
    assert checked is not None
    return checked
