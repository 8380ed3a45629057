"""Typed records and the field lists that the store, the importers and the CLI share.

The field lists are the single definition of what a lead and a deal hold: the store builds
its tables from them, the importers validate against them, `python -m funnel fields` prints
them. Change a field here and every one of those follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StageKind = Literal["open", "won", "lost"]
STAGE_KINDS: tuple[StageKind, ...] = ("open", "won", "lost")

Axis = Literal["fit", "interest"]
Condition = Literal["in", "between", "at_least"]

SalStatus = Literal["accepted", "rejected"]


@dataclass(frozen=True)
class Field:
    """One column of ours: its name, its type (`str`, `int`, `float`, `date`, `bool`) and meaning."""

    name: str
    dtype: str
    meaning: str
    required: bool = False


LEAD_FIELDS: tuple[Field, ...] = (
    Field("external_id", "str", "Id in the source CRM; re-imports update the lead with this id"),
    Field("email", "str", "E-mail address (its domain feeds the personal-domain rule)"),
    Field("job_title", "str", "Job title, e.g. 'VP Sales' or 'Student'"),
    Field("company", "str", "Company name"),
    Field("company_size", "int", "Number of employees"),
    Field("industry", "str", "Industry"),
    Field("country", "str", "Country"),
    Field("source", "str", "Lead source, e.g. 'Webinar' or 'Paid search'"),
    Field("owner", "str", "Owner (sales rep or marketer)"),
    Field("created", "date", "Date the lead was created", required=True),
    Field("last_activity", "date", "Date of the lead's last tracked activity"),
    Field("qualified_at", "date", "Date the lead identified itself (qualified prospect)"),
    Field("page_views", "int", "Pages visited"),
    Field("pricing_page_visits", "int", "Visits to the pricing page"),
    Field("emails_opened", "int", "Marketing e-mails opened"),
    Field("clicks", "int", "Links clicked in e-mails"),
    Field("downloads", "int", "Assets downloaded (e-books, white papers)"),
    Field("time_on_site", "float", "Minutes spent on the site"),
    Field("unsubscribed", "bool", "Unsubscribed from e-mails"),
    Field("bounced", "bool", "E-mail address bounced"),
    Field("fit", "float", "Ready-made fit score (rescaled to 0..100 on import)"),
    Field("interest", "float", "Ready-made interest score (rescaled to 0..100 on import)"),
    Field("sal_status", "str", "Sales decision on the lead: 'accepted' or 'rejected'"),
    Field("bant_budget", "bool", "BANT: budget confirmed"),
    Field("bant_authority", "bool", "BANT: talking to the decision maker"),
    Field("bant_need", "bool", "BANT: need confirmed"),
    Field("bant_timeline", "bool", "BANT: timeline confirmed"),
    Field("sql_at", "date", "Date the lead became a sales-qualified opportunity"),
    Field("outcome", "str", "Known outcome: 'converted' or 'lost' (empty: unknown)"),
    Field("converted_at", "date", "Date the lead became a customer"),
)

BANT = ("budget", "authority", "need", "timeline")
"""Sales' four criteria for accepting an MQL: budget, authority, need, timeline."""
ANSWER_COLUMNS = ("sal_status", *(f"bant_{c}" for c in BANT))
"""The columns of a lead that sales' answer sets (`store.record_sal`)."""

DEAL_FIELDS: tuple[Field, ...] = (
    Field("external_id", "str", "Id in the source CRM; re-imports update the deal with this id"),
    Field("name", "str", "Deal name"),
    Field("company", "str", "Company"),
    Field("owner", "str", "Deal owner"),
    Field("value", "float", "Deal value (may be empty for open deals)"),
    Field("stage", "str", "Stage name, matched to the pipeline's stages", required=True),
    Field("probability", "float", "The deal's own win probability 0..100 (beats the stage's)"),
    Field("created", "date", "Date the deal was created"),
    Field("expected_close", "date", "Expected close date"),
    Field("closed_at", "date", "Date the deal was won or lost"),
)


@dataclass(frozen=True)
class Stage:
    """A pipeline stage as edited on the page; `id` is None for a stage not yet saved."""

    name: str
    probability: float
    kind: StageKind = "open"
    rot_days: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class Rule:
    """One scoring rule: when `field` meets `condition` on `value`, add `points` to `axis`.

    `value` is a list of strings for `in`, a pair of numbers for `between` (inclusive), and one
    number for `at_least`.
    """

    axis: Axis
    field: str
    condition: Condition
    value: tuple[str, ...] | tuple[float, float] | float
    points: float
    label: str = ""
