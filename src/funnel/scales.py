"""A ready-made score's own scale, and the cutoffs the MQL sliders can take on it.

Fit and interest are on 0..100 points everywhere in the app; a score imported on another scale
is rescaled once, at the import, and its scale kept. The sliders move in whole points, which
land on every file value of the usual scales (a file point of 0..20 is 5 points). A score on an
unusual range (3..250, or 0..100 with decimals) has file values between whole points: there the
sliders move in the file's own steps, so every cutoff a user can state in the file's units is
on them exactly, and the cutoff grid is counted on the same steps.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import polars as pl

# The scales a ready-made score is read on before its observed range: 0..1, 0..5 ... 0..100.
USUAL_SCALES = (1.0, 5.0, 10.0, 20.0, 100.0)

# The cutoffs of a scale whose file values are all whole points: 0, 1, ... 100.
WHOLE_POINTS: tuple[float, ...] = tuple(range(101))

# More positions than this on one slider cannot be told apart by a hand on a keyboard or a
# mouse; the file's step is then coarsened by tens, and the import says so.
MOST_STEPS = 2_001

# The finest decimal step looked for in a file's values.
FINEST_DECIMALS = 4


class ScoreScale(NamedTuple):
    """The scale a ready-made score came in on: its column, range, and the step of its values
    (None for stores imported before steps were kept: whole points, as then)."""

    column: str
    low: float
    high: float
    step: float | None = None


class Steps(NamedTuple):
    """The cutoffs each slider can take, in points of 0..100, lowest first."""

    fit: tuple[float, ...] = WHOLE_POINTS
    interest: tuple[float, ...] = WHOLE_POINTS


# Both sliders in whole points: every score the rules give, and the usual scales' file values.
WHOLE_STEPS = Steps()


def to_points(values: pl.Expr, low: float, high: float) -> pl.Expr:
    """File values on low..high -> points of 0..100: the import's rescaling and the sliders'
    steps are one expression, so a file value and its step are the same float."""
    return ((values - low) / (high - low) * 100).round(6)


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


def file_step(values: pl.Series, low: float, high: float) -> tuple[float, bool]:
    """The file's own step (1, 0.1 ... the fewest decimals that hold every value) and whether
    it had to be coarsened by tens to keep a slider within `MOST_STEPS` positions."""
    present = values.drop_nulls().cast(pl.Float64)
    decimals = next(
        (
            d
            for d in range(FINEST_DECIMALS + 1)
            if ((present * 10**d - (present * 10**d).round()).abs() < 1e-6).all()
        ),
        FINEST_DECIMALS,
    )
    step = 10.0**-decimals
    coarsened = False
    while (high - low) / step + 1 > MOST_STEPS:
        step *= 10
        coarsened = True
    return round(step, FINEST_DECIMALS), coarsened


def _file_values(scale: ScoreScale, step: float) -> list[float]:
    """The file values a slider offers: the low end, then every multiple of the step up to high."""
    decimals = _decimals(step)
    first, last = math.ceil(scale.low / step - 1e-9), math.floor(scale.high / step + 1e-9)
    multiples = (round(k * step, decimals) for k in range(first, last + 1))
    return [scale.low, *(v for v in multiples if scale.low < v <= scale.high)]


def axis_steps(scale: ScoreScale | None) -> tuple[float, ...]:
    """The cutoffs, in points, one slider can take for a score on `scale`: whole points unless
    some file step falls between two of them."""
    if scale is None or scale.step is None:
        return WHOLE_POINTS
    values = pl.Series(_file_values(scale, scale.step), dtype=pl.Float64)
    points = pl.select(to_points(pl.lit(values), scale.low, scale.high)).to_series()
    if ((points - points.round()).abs() < 1e-9).all():
        return WHOLE_POINTS
    return tuple(points.to_list())


def slider_steps(scales: Mapping[str, ScoreScale]) -> Steps:
    """The steps of both sliders for the scales the store's scores came in on."""
    return Steps(axis_steps(scales.get("fit")), axis_steps(scales.get("interest")))


def snap(value: float, steps: Sequence[float]) -> float:
    """The lowest step at or above `value` (the top one above them all): on file-scored leads it
    keeps exactly the MQLs `value` would, so a cutoff recorded on another scale opens where its
    leads are."""
    at = bisect.bisect_left(steps, value - 1e-9)
    return steps[min(at, len(steps) - 1)]


def in_file_units(cutoff: float, scale: ScoreScale) -> float:
    """A cutoff in points, said in the file's units, rounded to the file's step.

    >>> in_file_units(80, ScoreScale("Profile Score", 0.0, 20.0, 1.0))
    16.0
    """
    value = scale.low + cutoff / 100 * (scale.high - scale.low)
    return round(value, 4 if scale.step is None else _decimals(scale.step))


def cutoff_text(cutoff: float) -> str:
    """A cutoff in points as a page writes it: 70, or 52.6316 between whole points."""
    return f"{cutoff:g}"
