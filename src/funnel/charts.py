"""Frames -> Altair charts. Pure functions, tested on `chart.to_dict()`; Polars in, no pandas.

Sections by page; each function takes the frame its core function returns.
"""

from __future__ import annotations

import altair as alt
import polars as pl

__all__ = ["alt", "pl"]

# --- Stages & probabilities -------------------------------------------------------------------

# --- MQL threshold ----------------------------------------------------------------------------

# --- Funnel & forecast ------------------------------------------------------------------------
