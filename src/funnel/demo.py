"""Seeded demo data: the five pipeline templates, leads whose outcomes depend on their scores,
deals with their full stage history.

Everything is drawn from one `numpy` generator seeded by `seed`, and dated relative to `today`,
so the same (seed, today, sizes) always gives the same store. Leads are generated column-wise
so that a million of them take seconds; deals walk their pipeline one stage at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlite_utils import Database

from funnel import clock, store
from funnel.scoring import (
    COMPETITORS,
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_NOTE,
    DEFAULT_RULES,
    PERSONAL_DOMAINS,
)
from funnel.templates import TEMPLATES

DEFAULT_LEADS = 5_000
DEFAULT_DEALS = 1_500

OWNERS = (
    "Alice Martin",
    "Ben Okafor",
    "Chloé Dubois",
    "Diego Santos",
    "Emma Schulz",
    "Farid Haddad",
    "Grace Lee",
    "Hugo Laurent",
)
SOURCES = (
    "Organic search",
    "Paid search",
    "Webinar",
    "Referral",
    "Events",
    "Outbound",
    "Partner list",
)
SOURCE_WEIGHTS = (0.26, 0.2, 0.14, 0.1, 0.1, 0.15, 0.05)
INDUSTRIES = (
    "Software",
    "Financial services",
    "Professional services",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Education",
    "Public sector",
    "Media",
)
INDUSTRY_WEIGHTS = (0.22, 0.12, 0.12, 0.12, 0.1, 0.1, 0.09, 0.07, 0.06)
COUNTRIES = (
    "France",
    "Germany",
    "United Kingdom",
    "United States",
    "Canada",
    "Spain",
    "Italy",
    "Brazil",
    "India",
    "Belgium",
)
COUNTRY_WEIGHTS = (0.2, 0.12, 0.12, 0.2, 0.06, 0.07, 0.06, 0.06, 0.06, 0.05)
# (title, weight, contribution to the true fit behind the outcome)
TITLES = (
    ("CEO", 0.03, 1.4),
    ("CTO", 0.02, 1.2),
    ("CMO", 0.02, 1.4),
    ("CRO", 0.01, 1.5),
    ("Founder", 0.03, 1.2),
    ("VP Sales", 0.04, 1.3),
    ("VP Marketing", 0.04, 1.2),
    ("Head of Sales", 0.05, 1.1),
    ("Head of Marketing", 0.05, 1.0),
    ("Head of Growth", 0.03, 1.0),
    ("Sales Manager", 0.08, 0.6),
    ("Marketing Manager", 0.09, 0.6),
    ("Operations Manager", 0.06, 0.4),
    ("Marketing Specialist", 0.1, 0.1),
    ("Sales Representative", 0.08, 0.1),
    ("Analyst", 0.1, 0.0),
    ("Consultant", 0.07, 0.0),
    ("Student", 0.04, -1.5),
    ("Intern", 0.02, -1.2),
)
NAME_A = (
    "North",
    "Blue",
    "Bright",
    "Iron",
    "Silver",
    "Green",
    "Red",
    "Clear",
    "Swift",
    "Deep",
    "Open",
    "High",
    "True",
    "Star",
    "Oak",
    "Pine",
    "River",
    "Stone",
    "Cloud",
    "Summit",
)
NAME_B = ("wind", "fin", "path", "gate", "line", "works", "field", "point", "bridge", "scale")
NAME_C = ("Labs", "Systems", "Group", "Analytics", "Partners", "Software", "Industries", "SA")
PIPELINE_SHARES = {
    "Traditional B2B": 0.45,
    "Startup": 0.2,
    "Marketing funnel": 0.15,
    "Financial services / law firm": 0.1,
    "Real estate": 0.1,
}
# Median deal value per pipeline, in dollars.
VALUE_SCALE = {
    "Traditional B2B": 24_000,
    "Startup": 7_500,
    "Marketing funnel": 12_000,
    "Financial services / law firm": 40_000,
    "Real estate": 15_000,
}


def _pick(
    rng: np.random.Generator, options: tuple[str, ...], weights: tuple[float, ...], n: int
) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p / p.sum())]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def make_leads(n: int, today: date, seed: int = 7) -> pl.DataFrame:
    """`n` leads created over the last two years; converted leads really are the fitter, more
    engaged ones, with enough noise that any cutoff both keeps and loses conversions."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1)
    age = rng.integers(0, 730, size=n)
    created = np.datetime64(today) - age.astype("timedelta64[D]")

    title_idx = rng.choice(len(TITLES), size=n, p=_norm([t[1] for t in TITLES]))
    job_title = np.asarray([t[0] for t in TITLES], dtype=object)[title_idx]
    title_fit = np.asarray([t[2] for t in TITLES])[title_idx]
    company_size = np.clip(np.round(rng.lognormal(4.6, 1.6, size=n)), 1, 50_000).astype(np.int64)
    industry = _pick(rng, INDUSTRIES, INDUSTRY_WEIGHTS, n)
    country = _pick(rng, COUNTRIES, COUNTRY_WEIGHTS, n)
    company_names = np.asarray(
        [f"{a}{b} {c}" for a in NAME_A for b in NAME_B for c in NAME_C], dtype=object
    )
    company = company_names[rng.integers(0, len(company_names), size=n)]
    competitor = rng.random(n) < 0.01
    company[competitor] = np.asarray(COMPETITORS, dtype=object)[
        rng.integers(0, len(COMPETITORS), size=int(competitor.sum()))
    ]
    personal = rng.random(n) < 0.18
    slug = np.char.replace(np.char.lower(company.astype(str)), " ", "")
    domain = np.where(
        personal,
        np.asarray(PERSONAL_DOMAINS)[rng.integers(0, len(PERSONAL_DOMAINS), size=n)],
        np.char.add(slug, ".com"),
    )
    email = np.char.add(np.char.add(np.char.add("lead", ids.astype(str)), "@"), domain)

    size_fit = np.select(
        [company_size >= 5001, company_size >= 200, company_size >= 50, company_size >= 10],
        [0.8, 1.0, 0.6, 0.1],
        default=-0.4,
    )
    industry_fit = np.isin(industry, INDUSTRIES[:3]) * 0.8 + np.isin(industry, INDUSTRIES[3:6]) * 0.3
    country_fit = np.isin(country, COUNTRIES[:5]) * 0.5
    true_fit = (
        title_fit
        + size_fit
        + industry_fit
        + country_fit
        - personal * 0.8
        - competitor * 3.0
        + rng.normal(0, 0.4, n)
    )

    engagement = rng.gamma(1.2, 1.0, size=n)
    page_views = rng.poisson(1.5 + 5 * engagement)
    pricing = rng.poisson(0.15 + 0.9 * engagement**1.3)
    emails_opened = rng.poisson(1 + 2.5 * engagement)
    clicks = rng.poisson(0.2 + 1.2 * engagement)
    downloads = rng.poisson(0.1 + 0.6 * engagement)
    time_on_site = np.round(rng.gamma(1.5, 2.5 + 4 * engagement), 1)
    unsubscribed = rng.random(n) < 0.05
    bounced = rng.random(n) < 0.03
    activity_lag = np.minimum(age, rng.integers(0, 150, size=n))
    last_activity = created + activity_lag.astype("timedelta64[D]")
    recency = np.exp(-(age - activity_lag) / 120.0)

    logit = (
        -5.4
        + 1.1 * true_fit
        + 0.9 * np.log1p(engagement * 2)
        + 0.8 * pricing.clip(0, 3) / 3
        + 0.6 * recency
        - 1.5 * unsubscribed
        - 1.5 * bounced
        + rng.normal(0, 0.8, n)
    )
    p_convert = _sigmoid(logit)
    known = rng.random(n) < np.where(age > 90, 0.85, 0.25)
    converted = rng.random(n) < p_convert
    outcome = np.where(known, np.where(converted, "converted", "lost"), None)

    source = _pick(rng, SOURCES, SOURCE_WEIGHTS, n)
    owner = _pick(rng, OWNERS, tuple(1.0 for _ in OWNERS), n)
    qualified = (rng.random(n) < 0.55 + 0.4 * _sigmoid(engagement - 1)) | (outcome == "converted")
    qualified_at = created + np.where(qualified, rng.integers(0, 10, size=n), 0).astype("timedelta64[D]")
    # Sales looks at the leads that scored well; BANT decides what it accepts.
    reviewed = (p_convert > np.quantile(p_convert, 0.72)) & qualified & (age > 14)
    reviewed |= outcome == "converted"
    bant = rng.random((n, 4)) < _sigmoid(logit + 2.5)[:, None]
    accepted = reviewed & ((bant.sum(axis=1) >= 3) | (outcome == "converted"))
    sal_status = np.where(reviewed, np.where(accepted, "accepted", "rejected"), None)
    is_sql = accepted & ((rng.random(n) < 0.55) | (outcome == "converted"))
    sql_at = created + rng.integers(10, 40, size=n).astype("timedelta64[D]")
    converted_at = sql_at + rng.integers(15, 90, size=n).astype("timedelta64[D]")
    is_customer = outcome == "converted"

    # Partner lists arrive with their own scores, which the app uses untouched.
    ready = source == "Partner list"
    ready_fit = np.round(np.clip(50 + 18 * (true_fit - 1.5), 0, 100), 1)
    ready_interest = np.round(np.clip(100 * (1 - np.exp(-engagement / 1.2)), 0, 100), 1)

    def dates(values: np.ndarray, mask: np.ndarray | None = None) -> pl.Series:
        s = pl.Series(values.astype("datetime64[D]")).cast(pl.Date)
        return s if mask is None else _masked(s, mask)

    sql_at_clipped = np.minimum(sql_at, np.datetime64(today))
    converted_clipped = np.minimum(converted_at, np.datetime64(today))
    return pl.DataFrame(
        {
            "external_id": pl.Series(np.char.add("L", ids.astype(str))),
            "email": pl.Series(email),
            "job_title": pl.Series(job_title.astype(str)),
            "company": pl.Series(company.astype(str)),
            "company_size": pl.Series(company_size),
            "industry": pl.Series(industry.astype(str)),
            "country": pl.Series(country.astype(str)),
            "source": pl.Series(source.astype(str)),
            "owner": pl.Series(owner.astype(str)),
            "created": dates(created),
            "last_activity": dates(last_activity),
            "qualified_at": dates(qualified_at, qualified),
            "page_views": pl.Series(page_views),
            "pricing_page_visits": pl.Series(pricing),
            "emails_opened": pl.Series(emails_opened),
            "clicks": pl.Series(clicks),
            "downloads": pl.Series(downloads),
            "time_on_site": pl.Series(time_on_site),
            "unsubscribed": pl.Series(unsubscribed),
            "bounced": pl.Series(bounced),
            "fit": pl.Series(np.where(ready, ready_fit, np.nan)).fill_nan(None),
            "interest": pl.Series(np.where(ready, ready_interest, np.nan)).fill_nan(None),
            "sal_status": pl.Series(sal_status.tolist(), dtype=pl.String),
            "bant_budget": _masked(pl.Series(bant[:, 0]), reviewed),
            "bant_authority": _masked(pl.Series(bant[:, 1]), reviewed),
            "bant_need": _masked(pl.Series(bant[:, 2]), reviewed),
            "bant_timeline": _masked(pl.Series(bant[:, 3]), reviewed),
            "sql_at": dates(sql_at_clipped, is_sql),
            "outcome": pl.Series(outcome.tolist(), dtype=pl.String),
            "converted_at": dates(converted_clipped, is_customer),
        }
    )


def _masked(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """`values` where `mask` holds, missing elsewhere."""
    return pl.select(pl.when(pl.Series(mask)).then(values)).to_series().alias(values.name)


def _norm(weights: list[float]) -> np.ndarray:
    p: np.ndarray = np.asarray(weights, dtype=float)
    return p / p.sum()


def make_deals(db: Database, n: int, today: date, seed: int = 11) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n` deals over the last eight quarters, each walked through its pipeline's stages.

    Each open stage is passed with a pipeline-specific chance or the deal is lost there; the
    walk stops at `today`, leaving later deals open where they stand. Returns the deals and
    their stage history, ready for the store.
    """
    rng = np.random.default_rng(seed)
    pipes = store.pipelines(db).select("id", "name").rows()
    names = [name for _, name in pipes if name in PIPELINE_SHARES]
    ids = {name: pid for pid, name in pipes}
    shares = _norm([PIPELINE_SHARES[name] for name in names])
    stage_rows = {name: store.stage_list(db, ids[name]) for name in names}
    start = datetime.combine(today, datetime.min.time()) - timedelta(days=730)
    now = datetime.combine(today, datetime.min.time()) + timedelta(hours=18)

    deal_rows: list[tuple[object, ...]] = []
    history: list[tuple[int, int | None, int, str]] = []
    for deal_id in range(1, n + 1):
        name = names[rng.choice(len(names), p=shares)]
        stages = stage_rows[name]
        open_stages = [s for s in stages if s.kind == "open"]
        won = [s for s in stages if s.kind == "won"]
        lost = next(s for s in stages if s.kind == "lost")
        created = start + timedelta(days=float(rng.uniform(0, 725)))
        at, current = created, open_stages[0]
        history.append((deal_id, None, current.id or 0, at.isoformat(timespec="seconds")))
        closed: datetime | None = None
        for k, stage in enumerate(open_stages):
            # Later stages convert better; each pipeline's ladder sits a little off its manual
            # probabilities so that the history has something to teach.
            p_pass = min(0.95, 0.68 + 0.06 * k + 0.05 * rng.standard_normal())
            days = float(rng.gamma(2.0, 8.0 + 5.0 * k))
            nxt_at = at + timedelta(days=days)
            if nxt_at > now:
                break
            target = (
                (open_stages[k + 1] if k + 1 < len(open_stages) else won[0])
                if rng.random() < p_pass
                else lost
            )
            history.append((deal_id, stage.id, target.id or 0, nxt_at.isoformat(timespec="seconds")))
            at, current = nxt_at, target
            if target.kind != "open":
                closed = at
                break
        if current.kind == "won" and len(won) > 1 and rng.random() < 0.3:
            later = at + timedelta(days=float(rng.uniform(20, 60)))
            if later < now:
                history.append(
                    (deal_id, current.id, won[1].id or 0, later.isoformat(timespec="seconds"))
                )
                current = won[1]
        value = float(np.round(rng.lognormal(np.log(VALUE_SCALE[name]), 0.6), -2))
        cycle = timedelta(days=float(rng.gamma(3.0, 20.0)))
        expected = closed or max(created + cycle, now + timedelta(days=float(rng.uniform(5, 120))))
        own_p = float(rng.integers(1, 10) * 10) if closed is None and rng.random() < 0.05 else None
        deal_rows.append(
            (
                f"D{deal_id}",
                ids[name],
                current.id,
                own_p,
                f"{NAME_A[deal_id % 20]}{NAME_B[deal_id % 10]} deal #{deal_id}",
                f"{NAME_A[(deal_id * 7) % 20]}{NAME_B[(deal_id * 3) % 10]} {NAME_C[deal_id % 8]}",
                OWNERS[int(rng.integers(0, len(OWNERS)))],
                value,
                created.date(),
                expected.date(),
                closed.date() if closed else None,
            )
        )
    deals = pl.DataFrame(
        deal_rows,
        schema={
            "external_id": pl.String,
            "pipeline_id": pl.Int64,
            "stage_id": pl.Int64,
            "probability": pl.Float64,
            "name": pl.String,
            "company": pl.String,
            "owner": pl.String,
            "value": pl.Float64,
            "created": pl.Date,
            "expected_close": pl.Date,
            "closed_at": pl.Date,
        },
        orient="row",
    ).with_columns(id=pl.int_range(1, n + 1, dtype=pl.Int64))
    hist = pl.DataFrame(
        history,
        schema={
            "deal_id": pl.Int64,
            "from_stage_id": pl.Int64,
            "to_stage_id": pl.Int64,
            "at": pl.String,
        },
        orient="row",
    )
    return deals, hist


def seed_store(
    db: Database,
    leads: int = DEFAULT_LEADS,
    deals: int = DEFAULT_DEALS,
    today: date | None = None,
    seed: int = 7,
) -> None:
    """Wipe the store's data and fill it with demo data, in one transaction per step.

    Pipelines and the scoring model come first (deals need stage ids), then leads and deals.
    """
    today = today or clock.today()
    store.clear(db)
    for name, stages in TEMPLATES.items():
        store.create_pipeline(db, name, stages, who="demo")
    store.save_model(
        db,
        DEFAULT_RULES,
        DEFAULT_HALF_LIFE_DAYS,
        based_on=None,
        who="demo",
        note=DEFAULT_NOTE,
    )
    lead_frame = make_leads(leads, today, seed)
    deal_frame, history = make_deals(db, deals, today, seed + 4)
    with store.write(db, leads=True):
        store.insert_frame(db, "leads", lead_frame)
        store.insert_frame(db, "deals", deal_frame)
        store.insert_frame(db, "stage_history", history)


# --- the sidebar's reset --------------------------------------------------------------------------

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


def reset_to_demo(db: Database, who: str, typed: str = "") -> Path:
    """Back the store up beside itself, replace its data with demo data and log the reset in
    the new History (with the counts replaced and where the backup is); returns the backup.

    Refused (`store.StoreError`, nothing written) on a store holding imported or restored data
    unless `typed` is the store's file name: one stray click must not wipe a real pipeline.
    """
    plan = reset_plan(db)
    if problem := plan.refusal(typed):
        raise store.StoreError(problem)
    kept = store.backup(db, before_reset_path(store.db_file(db)))
    seed_store(db)
    with store.write(db):
        store.audit(db, who, "store", None, "reset", plan.lost, {"kept_as": str(kept)})
    return kept
