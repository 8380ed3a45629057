"""Resetting a store to demo data: said before it runs (what is lost, whether the store holds
data from outside the demo), backed up beside the store first, and logged in the new History.

Apart from `demo`, which only makes the data: a reset is a write with its own safety rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from funnel import clock, store
from funnel.demo import seed_store

LOST_LABELS = {
    "pipelines": "pipelines",
    "deals": "deals",
    "leads": "leads",
    "decisions": "decisions",
    "scenarios": "scenarios",
    "scoring_models": "scoring model versions",
}


@dataclass(frozen=True)
class ResetPlan:
    """What a reset to demo data replaces, said before it runs: the counts of what is lost, and
    whether the store holds data from outside the demo (then its name must be typed)."""

    store_name: str
    lost: dict[str, int]
    outside_data: bool

    def question(self) -> str:
        listed = ", ".join(f"{n:,} {LOST_LABELS[t]}" for t, n in self.lost.items())
        return (
            f"This replaces everything in {self.store_name} ({listed}) with fresh demo data. "
            "A backup of the store as it is now is written beside it first, and the reset is "
            "listed in the History."
        )

    def refusal(self, typed: str) -> str:
        """Why the reset is refused with `typed` as the confirmation, or "" when it may run."""
        if self.outside_data and typed.strip() != self.store_name:
            return (
                f"{self.store_name} holds imported or restored data: type its name, "
                f"{self.store_name}, to replace it with demo data."
            )
        return ""


def reset_plan(db: Database) -> ResetPlan:
    return ResetPlan(
        store.db_file(db).name,
        store.counts(db, store.COUNTED),
        store.holds_outside_data(db),
    )


def before_reset_path(path: Path) -> Path:
    """Where the store is kept as it was before a reset: beside it, stamped to the second."""
    return path.with_name(f"{path.stem}.before-reset-{clock.now():%Y%m%d-%H%M%S}.db")


def reset_to_demo(
    db: Database,
    who: str,
    typed: str = "",
    progress: Callable[[float, str], None] | None = None,
) -> Path:
    """Back the store up beside itself, replace its data with demo data and log the reset in
    the new History (with the counts replaced and where the backup is); returns the backup.
    Each step is reported to `progress` (fraction done, what runs now): a big store's backup
    alone takes seconds.

    Refused (`store.StoreError`, nothing written) on a store holding imported or restored data
    unless `typed` is the store's file name: one stray click must not wipe a real pipeline.
    """
    report = progress or (lambda fraction, text: None)
    plan = reset_plan(db)
    if problem := plan.refusal(typed):
        raise store.StoreError(problem)
    report(0.0, "Keeping a copy of the store as it is…")
    kept = store.backup(db, before_reset_path(store.db_file(db)))
    report(0.4, "Filling the store with demo data…")
    seed_store(db)
    with store.write(db):
        store.audit(db, who, "store", None, "reset", plan.lost, {"kept_as": str(kept)})
    report(1.0, "Reset.")
    return kept
