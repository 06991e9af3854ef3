"""Run a Python module as `python -m` would, then write this process's own peak RSS (KiB, VmHWM from
/proc/self/status) and CPU seconds (user + system) as JSON to the file named by $PEAK_RSS_FILE: the figures of
exactly the process measured. CPU time is the steadier comparison on a busy machine, where wall time swings.

Not RUSAGE_CHILDREN (the largest child reaped so far), and not even RUSAGE_SELF's ru_maxrss: Linux folds the
pre-exec memory of the forked parent into it, so every child would report at least the benchmark runner's size.
VmHWM belongs to the address space created at exec.

`PEAK_RSS_FILE=/tmp/x python benchmarks/peak_rss.py junior_ai ARGS...`
"""

from __future__ import annotations

import json
import os
import runpy
import sys


def own_peak_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    module, sys.argv = sys.argv[1], [sys.argv[1], *sys.argv[2:]]
    sys.path[0] = os.getcwd()  # as `python -m` does: modules resolve from the working directory, not benchmarks/
    code: object = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code
    finally:
        with open(os.environ["PEAK_RSS_FILE"], "w", encoding="utf-8") as report:
            times = os.times()
            report.write(json.dumps({"peak_kib": own_peak_kib(), "cpu_s": times.user + times.system}))
    raise SystemExit(code)


if __name__ == "__main__":
    main()
