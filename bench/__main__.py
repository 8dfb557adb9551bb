"""Run every benchmark module (bench/bench_*.py), or only those named: python -m bench handler.

A name that is a whole benchmark (``scale``: bench_scale) runs that one only, not runtime_scale too.
More than one benchmark run each in an interpreter of its own: one left state behind for the next when
they shared a process (session 7: moto's recording settings; session 8: sqs-mv at 2.5x the baseline
after all the others, 4.2-4.6x after any one of them or alone).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    # a name given exactly (scale: bench_scale) is that benchmark alone, else every one containing it
    wanted = [
        n
        for n in names
        if not argv or any(n == f"bench_{a}" or (a in n and f"bench_{a}" not in names) for a in argv)
    ]
    failed = 0
    for name in wanted:
        if len(wanted) == 1:
            print(f"\n=== {name} ===", flush=True)
            importlib.import_module(f"bench.{name}").main()
        else:  # (it prints its own heading)
            failed += (
                subprocess.run([sys.executable, "-m", "bench", name.removeprefix("bench_")]).returncode != 0
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
