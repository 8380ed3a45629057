"""`python -m funnel COMMAND`: the store from the command line.

Each command is a function `cmd_<name>(args) -> int` registered in `build_parser`; the return
value is the exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from funnel import demo, store


def cmd_demo(args: argparse.Namespace) -> int:
    path = Path(args.db)
    with store.opened(path) as db:
        if any(store.counts(db).values()) and not args.force:
            print(
                f"{path} already holds data; pass --force to replace it with demo data.",
                file=sys.stderr,
            )
            return 1
        started = time.perf_counter()
        demo.seed_store(db, leads=args.leads, deals=args.deals, seed=args.seed)
        counts = store.counts(db)
    print(
        f"Demo data written to {path} in {time.perf_counter() - started:.1f} s: "
        f"{counts['pipelines']} pipelines, {counts['deals']} deals, {counts['leads']} leads."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m funnel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="create or replace the store's data with seeded demo data")
    p.add_argument(
        "--db",
        default=str(store.default_path()),
        help="store file (default: $FUNNEL_DB or data/funnel.db)",
    )
    p.add_argument("--leads", type=int, default=demo.DEFAULT_LEADS, help="number of leads")
    p.add_argument("--deals", type=int, default=demo.DEFAULT_DEALS, help="number of deals")
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    p.add_argument("--force", action="store_true", help="replace data already in the store")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except store.StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
