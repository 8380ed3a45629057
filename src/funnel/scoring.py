"""Lead scoring: rules -> fit and interest, decay, quadrants, back-test, capacity.

The default model follows seed 001: explicit criteria score fit, implicit criteria score
interest, negative criteria (anything that correlates with lost deals) take points off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import polars as pl

from funnel.models import Axis, Rule

PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "orange.fr")
COMPETITORS = ("Rivalsoft", "Funnelly")

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("fit", "job_title", "in", ("CEO", "CTO", "CMO", "CRO", "Founder"), 30, "C-level"),
    Rule(
        "fit",
        "job_title",
        "in",
        ("VP Sales", "VP Marketing", "Head of Sales", "Head of Marketing", "Head of Growth"),
        25,
        "VP / Head of",
    ),
    Rule(
        "fit",
        "job_title",
        "in",
        ("Sales Manager", "Marketing Manager", "Operations Manager"),
        15,
        "Manager",
    ),
    Rule("fit", "company_size", "between", (50.0, 199.0), 15, "Mid-size company"),
    Rule("fit", "company_size", "between", (200.0, 5000.0), 25, "Large company"),
    Rule("fit", "company_size", "at_least", 5001.0, 20, "Enterprise"),
    Rule(
        "fit",
        "industry",
        "in",
        ("Software", "Financial services", "Professional services"),
        20,
        "Core industry",
    ),
    Rule("fit", "industry", "in", ("Manufacturing", "Retail", "Healthcare"), 10, "Adjacent industry"),
    Rule(
        "fit",
        "country",
        "in",
        ("France", "Germany", "United Kingdom", "United States", "Canada"),
        15,
        "Served country",
    ),
    Rule("fit", "email_domain", "in", PERSONAL_DOMAINS, -20, "Personal e-mail domain"),
    Rule("fit", "job_title", "in", ("Student", "Intern"), -30, "Student"),
    Rule("fit", "company", "in", COMPETITORS, -40, "Competitor"),
    Rule("interest", "page_views", "at_least", 5.0, 10, "5+ pages viewed"),
    Rule("interest", "page_views", "at_least", 15.0, 10, "15+ pages viewed"),
    Rule("interest", "pricing_page_visits", "at_least", 1.0, 20, "Visited pricing"),
    Rule("interest", "pricing_page_visits", "at_least", 3.0, 10, "3+ pricing visits"),
    Rule("interest", "emails_opened", "at_least", 3.0, 10, "Opens e-mails"),
    Rule("interest", "clicks", "at_least", 2.0, 10, "Clicks links"),
    Rule("interest", "downloads", "at_least", 1.0, 15, "Downloaded an asset"),
    Rule("interest", "time_on_site", "at_least", 10.0, 10, "10+ minutes on site"),
    Rule("interest", "unsubscribed", "at_least", 1.0, -20, "Unsubscribed"),
    Rule("interest", "bounced", "at_least", 1.0, -30, "E-mail bounced"),
)

QUADRANTS = ("MQL", "Good fit, not yet engaged", "Engaged, poor fit", "Cold")
DERIVED_FIELDS = ("email_domain",)


def _field(name: str) -> pl.Expr:
    """A rule's field as an expression; `email_domain` is read from the e-mail address."""
    if name == "email_domain":
        return pl.col("email").str.extract(r"@([^@]+)$").str.to_lowercase()
    return pl.col(name)


def rule_fires(rule: Rule) -> pl.Expr:
    """Boolean expression: does `rule` fire on a lead? Missing values never fire a rule.

    `between` is inclusive at both ends and `at_least` includes its bound, so a company of
    exactly 50 employees is "50 to 199", and one pricing visit is "at least 1".
    """
    col = _field(rule.field)
    if rule.condition == "in":
        values = [str(v) for v in rule.value] if isinstance(rule.value, tuple) else [str(rule.value)]
        cond = col.cast(pl.String).is_in(values)
    elif rule.condition == "between":
        assert isinstance(rule.value, tuple)
        low, high = (float(v) for v in rule.value)
        cond = col.cast(pl.Float64).is_between(low, high, closed="both")
    else:
        assert not isinstance(rule.value, tuple)
        cond = col.cast(pl.Float64) >= float(rule.value)
    return cond.fill_null(False)


def _fires_on(rule: Rule, value: str | float | None) -> bool:
    """Does `rule` fire on one value? (The same test as `rule_fires`, for the bounds.)"""
    if value is None:
        return False
    if rule.condition == "in":
        assert isinstance(rule.value, tuple)
        return str(value) in {str(v) for v in rule.value}
    if isinstance(value, str):
        return False
    if rule.condition == "between":
        assert isinstance(rule.value, tuple)
        low, high = (float(v) for v in rule.value)
        return low <= value <= high
    assert not isinstance(rule.value, tuple)
    return value >= float(rule.value)


def axis_bounds(rules: Sequence[Rule], axis: Axis) -> tuple[float, float]:
    """The fewest and most points a lead can get on `axis`: the ends of the 0..100 scale.

    Rules on the same field compete (a job title is CEO or Student, not both), so each field
    is tried on every value where one of its rules starts or stops firing, and the field's
    lowest and highest totals are added up across fields. A model with no rule on the axis
    gives (0, 0).

    >>> axis_bounds(DEFAULT_RULES, "fit")
    (-90.0, 90.0)
    """
    low = high = 0.0
    by_field: dict[str, list[Rule]] = {}
    for r in rules:
        if r.axis == axis:
            by_field.setdefault(r.field, []).append(r)
    for field_rules in by_field.values():
        candidates: list[str | float | None] = [None]
        for r in field_rules:
            if r.condition == "in":
                assert isinstance(r.value, tuple)
                candidates.extend(str(v) for v in r.value)
            elif r.condition == "between":
                assert isinstance(r.value, tuple)
                lo, hi = (float(v) for v in r.value)
                candidates.extend([lo, hi, math.nextafter(hi, math.inf)])
            else:
                assert not isinstance(r.value, tuple)
                candidates.append(float(r.value))
        totals = [sum(r.points for r in field_rules if _fires_on(r, c)) for c in candidates]
        low += min(totals)
        high += max(totals)
    return float(low), float(high)


def _normalised(points: pl.Expr, bounds: tuple[float, float]) -> pl.Expr:
    low, high = bounds
    if high <= low:
        return pl.lit(0.0)
    return ((points - low) / (high - low) * 100).clip(0, 100)


def decay_factor(half_life_days: float, today: date) -> pl.Expr:
    """How much of its interest a lead keeps: 0.5 ** (days since last activity / half-life).

    Days count from `last_activity`, or `created` when the lead has no activity date; a
    half-life of 0 means no decay.
    """
    if half_life_days <= 0:
        return pl.lit(1.0)
    days = (pl.lit(today) - pl.coalesce("last_activity", "created")).dt.total_days().clip(0)
    return pl.lit(0.5).pow(days.cast(pl.Float64) / half_life_days).fill_null(1.0)


def _points(rules: Sequence[Rule], axis: Axis) -> pl.Expr:
    terms = [
        pl.when(rule_fires(r)).then(pl.lit(float(r.points))).otherwise(0.0)
        for r in rules
        if r.axis == axis
    ]
    return pl.sum_horizontal(terms) if terms else pl.lit(0.0)


def score_leads(
    leads: pl.DataFrame, rules: Sequence[Rule], half_life_days: float, today: date
) -> pl.DataFrame:
    """The leads plus Float64 `fit` and `interest`, each on 0..100.

    Points of the rules that fire are added per axis; interest points decay with the time since
    the lead's last activity (`decay_factor`). Each axis is then placed on 0..100 between the
    fewest and the most points the model allows (`axis_bounds`): 0 is the worst lead the rules
    can describe, 100 the best. Leads that arrived with ready-made `fit` or `interest` keep them
    untouched.
    """
    fit = _normalised(_points(rules, "fit"), axis_bounds(rules, "fit"))
    interest = _normalised(
        _points(rules, "interest") * decay_factor(half_life_days, today),
        axis_bounds(rules, "interest"),
    )
    ready_fit = pl.col("fit") if "fit" in leads.columns else pl.lit(None)
    ready_interest = pl.col("interest") if "interest" in leads.columns else pl.lit(None)
    return leads.with_columns(
        pl.coalesce(ready_fit.cast(pl.Float64), fit).alias("fit"),
        pl.coalesce(ready_interest.cast(pl.Float64), interest).alias("interest"),
    )


def is_mql(fit_cutoff: float, interest_cutoff: float) -> pl.Expr:
    """MQL = fit >= F and interest >= I, both inclusive."""
    return (pl.col("fit") >= fit_cutoff) & (pl.col("interest") >= interest_cutoff)


def with_quadrants(scored: pl.DataFrame, fit_cutoff: float, interest_cutoff: float) -> pl.DataFrame:
    """Add `mql` (fit >= F and interest >= I, inclusive) and `quadrant`, one of `QUADRANTS`."""
    good_fit = pl.col("fit") >= fit_cutoff
    engaged = pl.col("interest") >= interest_cutoff
    return scored.with_columns(
        pl.when(good_fit & engaged)
        .then(pl.lit(QUADRANTS[0]))
        .when(good_fit)
        .then(pl.lit(QUADRANTS[1]))
        .when(engaged)
        .then(pl.lit(QUADRANTS[2]))
        .otherwise(pl.lit(QUADRANTS[3]))
        .alias("quadrant"),
        is_mql(fit_cutoff, interest_cutoff).alias("mql"),
    )
