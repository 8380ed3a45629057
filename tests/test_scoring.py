"""Scoring: rules -> fit and interest, decay, quadrants, crossings, one lead explained, the queue.

Every figure here is one a sales-ops lead can check by hand on the small tables below.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal
from sqlite_utils import Database

from funnel import scoring, store
from funnel.models import Rule
from funnel.scoring import DEFAULT_RULES

TODAY = date(2026, 11, 23)

# A toy model whose bounds are easy: fit -20..80, interest -10..30.
TOY_RULES = (
    Rule("fit", "job_title", "in", ("CEO", "VP Sales"), 40, "Decision maker"),
    Rule("fit", "job_title", "in", ("Student",), -20, "Student"),
    Rule("fit", "company_size", "between", (50.0, 199.0), 20, "Mid-size"),
    Rule("fit", "company_size", "between", (200.0, 5000.0), 40, "Large"),
    Rule("fit", "email_domain", "in", ("gmail.com",), -20, "Personal e-mail"),
    Rule("interest", "pricing_page_visits", "at_least", 1.0, 20, "Visited pricing"),
    Rule("interest", "downloads", "at_least", 1.0, 10, "Downloaded"),
    Rule("interest", "bounced", "at_least", 1.0, -10, "Bounced"),
)


def toy_leads() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "email": ["a@acme.com", "b@GMAIL.com", "c@big.io", None],
            "job_title": ["CEO", "Student", "VP Sales", "Engineer"],
            "company_size": [50, 199, 5000, 5001],
            "pricing_page_visits": [1, 0, 3, None],
            "downloads": [0, 1, 2, 0],
            "bounced": [False, True, False, False],
            "created": [TODAY] * 4,
            "last_activity": [TODAY] * 4,
            "fit": [None, None, None, 12.5],
            "interest": [None, None, None, None],
        },
        schema_overrides={"fit": pl.Float64, "interest": pl.Float64},
    )


def test_axis_bounds_let_competing_rules_on_one_field_fire_once() -> None:
    # Job title: best CEO (+40), worst Student (-20); size best Large (+40); domain -20..0.
    assert scoring.axis_bounds(TOY_RULES, "fit") == (-40.0, 80.0)
    assert scoring.axis_bounds(TOY_RULES, "interest") == (-10.0, 30.0)
    assert scoring.axis_bounds(DEFAULT_RULES, "fit") == (-90.0, 90.0)
    assert scoring.axis_bounds(DEFAULT_RULES, "interest") == (-50.0, 95.0)


def test_score_leads_normalises_points_between_the_models_bounds() -> None:
    scored = scoring.score_leads(toy_leads(), TOY_RULES, 0, TODAY)
    # fit points: CEO 40 + mid-size 20 = 60 -> (60+40)/120; Student -20 + mid 20 - gmail 20 = -20
    # -> 20/120; VP 40 + large 40 = 80 -> 100; lead 4 keeps its ready-made 12.5.
    expected_fit = pl.Series("fit", [100 / 120 * 100, 20 / 120 * 100, 100.0, 12.5])
    # interest points: 20 -> 30/40; 10 - 10 = 0 -> 10/40; 30 -> 100; nothing -> 10/40.
    expected_interest = pl.Series("interest", [75.0, 25.0, 100.0, 25.0])
    assert_series_equal(scored["fit"], expected_fit)
    assert_series_equal(scored["interest"], expected_interest)
    assert scored.columns == toy_leads().columns


def test_between_is_inclusive_at_both_ends_and_at_least_includes_its_bound() -> None:
    leads = pl.DataFrame({"company_size": [49, 50, 199, 200], "visits": [0, 1, 2, None]})
    fires = leads.select(
        scoring.rule_fires(Rule("fit", "company_size", "between", (50.0, 199.0), 1)).alias("b"),
        scoring.rule_fires(Rule("interest", "visits", "at_least", 1.0, 1)).alias("a"),
    )
    expected = pl.DataFrame({"b": [False, True, True, False], "a": [False, True, True, False]})
    assert_frame_equal(fires, expected)


def test_interest_halves_after_one_half_life() -> None:
    # 25 points at a 14-day half-life read 12.5 after 14 days (and 25 with no decay).
    rules = (Rule("interest", "downloads", "at_least", 1.0, 25, "Downloaded"),)
    leads = pl.DataFrame(
        {
            "downloads": [1, 1, 1],
            "created": [date(2026, 10, 1)] * 3,
            "last_activity": [date(2026, 11, 9), date(2026, 11, 23), None],
        }
    )
    factor = leads.select(scoring.decay_factor(14, TODAY).alias("f"))["f"]
    points = (factor * 25).to_list()
    assert points[0] == pytest.approx(12.5)
    assert points[1] == pytest.approx(25.0)
    assert points[2] == pytest.approx(25 * 0.5 ** (53 / 14))  # from `created` when no activity
    # On the 0..100 scale (bounds 0..25) 12.5 points is 50.
    scored = scoring.score_leads(leads, rules, 14, TODAY)
    assert scored["interest"][0] == pytest.approx(50.0)
    no_decay = scoring.score_leads(leads, rules, 0, TODAY)
    assert no_decay["interest"].to_list() == [100.0, 100.0, 100.0]


def test_points_counted_once_score_both_days_as_scoring_from_scratch() -> None:
    # 25 interest points, then decayed to today (12.5 after one half-life: 50 on 0..100) or to
    # the lead's own decision day (no time passed: 100); fit has no rule, so no lead has a fit.
    rules = (Rule("interest", "downloads", "at_least", 1.0, 25, "Downloaded"),)
    leads = pl.DataFrame(
        {
            "downloads": [1, None],
            "created": [date(2026, 10, 1)] * 2,
            "last_activity": [date(2026, 11, 9)] * 2,
            "outcome": [None, None],
            "converted_at": pl.Series([None, None], dtype=pl.Date),
        }
    )
    points = scoring.rule_points(leads, rules)
    assert points.to_dicts() == [
        {"_fit_points": None, "_interest_points": 25.0},
        {"_fit_points": None, "_interest_points": None},
    ]
    for day, interest in ((TODAY, [50.0, None]), (scoring.decided_on(), [100.0, None])):
        shared = scoring.score_leads(leads, rules, 14, day, points)
        assert_frame_equal(shared, scoring.score_leads(leads, rules, 14, day))
        assert shared["interest"].to_list() == pytest.approx(interest)


def test_the_backtest_scores_each_lead_on_the_day_its_outcome_was_decided() -> None:
    # 25 points of interest, halving every 30 days. Converted 30 days after its last activity:
    # half its interest (50). Lost, or still open: scored at its last activity, all of it (100);
    # a conversion recorded before the last activity does not decay either. Today, two years
    # on, the old leads have almost nothing left, and the open one has lost one half-life.
    rules = (Rule("interest", "downloads", "at_least", 1.0, 25, "Downloaded"),)
    leads = pl.DataFrame(
        {
            "downloads": [1, 1, 1, 1],
            "outcome": ["converted", "lost", None, "won"],
            "created": [date(2024, 1, 1)] * 4,
            "last_activity": [date(2024, 1, 1), date(2024, 3, 1), date(2026, 10, 24), date(2024, 5, 1)],
            "converted_at": [date(2024, 1, 31), None, None, date(2024, 4, 1)],
        }
    )
    then = scoring.score_leads(leads, rules, 30, scoring.decided_on())
    assert then["interest"].to_list() == pytest.approx([50.0, 100.0, 100.0, 100.0])
    now = scoring.score_leads(leads, rules, 30, TODAY)
    days = leads.select((pl.lit(TODAY) - pl.col("last_activity")).dt.total_days().alias("d"))["d"]
    assert now["interest"].to_list() == pytest.approx([100 * 0.5 ** (d / 30) for d in days])
    assert now["interest"][2] == pytest.approx(50.0)


def test_with_quadrants_puts_leads_on_the_cutoff_in_the_mql() -> None:
    scored = pl.DataFrame({"fit": [60.0, 60.0, 59.9, 10.0], "interest": [40.0, 39.9, 40.0, 0.0]})
    result = scoring.with_quadrants(scored, 60, 40)
    expected = scored.with_columns(
        pl.Series("quadrant", ["MQL", "Good fit, not yet engaged", "Engaged, poor fit", "Cold"]),
        pl.Series("mql", [True, False, False, False]),
    )
    assert_frame_equal(result, expected)


def hand_table() -> pl.DataFrame:
    """Ten leads; at F=60, I=40 four of the nine with a known outcome are MQLs."""
    return pl.DataFrame(
        {
            "fit": [80.0, 60.0, 90.0, 70.0, 59.9, 30.0, 20.0, 75.0, 65.0, 10.0],
            "interest": [70.0, 40.0, 50.0, 45.0, 80.0, 20.0, 10.0, 90.0, 39.0, 90.0],
            "outcome": [
                "converted", "converted", "lost", "lost", "converted",
                "lost", "lost", None, "lost", "lost",
            ],
            "sal_status": [
                "accepted", "accepted", "rejected", None, None,
                None, None, None, None, None,
            ],
            "created": [
                date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 8), date(2026, 11, 17),
                date(2026, 11, 2), date(2026, 11, 10), date(2026, 11, 10), date(2026, 11, 4),
                date(2026, 11, 18), date(2026, 11, 19),
            ],
        }
    )  # fmt: skip


def test_crossings_count_leads_entering_and_leaving_the_mql() -> None:
    old = hand_table()
    # Lead 5 gains fit (enters), leads 1 and 2 lose fit (leave).
    new = old.with_columns(
        pl.Series("fit", [50.0, 10.0, 90.0, 70.0, 61.0, 30.0, 20.0, 75.0, 65.0, 10.0])
    )
    assert scoring.crossings(old, new, 60, 40) == scoring.Crossings(entered=1, left=2)
    assert scoring.crossings(old, old, 60, 40) == scoring.Crossings(entered=0, left=0)


def test_explain_lists_the_rules_that_fired_with_decayed_interest() -> None:
    lead = pl.DataFrame(
        {
            "email": ["ann@gmail.com"],
            "job_title": ["CEO"],
            "company_size": [120],
            "pricing_page_visits": [2],
            "downloads": [0],
            "bounced": [False],
            "created": [date(2026, 9, 1)],
            "last_activity": [date(2026, 11, 9)],
            "fit": [None],
            "interest": [None],
        },
        schema_overrides={"fit": pl.Float64, "interest": pl.Float64},
    )
    result = scoring.explain(lead, TOY_RULES, 14, TODAY)
    expected = pl.DataFrame(
        {
            "axis": ["fit", "fit", "fit", "interest"],
            "rule": ["Decision maker", "Mid-size", "Personal e-mail", "Visited pricing"],
            "points": [40.0, 20.0, -20.0, 20.0],
            "counted": [40.0, 20.0, -20.0, 10.0],  # pricing visit 14 days ago, half-life 14
        }
    )
    assert_frame_equal(result, expected)
    ready = scoring.explain(lead.with_columns(pl.lit(55.0).alias("fit")), TOY_RULES, 14, TODAY)
    assert ready["rule"].to_list() == [
        "Ready-made score from the import (used untouched)",
        "Visited pricing",
    ]
    # Fit: 40 + 20 - 20 = 40 points on the toy model's -40..80, so (40 + 40) / 120 = 66.7.
    # Interest: 10 points after decay on -10..30, so (10 + 10) / 40 = 50.
    totals = scoring.explain_totals(lead, TOY_RULES, 14, TODAY)
    expected_totals = pl.DataFrame(
        {
            "axis": ["fit", "interest"],
            "points": [40.0, 10.0],
            "fewest": [-40.0, -10.0],
            "most": [80.0, 30.0],
            "score": [80 / 120 * 100, 50.0],
        }
    )
    assert_frame_equal(totals, expected_totals)
    ready = scoring.explain_totals(lead.with_columns(fit=pl.lit(12.5)), TOY_RULES, 14, TODAY)
    assert ready.row(0) == ("fit", None, -40.0, 80.0, 12.5)


def test_find_leads_by_company_e_mail_or_number() -> None:
    leads = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "company": ["Acme", "Globex", None],
            "email": ["ann@acme.com", "bo@globex.io", "cy@ACME.org"],
            "job_title": ["CEO", None, "CTO"],
        }
    )
    assert list(scoring.find_leads(leads, "acme")) == [1, 3]
    assert scoring.find_leads(leads, " #2 ") == {2: "#2 (no title) at Globex · bo@globex.io"}
    assert scoring.find_leads(leads, "initech") == {} and scoring.find_leads(leads, "  ") == {}


def test_record_sal_stores_the_answer_with_bant_and_audits_it(fresh_db: Database) -> None:
    with store.write(fresh_db):
        store.insert_frame(fresh_db, "leads", pl.DataFrame({"external_id": ["L1"], "created": [TODAY]}))
    # Read on the connection itself: an ADBC read closing here would drop the WAL it writes to.
    lead_id = int(fresh_db.execute("SELECT id FROM leads").fetchone()[0])
    bant = {"budget": True, "authority": True, "need": True, "timeline": False}
    store.record_sal(fresh_db, lead_id, "accepted", bant, who="Ben")
    row = store.leads(fresh_db).select(
        "sal_status", "bant_budget", "bant_authority", "bant_need", "bant_timeline"
    )
    assert row.row(0) == ("accepted", True, True, True, False)
    last = store.audit_log(fresh_db).row(0, named=True)
    assert (last["who"], last["entity"], last["action"]) == ("Ben", "lead", "sal")
    with pytest.raises(store.StoreError, match="'accepted' or 'rejected'"):
        store.record_sal(fresh_db, lead_id, "maybe", bant)  # type: ignore[arg-type]
    with pytest.raises(store.StoreError, match="Lead 999 no longer exists"):
        store.record_sal(fresh_db, 999, "rejected", bant)


def test_sal_answers_reads_the_answered_leads_only_typed_as_leads(fresh_db: Database) -> None:
    frame = pl.DataFrame({"external_id": ["L1", "L2", "L3"], "created": [TODAY] * 3})
    with store.write(fresh_db):
        store.insert_frame(fresh_db, "leads", frame)
    ids = [r[0] for r in fresh_db.execute("SELECT id FROM leads ORDER BY id").fetchall()]
    store.record_sal(fresh_db, ids[2], "rejected", {"budget": True})
    store.record_sal(fresh_db, ids[0], "accepted", dict.fromkeys(store.BANT, True))
    answers = store.sal_answers(fresh_db)
    assert answers.columns == ["id", "sal_status", *(f"bant_{c}" for c in store.BANT)]
    assert answers.rows() == [
        (ids[0], "accepted", True, True, True, True),
        (ids[2], "rejected", True, False, False, False),
    ]
    assert_frame_equal(
        answers, store.leads(fresh_db).select(answers.columns).filter(pl.col("sal_status").is_not_null())
    )


def test_mqls_for_sales_lists_unreviewed_mqls_first_best_first() -> None:
    leads = hand_table().with_columns(
        pl.int_range(1, 11).alias("id"),
        pl.lit("Acme").alias("company"),
        pl.lit("CEO").alias("job_title"),
    )
    result = scoring.mqls_for_sales(leads, 60, 40)
    # MQLs 1-4 and 8; unreviewed first (8: 75+90 before 4: 70+45), then 1 (150), 3 (140), 2 (100).
    assert result["id"].to_list() == [8, 4, 1, 3, 2]
    assert scoring.mqls_for_sales(leads, 60, 40, limit=2)["id"].to_list() == [8, 4]


def with_unscored(table: pl.DataFrame) -> pl.DataFrame:
    """`table` plus four unscored leads: two converted, one lost, one accepted by sales."""
    extra = pl.DataFrame(
        {
            "fit": [None, None, 95.0, None],
            "interest": [None, None, None, 99.0],
            "outcome": ["converted", "converted", "lost", None],
            "sal_status": [None, None, None, "accepted"],
            "created": [date(2026, 11, 2)] * 4,
        },
        schema=table.schema,
    )
    return pl.concat([table, extra])


def unscored_queue_leads() -> pl.DataFrame:
    """`with_unscored(hand_table())` numbered and named as the sales queue lists leads."""
    return (
        with_unscored(hand_table())
        .with_row_index("id", offset=1)
        .with_columns(
            pl.col("id").cast(pl.Int64),
            pl.lit("Acme").alias("company"),
            pl.lit("CEO").alias("job_title"),
        )
    )


def test_unscored_leads_never_reach_the_sal_queue() -> None:
    queue = scoring.mqls_for_sales(unscored_queue_leads(), 0, 0)
    assert sorted(queue["id"].to_list()) == list(range(1, 11))


def test_agreed_cutoff_is_the_latest_decision_or_the_default() -> None:
    assert scoring.agreed_cutoff(pl.DataFrame()) == (50.0, 50.0, None)
    decisions = pl.DataFrame(
        {"fit_cutoff": [60.0, 40.0], "interest_cutoff": [55.0, 30.0], "model_version": [2, 1]}
    )
    assert scoring.agreed_cutoff(decisions) == (60.0, 55.0, 2)


def test_a_personal_domain_rule_fires_exactly_where_the_lower_cased_domain_is_listed() -> None:
    """The rule matches the text after the first @ in one pass; a plain reading (split at the
    first @, lower-case, look up) must agree on every awkward address."""
    emails = [
        "ann@gmail.com",
        "Bo@GMAIL.COM",
        "cy@Gmail.Com ",  # a trailing space: not the domain
        "no-at-sign.gmail.com",
        "two@at@gmail.com",
        "trailing@",
        "x@gmail.com.evil.example",
        "y@a+b.example",
        "z@axb.example",
        None,
        "w@Outlook.com",
    ]
    rule = Rule("fit", "email_domain", "in", ("gmail.com", "a+b.example", "Outlook.com"), -20, "p")
    leads = pl.DataFrame({"email": emails}, schema={"email": pl.String})
    fired = leads.select(scoring.rule_fires(rule))["email"].to_list()
    listed = set(rule.value)
    plain = [e is not None and "@" in e and e.split("@", 1)[1].lower() in listed for e in emails]
    assert fired == plain
    assert fired == [True, True, False, False, False, False, False, True, False, False, False]
