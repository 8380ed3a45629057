"""The Data page as plain data: the mapping form, the score-scale inputs, the upload limit, and
what a dry run and an import keep in the session between reruns.

Why apart from `funnel.importers`: these know the page's session keys, labels and metrics, not
what a file means; the page calls them so it stays layout, and they are tested without a browser.

>>> state: dict[str, object] = {}
>>> dry_run_status(state, Options({}))
(None, True, False)
>>> range_error("ten")
"'ten' is not a range like 0:10."
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import polars as pl

from funnel import importers
from funnel.importers import (
    FIELDS,
    MAX_UPLOAD_MB,
    MB,
    DateOrder,
    ImportRejectedError,
    Kind,
    Options,
    Prepared,
    RawTable,
    Report,
    UnknownStages,
    read_table,
)
from funnel.stages import PipelineFigures


def mapping_table(kind: Kind, mapping: dict[str, str]) -> pl.DataFrame:
    """Our fields, one row each, with the file column mapped to it: what the mapping form edits."""
    return pl.DataFrame(
        {
            "field": [f.name for f in FIELDS[kind]],
            "column": [mapping.get(f.name) for f in FIELDS[kind]],
            "required": [f.required for f in FIELDS[kind]],
            "type": [f.dtype for f in FIELDS[kind]],
            "meaning": [f.meaning for f in FIELDS[kind]],
        },
        schema_overrides={"column": pl.String},
    )


def mapping_columns(columns: Sequence[str]) -> dict[str, str | dict[str, object] | None]:
    """How the mapping form shows `mapping_table` (for `ui.column_config`): each field's file
    column is chosen among the file's `columns`, and the meaning gets the room to be read."""
    return {
        "column": {"kind": "select", "label": "file column", "options": list(columns)},
        "meaning": {"kind": "text", "width": "large"},
    }


MAPPING_LOCKED = ("field", "type", "required", "meaning")


def mapping_from_table(table: pl.DataFrame) -> dict[str, str]:
    """The mapping back from the edited form: fields with a column chosen."""
    return {f: c for f, c in table.select("field", "column").rows() if c}


def preview(raw: RawTable, kind: Kind, mapping: dict[str, str], rows: int = 10) -> pl.DataFrame:
    """The first rows as mapped: our field names over the file's values, before parsing."""
    known = [f.name for f in FIELDS[kind] if mapping.get(f.name) in raw.columns]
    cells = raw.select(list(dict.fromkeys(mapping[n] for n in known)), rows)
    return cells.select(
        pl.Series("line", raw.lines.head(rows)), *[pl.col(mapping[n]).alias(n) for n in known]
    )


# What the user reads for each typed choice: the page's radios answer the key, already typed
# as the importer takes it.
KIND_LABELS: dict[Kind, str] = {"leads": "leads", "deals": "deals"}
DATE_ORDER_LABELS: dict[DateOrder, str] = {"mdy": "M/D/YYYY", "dmy": "D/M/YYYY"}
UNKNOWN_STAGE_LABELS: dict[UnknownStages, str] = {
    "reject": "Reject those deals",
    "create": "Create a pipeline from the stages found",
    "map": "Map each to an existing stage",
}


def oversize_message(size: int) -> str:
    """Why an upload of `size` bytes is refused before it is read, or "" when it fits: a browser
    upload that large would hold the whole file in the server's memory; the command line reads
    a file in bounded steps."""
    if size <= MAX_UPLOAD_MB * MB:
        return ""
    return (
        f"This file is {size / MB:,.0f} MB, over the {MAX_UPLOAD_MB} MB limit: "
        "split it, or import it with `python -m funnel import`."
    )


def range_error(text: str) -> str:
    """Why a typed score scale cannot be used, said under its input, or "" when it is empty or a
    range like 0:10."""
    try:
        importers.parse_range(text)
    except ValueError:
        return f"'{text}' is not a range like 0:10."
    return ""


def parse_ranges(typed: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Axis -> scale for the scales typed per axis; an empty or malformed one is left out, so that
    axis is judged from the values (`range_error` tells the user about a malformed one)."""
    return {
        axis: scale
        for axis, text in typed.items()
        if not range_error(text) and (scale := importers.parse_range(text))
    }


def read_once(
    state: MutableMapping[str, Any], key: tuple[str, str | None], data: Callable[[], bytes], name: str
) -> RawTable | ImportRejectedError:
    """The upload read once per (file id, sheet) `key`, kept in `state` (the page's session) with
    its refusal if any, so a rerun does not parse the file again. A new file or sheet drops the
    previous dry run, which no longer describes what would be imported. `name` is only a label."""
    if state.get("data_raw_key") != key:
        try:
            state["data_raw"] = read_table(data(), name, key[1])
        except ImportRejectedError as e:
            state["data_raw"] = e
        state["data_raw_key"] = key
        state.pop("data_prepared", None)
    raw: RawTable | ImportRejectedError = state["data_raw"]
    return raw


def record_dry_run(state: MutableMapping[str, Any], prepared: Prepared, options: Options) -> None:
    """Keep a dry run in `state` with the options it checked, so a later change of mapping or
    options shows it stale; the summary of an earlier import no longer applies."""
    state["data_prepared"] = prepared
    state["data_options"] = options
    state.pop("data_done", None)


def dry_run_status(
    state: MutableMapping[str, Any], options: Options
) -> tuple[Prepared | None, bool, bool]:
    """The dry run kept in `state` (None before any), whether it is stale (checked with other
    options than `options`, the ones on the form now) and whether it may be imported: only a
    fresh dry run that found nothing blocking."""
    prepared: Prepared | None = state.get("data_prepared")
    stale = state.get("data_options") != options
    return prepared, stale, prepared is not None and prepared.report.ok and not stale


def record_import(state: MutableMapping[str, Any], done: Report, counts: dict[str, int]) -> None:
    """Keep what an import wrote and the store's counts after it, to show on the next run; the dry
    run it imported is spent."""
    state["data_done"] = (done, counts)
    state.pop("data_prepared")


def done_metrics(counts: dict[str, int], figures: PipelineFigures | None) -> list[list[tuple[str, str]]]:
    """Rows of (label, value) shown after an import: the store's counts, then for a deals import
    what its pipeline now adds up to (`figures`, None for leads)."""
    rows = [[(name.capitalize(), f"{counts[name]:,}") for name in ("pipelines", "deals", "leads")]]
    if figures is not None:
        rows.append([(label, f"${value:,.0f}") for label, value in headline_figures(figures)])
    return rows


def headline_figures(figures: PipelineFigures) -> tuple[tuple[str, float], ...]:
    """Label and amount of the three figures shown after a deals import, so the user sees at once
    what the pipeline now adds up to."""
    return (
        ("Closed won", figures.closed_won),
        ("Open pipeline", figures.open_pipeline),
        ("Weighted pipeline", figures.weighted_pipeline),
    )


def mapped_pipeline(ids: dict[str, int], chosen: str, previous: Prepared | None) -> int | None:
    """The pipeline whose stages unknown stages can be mapped to: the one chosen by name in `ids`,
    else the one the last dry run matched (None before any)."""
    return ids.get(chosen) or (previous.pipeline_id if previous else None)
