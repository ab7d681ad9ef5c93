"""Pure: which Events are repeats, as client-go's recorder decides it (its `EventCorrelator`).

Why: a failing ExternalSecret retries with backoff and reports each attempt; one new Event per
attempt is an Event storm (issue 10 measured ~330 a minute for 50 ExternalSecrets in an AWS
outage), which floods `kubectl get events` and etcd. client-go's recorder records the first
occurrence and, for an Event with the same involved object, type, reason, message and source,
patches that Event's `count` and `lastTimestamp` instead. This is that part of it (not its
"similar events" aggregation, nor its spam filter), per process: after a restart the next repeat
creates a new Event. The adapter (`kube`) does the HTTP.
"""

from __future__ import annotations

import collections
import dataclasses

#: client-go's `maxLruCacheEntries`.
MAX_ENTRIES = 4096
#: A repeat later than this after the last one starts a new Event (client-go's aggregation
#: interval, 10 minutes).
WINDOW_SECONDS = 600.0


@dataclasses.dataclass(frozen=True)
class EventKey:
    """What makes two Events the same Event."""

    namespace: str
    kind: str
    name: str
    uid: str
    type: str
    reason: str
    message: str
    component: str


@dataclasses.dataclass(frozen=True)
class Occurrence:
    """The Event to record: `count` 1 means create `name`; more means patch `name`'s count."""

    name: str
    count: int
    first_timestamp: str


@dataclasses.dataclass
class _Entry:
    name: str
    count: int
    first_timestamp: str
    last_seen: float


class Correlator:
    """An LRU of the Events this process recorded (bounded, so memory stays flat)."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, window: float = WINDOW_SECONDS) -> None:
        self._max = max(1, max_entries)
        self._window = window
        self._seen: collections.OrderedDict[EventKey, _Entry] = collections.OrderedDict()

    def observe(self, key: EventKey, *, now: float, timestamp: str, new_name: str) -> Occurrence:
        """Record one more occurrence of `key` at `now` (`timestamp` is `now` as the apiserver
        writes times); `new_name` is used when this starts a new Event."""
        entry = self._seen.get(key)
        if entry is None or now - entry.last_seen > self._window:
            entry = _Entry(new_name, 0, timestamp, now)
        entry.count += 1
        entry.last_seen = now
        self._seen[key] = entry
        self._seen.move_to_end(key)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return Occurrence(entry.name, entry.count, entry.first_timestamp)

    def forget(self, key: EventKey) -> None:
        """The Event could not be recorded or patched (gone, expired): the next occurrence
        creates a new one."""
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)
