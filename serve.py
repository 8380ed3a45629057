"""The server `make run` starts: app.py behind a warm-up that imports the pages and reads and
scores the store while the server opens, so the first visitor does not wait for it.

`streamlit run serve.py -- --db PATH` finds the `st.App` below and serves app.py as
`streamlit run app.py` would. The warm-up runs on a thread of its own: the server answers at
once, and a visit that arrives early waits only for what is still being computed (each cache
entry is computed once, under Streamlit's per-key lock). `GET /_funnel/warm` says whether it
has finished and how long it took (the benchmarks wait for it).
"""

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_log = logging.getLogger("funnel")
_warm: dict[str, float | bool | None] = {"done": False, "seconds": None}


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
    threading.Thread(target=_warm_up, name="funnel-warm-up", daemon=True).start()
    yield


app = st.App("app.py", lifespan=_lifespan, routes=[Route("/_funnel/warm", _warm_state)])
