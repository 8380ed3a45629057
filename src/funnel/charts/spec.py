"""What every chart shares: the kinds Streamlit takes, the series colours, and a chart whose
spec is compiled once and given new data (`Live`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import altair as alt
import polars as pl

# Every kind of chart drawn here, the kinds `st.altair_chart` takes: a chart handed on (the Data
# page's catalogue, an export) keeps a type Streamlit accepts, where altair's common base
# (`TopLevelMixin`) is refused.
AnyChart: TypeAlias = alt.Chart | alt.FacetChart | alt.LayerChart

# Series colours named in the spec, not left to the renderer: the page (Streamlit's theme) and
# an exported PNG or SVG (vl-convert's default) then draw a chart alike.
SERIES_COLOURS = ("#4c78a8", "#f58518", "#54a24b")
# The bars of a pipeline's stages, on the forecast's funnels and its back-test.
STAGE_COLOUR = "#4c78a8"


# A chart drawn again on every slider step (the MQL page's) is compiled once with its data
# referenced by name (`Live`) and handed new data on each step: Altair neither builds nor
# validates the spec again, and the browser, handed the same spec, replaces only the datasets
# whose bytes changed instead of embedding the chart anew (Streamlit's Vega-Lite element
# compares the spec, then each dataset's bytes). Each layout is written once, over a `Source`:
# the frames themselves (the full chart an export draws) or their names (the page's).
Source: TypeAlias = Callable[[str], pl.DataFrame | alt.NamedData]


@dataclass(frozen=True)
class Live:
    """A chart's compiled Vega-Lite spec, its data referenced by name, that data, and the
    layout both were drawn from."""

    spec: Mapping[str, Any]
    data: Mapping[str, pl.DataFrame]
    layout: Callable[[Source], AnyChart]

    def vega_lite(self) -> dict[str, Any]:
        """The spec with its data, as `st.vega_lite_chart` takes it: a new dict each time, as
        Streamlit moves the datasets out of the one it is given."""
        return {**self.spec, "datasets": dict(self.data)}

    def chart(self) -> AnyChart:
        """The same chart as Altair, its data inside (an export, the Data page's catalogue)."""
        return self.layout(self.data.__getitem__)


def compiled(chart: AnyChart) -> dict[str, Any]:
    """`chart` validated as `st.altair_chart` sends it: without Altair's default theme (the
    page draws Streamlit's) and without datasets (its data is named, and given on each step)."""
    return {**chart.to_dict(context={"top_level": False}), "$schema": alt.SCHEMA_URL}
