"""Lead scoring: rules -> fit and interest, decay, quadrants, back-test, capacity.

The default model follows seed 001: explicit criteria score fit, implicit criteria score
interest, negative criteria (anything that correlates with lost deals) take points off.
"""

from __future__ import annotations

from funnel.models import Rule

PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "orange.fr")
COMPETITORS = ("Rivalsoft", "Funnelly")

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("fit", "job_title", "in", ("CEO", "CTO", "CMO", "CRO", "Founder"), 30, "C-level"),
    Rule(
        "fit",
        "job_title",
        "in",
        ("VP Sales", "VP Marketing", "Head of Sales", "Head of Marketing", "Head of Growth"),
        25,
        "VP / Head of",
    ),
    Rule(
        "fit",
        "job_title",
        "in",
        ("Sales Manager", "Marketing Manager", "Operations Manager"),
        15,
        "Manager",
    ),
    Rule("fit", "company_size", "between", (50.0, 199.0), 15, "Mid-size company"),
    Rule("fit", "company_size", "between", (200.0, 5000.0), 25, "Large company"),
    Rule("fit", "company_size", "at_least", 5001.0, 20, "Enterprise"),
    Rule(
        "fit",
        "industry",
        "in",
        ("Software", "Financial services", "Professional services"),
        20,
        "Core industry",
    ),
    Rule("fit", "industry", "in", ("Manufacturing", "Retail", "Healthcare"), 10, "Adjacent industry"),
    Rule(
        "fit",
        "country",
        "in",
        ("France", "Germany", "United Kingdom", "United States", "Canada"),
        15,
        "Served country",
    ),
    Rule("fit", "email_domain", "in", PERSONAL_DOMAINS, -20, "Personal e-mail domain"),
    Rule("fit", "job_title", "in", ("Student", "Intern"), -30, "Student"),
    Rule("fit", "company", "in", COMPETITORS, -40, "Competitor"),
    Rule("interest", "page_views", "at_least", 5.0, 10, "5+ pages viewed"),
    Rule("interest", "page_views", "at_least", 15.0, 10, "15+ pages viewed"),
    Rule("interest", "pricing_page_visits", "at_least", 1.0, 20, "Visited pricing"),
    Rule("interest", "pricing_page_visits", "at_least", 3.0, 10, "3+ pricing visits"),
    Rule("interest", "emails_opened", "at_least", 3.0, 10, "Opens e-mails"),
    Rule("interest", "clicks", "at_least", 2.0, 10, "Clicks links"),
    Rule("interest", "downloads", "at_least", 1.0, 15, "Downloaded an asset"),
    Rule("interest", "time_on_site", "at_least", 10.0, 10, "10+ minutes on site"),
    Rule("interest", "unsubscribed", "at_least", 1.0, -20, "Unsubscribed"),
    Rule("interest", "bounced", "at_least", 1.0, -30, "E-mail bounced"),
)
