"""Run every benchmark module (bench/bench_*.py), or only those named: python -m bench handler.

A name that is a whole benchmark (``scale``: bench_scale) runs that one only, not runtime_scale too.
"""

from __future__ import annotations

import importlib
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
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
