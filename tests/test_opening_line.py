"""The line serve.py writes into the page it sends, so a visitor sees the app opening from the
first paint instead of a blank page."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit

import serve

STREAMLIT_PAGE = Path(streamlit.__file__).parent / "static" / "index.html"
TAGS = re.compile(rb"<(?:script|link)\b[^>]*>")


def test_the_line_comes_before_every_stylesheet_and_script_of_streamlits_page() -> None:
    page = STREAMLIT_PAGE.read_bytes()
    sent = serve.with_opening_line(page)

    head = sent[: sent.index(b"</head>")]
    body = sent[sent.index(b"<body") :]
    assert b"<title>funnel</title>" in head and b'charset="UTF-8"' in head
    assert b'rel="stylesheet"' not in head and b"<script" not in head  # nothing holds the paint
    line = body.index(b'id="funnel-opening"')
    assert line < body.index(b'rel="stylesheet"') < body.index(b'id="root"')
    # Every stylesheet, preload and script is still sent, in Streamlit's order; the tab's icon
    # stays in the head.
    icon = [t for t in TAGS.findall(page) if b"shortcut icon" in t]
    assert len(icon) == 1 and icon[0] in head
    assert TAGS.findall(sent) == icon + [t for t in TAGS.findall(page) if t not in icon]


def test_a_page_laid_out_otherwise_gets_the_line_at_the_end_of_its_body() -> None:
    page = b"<html><body><div id='root'></div></body></html>"

    assert serve.with_opening_line(page) == (
        b"<html><body><div id='root'></div>" + serve.OPENING.encode() + b"</body></html>"
    )
