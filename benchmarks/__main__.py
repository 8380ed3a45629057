"""`python -m benchmarks [--sizes N ...] [--runs R] [--only NAME ...]`: print the table.

Sizes are leads per store, written `100k`, `1m`, `10m` or as plain counts; the default is
100k and 1m, and ten million is opt-in (`--sizes 100k 1m 10m`): its store alone takes two
minutes to generate and 2.6 GB of disk.

Measurements run one after another, never in parallel (the machine has 2 cores). The table is
Markdown, printed on standard output and written to `bench-data/last.md`, so the README's
Performance section can be refreshed from the last run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import browser, demo, forecast, imports, load, memory, mql, pages, quality, scatter
from benchmarks.harness import DEFAULT_DATA, SIZES, Bench, Figure, machine, parse_size, table

MEASUREMENTS: dict[str, Callable[[Bench], list[Figure]]] = {
    "load": load.measure,
    "mql": mql.measure,
    "forecast": forecast.measure,
    "pages": pages.measure,
    "imports": imports.measure,
    "memory": memory.measure,
    "scatter": scatter.measure,
    "quality": quality.measure,
    "demo": demo.measure,
    "browser": browser.measure,
}


def run(bench: Bench, only: list[str] | None = None) -> str:
    """Run the chosen measurements (all by default) and return the report as Markdown."""
    figures: list[Figure] = []
    for name, measure in MEASUREMENTS.items():
        if only and name not in only:
            continue
        started = time.perf_counter()
        figures.extend(measure(bench))
        bench.log(f"{name}: done in {time.perf_counter() - started:.0f} s")
    runs = f"median of {bench.runs} runs (3 over 2 s, 1 over 10 s)"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{table(figures, bench.sizes)}\n\nMachine: {machine()}; {runs}; "
        f"load average at the end (1, 5, 15 min): {load}.\n"
    )


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--sizes", type=_size, nargs="+", default=list(SIZES), help="leads per store: 100k 1m 10m"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per median")
    parser.add_argument("--only", nargs="+", choices=list(MEASUREMENTS), help="measurements to run")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="where stores are cached")
    args = parser.parse_args(argv)
    bench = Bench(sizes=tuple(sorted(args.sizes)), runs=args.runs, data_dir=args.data)
    report = run(bench, args.only)
    print(report)
    (bench.data_dir / "last.md").write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
