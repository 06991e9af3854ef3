"""Files Junior AI creates hold answers, prompts and job ids: they are created readable by their owner only.

`os.open` with mode 0o600 at creation (the umask can only remove bits), never a chmod afterwards, so there is no
moment when another user could open the file. An existing file keeps the mode its owner gave it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

PRIVATE_MODE = 0o600


def touch_private(path: Path | str) -> None:
    """Create `path` (owner read/write only) if it does not exist yet; leave an existing file alone."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_MODE)
    os.close(descriptor)


def open_private_append(path: Path | str) -> TextIO:
    """`open(path, "a")`, except that a file created now is readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_MODE)
    return os.fdopen(descriptor, "a", encoding="utf-8")


def write_private_text(path: Path, text: str) -> None:
    """Replace `path` atomically with `text` (a reader never sees half a file); the new file is owner-only."""
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
