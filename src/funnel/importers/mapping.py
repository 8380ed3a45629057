"""Which column of a CRM export is which field of ours: the CRMs' own headers first, then names.

Why apart: a mapping is only a suggestion the user edits (on the Data page or with --mapping);
it is decided from the header alone, before any value is read.

>>> suggest_mapping(["Lead ID", "Create Date"], "leads")
{'external_id': 'Lead ID', 'created': 'Create Date'}
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Literal

from funnel.models import DEAL_FIELDS, LEAD_FIELDS, Field

Kind = Literal["leads", "deals"]

FIELDS: dict[str, tuple[Field, ...]] = {"leads": LEAD_FIELDS, "deals": DEAL_FIELDS}


PRESETS: dict[str, dict[Kind, dict[str, str]]] = {
    "HubSpot": {
        "leads": {
            "Record ID": "external_id",
            "Email": "email",
            "Job Title": "job_title",
            "Company Name": "company",
            "Number of Employees": "company_size",
            "Industry": "industry",
            "Country/Region": "country",
            "Original Source": "source",
            "Contact owner": "owner",
            "Create Date": "created",
            "Last Activity Date": "last_activity",
            "Number of Pageviews": "page_views",
            "Marketing emails opened": "emails_opened",
            "Marketing emails clicked": "clicks",
            "Marketing emails bounced": "bounced",
            "Unsubscribed from all email": "unsubscribed",
            "Became a Sales Qualified Lead Date": "sql_at",
            "Became a Customer Date": "converted_at",
            "Lifecycle Stage": "outcome",
        },
        "deals": {
            "Record ID": "external_id",
            "Deal Name": "name",
            "Associated Company": "company",
            "Deal owner": "owner",
            "Amount": "value",
            "Deal Stage": "stage",
            "Deal probability": "probability",
            "Create Date": "created",
            "Close Date": "expected_close",
        },
    },
    "Pipedrive": {
        "leads": {
            "Person - ID": "external_id",
            "Person - Email": "email",
            "Person - Job title": "job_title",
            "Person - Organization": "company",
            "Person - Owner": "owner",
            "Person - Person created": "created",
            "Person - Last activity date": "last_activity",
            "Organization - Number of employees": "company_size",
            "Organization - Industry": "industry",
        },
        "deals": {
            "Deal - ID": "external_id",
            "Deal - Title": "name",
            "Deal - Organization": "company",
            "Deal - Owner": "owner",
            "Deal - Value": "value",
            "Deal - Stage": "stage",
            "Deal - Probability": "probability",
            "Deal - Deal created": "created",
            "Deal - Expected close date": "expected_close",
            "Deal - Deal closed on": "closed_at",
        },
    },
    "Salesforce": {
        "leads": {
            "Lead ID": "external_id",
            "Email": "email",
            "Title": "job_title",
            "Company / Account": "company",
            "No. of Employees": "company_size",
            "Industry": "industry",
            "Country": "country",
            "Lead Source": "source",
            "Lead Owner": "owner",
            "Create Date": "created",
            "Last Activity": "last_activity",
            "Converted": "outcome",
            "Converted Date": "converted_at",
        },
        "deals": {
            "Opportunity ID": "external_id",
            "Opportunity Name": "name",
            "Account Name": "company",
            "Opportunity Owner": "owner",
            "Amount": "value",
            "Stage": "stage",
            "Probability (%)": "probability",
            "Created Date": "created",
            "Close Date": "expected_close",
        },
    },
}

SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "lead id", "deal id", "contact id", "record id", "crm id"),
    "email": ("e-mail", "email address", "mail"),
    "job_title": ("title", "job", "position", "role"),
    "company": ("company name", "organization", "organisation", "account", "account name"),
    "company_size": ("employees", "number of employees", "headcount", "size"),
    "country": ("country/region", "nation"),
    "source": ("lead source", "origin", "channel"),
    "owner": ("lead owner", "deal owner", "rep", "sales rep"),
    "created": ("create date", "created date", "created at", "date created", "creation date"),
    "last_activity": ("last activity date", "last activity", "last touch"),
    "page_views": ("pageviews", "page views", "pages viewed"),
    "pricing_page_visits": ("pricing visits", "pricing page views"),
    "emails_opened": ("email opens", "opens"),
    "clicks": ("email clicks", "links clicked"),
    "time_on_site": ("minutes on site", "time spent"),
    "fit": ("fit score",),
    "interest": ("interest score", "engagement score"),
    "outcome": ("converted", "result", "won"),
    "name": ("deal name", "title", "opportunity name"),
    "value": (
        "amount",
        "deal value",
        "revenue",
        "opportunity amount",
        "close value",
        "expected revenue",
        "deal amount",
    ),
    "stage": ("deal stage", "pipeline stage", "status"),
    "probability": ("win probability", "probability (%)"),
    "expected_close": ("close date", "expected close date", "expected close"),
    "closed_at": ("closed date", "closed on", "won time", "close time"),
}


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def detect_preset(columns: Sequence[str], kind: Kind) -> str | None:
    """The CRM whose export headers the file's columns match best (at least three of them)."""
    have = {_norm(c) for c in columns}
    hits = {crm: sum(_norm(h) in have for h in kinds[kind]) for crm, kinds in PRESETS.items()}
    crm, n = max(hits.items(), key=lambda kv: kv[1])
    return crm if n >= 3 else None


def preset_note(columns: Sequence[str], kind: Kind) -> str:
    """Why the mapping form comes pre-filled, or "" when no CRM's export headers match."""
    preset = detect_preset(columns, kind)
    return f"Looks like a {preset} export: the mapping is pre-filled from its headers." if preset else ""


def suggest_mapping(columns: Sequence[str], kind: Kind) -> dict[str, str]:
    """Our field -> the file's column, from the detected CRM preset, then from name similarity.

    Each file column is used once; a field no column resembles stays unmapped.
    """
    by_norm = {_norm(c): c for c in columns}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    preset = detect_preset(columns, kind)
    if preset:
        for header, ours in PRESETS[preset][kind].items():
            col = by_norm.get(_norm(header))
            if col and ours not in mapping and col not in used:
                mapping[ours] = col
                used.add(col)
    for f in FIELDS[kind]:
        if f.name in mapping:
            continue
        names = [_norm(n) for n in (f.name, *SYNONYMS.get(f.name, ()))]
        free = [n for n in by_norm if by_norm[n] not in used]
        exact = next((n for n in names if n in free), None)
        close = exact or next(
            (m[0] for n in names if (m := difflib.get_close_matches(n, free, n=1, cutoff=0.85))),
            None,
        )
        if close:
            mapping[f.name] = by_norm[close]
            used.add(by_norm[close])
    order = [c for c in columns]
    return dict(sorted(mapping.items(), key=lambda kv: order.index(kv[1])))
