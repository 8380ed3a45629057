"""Sales' answers to MQLs laid over leads read before them.

An answer changes only sales' columns of one lead (`models.ANSWER_COLUMNS`) and is never taken
back (a later one replaces it), so leads read earlier plus every answer as it is now are the
leads as they are now: what lets an answer cost a few columns instead of a reload.
"""

from __future__ import annotations

import polars as pl


def laid_over(leads: pl.DataFrame, answers: pl.DataFrame) -> pl.DataFrame:
    """`leads` with sales' answers laid over them: each answered lead (by `id`) takes the
    answer's columns, every other lead keeps its own.

    Scores never read these columns, so the cached scored leads stay valid after an answer,
    and this is all an answer costs. Leads come sorted by id (`store.leads`): the answers are
    written in place by position, a few columns copied instead of the whole frame joined.
    """
    columns = [c for c in answers.columns if c != "id"]
    ids = leads["id"]
    if leads.is_empty():
        return leads
    if not ids.is_sorted():  # match by joining instead
        now = answers.rename({c: f"{c}_now" for c in columns})
        joined = leads.join(now, on="id", how="left", maintain_order="left")
        return joined.with_columns(pl.coalesce(f"{c}_now", c).alias(c) for c in columns).drop(
            f"{c}_now" for c in columns
        )
    # An answer for a lead that is not in `leads` (a filtered frame) is left out.
    at = ids.search_sorted(answers["id"]).clip(upper_bound=leads.height - 1)
    present = ids.gather(at) == answers["id"]
    at, answers = at.filter(present), answers.filter(present)
    # `scatter` writes in place: on copies, so the cached frame `leads` stays as it was.
    return leads.with_columns(leads[c].clone().scatter(at, answers[c]) for c in columns)
