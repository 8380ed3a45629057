"""The MQL page as plain data: opening view, link, labels and figures."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from funnel import cutoffs, scales, scoring
from funnel.views import mql as mql_view
from tests.test_scoring import TODAY, TOY_RULES, hand_table, with_unscored

AGREED = pl.DataFrame({"fit_cutoff": [55.0], "interest_cutoff": [35.0], "model_version": [1]})
NOTHING_AGREED = AGREED.clear()
LINK = {"F": "72", "I": "abc", "v": "1"}


def opens(fit: int, interest: int, version: int) -> dict[str, int]:
    return {"mql_fit_cutoff": fit, "mql_interest_cutoff": interest, "mql_version": version}


@pytest.mark.parametrize(
    ("state", "link", "versions", "agreed", "saved", "expected"),
    [
        # A first visit without a link or a decision opens at the one default cutoff.
        ({}, {}, [1], NOTHING_AGREED, None, opens(50, 50, 1)),
        # No link: the last decision, on the latest version.
        ({}, {}, [2, 1], AGREED, None, opens(55, 35, 2)),
        # The link wins over the decision where it holds a cutoff and a version the page can show.
        ({}, LINK, [2, 1], AGREED, None, opens(72, 35, 1)),
        ({}, {"F": "101", "v": "7"}, [2, 1], AGREED, None, opens(55, 35, 2)),
        # The session wins over the link: a slider still held, a kept copy, the version shown.
        (
            {"mql_fit_cutoff": 10, "mql_interest_cutoff_kept": 20, "mql_version": 2},
            LINK,
            [2, 1],
            AGREED,
            None,
            {"mql_interest_cutoff": 20},
        ),
        ({"mql_version_kept": 1}, {}, [2, 1], NOTHING_AGREED, None, opens(50, 50, 1)),
        # A version just saved wins over everything.
        (opens(10, 20, 2), LINK, [3, 2, 1], AGREED, 3, {"mql_version": 3}),
    ],
)
def test_opening_view_prefers_the_session_then_the_link_then_the_last_decision(
    state: dict[str, int],
    link: dict[str, str],
    versions: list[int],
    agreed: pl.DataFrame,
    saved: int | None,
    expected: dict[str, int],
) -> None:
    assert mql_view.opening_view(state, link, versions, agreed, saved) == expected


def test_a_restored_decision_sets_both_sliders_and_its_version() -> None:
    decision = {"fit_cutoff": 65.0, "interest_cutoff": 45.0, "model_version": 1}
    assert mql_view.restored_view(decision) == {
        "mql_fit_cutoff": 65,
        "mql_interest_cutoff": 45,
        "mql_version": 1,
    }


def test_on_a_files_own_steps_links_decisions_and_the_session_open_on_a_step() -> None:
    # "Lead Score" on 3..250: one slider step per file value, 133 is (133 - 3) / 247 x 100 points.
    steps = scales.Steps(fit=scales.axis_steps(scales.ScoreScale("Lead Score", 3.0, 250.0, 1.0)))
    at_133 = steps.fit[130]
    link = mql_view.view_link(at_133, 45, 1)
    assert link["F"] == str(at_133) and mql_view.link_notices(link, [1]) == []
    opened = mql_view.opening_view({}, link, [1], AGREED, steps=steps)
    assert opened["mql_fit_cutoff"] == at_133 and opened["mql_interest_cutoff"] == 45
    # A decision recorded in whole points opens on the lowest file value at or above it.
    decision = {"fit_cutoff": 50.0, "interest_cutoff": 45.0, "model_version": 1}
    assert mql_view.restored_view(decision, steps)["mql_fit_cutoff"] == steps.fit[124]  # 127
    # A session value from before an import changed the steps is moved onto them.
    moved = mql_view.opening_view(
        {"mql_fit_cutoff": 50, "mql_interest_cutoff": 45}, {}, [1], AGREED, steps=steps
    )
    assert moved == {"mql_fit_cutoff": steps.fit[124], "mql_version": 1}


def test_the_view_link_and_kept_copies_read_back_into_the_same_view() -> None:
    assert mql_view.kept_cutoffs(65, 45) == {"mql_fit_cutoff_kept": 65, "mql_interest_cutoff_kept": 45}
    link = mql_view.view_link(65, 45, 1)
    assert link == {"F": "65", "I": "45", "v": "1"}
    agreed = AGREED
    assert mql_view.opening_view({}, link, [2, 1], agreed) == {
        "mql_fit_cutoff": 65,
        "mql_interest_cutoff": 45,
        "mql_version": 1,
    }
    kept = {**mql_view.kept_cutoffs(65, 45), "mql_version": 2}
    assert mql_view.opening_view(kept, {}, [2, 1], agreed) == {
        "mql_fit_cutoff": 65,
        "mql_interest_cutoff": 45,
    }
    assert mql_view.slider_cutoffs({"mql_fit_cutoff": 65, "mql_interest_cutoff": 45}) == (65, 45)


def test_cutoff_view_on_the_hand_table() -> None:
    # At F=60, I=40: 5 of 10 leads are MQLs; back-test on 9 known leads (see the tests above).
    view = mql_view.cutoff_view(cutoffs.cutoff_grid(hand_table()), 60, 40)
    assert view.quadrants["leads"].to_list() == [5, 1, 2, 2]
    assert view.scored == 10
    assert view.figures == [
        ("MQLs", "5", "50.0% of 10 scored leads"),
        ("Conversion in MQLs", "50.0%", "outside: 20.0%"),
        ("Conversions kept", "66.7%", "2 of 3"),
        ("Lift", "1.50×", "base rate 33.3%"),
        ("Conversions lost", "1", "below the cutoff"),
        ("SALs", "2", "SAL rate 40.0% · 1 rejected"),
    ]
    assert view.caption.startswith(
        "Back-test on the 9 scored leads with a known outcome (converted or lost), each scored "
        "as it stood when its outcome was decided"
    )
    assert "the sales queue below uses today's decay" in view.caption
    assert view.curve.filter("current").height == 6


def test_unscored_leads_are_in_no_quadrant_never_mql_and_out_of_every_backtest_figure() -> None:
    leads = with_unscored(hand_table())
    flagged = scoring.with_quadrants(leads, 60, 40)
    assert flagged["quadrant"].tail(4).to_list() == [None] * 4
    assert flagged["mql"].tail(4).to_list() == [False] * 4
    view = mql_view.cutoff_view(cutoffs.cutoff_grid(leads), 60, 40)
    # The same figures as the ten scored leads alone: the two extra conversions do not lower
    # the recall, the extra lost lead does not lower the base rate.
    alone = mql_view.cutoff_view(cutoffs.cutoff_grid(hand_table()), 60, 40)
    assert view.figures == alone.figures
    assert_frame_equal(view.curve, alone.curve)
    assert view.scored == 10
    # Independently: scored leads with a known outcome, and the MQLs among them.
    known = leads.filter(
        pl.col("fit").is_not_null() & pl.col("interest").is_not_null() & pl.col("outcome").is_not_null()
    )
    mql = known.filter((pl.col("fit") >= 60) & (pl.col("interest") >= 40))
    assert view.caption.startswith(f"Back-test on the {known.height} scored leads")
    assert ("Conversions kept", "66.7%", f"{(mql['outcome'] == 'converted').sum()} of 3") in (
        view.figures
    )
    assert mql_view.unscored_line(leads.height, view.scored) == (
        "4 of 14 leads have no score: left out of these figures."
    )
    assert mql_view.unscored_line(10, 10) is None


def test_a_lead_with_no_score_in_the_file_and_nothing_for_the_rules_stays_unscored() -> None:
    leads = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "email": [None, None, "c@acme.com"],
            "job_title": [None, None, None],
            "company_size": [None, None, None],
            "pricing_page_visits": [None, None, 0],
            "downloads": [None, None, None],
            "bounced": [None, None, None],
            "created": [TODAY] * 3,
            "last_activity": [TODAY] * 3,
            "fit": [None, 70.0, None],
            "interest": [None, None, None],
        },
        schema_overrides={"fit": pl.Float64, "interest": pl.Float64, "bounced": pl.Boolean},
    )
    scored = scoring.score_leads(leads, TOY_RULES, 0, TODAY)
    # Lead 1: nothing at all. Lead 2: a ready fit, nothing for interest. Lead 3: an e-mail
    # (the domain rule reads it: fit 40/120 -> 33.3) and 0 pricing visits (interest 10/40).
    assert scored["fit"].to_list() == [None, 70.0, pytest.approx(40 / 120 * 100)]
    assert scored["interest"].to_list() == [None, None, 25.0]
    # A model with no rules scores nobody: only ready-made scores count.
    assert scoring.score_leads(leads, (), 0, TODAY)["fit"].to_list() == [None, 70.0, None]
    why = scoring.explain(leads.slice(1, 1), TOY_RULES, 0, TODAY)
    assert why.rows() == [
        ("fit", "Ready-made score from the import (used untouched)", None, None),
        ("interest", scoring.UNSCORED_AXIS, None, None),
    ]
    found, line = mql_view.lead_scores(scored, 1, 3)
    assert found and line.startswith("No score in the file")


def test_capacity_check_says_how_many_weeks_sales_could_not_keep_up() -> None:
    grid = cutoffs.cutoff_grid(hand_table())
    # Weekly MQLs 4, 0, 1 (see test_mql_per_week_flags_the_weeks_over_capacity).
    weekly, within, message = mql_view.capacity_check(grid, 60, 40, reps=1, leads_per_rep=2)
    assert weekly["mqls"].to_list() == [4, 0, 1]
    assert not within
    assert message == (
        "This cutoff would have sent more MQLs than sales can work (2 a week) in 1 of 3 weeks;"
        " the busiest had 4."
    )
    _, within, message = mql_view.capacity_check(grid, 60, 40, reps=2, leads_per_rep=2)
    assert within
    assert message == "Within capacity every week: at most 4 MQLs against 4."


def test_sal_recorded_names_the_lead_and_the_answer() -> None:
    assert mql_view.sal_recorded(7, "accepted") == "Lead #7 accepted."


def test_lead_scores_name_the_scores_or_say_the_lead_is_missing() -> None:
    scored = pl.DataFrame({"id": [1, 2], "fit": [72.25, 10.0], "interest": [40.0, 5.04]})
    assert mql_view.lead_scores(scored, 2, 3) == (True, "Fit 10.0 · interest 5.0 (model v3)")
    assert mql_view.lead_scores(scored, 9, 3) == (False, "No lead has the id 9.")


def test_page_labels_name_the_cutoff_and_the_version() -> None:
    assert mql_view.decision_button(65, 45, 1) == "Record F = 65, I = 45, model v1"
    assert mql_view.save_button(2) == "Save as a new model version (based on v2)"
    assert mql_view.older_version_note(2, 2) is None
    assert mql_view.older_version_note(1, 2) == (
        "You are looking at v1; a save builds on it only while it is the latest."
    )
