"""Names for what is kept beside the store: the code that computed it and what it was for.

A frame kept on disk is read back by a later server, perhaps running other code: its name
carries a digest of the source of the modules whose formulas computed it, so a frame computed
by other formulas is never read back as these.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from types import ModuleType


@functools.cache
def _digest(module: ModuleType) -> str:
    return hashlib.sha256(inspect.getsource(module).encode()).hexdigest()


def name(modules: tuple[ModuleType, ...], *key: object) -> str:
    """Sixteen hex digits naming `key` (a model, a filter, a revision) as computed by the code
    of `modules`."""
    digests = tuple(_digest(module) for module in modules)
    return hashlib.sha256(repr((digests, key)).encode()).hexdigest()[:16]
