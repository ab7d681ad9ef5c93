"""One coroutine per ExternalSecret: its refresh timer, its wake-ups, its backoff; and the global
concurrency cap shared by all of them, with new and changed ExternalSecrets served first.

Why a coroutine each: the timer of one ExternalSecret is its own business — a sleeping coroutine
costs a few KB and no thread, so 10k+ timers are cheap, and one failing ExternalSecret backs off
without holding a queue slot others need. Why priority slots: a user who just applied an
ExternalSecret must not wait behind thousands of routine refreshes (ESO users report 5-15 min
first-sync delays at ~2,000 ExternalSecrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from typing import Protocol

import anyio
import anyio.abc

from asyncso import model, observability, timing

log = logging.getLogger("asyncso.scheduler")

URGENT = 0
ROUTINE = 1
#: A recovery wake-up (`Scheduler.recover`) comes after a random delay of up to this many
#: seconds, so the readers of a store that answers again do not all call it in the same instant.
RECOVERY_JITTER = 2.0
#: How often the groups to probe are asked for (`probes`): one backed-off reader of each group
#: is let through, so that a provider answering again is noticed however long the readers'
#: backoffs have grown (which stores are due is `provider_health`'s decision).
PROBE_INTERVAL = 4.0


class PrioritySlots:
    """A semaphore whose waiters are served by priority, then first come first served."""

    def __init__(self, limit: int) -> None:
        self._free = max(1, limit)
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[None]:
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._counter), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # we were handed a slot but will not use it
            raise

    def _release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1

    @property
    def contended(self) -> bool:
        """Whether anyone waits for a slot (O(1); may count a waiter that just gave up)."""
        return bool(self._waiters)

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, f in self._waiters if not f.done())


class Wake:
    """`asyncio.Event`'s `set`, `clear`, `is_set` and `wait` in about 100 bytes, where an
    `asyncio.Event` takes 1.1 KiB (its waiters' deque): one per worker, 100,000 of them."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for future in waiters or ():
            if not future.done():
                future.set_result(True)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        future = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(future)
        try:
            await future
        finally:
            if self._waiters is not None and future in self._waiters:
                self._waiters.remove(future)
        return True


class Signal(Protocol):
    """What `Clock.wait` waits on: a `Wake` or an `asyncio.Event`."""

    def set(self) -> None: ...

    async def wait(self) -> bool: ...


@dataclasses.dataclass(slots=True)
class _Worker:
    wake: Wake
    urgent: bool
    scope: anyio.CancelScope = dataclasses.field(default_factory=anyio.CancelScope)
    #: The shield around a sync in flight (None between syncs): shutdown gives it a deadline.
    in_flight: anyio.CancelScope | None = None
    attempt: int = 0
    #: True only while the worker sleeps until its next sync (a timer or a wake).
    sleeping: bool = False
    #: A recovery wake-up is pending (at most one at a time).
    recovering: bool = False


class Clock(Protocol):
    """Epoch time, and waiting for it: injected so that tests need no real sleeps."""

    def now(self) -> float: ...

    async def wait(self, event: Signal, until: float) -> None:
        """Return when `event` is set or the time is `until`, whichever comes first."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def wait(self, event: Signal, until: float) -> None:
        # A timer handle that sets the event: a third of the memory of a cancel scope with a
        # deadline, which counts with 100,000 sleeping workers (the caller clears the event).
        timer = asyncio.get_running_loop().call_later(max(0.0, until - time.time()), event.set)
        try:
            await event.wait()
        finally:
            timer.cancel()


@dataclasses.dataclass(frozen=True)
class SyncResult:
    """What a sync reports back: did it work, and when to come back (None: only on a wake)."""

    ok: bool
    next_at: float | None
    retry: bool = False  # True: back off and try again even without a wake


CRASHED = SyncResult(ok=False, next_at=None, retry=True)


class Scheduler:
    """Owns the workers. The app calls `ensure`/`wake`/`remove` from watch events."""

    def __init__(
        self,
        sync: Callable[[model.Key], Awaitable[SyncResult]],
        *,
        is_due: Callable[[model.Key], tuple[bool, float | None]],
        concurrency: int,
        clock: Clock | None = None,
        rand: Callable[[], float] = random.random,
        grace: float = 10.0,
        probes: Callable[[], Iterable[Collection[model.Key]]] | None = None,
        probe_interval: float = PROBE_INTERVAL,
    ) -> None:
        self._sync = sync
        self._is_due = is_due
        self.slots = PrioritySlots(concurrency)
        self._clock = clock or SystemClock()
        self._rand = rand
        self.grace = grace
        #: Groups of ExternalSecrets (the readers of each failing store): one is probed each
        #: `probe_interval`.
        self._probes = probes
        self.probe_interval = probe_interval
        self._workers: dict[model.Key, _Worker] = {}
        self._tasks: anyio.abc.TaskGroup | None = None
        #: The workers' tasks (removed ones too, until their sync in flight ends): plain
        #: asyncio tasks owned by `run`, which ends them and waits for them (an anyio task
        #: group child costs 2-3 KiB more each).
        self._running: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._workers)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Own the workers until cancelled: each runs in this task group, so none outlives it.
        On cancellation, syncs in flight get `grace` seconds to finish their writes."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            if self._probes is not None:
                tasks.start_soon(self._probing, name="probes")
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                self._tasks = None
                deadline = anyio.current_time() + self.grace
                for worker in self._workers.values():
                    worker.scope.cancel()
                    if worker.in_flight is not None:
                        worker.in_flight.deadline = deadline
                self._workers.clear()
                with anyio.CancelScope(shield=True):
                    if self._running:
                        await asyncio.wait(list(self._running))

    def ensure(self, key: model.Key, *, urgent: bool = False) -> None:
        """Start the worker for `key` if it has none (first sight: it decides itself if due).
        Ignored unless `run` is running (before: the app ensures every worker once it runs)."""
        if self._tasks is None or key in self._workers:
            return
        worker = _Worker(wake=Wake(), urgent=urgent)
        self._workers[key] = worker
        task = asyncio.get_running_loop().create_task(self._run(key, worker))
        self._running.add(task)
        task.add_done_callback(self._ended)

    def wake(self, key: model.Key, *, urgent: bool = False) -> None:
        """Sync `key` now (spec change, drift of its Secret, its store changed)."""
        worker = self._workers.get(key)
        if worker is None:
            self.ensure(key, urgent=urgent)
            worker = self._workers.get(key)
            if worker is None:
                return
        worker.urgent = worker.urgent or urgent
        worker.wake.set()

    def recover(self, key: model.Key) -> None:
        """The provider of `key`'s store answers again: if `key` is backing off after failed
        syncs, sync it after a random delay of up to `RECOVERY_JITTER` seconds instead of at the
        end of its backoff. A worker that is syncing, or whose last sync worked, is left alone,
        so a recovery never causes a second sync."""
        worker = self._workers.get(key)
        if self._tasks is None or worker is None or worker.recovering:
            return
        if worker.attempt == 0 or not worker.sleeping:
            return
        worker.recovering = True
        delay = RECOVERY_JITTER * self._rand()
        self._tasks.start_soon(self._recover_later, key, worker, delay, name=f"recover:{key}")

    def probe(self, group: Collection[model.Key]) -> bool:
        """Sync now one ExternalSecret of `group` that is sleeping out a backoff (the readers of
        a store whose provider is failing); False when none is."""
        for key in sorted(group):
            worker = self._workers.get(key)
            if worker is not None and worker.attempt > 0 and worker.sleeping:
                worker.wake.set()
                return True
        return False

    async def _probing(self) -> None:
        assert self._probes is not None
        while True:
            await self._clock.wait(asyncio.Event(), self._clock.now() + self.probe_interval)
            for group in self._probes():
                self.probe(group)

    async def _recover_later(self, key: model.Key, worker: _Worker, delay: float) -> None:
        try:
            await self._clock.wait(asyncio.Event(), self._clock.now() + delay)
        finally:
            worker.recovering = False
        if self._workers.get(key) is worker and worker.attempt > 0 and worker.sleeping:
            worker.wake.set()

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("worker crashed", exc_info=task.exception())

    def remove(self, key: model.Key) -> None:
        """Stop `key`'s worker; a sync in flight finishes first (its write is not cut)."""
        worker = self._workers.pop(key, None)
        if worker is not None:
            worker.scope.cancel()

    async def _run(self, key: model.Key, worker: _Worker) -> None:
        with worker.scope:
            due, next_at = self._is_due(key)
            if not due:
                await self._sleep_until(worker, next_at)
            while True:
                worker.wake.clear()
                priority = URGENT if worker.urgent else ROUTINE
                worker.urgent = False
                async with self.slots.slot(priority):
                    outcome = await self._shielded(key, worker)
                if outcome.ok:
                    worker.attempt = 0
                    next_at = outcome.next_at
                elif outcome.retry:
                    worker.attempt += 1
                    next_at = self._clock.now() + timing.backoff(worker.attempt, rand=self._rand())
                else:
                    next_at = None
                await self._sleep_until(worker, next_at)

    async def _shielded(self, key: model.Key, worker: _Worker) -> SyncResult:
        """The sync, shielded from cancellation so that a write in flight finishes (on shutdown,
        within the grace period); a crash or an interruption is logged, never lost."""
        fields = observability.log_fields(namespace=key[0], name=key[1])
        with anyio.CancelScope(shield=True) as shield:
            worker.in_flight = shield
            try:
                return await self._sync(key)
            except Exception:
                log.exception("sync crashed", extra=fields)
                return CRASHED
            finally:
                worker.in_flight = None
                if shield.cancel_called:
                    log.info("sync interrupted by shutdown", extra=fields)
        return CRASHED  # the grace period ran out

    async def _sleep_until(self, worker: _Worker, when: float | None) -> None:
        worker.sleeping = True
        try:
            if when is None:
                await worker.wake.wait()
            elif when > self._clock.now():
                await self._clock.wait(worker.wake, when)
        finally:
            worker.sleeping = False
