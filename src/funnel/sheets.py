"""What a spreadsheet would run as a formula, said once: the import warns about such cells, and
every CSV export neutralises them (OWASP's CSV injection advice: a leading apostrophe).

Why one rule: the import's warning promises that a value it names is neutralised in every
export, so the two must agree cell for cell. A text cell is formula-like when it starts with
= + @ a tab or a carriage return, or with - unless it is a plain negative number (digits, dots
and commas only: a spreadsheet reads "-1,500.5" as a number and runs nothing, while "-2+3" or
"-cmd|..." it would run). Numbers in numeric columns are never touched.

>>> neutralise(pl.DataFrame({"name": ["=1+1", "-2+3", "-1500", "Acme"]}))["name"].to_list()
["'=1+1", "'-2+3", '-1500', 'Acme']
"""

from __future__ import annotations

import polars as pl

FORMULA_START = r"^[=+@\t\r-]"
PLAIN_NEGATIVE = r"^-[0-9.,]+$"


def formula_like(cell: pl.Expr) -> pl.Expr:
    """True for the text cells of `cell` a spreadsheet would run as a formula (the rule above).

    >>> pl.select(formula_like(pl.lit("@SUM(A1)"))).item(), pl.select(formula_like(pl.lit("-5"))).item()
    (True, False)
    """
    return cell.str.contains(FORMULA_START) & ~cell.str.contains(PLAIN_NEGATIVE)


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with each formula-like text cell behind a leading apostrophe, so a spreadsheet
    shows it as text instead of running it; other cells and non-text columns are untouched."""
    text = [n for n, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(formula_like(pl.col(n))).then("'" + pl.col(n)).otherwise(pl.col(n)).alias(n)
        for n in text
    )


def to_csv(frame: pl.DataFrame) -> bytes:
    """CSV bytes, UTF-8 with a BOM (so Excel reads accents right), formula-like cells neutralised."""
    return b"\xef\xbb\xbf" + neutralise(frame).write_csv().encode("utf-8")
