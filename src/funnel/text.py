"""Quoting what a user or a file typed inside a message: as typed, and never at length.

A 50 MB line or a 5,000-digit link parameter quoted whole made a message that took minutes to
show; every message quotes at most `LIMIT` characters and says how long the value was.

>>> excerpt("abc")
"'abc'"
>>> excerpt("9" * 5_000, limit=5)
"'99999'… (5,000 characters)"
"""

from __future__ import annotations

LIMIT = 200


def excerpt(value: object, limit: int = LIMIT) -> str:
    """`value` quoted as typed, cut to `limit` characters with the full length stated."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"
