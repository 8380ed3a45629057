"""9. Generating a demo store: `python -m funnel demo`, as `make demo` and the first run do.

Each size is generated once into a scratch file beside the cached stores (never over them),
in a child process, so its peak resident memory is its own (`wait4`): at ten million leads
the seed must stay well under the 6 GB the app may take. One run per size: a run takes from
seconds to two minutes, and the machine is shared.
"""

from __future__ import annotations

import sys

from benchmarks.harness import DEAL_SHARE, Bench, Figure, Run, Timing, run_child

TARGET_S = 120.0
TARGET_RSS = 6e9


def generate(bench: Bench, leads: int) -> Run:
    """One `python -m funnel demo` of `leads` leads (deals in proportion) into a fresh file."""
    bench.data_dir.mkdir(parents=True, exist_ok=True)
    path = bench.data_dir / f"demo_target_{leads}.db"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    deals = max(60, round(leads * DEAL_SHARE))
    try:
        return run_child(
            [
                *(sys.executable, "-m", "funnel", "demo"),
                *("--leads", str(leads), "--deals", str(deals), "--db", str(path)),
            ]
        )
    finally:
        for written in path.parent.glob(f"{path.name}*"):
            written.unlink()


def measure(bench: Bench) -> list[Figure]:
    runs = {}
    for size in bench.sizes:
        bench.log(f"demo: generating {size:,} leads")
        runs[size] = generate(bench, size)
    return [
        Figure.timed(
            "9. generate a demo store (python -m funnel demo, one transaction, copy of the leads)",
            {s: Timing(r.wall, r.cpu) for s, r in runs.items()},
            target=TARGET_S,
        ),
        Figure(
            "9a. peak RSS of the demo generation",
            "bytes",
            {s: float(r.peak_rss) for s, r in runs.items()},
            target=TARGET_RSS,
        ),
    ]
