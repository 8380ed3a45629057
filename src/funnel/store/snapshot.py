"""A columnar copy of the leads beside the store: the fast path of a cold open.

SQLite hands a million leads to Arrow row by row: 1.7 s here, most of a cold open of the MQL
page. The same frame read back from a Parquet file takes about 0.1 s (an Arrow IPC file, the
first format of the copy, took 0.3 s and five times the disk: Parquet's dictionaries hold a
company or a job title once). So whenever the leads are read from SQLite, the typed frame is
also written beside the store, as `<store>.leads-v2-<token>-a<answers revision>.parquet`, and
the next read (another session, a restarted server, the CLI) takes it from there.

The copy is a cache, never the truth. Its name carries the store's leads token, which every
funnel write that changes leads replaces and which turns `dirty` when another program changes
a lead (`m005_leads_token`), and the revision of sales' last answer. A copy is used only when
both are the store's and it reads back whole with the columns of today's field list; one that
is missing, stale or damaged is rebuilt from SQLite, except that a copy of the same token made
before sales' latest answers is read with the answers laid over it (an answer changes only
sales' columns of a lead, and is never taken back). A copy is written only from a read during
which neither changed.

What no date changes and is costly to compute from the leads (the rules' points and the
back-test's scores: 2.9 s at ten million leads) is kept beside them the same way (`derived`),
named with the token of the leads it was computed from; and so are a page's few figures of
them (`kept`: the MQL page's cutoff grid), which a restarted server then draws without
reading the leads at all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlite_utils import Database

from funnel import sal
from funnel.models import LEAD_FIELDS
from funnel.store.connection import answers_revision, db_file, leads_token
from funnel.store.migrations import DIRTY

FORMAT = "v2"
"""Bumped when the copy's columns change, so a copy made by an older funnel is never read."""

COLUMNS = ["id", *(f.name for f in LEAD_FIELDS)]

DERIVED_KEPT = 4
"""Derived copies kept per store: the current model's, and a few drafts or earlier versions
(each is two to four numbers a lead: 300 MB at ten million leads)."""

KEPT_FILES = 24
"""Files `kept` holds per store: a few filters' figures of a few models."""

_SAVING = threading.Lock()


def path_for(store: Path, token: str, answers: int) -> Path:
    """Where the copy of the leads under (`token`, answers revision) lives: beside the store."""
    return store.with_name(f"{store.name}.leads-{FORMAT}-{token}-a{answers}.parquet")


def copies(store: Path, kind: str = "leads") -> list[Path]:
    """Every copy of this store's leads (or of what `derived` or `kept` keeps, `kind`
    "derived" or "kept") on disk, current or left over (of either format)."""
    return sorted(
        path
        for suffix in ("arrow", "parquet")
        for path in store.parent.glob(f"{store.name}.{kind}-*.{suffix}")
    )


@dataclass(frozen=True)
class Leads:
    """Every lead, and what names them: `token`, the leads token they were read under (None
    when it changed during the read, or is dirty: nothing may be kept under it), and `answers`,
    an answers revision whose answers they all hold."""

    frame: pl.DataFrame
    token: str | None
    answers: int


def leads(
    db: Database,
    read: Callable[[Database], pl.DataFrame],
    answered: Callable[[Database], pl.DataFrame],
) -> Leads:
    """Every lead: from the copy when it is the store's; from a copy of these leads made before
    sales' latest answers, with every `answered` lead's answer laid over it; else `read` from
    SQLite. Then copied, when it was not read from the store's copy."""
    token, answers = leads_token(db), answers_revision(db)
    store = db_file(db)
    path = path_for(store, token, answers)
    if token != DIRTY and (frame := _load(path)) is not None:
        return Leads(frame, token, answers)
    if token != DIRTY and (earlier := _earlier(store, token)) is not None:
        # Same token, so the same leads but for sales' columns: a meeting's answers cost
        # reading the answers (0.8 s at ten million leads), not every lead (25 s).
        frame = sal.laid_over(earlier, answered(db))
    else:
        frame = read(db)
    if token != DIRTY and leads_token(db) == token:
        if answers_revision(db) == answers:
            _save(path, frame, copies(store))
        return Leads(frame, token, answers)
    return Leads(frame, None, answers)


def _earlier(store: Path, token: str) -> pl.DataFrame | None:
    """The newest readable copy of the leads under `token` at an earlier answers revision."""
    prefix = f"{store.name}.leads-{FORMAT}-{token}-a"
    found = [
        (int(rest), path)
        for path in copies(store)
        if path.name.startswith(prefix)
        and path.suffix == ".parquet"
        and (rest := path.name[len(prefix) : -len(".parquet")]).isdigit()
    ]
    for _, path in sorted(found, reverse=True):
        if (frame := _load(path)) is not None:
            return frame
    return None


def derived(
    store: Path, leads: Leads, name: str, compute: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """`compute(leads.frame)`, a frame of one row per lead that only the leads' columns other
    than sales' answers decide, kept beside the store as `<store>.derived-<name>-<token>.parquet`
    and read back from there while the leads keep their token.

    `name` must name everything else the frame depends on (the model, the code's formulas).
    Like the leads' copy it is a cache: read only whole, with one row per lead; a missing or
    damaged one is computed again; none is kept for leads without a token. Copies of other
    tokens are removed when one is written, and under this token all but the newest
    `DERIVED_KEPT` (a model saved, then undone, is read back).
    """
    if leads.token is None:
        return compute(leads.frame)
    path = store.with_name(f"{store.name}.derived-{name}-{leads.token}.parquet")
    frame = _load(path)
    if frame is not None and frame.height == leads.frame.height:
        return frame
    frame = compute(leads.frame)
    _save(path, frame, _crowded(store, "derived", leads.token, path, DERIVED_KEPT))
    return frame


def kept(
    db: Database,
    name: str,
    parts: tuple[str, ...],
    compute: Callable[[], tuple[dict[str, pl.DataFrame], str | None]],
) -> dict[str, pl.DataFrame]:
    """A few small frames of the leads (a page's figures, named `parts`), kept beside the
    store as `<store>.kept-<name>-<part>-<token>.parquet` and read back while the leads keep
    their token, without reading the leads.

    `compute` returns the parts and the token of the leads it computed them from (`Leads.token`):
    they are kept only when that is the store's token as read here, so figures of leads read
    before another write are never named for the leads after it. `name` must name everything
    else the parts depend on (the answers revision, the model, the filter, the code's
    formulas). A cache like the others: every part is read whole or all are computed again;
    a dirty token keeps nothing. Files of other tokens are removed when one is written, and
    under this token all but the newest `KEPT_FILES`.
    """
    token, store = leads_token(db), db_file(db)
    paths = {part: store.with_name(f"{store.name}.kept-{name}-{part}-{token}.parquet") for part in parts}
    if token != DIRTY:
        loaded = {part: _load(path) for part, path in paths.items()}
        if all(frame is not None for frame in loaded.values()):
            return loaded  # type: ignore[return-value]
    frames, made_under = compute()
    if token != DIRTY and made_under == token:
        for part, path in paths.items():
            _save(path, frames[part], _crowded(store, "kept", token, path, KEPT_FILES))
    return frames


def _crowded(store: Path, kind: str, token: str, path: Path, limit: int) -> list[Path]:
    """What writing `path` leaves stale among the copies of `kind`: every copy of another
    token, and this token's oldest beyond `limit` with `path` written."""
    others = [old for old in copies(store, kind) if old != path]
    mine = sorted((old for old in others if old.stem.endswith(token)), key=_age)
    stale = [old for old in others if not old.stem.endswith(token)]
    return stale + mine[: max(len(mine) - limit + 1, 0)]


def _age(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def keep(db: Database, frame: pl.DataFrame, written: int) -> None:
    """Write `frame`, every lead as this process just wrote them, as the copy of the leads, so
    the next read skips SQLite (a demo seed: the frame is in memory already).

    `written` is the revision of the write that wrote them. The copy is kept only while it is
    still the store's revision and the token is clean: then no write, funnel's or another
    program's, came between, and the copy is named with the token those leads carry. The
    frame must be what `leads` would read: `COLUMNS`, typed per `LEAD_FIELDS`, by id.
    """
    # One statement, one read transaction: the revision and the token belong together.
    meta = dict(
        db.execute(
            "SELECT key, value FROM meta WHERE key IN ('revision', 'leads_token', 'answers_revision')"
        ).fetchall()
    )
    token = str(meta.get("leads_token", DIRTY))
    if int(meta["revision"]) != written or token == DIRTY:
        return
    store = db_file(db)
    _save(
        path_for(store, token, int(meta.get("answers_revision", 0))),
        frame.select(COLUMNS),
        copies(store),
    )


def _load(path: Path) -> pl.DataFrame | None:
    """The copy at `path`, or None when it is missing or cannot be read whole (then removed).

    Parquet is read through the file, not mapped: the peak is the frame itself (an Arrow IPC
    copy read whole held its mapped pages beside the decoded frame, 7.2 GB at ten million
    leads). A copy of the leads must have today's columns; a derived one is checked by its
    caller.
    """
    try:
        if ".leads-" in path.name and list(pl.read_parquet_schema(path)) != COLUMNS:
            path.unlink(missing_ok=True)
            return None
        return pl.read_parquet(path)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged cache is rebuilt, whatever broke in it
        path.unlink(missing_ok=True)
        return None


def _save(path: Path, frame: pl.DataFrame, stale: list[Path]) -> None:
    """Write the copy atomically (a reader sees all of it or none of it) and remove the
    `stale` ones. A copy that cannot be written (a read-only folder, a full disk) is not
    kept: the frame was computed, and the next read computes it again."""
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    with _SAVING:
        try:
            # One row group: one chunk per column read back, as `leads` reads them from SQLite.
            frame.write_parquet(
                partial, compression="lz4", statistics=False, row_group_size=max(frame.height, 1)
            )
            os.replace(partial, path)
        except OSError:
            partial.unlink(missing_ok=True)
            return
        for old in stale:
            if old != path:
                old.unlink(missing_ok=True)
