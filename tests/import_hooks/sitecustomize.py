"""Test-only import faults for a `junior-ai` subprocess: on its PYTHONPATH only when a test puts it there.

`JUNIOR_AI_TEST_IMPORT_HOOK` holds `action:module` pairs separated by commas:

- `block:openai` — `import openai` starts and never finishes (as a very slow disk or a stuck network mount
  would make it), after writing `import-hook: blocking openai` to stderr so the test knows it has begun;
- `fail:google.genai` — that import raises ImportError, as a broken installation does.

The block happens in the module's loader, not in `find_spec`: finders run under the interpreter's global
import lock, and blocking there would stop every import in every thread, which no real slow import does.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import threading
from collections.abc import Sequence
from types import ModuleType


class _NeverFinishes(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        sys.stderr.write(f"import-hook: blocking {module.__name__}\n")
        sys.stderr.flush()
        threading.Event().wait()


class _ImportFaults(importlib.abc.MetaPathFinder):
    def __init__(self, faults: dict[str, str]) -> None:
        self._faults = faults

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        action = self._faults.get(fullname)
        if action == "fail":
            raise ImportError(f"simulated broken installation: {fullname} cannot be imported")
        if action == "block":
            return importlib.machinery.ModuleSpec(fullname, _NeverFinishes())
        return None


def _install() -> None:
    spec = os.environ.get("JUNIOR_AI_TEST_IMPORT_HOOK", "")
    faults = {}
    for item in filter(None, spec.split(",")):
        action, _, module = item.partition(":")
        faults[module] = action
    if faults:
        sys.meta_path.insert(0, _ImportFaults(faults))


_install()
