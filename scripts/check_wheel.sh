#!/usr/bin/env bash
# The wheel as a user gets it: build it, check that its only top-level entries are `junior_ai` and its dist-info
# (no generic `core`/`tools` packages in site-packages), install it into a fresh virtual environment, and run
# `junior-ai --version` and `junior-ai demo` from that install, outside the checkout. The wheel must hold every
# layer's package (built from pyproject's package-dir mapping, so a checkout without symlinks builds the same
# wheel), and the sdist the test helpers, docs and credentials example the tests and README need.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" . 2>"$work/build.log" || {
  cat "$work/build.log" >&2
  exit 1
}
wheel=$(ls "$work"/dist/junior_ai-*.whl)
.venv/bin/python - "$wheel" <<'PY'
import sys
import zipfile

names = zipfile.ZipFile(sys.argv[1]).namelist()
top = sorted({name.split("/", 1)[0] for name in names})
dist_info = [entry for entry in top if entry.endswith(".dist-info")]
unexpected = [entry for entry in top if entry != "junior_ai" and entry not in dist_info]
if unexpected or len(dist_info) != 1 or "junior_ai" not in top:
    sys.exit(f"wheel top-level entries must be exactly junior_ai + its dist-info, got: {top}")
needed = ["junior_ai/py.typed", "junior_ai/server/cli.py", "junior_ai/ai/simulator/__main__.py"]
needed += [f"junior_ai/{layer}/__init__.py" for layer in ("ai", "core", "server", "tools")]
needed += ["junior_ai/tools/collab/__init__.py", "junior_ai/tools/context/__init__.py", "junior_ai/tools/jobs/__init__.py"]
for name in needed:
    if name not in names:
        sys.exit(f"wheel lacks {name}")
print(f"wheel ok: {sys.argv[1].rsplit('/', 1)[-1]} installs only {top}")
PY

.venv/bin/python -m build --sdist --outdir "$work/sdist" . >"$work/sdist.log" 2>&1 || {
  cat "$work/sdist.log" >&2
  exit 1
}
.venv/bin/python - "$work"/sdist/junior_ai-*.tar.gz <<'PY'
import sys
import tarfile

names = {name.split("/", 1)[1] for name in tarfile.open(sys.argv[1]).getnames() if "/" in name}
needed = ["tests/conftest.py", "tests/clock.py", "tests/__init__.py", "tests/import_hooks/sitecustomize.py",
          "credentials.example.json", "docs/library.md", "junior_ai/core/__init__.py", "core/__init__.py"]
missing = [name for name in needed if name not in names]
if missing:
    sys.exit(f"sdist lacks {missing}: the tests cannot run from it")
print(f"sdist ok: {len(names)} files, test helpers and docs included")
PY

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$wheel" 2>"$work/install.log" || {
  cat "$work/install.log" >&2
  exit 1
}
cd "$work"  # away from the checkout: nothing may be imported from it
where=$("$work/venv/bin/python" -c 'import junior_ai, sys; sys.stdout.write(junior_ai.__file__)')
case "$where" in
  "$work"/venv/*) ;;
  *) echo "junior_ai was imported from $where, not from the installed wheel" >&2; exit 1 ;;
esac
env -u JUNIOR_AI_CREDENTIALS "$work/venv/bin/junior-ai" --version
env -u JUNIOR_AI_CREDENTIALS "$work/venv/bin/junior-ai" demo >"$work/demo.out" 2>"$work/demo.err" || {
  cat "$work/demo.out" "$work/demo.err" >&2
  exit 1
}
tail -n 1 "$work/demo.out"
