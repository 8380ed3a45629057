"""Lead scoring: rules -> fit and interest, decay, quadrants, the agreed cutoff, one lead explained.

The default model follows seed 001: explicit criteria score fit, implicit criteria score
interest, negative criteria (anything that correlates with lost deals) take points off.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
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
DEFAULT_HALF_LIFE_DAYS = 30.0
DEFAULT_NOTE = "Default model: explicit fit, implicit interest, negative criteria"

QUADRANTS = ("MQL", "Good fit, not yet engaged", "Engaged, poor fit", "Cold")
DERIVED_FIELDS = ("email_domain",)
AXES: tuple[Axis, ...] = ("fit", "interest")
UNSCORED_AXIS = "No score in the file, and no value in any field the rules read"


def _field(name: str) -> pl.Expr:
    """A rule's field as an expression; `email_domain` is read from the e-mail address."""
    if name == "email_domain":
        email = pl.col("email")
        return email.str.slice(email.str.find("@", literal=True) + 1).str.to_lowercase()
    return pl.col(name)


def rule_fires(rule: Rule) -> pl.Expr:
    """Boolean expression: does `rule` fire on a lead? Missing values never fire a rule.

    `between` is inclusive at both ends and `at_least` includes its bound, so a company of
    exactly 50 employees is "50 to 199", and one pricing visit is "at least 1".
    """
    col = _field(rule.field)
    if rule.condition == "in":
        values = [str(v) for v in rule.value] if isinstance(rule.value, tuple) else [str(rule.value)]
        cond = _domain_in(values) if rule.field == "email_domain" else col.cast(pl.String).is_in(values)
    elif rule.condition == "between":
        assert isinstance(rule.value, tuple)
        low, high = (float(v) for v in rule.value)
        cond = col.cast(pl.Float64).is_between(low, high, closed="both")
    else:
        assert not isinstance(rule.value, tuple)
        cond = col.cast(pl.Float64) >= float(rule.value)
    return cond.fill_null(False)


def _domain_in(domains: Sequence[str]) -> pl.Expr:
    """Whether the e-mail's domain, lower-cased, is one of `domains`: what `_field` then
    `is_in` say, as one case-blind match of the text after the first @ (a third of the time
    over ten million addresses). A domain typed with capitals never matches a lower-cased one,
    so it is left out, as `is_in` would leave it."""
    kept = [d for d in domains if d == d.lower()]
    if not kept:
        return pl.lit(False)
    return pl.col("email").str.contains("(?i)^[^@]*@(?:" + "|".join(map(re.escape, kept)) + ")$")


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


def decay_factor(half_life_days: float, today: date | pl.Expr) -> pl.Expr:
    """How much of its interest a lead keeps: 0.5 ** (days since last activity / half-life).

    Days count from `last_activity`, or `created` when the lead has no activity date, to
    `today`: one date (the live queue), or a date per lead (`decided_on()`, the back-test). A
    half-life of 0 means no decay.
    """
    if half_life_days <= 0:
        return pl.lit(1.0)
    at = today if isinstance(today, pl.Expr) else pl.lit(today)
    days = (at - pl.coalesce("last_activity", "created")).dt.total_days().clip(0)
    return pl.lit(0.5).pow(days.cast(pl.Float64) / half_life_days).fill_null(1.0)


def is_converted() -> pl.Expr:
    """The lead converted (or its deal was won): `outcome_label() == "converted"` without
    writing the label's text, which costs ten times more over ten million leads."""
    return pl.col("outcome").is_in(["converted", "won"]).fill_null(False)


def is_lost() -> pl.Expr:
    """The lead is known lost: `outcome_label() == "lost"`, as `is_converted`."""
    return (pl.col("outcome") == "lost").fill_null(False)


def outcome_label() -> pl.Expr:
    """'converted' (converted or won), 'lost', or 'unknown' when no outcome is known yet."""
    return (
        pl.when(is_converted())
        .then(pl.lit("converted"))
        .when(is_lost())
        .then(pl.lit("lost"))
        .otherwise(pl.lit("unknown"))
    )


def decided_on() -> pl.Expr:
    """The day a lead's outcome was decided, the day the back-test scores it on.

    A cutoff is judged by whether it would have sent the lead to sales while its outcome was
    being decided: a converted lead on its conversion date, a lost or open lead (no date of
    its own) on its last activity, else its creation. Scored on today instead, a lead won two
    years ago has lost all its interest and the back-test blames the cutoff for it.
    """
    last_seen = pl.coalesce("last_activity", "created")
    return pl.when(is_converted()).then(pl.coalesce("converted_at", last_seen)).otherwise(last_seen)


def _points(rules: Sequence[Rule], axis: Axis) -> pl.Expr:
    terms = [
        pl.when(rule_fires(r)).then(pl.lit(float(r.points))).otherwise(0.0)
        for r in rules
        if r.axis == axis
    ]
    return pl.sum_horizontal(terms) if terms else pl.lit(0.0)


def _scorable(rules: Sequence[Rule], axis: Axis) -> pl.Expr:
    """Whether the rules on `axis` have anything to read on a lead: one of their fields has a value.

    A lead on which every such field is empty (a file that mapped none of them, or left them
    blank) would get the "nothing fired" score, which says nothing about it.
    """
    fields = dict.fromkeys(r.field for r in rules if r.axis == axis)
    if not fields:
        return pl.lit(False)
    return pl.any_horizontal(_field(f).is_not_null() for f in fields)


POINT_COLUMNS = ("_fit_points", "_interest_points")


def rule_points(leads: pl.DataFrame, rules: Sequence[Rule]) -> pl.DataFrame:
    """Each lead's points per axis (`POINT_COLUMNS`), before decay and rescaling; null where
    the axis's rules have nothing to read on the lead (`_scorable`).

    This is most of scoring's cost and no date changes it: the live queue (today's decay) and
    the back-test (each lead on the day its outcome was decided) both score from one of these.
    """
    # `with_columns`, not `select`: an axis without rules is a literal, and must fill the height.
    # Lazy: the optimiser reads each field once for all its rules (twice as fast at 10M leads).
    return (
        leads.lazy()
        .with_columns(
            pl.when(_scorable(rules, axis)).then(_points(rules, axis)).alias(column)
            for axis, column in zip(AXES, POINT_COLUMNS, strict=True)
        )
        .select(POINT_COLUMNS)
        .collect()
    )


def undated_scores(leads: pl.DataFrame, rules: Sequence[Rule], half_life_days: float) -> pl.DataFrame:
    """What no date changes of the leads' scores: the rules' points (`POINT_COLUMNS`, which
    `score_leads` takes to score on any day) and `fit` and `interest` as each lead stood when
    its outcome was decided (`decided_on`, the back-test's scores), a row per lead."""
    points = rule_points(leads, rules)
    then = score_leads(leads, rules, half_life_days, decided_on(), points)
    return points.hstack(then.select("fit", "interest"))


def score_leads(
    leads: pl.DataFrame,
    rules: Sequence[Rule],
    half_life_days: float,
    today: date | pl.Expr,
    points: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The leads plus Float64 `fit` and `interest`, each on 0..100, or null where unscored.

    Points of the rules that fire are added per axis (`rule_points`, or `points` when the
    caller already has them); interest points decay with the time since the lead's last
    activity up to `today` (`decay_factor`; `decided_on()` scores each lead as it stood when
    its outcome was decided, for the back-test). Each axis is then placed on 0..100 between
    the fewest and the most points the model allows (`axis_bounds`): 0 is the worst lead the
    rules can describe, 100 the best. Leads that arrived with ready-made `fit` or `interest`
    keep them untouched. A lead with no ready-made score on an axis and no value in any field
    of that axis's rules stays null there: it is unscored (`is_scored`), never given the
    rules' "nothing fired" score.
    """
    points = rule_points(leads, rules) if points is None else points
    fit_points, interest_points = (pl.col(c) for c in POINT_COLUMNS)
    fit = pl.when(fit_points.is_not_null()).then(_normalised(fit_points, axis_bounds(rules, "fit")))
    interest = pl.when(interest_points.is_not_null()).then(
        _normalised(
            interest_points * decay_factor(half_life_days, today), axis_bounds(rules, "interest")
        )
    )
    ready_fit = pl.col("fit") if "fit" in leads.columns else pl.lit(None)
    ready_interest = pl.col("interest") if "interest" in leads.columns else pl.lit(None)
    return (
        leads.with_columns(points)
        .with_columns(
            pl.coalesce(ready_fit.cast(pl.Float64), fit).alias("fit"),
            pl.coalesce(ready_interest.cast(pl.Float64), interest).alias("interest"),
        )
        .drop(POINT_COLUMNS)
    )


# With no recorded decision, an MQL is a lead in the upper-right quadrant of the 0..100 square:
# fit and interest each at least the middle of their scale. The seed leaves the threshold to
# marketing and sales together; until they record one, every figure counts the same MQLs.
DEFAULT_CUTOFF = 50.0


def agreed_cutoff(decisions: pl.DataFrame) -> tuple[float, float, int | None]:
    """The latest agreed (fit, interest, model version), or the default cutoff when none is
    recorded: what the MQL page opens at, and what the forecast and the exports count as MQLs.

    `decisions` is `store.decisions`, newest first.

    >>> agreed_cutoff(pl.DataFrame())
    (50.0, 50.0, None)
    """
    if decisions.is_empty():
        return DEFAULT_CUTOFF, DEFAULT_CUTOFF, None
    row = decisions.row(0, named=True)
    return float(row["fit_cutoff"]), float(row["interest_cutoff"]), int(row["model_version"])


def is_scored() -> pl.Expr:
    """A lead with both a fit and an interest score: only these sit in a quadrant."""
    return pl.col("fit").is_not_null() & pl.col("interest").is_not_null()


def is_mql(fit_cutoff: float, interest_cutoff: float) -> pl.Expr:
    """MQL = fit >= F and interest >= I, both inclusive; an unscored lead never is one."""
    return ((pl.col("fit") >= fit_cutoff) & (pl.col("interest") >= interest_cutoff)).fill_null(False)


def with_quadrants(scored: pl.DataFrame, fit_cutoff: float, interest_cutoff: float) -> pl.DataFrame:
    """Add `mql` (fit >= F and interest >= I, inclusive) and `quadrant`, one of `QUADRANTS`.

    An unscored lead has no quadrant (null) and is not an MQL.
    """
    good_fit = pl.col("fit") >= fit_cutoff
    engaged = pl.col("interest") >= interest_cutoff
    return scored.with_columns(
        pl.when(~is_scored())
        .then(pl.lit(None, dtype=pl.String))
        .when(good_fit & engaged)
        .then(pl.lit(QUADRANTS[0]))
        .when(good_fit)
        .then(pl.lit(QUADRANTS[1]))
        .when(engaged)
        .then(pl.lit(QUADRANTS[2]))
        .otherwise(pl.lit(QUADRANTS[3]))
        .alias("quadrant"),
        is_mql(fit_cutoff, interest_cutoff).alias("mql"),
    )


# --- what a rule edit changes ------------------------------------------------------------------


@dataclass(frozen=True)
class Crossings:
    """Leads that cross the MQL line when the model changes."""

    entered: int
    left: int


def crossings(
    old_scored: pl.DataFrame, new_scored: pl.DataFrame, fit_cutoff: float, interest_cutoff: float
) -> Crossings:
    """How many leads enter and leave the MQL when `old_scored` is rescored as `new_scored`.

    Both frames hold the same leads in the same order (two scorings of one lead frame).
    """
    if old_scored.height != new_scored.height:
        raise ValueError("crossings compares two scorings of the same leads")
    mql = is_mql(fit_cutoff, interest_cutoff)
    before = old_scored.select(mql).to_series()
    after = new_scored.select(mql).to_series()
    return Crossings(int((after & ~before).sum()), int((before & ~after).sum()))


# --- explaining one lead's score -------------------------------------------------------------


def explain(
    lead: pl.DataFrame, rules: Sequence[Rule], half_life_days: float, today: date
) -> pl.DataFrame:
    """Each rule that fired on one lead: its points in the model and what they count today.

    `counted` is `points` for fit and `points` after decay for interest, so a pricing visit of a
    year ago shows why it weighs almost nothing now. A lead that arrived with a ready-made score
    shows one line for that axis instead, with no points: its score was used as it came; so does
    an axis with no score in the file and nothing for the rules to read (`UNSCORED_AXIS`).
    Columns: `axis`, `rule`, `points`, `counted`; in model order, fit first.
    """
    if lead.height != 1:
        raise ValueError("explain takes exactly one lead")
    decay = float(lead.select(decay_factor(half_life_days, today)).item())
    # A model with no rules (ready-made scores only) selects no column: nothing fired.
    fires = [rule_fires(r).alias(str(i)) for i, r in enumerate(rules)]
    fired = lead.select(fires).row(0) if rules else ()
    ready = {axis: axis in lead.columns and lead[axis][0] is not None for axis in AXES}
    scorable = lead.select(*(_scorable(rules, axis).alias(axis) for axis in AXES)).row(0, named=True)
    rows: list[tuple[str, str, float | None, float | None]] = [
        (axis, "Ready-made score from the import (used untouched)", None, None)
        if ready[axis]
        else (axis, UNSCORED_AXIS, None, None)
        for axis in AXES
        if ready[axis] or not scorable[axis]
    ]
    for r, hit in zip(rules, fired, strict=True):
        if hit and not ready[r.axis]:
            counted = float(r.points) * (decay if r.axis == "interest" else 1.0)
            label = r.label or f"{r.field} {r.condition} {r.value}"
            rows.append((r.axis, label, float(r.points), counted))
    schema = {"axis": pl.String, "rule": pl.String, "points": pl.Float64, "counted": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("axis", maintain_order=True)


def explain_totals(
    lead: pl.DataFrame, rules: Sequence[Rule], half_life_days: float, today: date
) -> pl.DataFrame:
    """Per axis, the points `explain` counted, the model's range and the 0..100 score they give.

    score = (points - fewest) / (most - fewest) x 100, held within 0..100, as `score_leads`
    places it (worked out here from the one lead's points, not by rescoring); a ready-made
    score has no points and shows as it came. Columns: `axis`, `points`, `fewest`, `most`, `score`.

    >>> lead = pl.DataFrame({"job_title": ["CEO"], "created": [date(2026, 1, 1)]})
    >>> explain_totals(lead, DEFAULT_RULES[:2], 0, date(2026, 1, 1)).row(0)
    ('fit', 30.0, 0.0, 30.0, 100.0)
    """
    why = explain(lead, rules, half_life_days, today)
    rows: list[tuple[str, float | None, float, float, float | None]] = []
    for axis in AXES:
        fewest, most = axis_bounds(rules, axis)
        counted = why.filter(pl.col("axis") == axis)["counted"]
        if counted.null_count():  # ready-made: as it came; unscored: no score at all
            given = lead[axis][0] if axis in lead.columns else None
            rows.append((axis, None, fewest, most, None if given is None else float(given)))
            continue
        points = float(counted.sum())
        score = min(max((points - fewest) / (most - fewest) * 100, 0.0), 100.0) if most > fewest else 0.0
        rows.append((axis, points, fewest, most, score))
    schema = {a: pl.Float64 for a in ("points", "fewest", "most", "score")}
    return pl.DataFrame(rows, schema={"axis": pl.String, **schema}, orient="row")


def find_leads(leads: pl.DataFrame, text: str, limit: int = 20) -> dict[int, str]:
    """Leads whose company or e-mail holds `text` (case aside), or whose number it is, by id,
    labelled as the sales queue labels them: the meeting knows a lead by its company."""
    wanted = text.strip().lower()
    if not wanted:
        return {}
    holds = [
        pl.col(c).str.to_lowercase().str.contains(wanted, literal=True).fill_null(False)
        for c in ("company", "email")
    ]
    number = wanted.removeprefix("#")
    if number.isdigit():
        holds.append(pl.col("id") == int(number))
    found = leads.select("id", "company", "email", "job_title").filter(pl.any_horizontal(holds))
    return {
        r["id"]: f"#{r['id']} {r['job_title'] or '(no title)'} at {r['company'] or '(no company)'}"
        f" · {r['email'] or 'no e-mail'}"
        for r in found.head(limit).iter_rows(named=True)
    }


def mqls_for_sales(
    scored: pl.DataFrame, fit_cutoff: float, interest_cutoff: float, limit: int = 200
) -> pl.DataFrame:
    """The MQLs sales should look at first: not yet reviewed, then best fit + interest.

    Columns: `id`, `company`, `job_title`, `fit`, `interest`, `sal_status`.
    """
    # Unreviewed leads outrank any reviewed one: fit + interest is at most 200. Rank on the
    # numbers alone, then fetch the text of the few leads kept.
    priority = (
        pl.col("sal_status").is_null().cast(pl.Float64) * 1000 + pl.col("fit") + pl.col("interest")
    )
    top = (
        scored.select(priority.alias("p"), pl.col("id"), is_mql(fit_cutoff, interest_cutoff).alias("m"))
        .with_row_index("row")
        .filter("m")
        .top_k(limit, by=["p", "id"], reverse=[False, True])
        .sort(["p", "id"], descending=[True, False])
    )
    return scored[top["row"].cast(pl.Int64)].select(
        "id", "company", "job_title", "fit", "interest", "sal_status"
    )
