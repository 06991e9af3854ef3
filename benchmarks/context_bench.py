"""The `context` section: what sharing by path saves the host, and what assembling a directory costs.

- host tokens: the tool-argument characters a host model writes to have one 2,000-line file reviewed by three
  AIs, by path (`files`) against pasting the file into `prompt`; both calls go through a real stdio session, and
  each AI must have received the same file either way.
- context assembly: expanding a 5,000-file repository directory (with a `.gitignore` and ignored build output)
  into context, against `git ls-files -z | xargs -0 cat` on the same tree, the floor for "read every tracked file".
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import credentials, junior_command, session

REVIEW = "Review this file for bugs and risky error handling; cite line numbers."
AIS = {
    "gemini": ("gemini", "ctx-gem"),
    "gpt": ("openai_compatible", "ctx-gpt"),
    "grok": ("openai_compatible", "ctx-grok"),
}


def python_file(lines: int) -> str:
    """A realistic-looking module of `lines` lines (~50 characters each)."""
    out = ['"""Orders service."""', "", "import json", ""]
    index = 0
    while len(out) < lines:
        out += [
            f"def handle_order_{index}(order: dict, inventory: dict) -> dict:",
            f'    """Reserve stock for order {index} and return the receipt."""',
            "    sku = order['sku']",
            "    if inventory.get(sku, 0) < order['quantity']:",
            "        raise ValueError(f'not enough {sku} in stock')",
            "    inventory[sku] -= order['quantity']",
            "    return {'sku': sku, 'reserved': order['quantity']}",
            "",
        ]
        index += 1
    return "\n".join(out[:lines]) + "\n"


async def host_tokens(port: int, row: Any) -> list[Any]:
    work = Path(tempfile.mkdtemp(prefix="junior-ctx-"))
    source = work / "src" / "orders.py"
    source.parent.mkdir()
    text = python_file(2_000)
    source.write_text(text)
    config = credentials(port, AIS, settings={"allowed_paths": [str(work)]})
    by_path = {"prompt": REVIEW, "ais": list(AIS), "files": ["src/orders.py"]}
    pasted = {"prompt": f"{REVIEW}\n\nsrc/orders.py:\n```python\n{text}```", "ais": list(AIS)}
    async with session(junior_command(config)) as client:
        for arguments in (by_path, pasted):
            result = await client.call_tool("ask_many", arguments)
            if result.is_error or (result.structured_content or {}).get("ok_count") != len(AIS):
                raise RuntimeError(f"the review call failed: {result.content}")
    shutil.rmtree(work, ignore_errors=True)
    path_chars = len(json.dumps(by_path))
    paste_chars = len(json.dumps(pasted))
    return [
        row(
            "host tokens: one 2,000-line file reviewed by 3 AIs",
            "tool-argument characters the host writes, by path",
            f"{path_chars} chars (~{path_chars // 4} tokens)",
            f"{paste_chars:,} chars pasted (~{paste_chars // 4:,} tokens)",
            paste_chars / path_chars,
            "<= 200 chars by path",
            path_chars <= 200,
        )
    ]


def make_tree(root: Path, files: int) -> None:
    """`files` tracked source files in nested folders, plus ignored build output and logs, committed to git."""
    root.mkdir(parents=True)
    (root / ".gitignore").write_text("build/\n*.log\nnode_modules/\n")
    for index in range(files):
        folder = root / f"pkg{index % 50:02d}" / f"mod{index % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{index:05d}.py").write_text(
            f"VALUE_{index} = {index}\n\n\ndef f{index}():\n    return VALUE_{index}\n"
        )
    for index in range(1_000):
        build = root / "build" / f"chunk{index % 10}"
        build.mkdir(parents=True, exist_ok=True)
        (build / f"out{index}.js").write_text("console.log(1)\n" * 20)
        (root / f"pkg{index % 50:02d}" / f"debug{index}.log").write_text("noise\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.email=b@example.com", "-c", "user.name=bench", "commit", "-q", "-m", "tree"],
        cwd=root,
        check=True,
    )


def assembly(repeats: int, row: Any) -> list[Any]:
    from junior_ai.tools.context.assemble import Limits, assemble_context
    from junior_ai.tools.context.boundary import Boundary

    work = Path(tempfile.mkdtemp(prefix="junior-tree-"))
    root = work / "repo"
    make_tree(root, 5_000)
    boundary = Boundary.build(client_roots=None, allowed_paths=[str(root)], cwd=root, home=Path.home())
    limits = Limits(max_file_bytes=10_000_000, max_call_bytes=1_000_000_000, max_chars=1_000_000_000)

    def ours() -> int:
        return len(assemble_context(["."], None, boundary, limits).items)

    def floor() -> None:
        subprocess.run("git ls-files -z | xargs -0 cat > /dev/null", shell=True, cwd=root, check=True)

    sent = ours()  # warm the page cache for both
    floor()
    ours_times, floor_times = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        ours()
        ours_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        floor()
        floor_times.append(time.perf_counter() - started)
    shutil.rmtree(work, ignore_errors=True)
    mine, base = statistics.median(ours_times), statistics.median(floor_times)
    return [
        row(
            f"context assembly: 5,000-file repo directory with .gitignore ({sent} files sent)",
            "median time to expand, check, read and build the context",
            f"{mine * 1000:.0f} ms",
            f"{base * 1000:.0f} ms (git ls-files -z | xargs -0 cat)",
            mine / base,
            "<= 1.5x",
            mine / base <= 1.5,
        )
    ]
