"""How fresh the remote values of one sync must be, and for whom they are read.

Why: providers share remote values between ExternalSecrets (`providers/shared_reads`), and
whether a value already held is good enough depends on the reader. A routine refresh may take a
value the shared cache keeps fresh for it (re-read at least once per refresh interval, and every
reader woken when a re-read finds a new version); a new or changed ExternalSecret, or a
`force-sync`, must read values fetched after the change was seen. The reconciler states this for
the reads of one sync through a context variable, so the provider Protocol and the wrappers
around providers stay as they are; a read outside any sync (`asyncso render`, pushes) has no
`Want` and is always fresh.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator

from asyncso import model


@dataclasses.dataclass(frozen=True, slots=True)
class Want:
    """The freshness one sync asks of every remote value it reads."""

    #: The ExternalSecret reading (woken when a value it reads changes remotely).
    reader: model.Key
    #: Its refresh interval in seconds: the values it reads are re-checked at least this often
    #: for as long as it keeps reading them (0: it does not refresh periodically; no lease).
    interval: float
    #: Epoch seconds: a value fetched before this moment is not fresh enough for this read.
    not_before: float


_WANT: contextvars.ContextVar[Want | None] = contextvars.ContextVar("asyncso_want", default=None)


def current() -> Want | None:
    """The `Want` of the sync this read belongs to (None: not within a sync: read afresh)."""
    return _WANT.get()


@contextlib.contextmanager
def wanting(want: Want) -> Iterator[None]:
    """Every provider read started inside the block (and in tasks it creates) sees `want`."""
    token = _WANT.set(want)
    try:
        yield
    finally:
        _WANT.reset(token)


def not_before(
    *, now: float, interval: float, changed: bool, changed_at: float | None = None
) -> float:
    """The `Want.not_before` of a sync starting at `now`.

    A new or changed ExternalSecret (spec, labels, annotations such as `force-sync`, or its
    store) takes only values fetched after the change was seen (`changed_at`; `now` when
    unknown). A routine refresh takes values at most one interval old; without an interval
    (`refreshPolicy` OnChange / CreatedOnce, woken by a drifted target) it reads afresh.
    """
    if changed:
        seen = now if changed_at is None else min(changed_at, now)
        return seen if interval <= 0 else max(seen, now - interval)
    return now - interval if interval > 0 else now
