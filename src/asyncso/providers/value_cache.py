"""The remote values read through one credential identity, kept fresh for their readers.

Why: at thousands of ExternalSecrets, most reads of a refresh cycle ask for values another
ExternalSecret read moments ago, and each ExternalSecret wakes on its own timer, so a short batch
window catches only one or two of them. Instead the values are held here, one entry per remote
secret, and re-read on the entries' own schedule, in full batch calls:

- an entry's readers hold leases on it: (refresh interval, until when), renewed at every read;
- an entry is due again one `period` after it was fetched: its readers' shortest interval less a
  small margin, so a change in AWS is fetched within every reader's interval; a re-read that
  finds another version names the readers to wake (`put`), who then sync at once;
- a batch call is topped up to its limit with the entries due soonest (`soonest`), so calls are
  full and entries settle into groups that are re-read together;
- an entry nobody leases any more is dropped when it comes due; values beyond `max_bytes` are
  not kept (the version is, so changes are still seen) and such reads go to AWS each time.

One cache per identity (`shared_reads.SharedReads` lives in the provider of one identity), so a
value fetched with one store's credentials is never served to another store. Pure bookkeeping:
time is passed in; `shared_reads` does the calls.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import zlib
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from asyncso import model

T = TypeVar("T")

#: A lease lasts this many of its reader's intervals after a read, plus `LEASE_GRACE` seconds
#: (at most one more interval): a refresh delayed by jitter or a busy operator keeps it; a
#: deleted reader's lapses soon.
LEASE_INTERVALS = 2.0
LEASE_GRACE = 30.0
#: An entry is re-read this much before its readers' shortest interval is over (at most
#: `MARGIN` seconds, at most `MARGIN_FRACTION` of the interval): room for the call and the
#: readers' syncs within "interval + 1 s".
MARGIN = 1.0
MARGIN_FRACTION = 0.05
#: A value read for the first time is due again after between (1 - FIRST_SPREAD) and 1 period,
#: by a fraction fixed per id: values first read together (a start-up, a mass apply) are then
#: re-read spread over the interval, not all in one burst of calls (AWS's BatchGetSecretValue
#: quota is 40 calls a second; a burst queues, and late answers are late changes).
FIRST_SPREAD = 0.25


def period(interval: float) -> float:
    """How long a value read for readers refreshing every `interval` seconds stays current."""
    return interval - min(MARGIN, MARGIN_FRACTION * interval)


def spread(ident: str) -> float:
    """A fraction in [0, 1) fixed per id (the same in every process), for `FIRST_SPREAD`."""
    return zlib.crc32(ident.encode()) / 2**32


@dataclasses.dataclass(slots=True)
class Entry(Generic[T]):
    """One remote secret (current version) as read through this identity."""

    #: The value held, None when not fetched yet or over the memory budget.
    value: T | None = None
    version: str = ""
    #: True once a value was fetched (`version` and `fetched_at` mean something).
    known: bool = False
    #: When the call that fetched it was sent (epoch seconds).
    fetched_at: float = -math.inf
    #: When it must be read again (inf while a call reads it, or while unknown).
    due: float = math.inf
    size: int = 0
    #: A call reading it is in flight.
    busy: bool = False
    #: reader → (its refresh interval, lease end).
    leases: dict[model.Key, tuple[float, float]] = dataclasses.field(default_factory=dict)


class ValueCache(Generic[T]):
    """Entries by remote id, the due heap, leases, the memory budget."""

    def __init__(
        self,
        *,
        version_of: Callable[[T], str],
        size_of: Callable[[T], int],
        max_bytes: int,
        first_spread: float = FIRST_SPREAD,
    ) -> None:
        self.first_spread = first_spread
        self._version_of = version_of
        self._size_of = size_of
        self.max_bytes = max_bytes
        #: Bytes of the values held (`size_of` of each).
        self.bytes = 0
        self._entries: dict[str, Entry[T]] = {}
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, ident: object) -> bool:
        return ident in self._entries

    def entry(self, ident: str) -> Entry[T] | None:
        return self._entries.get(ident)

    def ids(self) -> list[str]:
        return list(self._entries)

    # --- reads ---------------------------------------------------------------------------------

    def lookup(self, ident: str, *, not_before: float) -> T | None:
        """The value held for `ident` if it was fetched at or after `not_before`."""
        entry = self._entries.get(ident)
        if entry is None or entry.value is None or entry.fetched_at < not_before:
            return None
        return entry.value

    def lease(self, ident: str, reader: model.Key, *, interval: float, now: float) -> None:
        """`reader` reads `ident` every `interval` seconds: keep it current for that reader."""
        if interval <= 0:
            return
        entry = self._entries.get(ident)
        if entry is None:
            entry = self._entries[ident] = Entry()
        old = entry.leases.get(reader)
        until = now + interval * LEASE_INTERVALS + min(LEASE_GRACE, interval)
        entry.leases[reader] = (interval, until)
        if entry.known and not entry.busy and (old is None or interval < old[0]):
            self._schedule(ident, entry, now=now)  # a shorter interval may bring it forward

    # --- answers -------------------------------------------------------------------------------

    def put(self, ident: str, value: T, *, fetched_at: float, now: float) -> set[model.Key]:
        """A value fetched by a call sent at `fetched_at`. Returns the readers to wake (every
        live lessee) when it is another version than the one held."""
        entry = self._entries.get(ident)
        if entry is None:
            entry = self._entries[ident] = Entry()
        entry.busy = False
        if entry.known and fetched_at < entry.fetched_at:
            self._schedule(ident, entry, now=now)  # a slower, older answer: keep the newer
            return set()
        version = self._version_of(value)
        first = not entry.known
        changed = not first and version != entry.version
        self._hold(entry, value)
        entry.version, entry.known, entry.fetched_at = version, True, fetched_at
        self._schedule(ident, entry, now=now, first=first)
        return self._lessees(entry, now=now) if changed else set()

    def confirm(self, ident: str, version: str, *, fetched_at: float, now: float) -> bool:
        """A listing sent at `fetched_at` says `ident` is still at `version`: the value held
        counts as fetched then. False when the entry is unknown or at another version."""
        entry = self._entries.get(ident)
        if entry is None or not entry.known or entry.version != version:
            return False
        entry.busy = False
        entry.fetched_at = max(entry.fetched_at, fetched_at)
        self._schedule(ident, entry, now=now)
        return True

    def gone(self, ident: str, *, now: float) -> set[model.Key]:
        """`ident` does not exist any more: drop it; its readers are woken when a value had
        been seen, so that each reports the loss by its own deletion policy."""
        entry = self._entries.pop(ident, None)
        if entry is None:
            return set()
        self._hold(entry, None)
        return self._lessees(entry, now=now) if entry.known else set()

    def claim(self, ident: str) -> None:
        """A call for `ident` is about to be made: it is not due (nor a filler) meanwhile."""
        entry = self._entries.get(ident)
        if entry is not None:
            entry.busy, entry.due = True, math.inf

    def failed(self, ident: str, *, now: float, backoff: float | None = None) -> None:
        """A call could not read `ident`. A whole call that failed is tried again after
        `backoff` seconds (at most one period); an id the call refused, one period later (its
        readers meet the error in their own reads meanwhile). An entry never read is forgotten:
        its readers' next reads start over."""
        entry = self._entries.get(ident)
        if entry is None:
            return
        entry.busy = False
        if not entry.known:
            del self._entries[ident]
            return
        self._schedule(ident, entry, now=now, after=math.inf if backoff is None else backoff)

    # --- what to read next ---------------------------------------------------------------------

    def next_due(self) -> float | None:
        """When the soonest entry comes due (None: nothing to re-read)."""
        heap = self._heap
        while heap:
            due, ident = heap[0]
            entry = self._entries.get(ident)
            if entry is not None and not entry.busy and entry.due == due:
                return due
            heapq.heappop(heap)
        return None

    def due(self, now: float) -> list[str]:
        """Take every entry due by `now` that still has readers (marked busy: the caller reads
        them); entries without live leases are dropped instead."""
        out: list[str] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, ident = heapq.heappop(heap)
            if self._take(ident, due, now=now):
                out.append(ident)
        return out

    def soonest(self, count: int, *, now: float) -> list[str]:
        """Take up to `count` more entries, those due soonest (to fill a batch call)."""
        out: list[str] = []
        heap = self._heap
        while heap and len(out) < count:
            due, ident = heapq.heappop(heap)
            if self._take(ident, due, now=now):
                out.append(ident)
        return out

    def take_all(self, now: float) -> list[str]:
        """Take every known entry that still has readers (a listing checks them all at once)."""
        out: list[str] = []
        for ident, entry in list(self._entries.items()):
            if entry.known and not entry.busy and self._take(ident, entry.due, now=now):
                out.append(ident)
        return out

    # --- internals -----------------------------------------------------------------------------

    def _take(self, ident: str, due: float, *, now: float) -> bool:
        entry = self._entries.get(ident)
        if entry is None or entry.busy or entry.due != due or not entry.known:
            return False  # a stale heap item
        entry.leases = {r: lease for r, lease in entry.leases.items() if lease[1] >= now}
        if not entry.leases:
            self._hold(entry, None)
            del self._entries[ident]
            return False
        entry.busy, entry.due = True, math.inf
        return True

    def _schedule(
        self,
        ident: str,
        entry: Entry[T],
        *,
        now: float,
        after: float | None = None,
        first: bool = False,
    ) -> None:
        """Due one period after it was fetched (spread when first read; or `after` seconds from
        now, at most one period); an entry nobody reads any more comes up when its last lease
        ends, to go."""
        live = [interval for interval, until in entry.leases.values() if until >= now]
        if not live:
            until = max((until for _, until in entry.leases.values()), default=now)
            entry.due = max(until, now)
        elif after is not None:
            entry.due = now + min(after, period(min(live)))
        else:
            early = self.first_spread * spread(ident) if first else 0.0
            entry.due = entry.fetched_at + period(min(live)) * (1.0 - early)
        heapq.heappush(self._heap, (entry.due, ident))

    def _hold(self, entry: Entry[T], value: T | None) -> None:
        """Keep `value` if the budget allows (else only its version is kept)."""
        self.bytes -= entry.size
        entry.value, entry.size = None, 0
        if value is None:
            return
        size = self._size_of(value)
        if self.bytes + size <= self.max_bytes:
            entry.value, entry.size = value, size
            self.bytes += size

    @staticmethod
    def _lessees(entry: Entry[T], *, now: float) -> set[model.Key]:
        return {r for r, (_, until) in entry.leases.items() if until >= now}


def chunks(ids: Iterable[str], size: int) -> list[list[str]]:
    """`ids` in lists of at most `size`, in order."""
    items = list(ids)
    return [items[i : i + size] for i in range(0, len(items), size)]
