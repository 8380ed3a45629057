"""`python -m funnel COMMAND`: the store from the command line.

Each command is a function `cmd_<name>(args) -> int` registered in `build_parser`; the return
value is the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from sqlite_utils import Database

from funnel import clock, demo, exports, importers, store


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


def _range(text: str) -> tuple[float, float]:
    """--fit-range / --interest-range, read as the Data page reads its scale field."""
    try:
        scale = importers.parse_range(text)
    except ValueError:
        scale = None
    if scale is None:
        raise argparse.ArgumentTypeError(f"'{text}' is not a range like 0:10")
    return scale


def _json_object(path: str, what: str) -> dict[str, str]:
    """A mapping file: a JSON object of strings to strings, or the import is refused (exit 1)."""
    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise importers.ImportRejectedError(f"{what} {path} cannot be read as JSON: {e}") from e
    except RecursionError as e:
        raise importers.ImportRejectedError(
            f"{what} {path} nests too deeply to be a mapping: it must be a JSON object of strings "
            "to strings."
        ) from e
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise importers.ImportRejectedError(
            f"{what} {path} must be a JSON object of strings to strings."
        )
    return loaded


def _read(source: Path, sheet: str | None = None) -> importers.RawTable:
    """A file the user named on the command line, read in bounded steps (never a store: that is
    read through SQLite)."""
    try:
        return importers.read_path(source, sheet=sheet)
    except OSError as e:
        raise store.StoreError(f"{source} cannot be read: {e.strerror}.") from e


def cmd_import(args: argparse.Namespace) -> int:
    """Import leads or deals; a rejected file writes nothing and exits 1 with the report.

    A store that does not exist yet is made only by an import that writes: the file is checked
    against a scratch store, and a dry run or a refused file leaves no file behind. The scratch
    store is as empty as the new store will be, so what was checked there is what the new store
    gets: the file is read and checked once, not twice (ten million leads: 50 s less).
    """
    target = Path(args.db)
    try:
        if not target.exists():
            with (
                tempfile.TemporaryDirectory() as scratch,
                store.opened(Path(scratch) / "check.db") as db,
            ):
                prepared = _prepare(db, args)
            if args.dry_run or not prepared.report.ok:
                return _said(prepared.report)
            with store.opened(target) as db:
                return _said(importers.commit(db, prepared, args.who))
        with store.opened(target) as db:
            prepared = _prepare(db, args)
            if args.dry_run or not prepared.report.ok:
                return _said(prepared.report)
            return _said(importers.commit(db, prepared, args.who))
    except importers.ImportRejectedError as e:
        print(f"{Path(args.file).name}: rejected, nothing written.\nerror: {e}", file=sys.stderr)
        return 1


def _said(report: importers.Report) -> int:
    """Print the report (on standard error when the file is refused); the exit code."""
    print(report.text(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _prepare(db: Database, args: argparse.Namespace) -> importers.Prepared:
    """Read the file and check it against `db` with the choices given, as the Data page does
    (`importers.validate`, then `importers.commit`); only the choices are read here. Raises
    `ImportRejectedError` for a file or a choice that cannot be used at all."""
    plan = importers.StagePlan(
        pipeline_id=importers.pipeline_id(db, args.pipeline) if args.pipeline else None,
        unknown="create" if args.create_pipeline else "map" if args.stage_map else "reject",
        new_pipeline=args.create_pipeline or "",
        stage_map=_json_object(args.stage_map, "The stage map") if args.stage_map else {},
        order=importers.parse_stage_order(args.stage_order or ""),
    )
    fields = [f.name for f in importers.FIELDS[args.kind] if f.dtype == "date"]
    options = importers.Options(
        _json_object(args.mapping, "The mapping") if args.mapping else None,
        date_order=dict.fromkeys(fields, args.dates) if args.dates else {},
        ranges={
            k: v
            for k, v in (("fit", args.fit_range), ("interest", args.interest_range))
            if v is not None
        },
        stages=plan,
        no_values=args.no_values,
    )
    history = _read(Path(args.history)) if args.history else None
    raw = _read(Path(args.file), args.sheet)
    return importers.validate(db, raw, args.kind, options, None, history)


def cmd_import_stages(args: argparse.Namespace) -> int:
    """Pipelines and their probabilities from a stages file (the stages export), all or nothing."""
    source = Path(args.file)
    try:
        raw = _read(source)
    except importers.ImportRejectedError as e:
        print(f"{source.name}: rejected, nothing written.\nerror: {e}", file=sys.stderr)
        return 1
    lists, problems = importers.stage_lists(raw)
    if problems:
        print(f"{source.name}: rejected, nothing written.", *problems, sep="\nerror: ", file=sys.stderr)
        return 1
    with store.opened(Path(args.db)) as db:
        created, updated = store.import_stage_lists(db, lists, args.who)
    print(f"{source.name}: {len(lists):,} pipelines read; created {created:,}, updated {updated:,}.")
    return 0


def cmd_fields(args: argparse.Namespace) -> int:
    """Our fields for leads or deals: name, type, required, meaning (what a mapping maps to)."""
    fields = importers.FIELDS[args.kind]
    width = max(len(f.name) for f in fields)
    print(f"{'field':<{width}}  type   required  meaning")
    for f in fields:
        print(f"{f.name:<{width}}  {f.dtype:<5}  {'yes' if f.required else 'no':<8}  {f.meaning}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write tables as CSV files (formula cells neutralised) into a folder."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = exports.TABLES if args.table == "all" else (args.table,)
    with store.opened(Path(args.db)) as db:
        for name in names:
            path = out / f"{name}.csv"
            path.write_bytes(exports.table_csv(db, name, clock.today()))
            print(f"{path}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    with store.opened(Path(args.db)) as db:
        path = store.backup(db, Path(args.file))
    print(f"Backup of {args.db} written to {path}.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the store with a checked backup; the store as it was is kept beside it."""
    db_path = Path(args.db)
    keep = db_path.with_name(f"{db_path.stem}.before-restore.db")
    with store.opened(db_path) as db:
        exports.restore(db, Path(args.file), keep_copy=keep, who=args.who)
    print(f"{db_path} restored from {args.file}; the previous store is kept as {keep}.")
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

    db_help = "store file (default: $FUNNEL_DB or data/funnel.db)"
    p = sub.add_parser("import", help="import leads or deals from a CSV or XLSX file")
    p.add_argument("file", help="the CSV or XLSX file")
    p.add_argument("--kind", choices=("leads", "deals"), required=True)
    p.add_argument("--mapping", help="JSON object: our field name -> the file's column name")
    p.add_argument("--db", default=str(store.default_path()), help=db_help)
    p.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    p.add_argument("--sheet", help="XLSX sheet to read (default: the first with rows)")
    p.add_argument("--dates", choices=("mdy", "dmy"), help="order of ambiguous dates")
    p.add_argument("--fit-range", type=_range, help="the file's fit scale, e.g. 0:10")
    p.add_argument("--interest-range", type=_range, help="the file's interest scale")
    p.add_argument("--pipeline", help="deals: the pipeline to match stages to")
    p.add_argument("--create-pipeline", metavar="NAME", help="deals: new pipeline from the stages")
    p.add_argument("--stage-map", help="deals: JSON object, unknown stage -> existing stage")
    p.add_argument(
        "--stage-order", metavar='"A,B,C"', help="deals: open stages of a new pipeline, in order"
    )
    p.add_argument(
        "--history",
        metavar="FILE",
        help="deals: stage history file (deal id, stage, date entered), e.g. OpportunityHistory",
    )
    p.add_argument(
        "--no-values", action="store_true", help="deals: the file has no values; import them at $0"
    )
    p.add_argument("--who", default="cli", help="name recorded in the audit trail")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "import-stages", help="pipelines and their stage probabilities from a stages export"
    )
    p.add_argument("file", help="CSV with pipeline, position, name, probability, kind, rot_days")
    p.add_argument("--db", default=str(store.default_path()), help=db_help)
    p.add_argument("--who", default="cli", help="name recorded in the audit trail")
    p.set_defaults(func=cmd_import_stages)

    p = sub.add_parser("fields", help="list our lead or deal fields, their types and meanings")
    p.add_argument("kind", choices=("leads", "deals"))
    p.set_defaults(func=cmd_fields)

    p = sub.add_parser("export", help="export tables as CSV")
    p.add_argument("table", choices=(*exports.TABLES, "all"))
    p.add_argument("--out", default=".", help="folder to write TABLE.csv into")
    p.add_argument("--db", default=str(store.default_path()), help=db_help)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("backup", help="copy the whole store into one file")
    p.add_argument("file")
    p.add_argument("--db", default=str(store.default_path()), help=db_help)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="replace the store with a checked backup")
    p.add_argument("file")
    p.add_argument("--db", default=str(store.default_path()), help=db_help)
    p.add_argument("--who", default="cli", help="name recorded in the audit trail")
    p.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except store.StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
