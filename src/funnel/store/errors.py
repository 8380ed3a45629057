"""What can go wrong with the store, said so that the user can act on it.

The store's own refusals are `StoreError`s whose message a page shows as it is; an error SQLite
itself raised (a read-only file, a full disk, a table dropped by another program) becomes a
sentence through `failure_message`, so no page ever shows a traceback for it.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path


class StoreError(Exception):
    """A problem with the store that the user can act on; the message says what and where."""


class NotAFunnelStoreError(StoreError):
    """The file exists but is not a funnel store; it is never written to."""


class StaleVersionError(StoreError):
    """A save was based on a version that another session has since replaced."""


class NothingToSaveError(StoreError):
    """A save that would change nothing: nothing is written, and the user is told so."""


def failure_message(error: Exception, path: Path | str) -> str | None:
    """A sentence saying what went wrong with the store at `path` and what to do, for an error
    SQLite itself raised (through either driver); None for any other error.

    A page shows this instead of a traceback: the user can act on a read-only file, a full
    disk or a table dropped by another program, not on a stack of frames.
    """
    text = str(error)
    if not (isinstance(error, sqlite3.Error) or type(error).__module__.startswith("adbc_")):
        return None
    if "readonly" in text or "read-only" in text:
        return (
            f"The store {path} is read-only, so nothing can be saved: make the file and its "
            "folder writable (or open a copy with --db), then try again. Nothing was changed."
        )
    if "full" in text:
        return f"The disk holding {path} is full: free some space, then try again. Nothing was saved."
    if missing := re.search(r"no such (table|column): ([\w.]+)", text):
        return (
            f"The store {path} has no {missing.group(1)} '{missing.group(2)}' (was it changed by "
            "another program?): restore a backup (`python -m funnel restore FILE`) or open "
            "another store with --db."
        )
    if "locked" in text or "busy" in text:
        return f"The store {path} is busy with another program's long write: try again in a moment."
    if "I/O" in text:
        return (
            f"The store {path} could not be read or written (disk I/O error: is the disk full or "
            "failing?): free some space or check the disk, then try again. Nothing was saved."
        )
    if "malformed" in text or "not a database" in text:
        return (
            f"The store {path} cannot be read ({text[:200]}): restore a backup "
            "(`python -m funnel restore FILE`) or open another store with --db."
        )
    return (
        f"The store {path} failed ({text[:200]}): try again; if it happens again, restore a "
        "backup or open another store with --db."
    )
