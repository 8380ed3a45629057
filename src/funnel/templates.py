"""The pipeline templates of the source texts, ready to apply.

Stages and their order come from the texts (seed 000 for the four sales pipelines, seed 001 for
the marketing funnel). The texts give no probabilities except "> 40 %" for negotiation, so the
starting values below are a sales-ops lead's usual ladder, meant to be tuned on the page or
adopted from history. Templates the texts give without a lost stage get one, because a pipeline
without somewhere to put lost deals cannot measure its win rate.
"""

from __future__ import annotations

from funnel.models import Stage

TEMPLATES: dict[str, tuple[Stage, ...]] = {
    "Traditional B2B": (
        Stage("Prospecting", 10, "open", 30),
        Stage("Lead qualification", 20, "open", 21),
        Stage("Demo/meeting", 35, "open", 21),
        Stage("Proposal", 50, "open", 30),
        Stage("Negotiation and commitment", 70, "open", 45),
        Stage("Opportunity won", 100, "won"),
        Stage("Post-purchase", 100, "won"),
        Stage("Lost customer", 0, "lost"),
    ),
    "Real estate": (
        Stage("Buyers searching", 10, "open", 60),
        Stage("Visit planned", 25, "open", 21),
        Stage("Price discussion", 45, "open", 30),
        Stage("Offer made", 65, "open", 21),
        Stage("Offer accepted", 100, "won"),
        Stage("Referral", 100, "won"),
        Stage("Lost", 0, "lost"),
    ),
    "Financial services / law firm": (
        Stage("First meeting", 20, "open", 30),
        Stage("Proposal made", 40, "open", 30),
        Stage("Fee negotiation", 65, "open", 30),
        Stage("Proposal accepted", 100, "won"),
        Stage("Upsell", 100, "won"),
        Stage("Lost", 0, "lost"),
    ),
    "Startup": (
        Stage("Cold prospect", 5, "open", 30),
        Stage("Engaged prospect", 15, "open", 21),
        Stage("Demo booked", 30, "open", 14),
        Stage("Trial", 55, "open", 30),
        Stage("Closed customer", 100, "won"),
        Stage("Retention", 100, "won"),
        Stage("Lost", 0, "lost"),
    ),
    "Marketing funnel": (
        Stage("Lead", 2, "open", 30),
        Stage("Qualified prospect", 5, "open", 30),
        Stage("MQL", 10, "open", 14),
        Stage("SAL", 25, "open", 14),
        Stage("SQL/opportunity", 45, "open", 30),
        Stage("Customer", 100, "won"),
        Stage("Lost", 0, "lost"),
    ),
}
