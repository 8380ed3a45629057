"""The history page as plain data: the filters a link carries, the date range, the undo's words."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from funnel.views import history as history_view

OFFERED = {"what": ["stages", "pipeline"], "who": ["Anna", "Ben"]}


@pytest.mark.parametrize(
    ("state", "link", "expected"),
    [
        ({}, {}, {"history_entities": [], "history_who": []}),
        (
            {},
            {"what": ["pipeline", "stages"], "who": ["Ben"]},
            {"history_entities": ["pipeline", "stages"], "history_who": ["Ben"]},
        ),
        # A value the log does not hold (mistyped, or a signer with no change left) is dropped.
        (
            {},
            {"what": ["decisions"], "who": ["Anna", "Zoe"]},
            {"history_entities": [], "history_who": ["Anna"]},
        ),
        # What the session chose stands: the link only fills a filter not set yet.
        (
            {"history_who": ["Ben"]},
            {"who": ["Anna"], "what": ["stages"]},
            {"history_entities": ["stages"]},
        ),
        ({"history_entities": [], "history_who": []}, {"what": ["stages"]}, {}),
    ],
)
def test_filters_from_link_fill_only_what_the_session_lacks_with_what_the_page_offers(
    state: dict[str, Any], link: dict[str, list[str]], expected: dict[str, list[str]]
) -> None:
    assert history_view.filters_from_link(state, link, OFFERED) == expected


@pytest.mark.parametrize(
    ("picked", "expected"),
    [
        ((date(2026, 11, 2), date(2026, 11, 9)), (date(2026, 11, 2), date(2026, 11, 9))),
        ((date(2026, 11, 2),), (date(2026, 11, 2), None)),
        (date(2026, 11, 2), (date(2026, 11, 2), None)),
        ((), (None, None)),
    ],
)
def test_period_reads_the_date_picker_as_start_and_end(
    picked: object, expected: tuple[date | None, date | None]
) -> None:
    assert history_view.period(picked) == expected


def test_undo_labels_name_the_pipeline_or_the_scoring_model() -> None:
    assert history_view.undo_target_label(("pipeline", 3), {3: "Renewals"}) == "Pipeline 'Renewals'"
    assert history_view.undo_target_label(("scoring_model", None), {3: "Renewals"}) == "Scoring model"
    assert history_view.undone(12) == "Change #12 undone; the undo is listed above."
