"""The line serve.py writes into the page it sends, so a visitor sees the app opening from the
first paint instead of a blank page."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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


def served(
    method: str, accept: bytes, content_type: bytes, body: bytes
) -> tuple[dict[bytes, bytes], bytes, bytes | None]:
    """What the browser gets from `serve.OpeningLine` over an app answering `body`, and the
    compression the app was asked for."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["encoding"] = dict(scope["headers"]).get(b"accept-encoding")
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send(
            {"type": "http.response.start", "status": 200, "headers": [*headers, (b"etag", b'"x"')]}
        )
        await send({"type": "http.response.body", "body": body[:5], "more_body": True})
        await send({"type": "http.response.body", "body": body[5:]})

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "headers": [(b"accept", accept), (b"accept-encoding", b"gzip")],
    }
    # On a thread of its own: the browser tests leave an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, serve.OpeningLine(app)(scope, None, send)).result()
    sent_body = b"".join(m.get("body", b"") for m in sent[1:])
    return dict(sent[0]["headers"]), sent_body, seen["encoding"]


def test_a_navigation_gets_the_page_with_the_line_whole_and_uncompressed() -> None:
    page = b"<html><head><title>Streamlit</title></head><body><div id='root'></div></body></html>"

    headers, body, asked = served("GET", b"text/html,*/*", b"text/html; charset=utf-8", page)

    assert asked is None  # not gzipped, so it can be edited
    assert body == serve.with_opening_line(page) and b"funnel-opening" in body
    assert headers[b"content-length"] == str(len(body)).encode() and b"etag" not in headers


def test_scripts_data_and_head_requests_pass_through_untouched() -> None:
    page = b"<html><body></body></html>"
    for method, accept, kind in (
        ("GET", b"*/*", b"application/javascript"),
        ("HEAD", b"text/html", b"text/html"),
    ):
        headers, body, asked = served(method, accept, kind, page)
        assert body == page and headers[b"etag"] == b'"x"' and asked == b"gzip", (method, accept)
