"""Seeded demo data: the five pipeline templates, leads whose outcomes depend on their scores,
deals with their full stage history.

Everything is drawn from one `numpy` generator seeded by `seed`, and dated relative to `today`,
so the same (seed, today, sizes) always gives the same store. Leads are generated column-wise
so that a million of them take seconds; deals walk their pipeline one stage at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
from sqlite_utils import Database

from funnel import clock, store
from funnel.models import Stage
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


def _pick(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> np.ndarray:
    """`n` indexes into options weighted by `weights`."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=n, p=p / p.sum())


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


CHUNK_ROWS = 1_000_000
"""Leads drawn at a time: what generation holds besides the leads is one chunk's arrays."""

COMPANY_NAMES = (*(f"{a}{b} {c}" for a in NAME_A for b in NAME_B for c in NAME_C), *COMPETITORS)
"""Every company a demo lead works for: the made-up names, then the competitors."""


def lead_chunks(n: int, today: date, seed: int = 7) -> Iterator[pl.DataFrame]:
    """`make_leads` in chunks of `CHUNK_ROWS`, each drawn from its own generator.

    Chunk k draws from `default_rng(seed)` for k = 0 and `default_rng([seed, k])` after, so
    a chunk is the same whatever `n` and whichever order the chunks are drawn in, and a store
    of up to one chunk holds the leads it held before generation was chunked.
    """
    for k, start in enumerate(range(0, max(n, 1), CHUNK_ROWS)):
        rng = np.random.default_rng(seed if k == 0 else [seed, k])
        yield _lead_chunk(rng, start + 1, min(CHUNK_ROWS, n - start), today)


def make_leads(n: int, today: date, seed: int = 7) -> pl.DataFrame:
    """`n` leads created over the last two years; converted leads really are the fitter, more
    engaged ones, with enough noise that any cutoff both keeps and loses conversions.

    >>> make_leads(3, date(2026, 11, 23))["external_id"].to_list()
    ['L1', 'L2', 'L3']
    """
    return _one_chunk_per_column(list(lead_chunks(n, today, seed)))


def _one_chunk_per_column(chunks: list[pl.DataFrame]) -> pl.DataFrame:
    """The chunks as one frame of one chunk per column, as `store.leads` reads the leads (later
    filters and sorts then never realign chunks), joined a column at a time: memory holds the
    leads once and one column more, not twice."""
    if len(chunks) == 1:
        return chunks[0]
    columns = []
    for name in chunks[0].columns:
        columns.append(pl.concat([chunk.get_column(name) for chunk in chunks], rechunk=True))
        chunks = [chunk.drop(name) for chunk in chunks]
    return pl.DataFrame(columns)


def _lead_chunk(rng: np.random.Generator, first_id: int, n: int, today: date) -> pl.DataFrame:
    """`n` leads numbered from `first_id`, every column drawn from `rng` in one fixed order.

    Text columns are gathered from small tables by index (Polars, in C), never built as one
    Python string per row.
    """
    ids = np.arange(first_id, first_id + n)
    age = rng.integers(0, 730, size=n)
    created = np.datetime64(today) - age.astype("timedelta64[D]")

    title_idx = rng.choice(len(TITLES), size=n, p=_norm([t[1] for t in TITLES]))
    title_fit = np.asarray([t[2] for t in TITLES])[title_idx]
    company_size = np.clip(np.round(rng.lognormal(4.6, 1.6, size=n)), 1, 50_000).astype(np.int64)
    industry = _pick(rng, INDUSTRY_WEIGHTS, n)
    country = _pick(rng, COUNTRY_WEIGHTS, n)
    made_up = len(COMPANY_NAMES) - len(COMPETITORS)
    company = rng.integers(0, made_up, size=n)
    competitor = rng.random(n) < 0.01
    company[competitor] = made_up + rng.integers(0, len(COMPETITORS), size=int(competitor.sum()))
    personal = rng.random(n) < 0.18
    # Index into the company domains, then the personal ones.
    domain = np.where(
        personal, len(COMPANY_NAMES) + rng.integers(0, len(PERSONAL_DOMAINS), size=n), company
    )
    domains = [f"{c.lower().replace(' ', '')}.com" for c in COMPANY_NAMES] + list(PERSONAL_DOMAINS)

    size_fit = np.select(
        [company_size >= 5001, company_size >= 200, company_size >= 50, company_size >= 10],
        [0.8, 1.0, 0.6, 0.1],
        default=-0.4,
    )
    industry_fit = (industry < 3) * 0.8 + ((industry >= 3) & (industry < 6)) * 0.3
    country_fit = (country < 5) * 0.5
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
    is_customer = known & (rng.random(n) < p_convert)

    source = _pick(rng, SOURCE_WEIGHTS, n)
    owner = _pick(rng, tuple(1.0 for _ in OWNERS), n)
    qualified = (rng.random(n) < 0.55 + 0.4 * _sigmoid(engagement - 1)) | is_customer
    qualified_at = created + np.where(qualified, rng.integers(0, 10, size=n), 0).astype("timedelta64[D]")
    # Sales looks at the leads that scored well; BANT decides what it accepts.
    reviewed = (p_convert > np.quantile(p_convert, 0.72)) & qualified & (age > 14)
    reviewed |= is_customer
    bant = rng.random((n, 4)) < _sigmoid(logit + 2.5)[:, None]
    accepted = reviewed & ((bant.sum(axis=1) >= 3) | is_customer)
    is_sql = accepted & ((rng.random(n) < 0.55) | is_customer)
    sql_at = created + rng.integers(10, 40, size=n).astype("timedelta64[D]")
    converted_at = sql_at + rng.integers(15, 90, size=n).astype("timedelta64[D]")

    # Partner lists arrive with their own scores, which the app uses untouched.
    ready = source == SOURCES.index("Partner list")
    ready_fit = np.round(np.clip(50 + 18 * (true_fit - 1.5), 0, 100), 1)
    ready_interest = np.round(np.clip(100 * (1 - np.exp(-engagement / 1.2)), 0, 100), 1)

    def dates(values: np.ndarray, mask: np.ndarray | None = None) -> pl.Series:
        s = pl.Series(values.astype("datetime64[D]")).cast(pl.Date)
        return s if mask is None else _masked(s, mask)

    def text(options: Sequence[str], index: np.ndarray) -> pl.Series:
        return pl.Series(options, dtype=pl.String).gather(index)

    def either(mask: np.ndarray, yes: str, no: str, shown: np.ndarray) -> pl.Series:
        """`yes` where `mask` holds, else `no`; missing where `shown` does not hold."""
        return _masked(text((no, yes), mask.astype(np.int64)), shown)

    number = pl.Series(ids).cast(pl.String)
    sql_at_clipped = np.minimum(sql_at, np.datetime64(today))
    converted_clipped = np.minimum(converted_at, np.datetime64(today))
    return pl.DataFrame(
        {
            "external_id": "L" + number,
            "email": "lead" + number + "@" + text(domains, domain),
            "job_title": text([t[0] for t in TITLES], title_idx),
            "company": text(COMPANY_NAMES, company),
            "company_size": pl.Series(company_size),
            "industry": text(INDUSTRIES, industry),
            "country": text(COUNTRIES, country),
            "source": text(SOURCES, source),
            "owner": text(OWNERS, owner),
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
            "sal_status": either(accepted, "accepted", "rejected", reviewed),
            "bant_budget": _masked(pl.Series(bant[:, 0]), reviewed),
            "bant_authority": _masked(pl.Series(bant[:, 1]), reviewed),
            "bant_need": _masked(pl.Series(bant[:, 2]), reviewed),
            "bant_timeline": _masked(pl.Series(bant[:, 3]), reviewed),
            "sql_at": dates(sql_at_clipped, is_sql),
            "outcome": either(is_customer, "converted", "lost", known),
            "converted_at": dates(converted_clipped, is_customer),
        }
    )


def _masked(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """`values` where `mask` holds, missing elsewhere."""
    return pl.select(pl.when(pl.Series(mask)).then(values)).to_series().alias(values.name)


def _norm(weights: list[float]) -> np.ndarray:
    p: np.ndarray = np.asarray(weights, dtype=float)
    return p / p.sum()


def make_deals(
    pipelines: Mapping[str, Sequence[Stage]], n: int, today: date, seed: int = 11
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n` deals over the last eight quarters, each walked through its pipeline's stages.

    Each open stage is passed with a pipeline-specific chance or the deal is lost there; the
    walk stops at `today`, leaving later deals open where they stand. Returns the deals and
    their stage history, pipelines and stages named (`pipeline`, `stage`, `from_stage`,
    `to_stage`): their ids exist only once the store writes them (`store.replace_data`), and
    this needs no store, so it runs beside the leads' generation.
    """
    rng = np.random.default_rng(seed)
    draw, normal, gamma, uniform = rng.random, rng.standard_normal, rng.gamma, rng.uniform
    names = [name for name in pipelines if name in PIPELINE_SHARES]
    # What `rng.choice(len(names), p=shares)` does, without its checks on every call.
    cdf = np.cumsum(_norm([PIPELINE_SHARES[name] for name in names]))
    cdf /= cdf[-1]
    ladders = {}
    for name in names:
        stages = pipelines[name]
        won = [s for s in stages if s.kind == "won"]
        ladders[name] = (
            [s for s in stages if s.kind == "open"],
            won,
            next(s for s in stages if s.kind == "lost"),
            float(np.log(VALUE_SCALE[name])),
        )
    start = datetime.combine(today, datetime.min.time()) - timedelta(days=730)
    now = datetime.combine(today, datetime.min.time()) + timedelta(hours=18)

    deal_rows: list[tuple[object, ...]] = []
    history: list[tuple[int, str, str | None, str, str]] = []
    for deal_id in range(1, n + 1):
        name = names[int(cdf.searchsorted(draw(), side="right"))]
        open_stages, won, lost, log_value = ladders[name]
        created = start + timedelta(days=float(uniform(0, 725)))
        at, current = created, open_stages[0]
        history.append((deal_id, name, None, current.name, at.isoformat(timespec="seconds")))
        closed: datetime | None = None
        for k, stage in enumerate(open_stages):
            # Later stages convert better; each pipeline's ladder sits a little off its manual
            # probabilities so that the history has something to teach.
            p_pass = min(0.95, 0.68 + 0.06 * k + 0.05 * normal())
            nxt_at = at + timedelta(days=float(gamma(2.0, 8.0 + 5.0 * k)))
            if nxt_at > now:
                break
            target = (
                (open_stages[k + 1] if k + 1 < len(open_stages) else won[0]) if draw() < p_pass else lost
            )
            history.append(
                (deal_id, name, stage.name, target.name, nxt_at.isoformat(timespec="seconds"))
            )
            at, current = nxt_at, target
            if target.kind != "open":
                closed = at
                break
        if current.kind == "won" and len(won) > 1 and draw() < 0.3:
            later = at + timedelta(days=float(uniform(20, 60)))
            if later < now:
                history.append(
                    (deal_id, name, current.name, won[1].name, later.isoformat(timespec="seconds"))
                )
                current = won[1]
        # To the nearest hundred, halves to even: `np.round(value, -2)` without its overhead.
        value = float(round(float(rng.lognormal(log_value, 0.6)) / 100) * 100)
        cycle = timedelta(days=float(gamma(3.0, 20.0)))
        expected = closed or max(created + cycle, now + timedelta(days=float(uniform(5, 120))))
        own_p = float(rng.integers(1, 10) * 10) if closed is None and draw() < 0.05 else None
        deal_rows.append(
            (
                f"D{deal_id}",
                name,
                current.name,
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
            "pipeline": pl.String,
            "stage": pl.String,
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
            "pipeline": pl.String,
            "from_stage": pl.String,
            "to_stage": pl.String,
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
    """Replace the store's data with demo data, in one transaction: a seed that fails half-way
    leaves the store as it was.

    The five pipeline templates and the default scoring model, `leads` leads drawn in chunks
    (`lead_chunks`) and `deals` deals walked through the pipelines (the store gives their
    stages ids as it writes them). The leads are also written as their columnar copy, so the
    first page open does not read them back. Ten million leads with 300,000 deals: about 85 s
    of CPU and a peak of 4.6 to 5.0 GB (see the README's Performance).
    """
    today = today or clock.today()
    # Deals are walked in Python and leads drawn in numpy and Polars, which let go of the
    # GIL: on two cores the walk costs little besides the leads.
    with ThreadPoolExecutor(1, thread_name_prefix="funnel-demo-deals") as pool:
        walked = pool.submit(make_deals, TEMPLATES, deals, today, seed + 4)
        lead_frame = make_leads(leads, today, seed)
        deal_frame, history = walked.result()
    store.replace_data(
        db,
        TEMPLATES,
        (DEFAULT_RULES, DEFAULT_HALF_LIFE_DAYS, DEFAULT_NOTE),
        lead_frame.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"), pl.all()),
        deal_frame,
        history,
        who="demo",
    )
