"""The server `make run` starts: app.py behind a warm-up that imports the pages and reads and
scores the store while the server opens, so the first visitor does not wait for it, and a page
that says it is opening from its first paint.

`streamlit run serve.py -- --db PATH` finds the `st.App` below and serves app.py as
`streamlit run app.py` would. The warm-up runs on a thread of its own: the server answers at
once, and a visit that arrives early waits only for what is still being computed (each cache
entry is computed once, under Streamlit's per-key lock). `GET /_funnel/warm` says whether it
has finished and how long it took (the benchmarks wait for it).
"""

import logging
import re
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_log = logging.getLogger("funnel")
_warm: dict[str, float | bool | None] = {"done": False, "seconds": None}

# Streamlit's page is blank until its scripts have loaded, opened the websocket and drawn the
# first element: about a second here, longer on a server still reading a big store. The line
# below is in the page itself, so it shows with the first paint, and hides (CSS alone, no
# script) once the app has drawn anything in its main area. It is set in the system's font:
# text in a web font still loading (Streamlit's, at that moment) is not painted at all.
OPENING = """<style>
#funnel-opening { position: fixed; inset: 0; z-index: 1000; display: flex; align-items: center;
  justify-content: center; gap: 0.75rem; pointer-events: none;
  font: 1.05rem system-ui, sans-serif; color: #31333f; }
#funnel-opening::before { content: ""; width: 1rem; height: 1rem; border-radius: 50%;
  border: 2px solid #d5dae5; border-top-color: #ff4b4b; animation: funnel-spin 0.8s linear infinite; }
@keyframes funnel-spin { to { transform: rotate(360deg); } }
body:has([data-testid="stMain"] [data-testid="stElementContainer"]:not(:empty)) #funnel-opening {
  display: none; }
</style>
<div id="funnel-opening" role="status">Opening funnel…</div>
"""


class OpeningLine:
    """Writes `OPENING` into every HTML page the server sends, and names the tab "funnel".

    A navigation asks for its page uncompressed (the page is 8 kB, on this machine's own
    network), so the body can be edited; the page's validators go, since they name the file
    on disk and not the page sent.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = scope["type"] == "http" and scope["method"] == "GET"
        headers = dict(scope["headers"]) if page else {}
        if b"text/html" not in headers.get(b"accept", b""):
            await self.app(scope, receive, send)
            return
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]}
        start: Message | None = None
        body: list[bytes] = []

        async def edited(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await _send_page(send, start, b"".join(body))

        await self.app(scope, receive, edited)


async def _send_page(send: Send, start: Message, body: bytes) -> None:
    kept = [
        (k, v) for k, v in start["headers"] if k not in (b"content-length", b"etag", b"last-modified")
    ]
    if any(k == b"content-type" and v.startswith(b"text/html") for k, v in kept):
        body = with_opening_line(body)
    await send({**start, "headers": [*kept, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


_HEAD = re.compile(rb"<head>(.*?)</head>(.*?<body[^>]*>)", re.S)
_STAYS_IN_HEAD = re.compile(rb"<meta[^>]*>|<title>.*?</title>|<link rel=\"shortcut icon\"[^>]*>", re.S)


def with_opening_line(page: bytes) -> bytes:
    """`page` with the tab named funnel and `OPENING` first in its body.

    A stylesheet in the head holds back the page's first paint until it has loaded (0.3 s and
    more from a server still warming up). So the head keeps its meta tags and title, and its
    stylesheets and scripts move to just after the line, in their order: there they hold back
    only what follows them, and the scripts still run after the stylesheet, as before. A page
    laid out otherwise (another Streamlit release) gets the line at the end of its body.
    """
    page = page.replace(b"<title>Streamlit</title>", b"<title>funnel</title>", 1)
    found = _HEAD.search(page)
    if found is None:
        return page.replace(b"</body>", OPENING.encode() + b"</body>", 1)
    inside, between = found.group(1), found.group(2)
    stays = b"\n".join(_STAYS_IN_HEAD.findall(inside))
    moves = _STAYS_IN_HEAD.sub(b"", inside)
    head = b"<head>" + stays + b"</head>" + between + OPENING.encode() + moves
    return page[: found.start()] + head + page[found.end() :]


WARM_UP_THREAD = "funnel-warm-up"
# Streamlit warns "missing ScriptRunContext" each time a cache with a spinner is filled off a
# script run, which is what the warm-up is for: five lines in the terminal of every `make run`
# that ask nothing of the user. Quietened for the warm-up's thread only.
NO_CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"


class _QuietWarmUp(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != WARM_UP_THREAD


logging.getLogger(NO_CONTEXT_LOGGER).addFilter(_QuietWarmUp())


def _warm_up() -> None:
    started = time.perf_counter()
    import ui  # noqa: PLC0415 - the app's own imports are part of what is warmed up

    try:
        ui.warm_up(ui.db_path())
    except Exception:  # a store that cannot be read is the pages' to explain, not the server's
        _log.exception("The warm-up could not read the store; the first visit will.")
    _warm.update(done=True, seconds=round(time.perf_counter() - started, 3))


async def _warm_state(_request: Request) -> JSONResponse:
    return JSONResponse(_warm)


@asynccontextmanager
async def _lifespan(_app: st.App) -> AsyncIterator[None]:
    threading.Thread(target=_warm_up, name=WARM_UP_THREAD, daemon=True).start()
    yield


app = st.App(
    "app.py",
    lifespan=_lifespan,
    routes=[Route("/_funnel/warm", _warm_state)],
    middleware=[Middleware(OpeningLine)],
)
