"""What a dry run was asked (`Options`, `StagePlan`) and what it found (`Report`, `Prepared`).

Why apart: the page, the command line and the commit all read these records; they hold no
logic beyond saying, in words, what the report means.

>>> Report("leads", "a.csv", rows=3, to_add=2, to_update=1).summary()
'a.csv: 3 leads read; would add 2, would update 1.'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from funnel.importers.mapping import Kind
from funnel.models import Stage
from funnel.scales import ScoreScale

DateOrder = Literal["mdy", "dmy"]
UnknownStages = Literal["reject", "create", "map"]
SHOWN_PROBLEMS = 50


def plural(n: int, noun: str, nouns: str = "") -> str:
    """'1 bad row', '3 bad rows': counts in messages read as a person would write them."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"


@dataclass(frozen=True)
class StagePlan:
    """How deal stages meet a pipeline: which pipeline, and what to do with unknown stages.

    `unknown`: "reject" refuses deals in a stage the pipeline lacks; "create" makes a new pipeline
    named `new_pipeline` from the stages found (won and lost told by their names, open ones in
    `order` when given, else in `typical_order`); "map" sends each unknown stage to the existing
    stage named in `stage_map`.
    """

    pipeline_id: int | None = None
    unknown: UnknownStages = "reject"
    new_pipeline: str = ""
    stage_map: dict[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class Options:
    """What the user chose: the mapping (None: the suggested one, `suggest_mapping`), date order
    for ambiguous columns, score ranges, stages, and for deals whether a file without a value
    column may be imported at $0 (`no_values`)."""

    mapping: dict[str, str] | None = None
    date_order: dict[str, DateOrder] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    stages: StagePlan = field(default_factory=StagePlan)
    no_values: bool = False


@dataclass
class Report:
    """What the dry run or the commit found; `ok` when nothing blocks the commit.

    `problems` holds every bad row (line, column, value, reason); `blocking` the file-level
    reasons (a required field not mapped, ambiguous dates, unknown stages to decide on).
    """

    kind: Kind
    name: str
    rows: int = 0
    problems: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"line": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}
        )
    )
    blocking: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ambiguous_dates: list[str] = field(default_factory=list)
    unknown_stages: dict[str, int] = field(default_factory=dict)
    generated_ids: bool = False
    scales: dict[str, ScoreScale] = field(default_factory=dict)
    to_add: int = 0
    to_update: int = 0
    committed: bool = False
    pipeline_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.blocking and self.problems.is_empty()

    def summary(self) -> str:
        """One sentence: what was (or would be) written, or why nothing was."""
        if not self.ok:
            bad = self.problems["line"].n_unique()
            parts = [plural(bad, "bad row")] if bad else []
            parts += (
                [plural(len(self.blocking), "thing to fix or choose", "things to fix or choose")]
                if self.blocking
                else []
            )
            return f"{self.name}: rejected, nothing written ({', '.join(parts)})."
        verb = ("added", "updated") if self.committed else ("would add", "would update")
        return (
            f"{self.name}: {self.rows:,} {self.kind} read; {verb[0]} {self.to_add:,}, "
            f"{verb[1]} {self.to_update:,}."
        )

    def text(self, limit: int = SHOWN_PROBLEMS) -> str:
        """The whole report as plain text (what the command line prints)."""
        out = [self.summary()]
        out += [f"error: {b}" for b in self.blocking]
        for line, column, value, reason in self.problems.head(limit).iter_rows():
            out.append(f"line {line}, column '{column}': {reason} (value: {value!r})")
        if self.problems.height > limit:
            out.append(f"... and {self.problems.height - limit:,} more problems.")
        out += [f"warning: {w}" for w in self.warnings]
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)


@dataclass
class Prepared:
    """A validated file: our typed fields, one row per file row, ready for the commit."""

    kind: Kind
    frame: pl.DataFrame
    report: Report
    pipeline_id: int | None = None
    new_pipeline: str = ""
    new_stages: tuple[Stage, ...] = ()
    history: pl.DataFrame | None = None
