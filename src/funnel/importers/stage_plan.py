"""Deal stages meet a pipeline: stage kinds from names, a typical funnel order, the plan for
unknown stages, and stage history (HubSpot's Date entered columns, a history file, a status).

Why apart: this is the only part of an import that reads the store's pipelines to decide what a
value means; the rest of validation is about the file alone.

>>> stage_kind("Closed Won"), stage_kind("Proposal")
('won', 'open')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import polars as pl
from sqlite_utils import Database

from funnel import store
from funnel.importers.parse import _problems
from funnel.importers.report import Prepared, Report, StagePlan, plural
from funnel.importers.table import RawTable
from funnel.models import Stage
from funnel.stages import edited_stages, validate_stages

MAX_NEW_STAGES = 50


WON_STAGE = re.compile(r"\b(won|gagn|signed|customer)\b|closed[ -]?won", re.IGNORECASE)
LOST_STAGE = re.compile(r"\b(lost|perdu|churn\w*|dead)\b|closed[ -]?lost", re.IGNORECASE)


def stage_kind(name: str) -> Literal["open", "won", "lost"]:
    """Won or lost told by the stage's name (Won, Closed Won, Lost, Closed Lost, ...)."""
    if LOST_STAGE.search(name):
        return "lost"
    if WON_STAGE.search(name):
        return "won"
    return "open"


NO_VALUE_COLUMN = (
    "No column is mapped to 'value': every deal would be worth $0 (closed won, open pipeline and "
    "weighted pipeline all $0). Map the column that holds the deals' amounts, or confirm that the "
    "file has none (Data page: 'The file has no deal values'; command line: --no-values)."
)
# Words of open stage names in the order a sales funnel passes them (lower case, word starts).
TYPICAL_STAGE_WORDS = (
    "lead",
    "new",
    "prospect",
    "cold",
    "contact",
    "discover",
    "appointment",
    "qualif",
    "engag",
    "meeting",
    "need",
    "demo",
    "present",
    "trial",
    "pilot",
    "evaluat",
    "propos",
    "quote",
    "price",
    "decision",
    "negotiat",
    "commit",
    "contract",
    "closing",
)


def parse_stage_order(text: str) -> tuple[str, ...]:
    """A typed stage order, "Prospecting, Qualification, Proposal", as stage names.

    >>> parse_stage_order(" Prospecting,Qualification ,, Proposal")
    ('Prospecting', 'Qualification', 'Proposal')
    """
    return tuple(s.strip() for s in text.split(",") if s.strip())


def typical_order(names: Sequence[str]) -> list[str]:
    """Open stage names in funnel order, from the typical words they contain.

    A name takes the place of the first typical word it contains (prospect before qualify before
    demo before proposal before negotiate...); names with none keep their order, after the others.

    >>> typical_order(["Engaging", "Proposal/Price Quote", "Prospecting", "Other"])
    ['Prospecting', 'Engaging', 'Proposal/Price Quote', 'Other']
    """

    def rank(name: str) -> int:
        words = re.findall(r"[a-z]+", name.lower())
        return min(
            (i for i, w in enumerate(TYPICAL_STAGE_WORDS) if any(x.startswith(w) for x in words)),
            default=len(TYPICAL_STAGE_WORDS),
        )

    return sorted(names, key=rank)


def stages_from_names(names: Sequence[str], order: Sequence[str] = ()) -> tuple[Stage, ...]:
    """A new pipeline's stages from the names found: open ones in funnel order, won, then lost.

    The funnel order is `order` (the user's, case aside) when given, else `typical_order`; the
    order the names first appear in a file says nothing about the funnel. Open stages get an
    even probability ladder (10 % to 90 %), won 100 %, lost 0 %; the Stages page is where they
    get tuned.
    """
    found = [n for n in names if stage_kind(n) == "open"]
    wanted = [o.lower() for o in order]
    open_ = (
        sorted(found, key=lambda n: wanted.index(n.lower()) if n.lower() in wanted else len(wanted))
        if order
        else typical_order(found)
    )
    out = [Stage(n, round(10 + 80 * i / max(len(open_) - 1, 1)), "open") for i, n in enumerate(open_)]
    out += [Stage(n, 100, "won") for n in names if stage_kind(n) == "won"]
    out += [Stage(n, 0, "lost") for n in names if stage_kind(n) == "lost"]
    return tuple(out)


def pipeline_id(db: Database, name: str) -> int:
    """The id of the pipeline named `name`, for a user who names the pipeline deals go into."""
    found = store.import_targets(db).filter(pl.col("pipeline") == name)
    if found.is_empty():
        raise store.StoreError(f"There is no pipeline named '{name}'.")
    return int(found["pipeline_id"][0])


def pipeline_ids(targets: pl.DataFrame) -> dict[str, int]:
    """Pipeline name -> id, in the store's order, from `store.import_targets`: the choices a deals
    import can be sent to."""
    return dict(targets.select("pipeline", "pipeline_id").unique(maintain_order=True).rows())


def pipeline_stage_names(targets: pl.DataFrame, pipeline_id: int | None) -> list[str]:
    """The stages of one pipeline from `store.import_targets`: what an unknown stage can map to."""
    return targets.filter(pl.col("pipeline_id") == pipeline_id)["stage"].drop_nulls().to_list()


# --- validation ---------------------------------------------------------------------------------


def _plan_stages(
    db: Database,
    prepared: Prepared,
    plan: StagePlan,
    label: str,
    lines: pl.Series,
    history_stages: Sequence[str] = (),
) -> None:
    report = prepared.report
    names = prepared.frame["stage"]
    found = [n for n in names.unique(maintain_order=True).to_list() if n is not None]
    targets = store.import_targets(db)
    pipeline_names = dict(targets.select("pipeline_id", "pipeline").unique().rows())
    pipeline_id = plan.pipeline_id
    if pipeline_id is None and pipeline_names:
        lowered = {n.lower() for n in found}
        hits = (
            targets.group_by("pipeline_id")
            .agg(hits=pl.col("stage").str.to_lowercase().is_in(list(lowered)).sum())
            .sort(["hits", "pipeline_id"], descending=[True, False])
        )
        pipeline_id = int(hits["pipeline_id"][0])
    stage_table = targets.filter(
        pl.col("pipeline_id").eq_missing(pipeline_id) & pl.col("stage").is_not_null()
    )
    canon = {k.lower(): k for k in stage_table["stage"].to_list()}
    # A deal a status column says was won or lost goes to the pipeline's won or lost stage.
    for kind in ("won", "lost"):
        of_kind = stage_table.filter(pl.col("kind") == kind)["stage"]
        if of_kind.len() and kind not in canon:
            canon[kind] = of_kind[0]
    unknown = [n for n in found if n.lower() not in canon]
    counts = names.value_counts()
    report.unknown_stages = {n: int(counts.filter(pl.col("stage") == n)["count"][0]) for n in unknown}
    pipeline_name = pipeline_names.get(pipeline_id)
    if plan.unknown == "create":
        name = plan.new_pipeline.strip()
        if not name:
            report.blocking.append("Name the pipeline to create from the stages found.")
        elif name in pipeline_names.values():
            report.blocking.append(f"A pipeline named '{name}' already exists; choose another name.")
        if len(found) > MAX_NEW_STAGES:
            report.blocking.append(
                f"'{label}' names {len(found):,} different stages; a new pipeline holds at most "
                f"{MAX_NEW_STAGES}. Is '{label}' really the stage column?"
            )
        # Stages only the history names (a deal passed them, none is in them now) belong too.
        lowered = {n.lower() for n in found}
        passed = [n for n in dict.fromkeys(history_stages) if n.lower() not in lowered]
        prepared.new_stages = stages_from_names([*found, *passed], plan.order)
        prepared.new_pipeline = name
        prepared.pipeline_id = None
        kinds = [s.kind for s in prepared.new_stages]
        opened = [s.name for s in prepared.new_stages if s.kind == "open"]
        strays = [o for o in plan.order if o.lower() not in {n.lower() for n in opened}]
        if strays:
            report.blocking.append(
                f"The stage order names {', '.join(strays)}, not open stages of the file "
                f"({', '.join(opened)})."
            )
        how = "in the order you gave" if plan.order else "in the typical order of their names"
        order = (
            f"; open stages {how}: {' → '.join(opened)}, at 10 %..90 % (change the order with "
            'the stage order field or --stage-order "A,B,C"; tune the probabilities on the '
            "Stages page)"
            if opened
            else ""
        )
        report.notes.append(
            f"New pipeline '{name}' from {len(found)} stages found ({kinds.count('won')} won, "
            f"{kinds.count('lost')} lost by their names){order}."
        )
    else:
        prepared.pipeline_id = pipeline_id
        mapped = {k.lower(): v for k, v in plan.stage_map.items()} if plan.unknown == "map" else {}
        bad_targets = sorted({v for v in mapped.values() if v.lower() not in canon})
        if bad_targets:
            report.blocking.append(
                f"Stages {', '.join(bad_targets)} are not stages of '{pipeline_name}'."
            )
        fixed = names.str.to_lowercase().replace_strict(
            {**{k: canon.get(v.lower(), v) for k, v in mapped.items()}, **canon}, default=None
        )
        reason = pl.select(
            pl.when(names.is_not_null() & fixed.is_null()).then(
                pl.lit(
                    f"stage not in pipeline '{pipeline_name}'"
                    if pipeline_name
                    else "no pipeline exists yet"
                )
            )
        ).to_series()
        report.problems = pl.concat([report.problems, _problems(lines, label, names, reason)]).sort(
            "line", maintain_order=True
        )
        prepared.frame = prepared.frame.with_columns(fixed.alias("stage"))
        if unknown and plan.unknown == "reject":
            report.blocking.append(
                f"{plural(len(unknown), 'stage')} not in pipeline '{pipeline_name or '(none)'}': "
                f"{', '.join(unknown[:10])}. Create a pipeline from the stages found, map each "
                "to an existing stage, or fix the file."
            )
    stage_kinds = {s.name: s.kind for s in prepared.new_stages} or dict(
        stage_table.select("stage", "kind").rows()
    )
    is_open = prepared.frame["stage"].replace_strict(stage_kinds, default="open") == "open"
    if "expected_close" in prepared.frame.columns and "closed_at" not in prepared.frame.columns:
        _split_close_dates(prepared, is_open)
    if "value" in prepared.frame.columns:
        no_value = int((is_open & prepared.frame["value"].is_null()).sum())
        if no_value:
            report.warnings.append(
                f"{plural(no_value, 'open deal')} without a value: imported, counted as 0 in "
                "the pipeline figures."
            )


def _named_pipeline(db: Database, raw: RawTable, plan: StagePlan, report: Report) -> StagePlan:
    """The pipeline a file's own `pipeline` column names (our deals export has one), unless the
    user chose a pipeline or to create one: an export imported back lands where it came from."""
    column = next((c for c in raw.columns if c.strip().lower() == "pipeline"), None)
    if column is None or plan.pipeline_id is not None or plan.unknown == "create":
        return plan
    named = raw.column(column).drop_nulls().unique(maintain_order=True).to_list()
    ids = pipeline_ids(store.import_targets(db))
    known = [n for n in named if n in ids]
    if len(named) > 1 and known:
        report.blocking.append(
            f"The file's '{column}' column names {plural(len(named), 'pipeline')} "
            f"({', '.join(named[:5])}): import each pipeline's deals on their own (--pipeline NAME)."
        )
    if len(named) != 1 or not known:
        return plan
    report.notes.append(
        f"Deals go into the pipeline '{named[0]}', named in the file's '{column}' column."
    )
    return replace(plan, pipeline_id=ids[named[0]])


STAGE_FILE_COLUMNS = ("pipeline", "name", "probability", "kind")


def stage_lists(raw: RawTable) -> tuple[dict[str, list[Stage]], list[str]]:
    """A stages file (the stages export: pipeline, position, name, probability, kind, rot_days)
    read back as each pipeline's stages in order, with every problem, checked as the Stages
    page checks an edited table (`validate_stages`)."""
    columns = {c.strip().lower(): c for c in raw.columns}
    missing = [c for c in STAGE_FILE_COLUMNS if c not in columns]
    if missing:
        return {}, [
            f"{raw.name}: a stages file has the columns of the stages export (pipeline, position, "
            f"name, probability, kind, rot_days); it lacks {', '.join(missing)}."
        ]
    wanted = [c for c in ("position", "name", "probability", "kind", "rot_days") if c in columns]
    frame = raw.frame.select(
        pl.col(columns["pipeline"]).alias("pipeline"), *(pl.col(columns[c]).alias(c) for c in wanted)
    )
    lists: dict[str, list[Stage]] = {}
    problems: list[str] = []
    for (pipeline,), rows in frame.group_by("pipeline", maintain_order=True):
        table = rows.drop("pipeline").to_dicts()
        found = validate_stages(table)
        problems += [f"{raw.name}, pipeline '{pipeline}': {p}" for p in found]
        if not found and pipeline is not None:
            lists[str(pipeline)] = edited_stages(table)
    return lists, problems


def _split_close_dates(prepared: Prepared, is_open: pl.Series) -> None:
    """One close date column: the day a won or lost deal closed, an open deal's expected close.

    CRM exports (HubSpot's and Salesforce's "Close Date") carry one column for both; read as an
    expected close only, every won deal would have no close date and fall out of every period.
    """
    frame = prepared.frame
    close = frame["expected_close"]
    closed = int((~is_open & close.is_not_null()).sum())
    prepared.frame = frame.with_columns(
        pl.when(~is_open).then(close).alias("closed_at"),
        pl.when(is_open).then(close).alias("expected_close"),
    )
    if closed:
        prepared.report.notes.append(
            f"The close date column is read as the day {plural(closed, 'won or lost deal')} "
            "closed, and as the expected close of open deals."
        )
