"""Run every benchmark module (``bench/bench_*.py``) in turn, or those named on the command line."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(names: list[str]) -> int:
    modules = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    chosen = [m for m in modules if not names or any(n in m for n in names)]
    for name in chosen:
        print(f"\n=== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
