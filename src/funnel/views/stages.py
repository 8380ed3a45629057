"""The stages page as plain data: link choices, editor keys and versions, labels and captions."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import polars as pl

from funnel.models import STAGE_KINDS, Stage
from funnel.stage_moves import DEFAULT_PSEUDO_DEALS
from funnel.stages import removed_stages_with_deals
from funnel.templates import TEMPLATES
from funnel.text import excerpt


def pick_from_link(current: Any, options: Sequence[Any], wanted: str) -> Any:
    """Choice a selectbox should open on: kept if still offered, else the link's, else the first.

    Returns None when the current choice stands, so the page leaves session state alone.
    """
    if not options or current in options:
        return None
    return next((o for o in options if str(o) == wanted), options[0])


def start_from_link(
    state: MutableMapping[str, Any],
    params: Mapping[str, str],
    key: str,
    options: Sequence[Any],
    param: str,
) -> str | None:
    """Open selectbox `key` on the choice in the link (`?param=`), else on its first option.

    A choice already made and still offered is kept, so the link only decides on first open.
    Returns a notice when the link names a choice the page does not offer (it opens on the
    first one instead), so a mistyped link is never ignored without a word.
    """
    wanted = params.get(param, "")
    pick = pick_from_link(state.get(key), options, wanted)
    if pick is None:
        return None
    state[key] = pick
    if param in params and str(pick) != wanted:
        return f"Link value {param}={excerpt(wanted)} is not one of the page's choices; ignored."
    return None


def measured_labels(learned: pl.DataFrame) -> dict[int, str]:
    """The stages of `history_probability` whose rate was measured (n > 0): all Adopt can take."""
    return labels(learned.filter(pl.col("n") > 0), "stage_id", "stage")


def labels(frame: pl.DataFrame, key: str, label: str) -> dict[Any, str]:
    """Map ids to display names, so selectboxes store ids yet show names."""
    return dict(zip(frame[key].to_list(), frame[label].to_list(), strict=True))


def open_deal_labels(deals: pl.DataFrame) -> dict[int, str]:
    """Open deals by name as 'name · stage', so a deal can be told apart from its namesakes."""
    open_deals = deals.filter(pl.col("stage_kind") == "open").sort("name", nulls_last=True)
    label = pl.concat_str(pl.col("name").fill_null("(no name)"), pl.lit(" · "), pl.col("stage"))
    return dict(open_deals.select("id", label).iter_rows())


def own_probability_labels(own: pl.DataFrame) -> dict[int, str]:
    """Deals weighed by their own probability by name, 'Deal <id>' for one without a name (an
    empty name included), to pick those whose own probability is cleared."""
    return {deal_id: name or f"Deal {deal_id}" for deal_id, name in own.select("id", "name").iter_rows()}


def has_unsaved_edits(editor_state: Mapping[str, Any]) -> bool:
    """Whether a data editor's state holds edits, which adopting probabilities would discard."""
    return any(editor_state.get(k) for k in ("edited_rows", "added_rows", "deleted_rows"))


def smoothing_caption() -> str:
    """How learned probabilities are computed, worded with the pseudo-deal count in force."""
    pseudo = f"{DEFAULT_PSEUDO_DEALS:g}"
    return (
        "Won from history = won deals that reached the stage / closed deals (won + lost) that "
        "reached it, over every closed deal of this pipeline "
        "(passing a stage by skipping it counts as reaching it). "
        f"Suggested = (won + {pseudo} × set by hand/100) / (closed deals measured + {pseudo}): as "
        f"if {pseudo} more deals had closed at the hand-set rate, so a small sample stays near it."
    )


# --- what the page shows -----------------------------------------------------------------------

# Columns as plain data, since the core never imports streamlit: the page turns these into
# Streamlit column configs (`ui.column_config`). None hides a column, a string only renames it,
# a mapping names the column kind ("number", "text" or "select") and its settings.
TABLE_COLUMNS: dict[str, str | dict[str, Any] | None] = {
    "id": None,
    "stage_id": None,
    "won": None,
    "stage": "Stage",
    "kind": "Kind",
    "probability": "Prob. %",
    "deals": {"kind": "number", "label": "Deals", "format": "localized"},
    "value": {"kind": "number", "label": "Value ($)", "format": "localized"},
    "weighted_value": {
        "kind": "number",
        "label": "Weighted ($)",
        "format": "localized",
        "help": "Value × probability: the stage's, or the deal's own where it has one",
    },
    "own_probability_deals": {
        "kind": "number",
        "label": "Deals with own %",
        "help": "Open deals weighted by their own probability instead of the stage's",
    },
    "own_probability": {"kind": "number", "label": "Own %", "format": "%g"},
    "stage_probability": {"kind": "number", "label": "Stage %", "format": "%g"},
    "manual": {
        "kind": "number",
        "label": "Set by hand %",
        "format": "%.1f",
        "help": "The stage's probability as saved in the table above",
    },
    "n": {
        "kind": "number",
        "label": "Closed deals measured",
        "format": "localized",
        "help": "Closed deals (won + lost) of this pipeline that reached the stage",
    },
    "empirical": {
        "kind": "number",
        "label": "Won from history %",
        "format": "%.1f",
        "help": "Of the closed deals that reached the stage, the share that was won; empty: "
        "not measurable (no closed deal with stage history reached it)",
    },
    "smoothed": {
        "kind": "number",
        "label": "Suggested %",
        "format": "%.1f",
        "help": "History, pulled toward the hand-set value while few deals are measured",
    },
    "stays": {
        "kind": "number",
        "label": "Stays",
        "format": "localized",
        "help": "Finished stays measured: a deal entering the stage and leaving it",
    },
    "median_days": {"kind": "number", "label": "Median days", "format": "%.1f"},
    "rot_days": {
        "kind": "number",
        "label": "Stalled after (days)",
        "help": "An open deal in the stage longer than this is listed as stalled",
    },
    "name": "Deal",
    "owner": "Owner",
    "days_in_stage": "Days in stage",
    "days_over": "Days over",
}
# The stage editor's columns, in the order it shows them (the stage id rides along hidden).
EDITOR_COLUMNS: dict[str, str | dict[str, Any] | None] = {
    "position": {"kind": "number", "label": "Order", "step": 1, "help": "Stages are sorted by it"},
    "name": {"kind": "text", "label": "Stage", "required": True},
    # No min, max or step: the grid would quietly turn 150 into 100, -5 into 5 and 12.5 into
    # 100 (the point refused, 125 clamped); typed as is, `validate_stages` refuses them by name.
    "probability": {
        "kind": "number",
        "label": "Probability %",
        "required": True,
        "help": "Win probability of a deal in this stage: a whole percent from 0 to 100",
    },
    "kind": {"kind": "select", "label": "Kind", "options": STAGE_KINDS, "required": True},
    "rot_days": {  # no min or step either: 0 or 2.5 reach `validate_stages`, not the grid's 1
        "kind": "number",
        "label": "Stalled after (days)",
        "help": "An open deal in this stage longer than this is listed as stalled; empty: never",
    },
}
EMPTY_TEMPLATE = "Empty (add stages yourself)"
CREATED_KEY = "stages_created"


def template_choices() -> list[str]:
    """What a new pipeline can start from: every template, then an empty stage list."""
    return [*TEMPLATES, EMPTY_TEMPLATE]


def template_stages(choice: str) -> tuple[Stage, ...]:
    """The stages a new pipeline starts with for a `template_choices` entry (none when empty)."""
    return TEMPLATES.get(choice, ())


def pipeline_row(pipelines: pl.DataFrame, pipeline_id: int) -> dict[str, Any]:
    """One pipeline's row of `store.pipelines` (its deal count, its saved version) by id."""
    return pipelines.filter(pl.col("id") == pipeline_id).row(0, named=True)


def delete_refusal(name: str, deals: int) -> str:
    """Why a pipeline that still holds deals cannot be deleted, and what to do instead."""
    return f"'{name}' still holds {deals:,} deals, so it cannot be deleted: move them first."


def delete_question(name: str) -> str:
    """The confirmation asked before deleting an empty pipeline for good."""
    return f"Delete the pipeline '{name}' and its stages? This cannot be undone."


def base_key(pipeline_id: int | None) -> str:
    """Session key of the saved version a pipeline's stage editor started from."""
    return f"stages_base_{pipeline_id}"


def seen_version(state: MutableMapping[str, Any], pipelines: pl.DataFrame, pipeline_id: int) -> int:
    """The version of the pipeline the user's page was drawn from (the editor's base, kept until
    they save or reload), which a rename, a delete or a stage save is checked against."""
    return int(state.setdefault(base_key(pipeline_id), pipeline_row(pipelines, pipeline_id)["version"]))


MOVE_SEEN_KEY = "stages_move_seen"


def seen_stages(state: MutableMapping[str, Any], deals: pl.DataFrame) -> dict[int, int]:
    """The stage of each deal as the page the user last saw showed it (deal id -> stage id),
    which a move is checked against; the stages shown now are kept for the next run."""
    seen: dict[int, int] = state.get(MOVE_SEEN_KEY, {})
    state[MOVE_SEEN_KEY] = dict(deals.select("id", "stage_id").iter_rows())
    return seen


def editor_base(
    state: MutableMapping[str, Any], pipeline_id: int, version: int, stages: pl.DataFrame
) -> tuple[int, pl.DataFrame]:
    """The saved version a pipeline's stage editor edits, and its stages as they were then.

    Both are kept in the session from the first look (or the last own save): when another
    session saves, the editor goes on showing the version this one opened, so a value typed
    into it stays where it was typed (given new data, the grid would drop every typed edit),
    and the page says the version moved on.
    """
    key, frame_key = base_key(pipeline_id), f"stages_base_frame_{pipeline_id}"
    if key not in state or frame_key not in state:
        state[key], state[frame_key] = version, stages
    return int(state[key]), state[frame_key]


def stale_warning(base: int, version: int) -> str:
    """What the page says while the editor shows an older version than the saved one."""
    return (
        f"Someone else saved this pipeline since you opened it (your table is version {base}, "
        f"the saved one is {version}). Your edits stay in the table, on the version you opened; "
        "saving them is refused until you reload theirs, which drops your edits."
    )


def editor_key(pipeline_id: int, base: int) -> str:
    """Session key of the stage editor: a new base version gives a fresh editor, edits dropped."""
    return f"stages_editor_{pipeline_id}_{base}"


def restart_editor(state: MutableMapping[str, Any], pipeline_id: int | None) -> None:
    """After a write: the pipeline's stage editor restarts from the stages now saved."""
    state.pop(base_key(pipeline_id), None)


def follow_created(state: MutableMapping[str, Any], key: str) -> None:
    """Point the pipeline choice (`key`) at the pipeline just created, if one was."""
    if (created := state.pop(CREATED_KEY, None)) is not None:
        state[key] = created


def reassign_prompts(
    stages: pl.DataFrame, edited: Sequence[Stage], deals: pl.DataFrame
) -> dict[int, str]:
    """For each removed stage that holds deals, by id, the question asking where they go."""
    removed = removed_stages_with_deals(stages, edited, deals)
    return {
        stage_id: f"'{name}' holds {held:,} deals: move them to"
        for stage_id, name, held in removed.iter_rows()
    }


def stalled_caption(count: int) -> str:
    """Heading of the stalled-deals table, with how many there are."""
    return (
        f"{count:,} open deals stalled: in their stage for longer than its 'stalled after' days, "
        "longest overdue first"
    )
