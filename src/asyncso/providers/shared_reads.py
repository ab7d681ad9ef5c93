"""Current-value reads of one credential identity: from the shared cache, or in full batch calls.

Why: see `value_cache`. This is its I/O side. A read is answered from the cache when the value
held is fresh enough for the sync asking (`freshness.Want`); otherwise it waits a short window
for other reads and goes out in a batch call (`BatchGetSecretValue`: 20 ids, `GetParameters`:
10), topped up with the cached entries due soonest; a second reader of an id already in flight
shares that call when the call is fresh enough for it too. The cache's entries are re-read when
they come due (a sweep: one timer, full batch calls), and when a re-read finds a new version the
readers holding leases on it are handed to `on_change` (the operator wakes them).

With `verify` set (change detection, e.g. `ListSecrets`), a sweep first asks for the current
version of every entry in one listing and re-reads only the entries whose version changed.

Why timers and tasks on the running loop, not a task group: like `batching.Batcher`, this lives
inside a provider that is built lazily by a sync; `close()` stops it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Generic, TypeVar

from asyncso import errors, freshness, model
from asyncso.providers import value_cache

T = TypeVar("T")

#: Fetch these ids; a value or an exception per id (missing ids fail with `KeyError`).
FetchMany = Callable[[list[str]], Awaitable[Mapping[str, "T | BaseException"]]]
#: The current version of every id it can see (ids it does not list are read again).
Verify = Callable[[list[str]], Awaitable[Mapping[str, str]]]
#: Readers whose remote value changed: wake them.
OnChange = Callable[[set[model.Key]], None]

#: After a sweep call failed as a whole: retry in 1 s, doubling up to this (capped by the
#: entries' own period).
MAX_BACKOFF = 60.0


class _Flight(Generic[T]):
    """One id in one call: when the call was sent, the answer, who asked for it."""

    __slots__ = ("askers", "future", "sent")

    def __init__(self, sent: float, future: asyncio.Future[T]) -> None:
        self.sent = sent
        self.future = future
        self.askers: set[model.Key] = set()


class SharedReads(Generic[T]):
    def __init__(
        self,
        fetch_many: FetchMany[T],
        *,
        max_batch: int,
        window: float,
        version_of: Callable[[T], str],
        size_of: Callable[[T], int],
        max_bytes: int,
        on_change: OnChange | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch_many = fetch_many
        self.max_batch = max(1, max_batch)
        self.window = window
        self.on_change = on_change
        #: Change detection: set to list current versions before a sweep re-reads anything.
        self.verify: Verify | None = None
        self._clock = clock
        self.cache: value_cache.ValueCache[T] = value_cache.ValueCache(
            version_of=version_of, size_of=size_of, max_bytes=max_bytes
        )
        self._pending: dict[str, _Flight[T]] = {}
        self._in_flight: dict[str, _Flight[T]] = {}
        self._window_timer: asyncio.TimerHandle | None = None
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._sweep_at = math.inf
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures = 0
        #: Calls made (batch calls and listings) and reads answered from the cache.
        self.calls = 0
        self.hits = 0

    # --- reads ---------------------------------------------------------------------------------

    async def get(self, ident: str) -> T:
        """The current value of `ident`, as fresh as the sync asking needs."""
        value, flight = self._request(ident)
        if flight is None:
            assert value is not None
            return value
        return await asyncio.shield(flight.future)

    def peek(self, ident: str) -> T | None:
        """The value of `ident` if one held is fresh enough for the sync asking, else None
        (nothing is sent: the caller then `get`s it). Renews the sync's lease like `get`."""
        want = freshness.current()
        if want is None:
            return None
        return self._held(ident, want, now=self._clock())

    def _held(self, ident: str, want: freshness.Want, *, now: float) -> T | None:
        self.cache.lease(ident, want.reader, interval=want.interval, now=now)
        value = self.cache.lookup(ident, not_before=want.not_before)
        if value is not None:
            self.hits += 1
        return value

    def prefetch(self, ident: str) -> None:
        """Start reading `ident` for a sync that will ask for it soon, as fresh as that sync
        needs (the same `freshness.Want`), without waiting: reads announced together go out
        in full batch calls, where syncs starting one by one would trickle in."""
        self._request(ident)

    def _request(self, ident: str) -> tuple[T | None, _Flight[T] | None]:
        """A value fresh enough from the cache, or the call (in flight or pending) to await."""
        want = freshness.current()
        now = self._clock()
        reader: model.Key | None = None
        # Outside a sync: never a value held, but a call already in flight is shared (it was
        # sent a moment ago, for a read that overlaps this one).
        not_before = -math.inf
        if want is not None:
            reader, not_before = want.reader, want.not_before
            value = self._held(ident, want, now=now)
            if value is not None:
                return value, None
        flight = self._in_flight.get(ident)
        if flight is None or flight.sent < not_before:
            flight = self._pending.get(ident)
            if flight is None:
                flight = self._pending[ident] = _Flight(
                    math.inf, asyncio.get_running_loop().create_future()
                )
                self.cache.claim(ident)
                if len(self._pending) >= self.max_batch:
                    self._flush()
                elif self._window_timer is None:
                    loop = asyncio.get_running_loop()
                    self._window_timer = loop.call_later(self.window, self._flush)
        if reader is not None:
            flight.askers.add(reader)
        return None, flight

    def _flush(self) -> None:
        if self._window_timer is not None:
            self._window_timer.cancel()
            self._window_timer = None
        pending, self._pending = self._pending, {}
        now = self._clock()
        batches = value_cache.chunks(pending, self.max_batch)
        for batch in batches[:-1]:
            self._start(batch, pending)
        if batches:
            last = batches[-1]
            self._start(last + self.cache.soonest(self.max_batch - len(last), now=now), pending)

    # --- sweeps --------------------------------------------------------------------------------

    def _arm(self) -> None:
        """Set the sweep timer for the soonest entry due (if not set for sooner already)."""
        due = self.cache.next_due()
        if due is None or due >= self._sweep_at:
            return
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
        self._sweep_at = due
        delay = max(0.0, due - self._clock())
        self._sweep_timer = asyncio.get_running_loop().call_later(delay, self.sweep)

    def sweep(self) -> None:
        """Re-read what is due now (the sweep timer calls it)."""
        self._sweep_timer, self._sweep_at = None, math.inf
        now = self._clock()
        if self.verify is not None:
            due = self.cache.next_due()
            if due is not None and due <= now:
                self._spawn(self._verify_all(self.verify, self.cache.take_all(now), sent=now))
        else:
            batches = value_cache.chunks(self.cache.due(now), self.max_batch)
            for batch in batches[:-1]:
                self._start(batch, {})
            if batches:
                last = batches[-1]
                self._start(last + self.cache.soonest(self.max_batch - len(last), now=now), {})
        self._arm()

    async def _verify_all(self, verify: Verify, ids: list[str], *, sent: float) -> None:
        """Change detection: one listing; re-read only what is not at the version held."""
        if not ids:
            return
        self.calls += 1
        try:
            versions = await verify(ids)
        except BaseException as exc:
            self._failed_call(ids, exc)
            return
        self._failures = 0
        now = self._clock()
        stale = [
            ident
            for ident in ids
            if not self.cache.confirm(ident, versions.get(ident, ""), fetched_at=sent, now=now)
        ]
        for batch in value_cache.chunks(stale, self.max_batch):
            self._start(batch, {})
        self._arm()

    # --- calls ---------------------------------------------------------------------------------

    def _start(self, batch: list[str], asked: Mapping[str, _Flight[T]]) -> None:
        """Send one batch call for `batch` (flights of waiting readers from `asked`)."""
        batch = list(dict.fromkeys(batch))  # a filler may also have been asked for
        if not batch:
            return
        sent = self._clock()
        loop = asyncio.get_running_loop()
        flights: dict[str, _Flight[T]] = {}
        for ident in batch:
            flight = asked.get(ident) or _Flight(sent, loop.create_future())
            flight.sent = sent
            flights[ident] = self._in_flight[ident] = flight
        self._spawn(self._run(flights, sent=sent))

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, flights: dict[str, _Flight[T]], *, sent: float) -> None:
        ids = list(flights)
        self.calls += 1
        try:
            results = await self._fetch_many(ids)
        except BaseException as exc:  # the whole call failed: every reader gets the error
            self._land(flights)
            self._failed_call(ids, exc)
            _settle_all(flights, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        self._failures = 0
        self._land(flights)
        now = self._clock()
        wake: set[model.Key] = set()
        for ident, flight in flights.items():
            result = results.get(ident, KeyError(ident))
            # Who asked already gets the answer: waking them would only sync them twice.
            if isinstance(result, errors.RemoteSecretNotFoundError):
                wake |= self.cache.gone(ident, now=now) - flight.askers
            elif isinstance(result, BaseException):
                self.cache.failed(ident, now=now)
            else:
                wake |= self.cache.put(ident, result, fetched_at=sent, now=now) - flight.askers
            if flight.future.done():
                continue
            if isinstance(result, BaseException):
                flight.future.set_exception(result)
                flight.future.exception()  # nobody may be waiting: mark it retrieved
            else:
                flight.future.set_result(result)
        if wake and self.on_change is not None:
            self.on_change(wake)
        self._arm()

    def _land(self, flights: dict[str, _Flight[T]]) -> None:
        for ident, flight in flights.items():
            if self._in_flight.get(ident) is flight:
                del self._in_flight[ident]

    def _failed_call(self, ids: list[str], exc: BaseException) -> None:
        """A call failed as a whole: its entries are tried again after a growing delay."""
        self._failures += 1
        backoff = min(MAX_BACKOFF, 2.0 ** (self._failures - 1))
        now = self._clock()
        for ident in ids:
            self.cache.failed(ident, now=now, backoff=backoff)
        if not isinstance(exc, asyncio.CancelledError):
            self._arm()

    async def close(self) -> None:
        """Stop the timers and the calls in flight."""
        for timer in (self._window_timer, self._sweep_timer):
            if timer is not None:
                timer.cancel()
        self._window_timer = self._sweep_timer = None
        self._sweep_at = math.inf
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pending, self._pending = self._pending, {}
        _settle_all(pending, asyncio.CancelledError())


def _settle_all(flights: Mapping[str, _Flight[T]], exc: BaseException) -> None:
    for flight in flights.values():
        if flight.future.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            flight.future.cancel()
        else:
            flight.future.set_exception(exc)
            flight.future.exception()
