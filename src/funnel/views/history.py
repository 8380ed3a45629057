"""The history page as plain data: the filters a link carries, the date range, the undo's words."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

# (session key, query parameter) of each filter: a link carries them (?what=stages&who=Anna), so
# a colleague opens the same list.
FILTERS = (("history_entities", "what"), ("history_who", "who"))
CAPTION = (
    "Every change to pipelines, stages, the scoring model, decisions and scenarios, newest "
    "first, signed with the name typed in the sidebar."
)
UNDO_CAPTION = (
    "Reverts the last change of a pipeline or of the scoring model, as a new change that is "
    "logged too; each further undo reverts the change before the last one undone. Decisions "
    "and scenarios are never undone: record a new one instead."
)


def filters_from_link(
    state: Mapping[str, Any],
    link: Mapping[str, Sequence[str]],
    offered: Mapping[str, Collection[str]],
) -> dict[str, list[str]]:
    """Session values for the filters this session has not set yet: the link's values that the
    page offers (`offered` by query parameter), in the link's order; the rest are dropped.

    >>> filters_from_link({}, {"what": ["stages", "nope"]}, {"what": ["stages"], "who": ["Anna"]})
    {'history_entities': ['stages'], 'history_who': []}
    """
    return {
        key: [v for v in link.get(param, ()) if v in offered[param]]
        for key, param in FILTERS
        if key not in state
    }


def period(picked: object) -> tuple[date | None, date | None]:
    """The date picker's value as (start, end): None for an end not picked yet (the picker
    holds one day while the user is choosing the second, and none on an empty log).

    >>> period((date(2026, 11, 2), date(2026, 11, 9)))
    (datetime.date(2026, 11, 2), datetime.date(2026, 11, 9))
    >>> period((date(2026, 11, 2),))
    (datetime.date(2026, 11, 2), None)
    """
    days = picked if isinstance(picked, tuple) else (picked,)
    start = days[0] if days else None
    end = days[1] if len(days) > 1 else None
    return start, end


def undo_target_label(target: tuple[str, int | None], names: Mapping[int, str]) -> str:
    """What the undo picker shows for one target: a pipeline by its name, or the scoring model."""
    entity, entity_id = target
    return (
        f"Pipeline '{names[entity_id]}'"
        if entity == "pipeline" and entity_id is not None
        else "Scoring model"
    )


def undone(audit_id: int) -> str:
    """The toast after an undo."""
    return f"Change #{audit_id} undone; the undo is listed above."
