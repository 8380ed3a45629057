"""Suggest points: learn each rule's points from the leads whose outcome is known.

A scoring model is built by marketing and sales by hand; the outcomes say which rules really
go with conversions. A regularised logistic regression on the rule indicators (does rule r
fire on the lead: 0 or 1) gives each rule a weight in log-odds. Fit rules stay fit rules and
interest rules stay interest rules (no rule changes axis and no combined term is learned), so
the quadrant keeps meaning what it says: the fit rules' weights become fit points, the interest
rules' weights interest points, scaled so the biggest rule keeps the current model's biggest
points, rounded to whole points (each axis is put on 0..100 afterwards anyway).

It is held out by time, not shuffled: the model learns on the leads created before the split
day and is checked on those created from it on, as it would have been used. Scikit-learn's
`LogisticRegression` with the Newton-Cholesky solver (exact Newton steps, no randomness; L2
penalty, C = 1; made for few features and many rows, as here) keeps the suggestion
reproducible: the same store gives the same points.

Leads with a ready-made fit or interest score are left out and counted: no rule scored them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from funnel import cutoffs, scoring
from funnel.models import Rule
from funnel.scales import WHOLE_STEPS, Steps, cutoff_text

TRAIN_SHARE = 0.7
PENALTY_C = 1.0
SEED = 0
MODELS = ("Current", "Suggested")


def rule_name(rule: Rule) -> str:
    """The rule as the meeting calls it: its label, else its condition spelled out."""
    return rule.label or f"{rule.field} {rule.condition} {rule.value}"


def _patterns(leads: pl.DataFrame, rules: tuple[Rule, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rule indicators (does rule r fire: 0 or 1) of `leads`, as the distinct patterns that
    occur, each twice: once as converted, weighted by how many converted, once as lost.

    A million leads fire only a few thousand distinct sets of rules, and a logistic regression
    weighted by counts is the same fit as one on every lead, so this is what makes the fit fast.
    """
    names = [f"r{n}" for n in range(len(rules))]
    counts = (
        leads.select(
            *[scoring.rule_fires(r).alias(name) for name, r in zip(names, rules, strict=True)],
            converted=scoring.is_converted(),
        )
        .group_by(names)
        .agg(won=pl.col("converted").sum(), lost=(~pl.col("converted")).sum())
        .sort(names)
    )
    x = counts.select(names).to_numpy().astype(np.float64)
    won = counts.get_column("won").to_numpy().astype(np.float64)
    lost = counts.get_column("lost").to_numpy().astype(np.float64)
    weight = np.concatenate([won, lost])
    keep = weight > 0
    outcome = np.concatenate([np.ones(won.size), np.zeros(lost.size)])
    return np.vstack([x, x])[keep], outcome[keep], weight[keep]


def known_leads(leads: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Leads with a known outcome scored by the rules, and how many were left out for arriving
    with a ready-made fit or interest score."""
    known = leads.filter(scoring.is_converted() | scoring.is_lost())
    ready = pl.lit(False)
    for axis in ("fit", "interest"):
        if axis in known.columns:
            ready = ready | pl.col(axis).is_not_null()
    flagged = known.with_columns(ready=ready)
    return flagged.filter(~pl.col("ready")).drop("ready"), int(flagged.get_column("ready").sum())


@dataclass(frozen=True)
class PointsFit:
    """The suggested rules, the table beside the current ones, and the later leads checked."""

    current: tuple[Rule, ...]
    suggested: tuple[Rule, ...]
    table: pl.DataFrame
    split: date
    trained_on: int
    checked_on: int
    ready_made: int
    auc: dict[str, float | None]
    test_grids: dict[str, pl.DataFrame]
    steps: Steps

    def caption(self) -> str:
        """Who the fit and the check are over, in the page's words."""
        return (
            f"Learned on the {self.trained_on:,} leads with a known outcome created before "
            f"{self.split:%d %b %Y}, checked on the {self.checked_on:,} created from then on "
            f"(no shuffling). Left out: {self.ready_made:,} leads that came with a ready-made "
            "score. Logistic regression (L2, C = 1, Newton-Cholesky solver) on which rules fire; "
            "points scaled so the biggest rule keeps the current biggest, rounded. AUC ranks the "
            "later leads by fit + interest."
        )


def _auc(outcome: np.ndarray, score: np.ndarray) -> float | None:
    """Chance a converted lead outranks a lost one; None when the check has only one kind."""
    if outcome.size == 0 or outcome.min() == outcome.max():
        return None
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415 - see `fit_points`

    return float(roc_auc_score(outcome, score))


def fit_points(
    leads: pl.DataFrame,
    rules: tuple[Rule, ...],
    half_life_days: float,
    today: date,
    steps: Steps = WHOLE_STEPS,
) -> PointsFit | None:
    """Fit the points on the earlier known leads and score both models on the later ones.

    None when there is nothing to learn: no rule, or a training or check set without both a
    conversion and a loss.
    """
    known, ready_made = known_leads(leads)
    if not rules or known.height < 2:
        return None
    created = known.get_column("created").drop_nulls().sort()
    if created.is_empty():
        return None
    split: date = created[min(int(created.len() * TRAIN_SHARE), created.len() - 1)]
    train = known.filter(pl.col("created") < split)
    test = known.filter(pl.col("created") >= split)
    y_test = test.select(scoring.is_converted()).to_series().to_numpy()
    x, y_train, weight = _patterns(train, rules)
    if len(set(y_train.tolist())) < 2 or len(set(y_test.tolist())) < 2:
        return None
    # Imported on first use: scikit-learn takes 0.7 s to import, which every cold start of the
    # app and every CLI run paid before drawing anything.
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    model = LogisticRegression(C=PENALTY_C, solver="newton-cholesky", max_iter=100, random_state=SEED)
    model.fit(x, y_train, sample_weight=weight)
    weights = model.coef_[0]
    biggest = max(abs(r.points) for r in rules)
    scale = biggest / np.abs(weights).max() if np.abs(weights).max() > 0 else 0.0
    suggested = tuple(
        replace(r, points=float(round(w * scale))) for r, w in zip(rules, weights, strict=True)
    )
    table = pl.DataFrame(
        {
            "axis": [r.axis for r in rules],
            "rule": [rule_name(r) for r in rules],
            "current": [float(r.points) for r in rules],
            "suggested": [r.points for r in suggested],
            "weight": [float(w) for w in weights],
        }
    )
    scored = {
        name: scoring.score_leads(test, model_rules, half_life_days, today)
        for name, model_rules in zip(MODELS, (rules, suggested), strict=True)
    }
    return PointsFit(
        current=rules,
        suggested=suggested,
        table=table,
        split=split,
        trained_on=train.height,
        checked_on=test.height,
        ready_made=ready_made,
        auc={
            name: _auc(y_test, frame.select(pl.col("fit") + pl.col("interest")).to_series().to_numpy())
            for name, frame in scored.items()
        },
        test_grids={name: cutoffs.cutoff_grid(frame, steps) for name, frame in scored.items()},
        steps=steps,
    )


@dataclass(frozen=True, eq=False)  # arrays: tables are not compared
class CapacityTable:
    """For every cutoff on the sliders' `steps` at once: the MQLs of its busiest week (`peak`),
    all its MQLs (`mqls`) and the conversions it keeps (`kept`), each indexed [fit step,
    interest step].

    Built once per cutoff grid (a few tens of milliseconds at a million leads); the capacity
    a user types then only picks a cell, so typing reps or moving a slider does not rebuild it.
    """

    steps: Steps
    peak: np.ndarray
    mqls: np.ndarray
    kept: np.ndarray

    def cutoff(self, capacity: int) -> tuple[float, float] | None:
        """The cutoff that keeps the most conversions while no week's MQLs exceed `capacity`;
        fewer MQLs, then higher cutoffs, break ties. None when no cutoff fits."""
        within = self.peak <= capacity
        if not within.any():
            return None
        f_grid, i_grid = np.meshgrid(
            np.arange(within.shape[0]), np.arange(within.shape[1]), indexing="ij"
        )
        fit, interest = f_grid[within], i_grid[within]
        order = np.lexsort((-interest, -fit, self.mqls[within], -self.kept[within]))
        best = order[0]
        return self.steps.fit[int(fit[best])], self.steps.interest[int(interest[best])]


def capacity_table(grid: pl.DataFrame, steps: Steps = WHOLE_STEPS) -> CapacityTable | None:
    """`CapacityTable` of `cutoffs.cutoff_grid` on the same steps: every cutoff is read from
    suffix sums over its cells at once. None when there are no leads."""
    if grid.is_empty():
        return None
    index = grid.select(pl.col("week").rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
    fit = np.searchsorted(np.asarray(steps.fit), grid.get_column("fit").to_numpy())
    interest = np.searchsorted(np.asarray(steps.interest), grid.get_column("interest").to_numpy())
    shape = (len(steps.fit), len(steps.interest))
    per_week = np.zeros((*shape, int(index.max()) + 1))
    np.add.at(per_week, (fit, interest, index), grid.get_column("leads").to_numpy())
    converted = np.zeros(shape)
    np.add.at(converted, (fit, interest), grid.get_column("converted").to_numpy())

    def suffix(a: np.ndarray) -> np.ndarray:
        out: np.ndarray = a[::-1, ::-1].cumsum(axis=0).cumsum(axis=1)[::-1, ::-1]
        return out

    return CapacityTable(
        steps=steps,
        peak=suffix(per_week).max(axis=2),
        mqls=suffix(per_week.sum(axis=2)),
        kept=suffix(converted),
    )


def capacity_cutoff(
    grid: pl.DataFrame, reps: int, leads_per_rep: int, steps: Steps = WHOLE_STEPS
) -> tuple[float, float] | None:
    """The (F, I) on the sliders' `steps` that keeps the most conversions while no week's MQLs
    exceed reps x leads per rep (the page's capacity check); fewer MQLs, then higher cutoffs,
    break ties. None when no cutoff fits (a week over capacity even at the top steps) or there
    are no leads. Takes `cutoffs.cutoff_grid` on the same steps.
    """
    table = capacity_table(grid, steps)
    return None if table is None else table.cutoff(reps * leads_per_rep)


def comparison(
    fit: PointsFit, fit_cutoff: float, interest_cutoff: float, reps: int, leads_per_rep: int
) -> pl.DataFrame:
    """Both models on the later leads, at the page's cutoff and at each one's capacity cutoff:
    the cutoff, MQLs, conversion in them, conversions kept, lift and AUC."""
    rows: list[dict[str, Any]] = []
    for name in MODELS:
        grid = fit.test_grids[name]
        at_capacity = capacity_cutoff(grid, reps, leads_per_rep, fit.steps)
        for where, cutoff in (
            ("Current cutoff", (fit_cutoff, interest_cutoff)),
            ("At capacity", at_capacity),
        ):
            if cutoff is None:
                continue
            bt = cutoffs.mql_backtest(grid, *cutoff)
            rows.append(
                {
                    "model": name,
                    "cutoff": f"{where}: F {cutoff_text(cutoff[0])}, I {cutoff_text(cutoff[1])}",
                    "mqls": bt.mqls,
                    "conversion": bt.conversion_in,
                    "kept": bt.recall,
                    "lift": bt.lift,
                    "auc": fit.auc[name],
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "model": pl.String,
            "cutoff": pl.String,
            "mqls": pl.Int64,
            "conversion": pl.Float64,
            "kept": pl.Float64,
            "lift": pl.Float64,
            "auc": pl.Float64,
        },
    )


# Columns as plain data for `ui.column_config` (the core never imports streamlit).
TABLE_COLUMNS: dict[str, str | dict[str, Any] | None] = {
    "axis": "Axis",
    "rule": "Rule",
    "current": {"kind": "number", "label": "Current points", "format": "%.0f"},
    "suggested": {"kind": "number", "label": "Suggested points", "format": "%.0f"},
    "weight": {"kind": "number", "label": "Log-odds weight", "format": "%.3f"},
    "model": "Model",
    "cutoff": "Cutoff",
    "mqls": {"kind": "number", "label": "MQLs"},
    "conversion": {"kind": "number", "label": "Conversion in MQLs", "format": "percent"},
    "kept": {"kind": "number", "label": "Conversions kept", "format": "percent"},
    "lift": {"kind": "number", "label": "Lift", "format": "%.2f×"},
    "auc": {"kind": "number", "label": "AUC", "format": "%.3f"},
}


def saved_note(fit: PointsFit) -> str:
    """The note the new model version is saved with, so the history says where it came from."""
    return (
        f"Suggested points: logistic regression on {fit.trained_on:,} leads created before "
        f"{fit.split:%Y-%m-%d}, checked on {fit.checked_on:,} later ones"
    )


def capacity_caption(cutoff: tuple[float, float] | None, reps: int, leads_per_rep: int) -> str:
    """What the suggested cutoff is, or why there is none, for the capacity entered."""
    capacity = reps * leads_per_rep
    if cutoff is None:
        return (
            f"No cutoff keeps every week within {capacity:,} MQLs: even the highest cutoff sends more."
        )
    return (
        f"Suggested cutoff F {cutoff_text(cutoff[0])}, I {cutoff_text(cutoff[1])}: the most "
        f"conversions kept while no week sends more than {capacity:,} MQLs "
        f"({reps} reps × {leads_per_rep})."
    )
