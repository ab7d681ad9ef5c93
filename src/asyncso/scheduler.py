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
from collections.abc import AsyncIterator, Awaitable, Callable

from asyncso import model, timing

log = logging.getLogger("asyncso.scheduler")

URGENT = 0
ROUTINE = 1


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
    def waiting(self) -> int:
        return sum(1 for _, _, f in self._waiters if not f.done())


@dataclasses.dataclass
class _Worker:
    wake: asyncio.Event
    urgent: bool
    task: asyncio.Task[None] | None = None
    attempt: int = 0


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
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._sync = sync
        self._is_due = is_due
        self.slots = PrioritySlots(concurrency)
        self._clock = clock
        self._rand = rand
        self._workers: dict[model.Key, _Worker] = {}
        self._closing = False

    def __len__(self) -> int:
        return len(self._workers)

    def ensure(self, key: model.Key, *, urgent: bool = False) -> None:
        """Start the worker for `key` if it has none (first sight: it decides itself if due)."""
        if self._closing or key in self._workers:
            return
        worker = _Worker(wake=asyncio.Event(), urgent=urgent)
        self._workers[key] = worker
        worker.task = asyncio.create_task(self._run(key, worker), name=f"es:{key[0]}/{key[1]}")

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

    def remove(self, key: model.Key) -> None:
        worker = self._workers.pop(key, None)
        if worker is not None and worker.task is not None:
            worker.task.cancel()

    async def close(self, *, grace: float = 10.0) -> None:
        """Stop all workers; syncs in flight get `grace` seconds to finish their writes."""
        self._closing = True
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        self._workers.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)

    async def _run(self, key: model.Key, worker: _Worker) -> None:
        due, next_at = self._is_due(key)
        if not due:
            await self._sleep_until(worker, next_at)
        while True:
            worker.wake.clear()
            priority = URGENT if worker.urgent else ROUTINE
            worker.urgent = False
            outcome: SyncResult
            try:
                async with self.slots.slot(priority):
                    outcome = await asyncio.shield(self._draining(key))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sync crashed", extra={"namespace": key[0], "object_name": key[1]})
                outcome = CRASHED
            if outcome.ok:
                worker.attempt = 0
                next_at = outcome.next_at
            elif outcome.retry:
                worker.attempt += 1
                next_at = self._clock() + timing.backoff(worker.attempt, rand=self._rand())
            else:
                next_at = None
            await self._sleep_until(worker, next_at)

    async def _draining(self, key: model.Key) -> SyncResult:
        """The sync, shielded from cancellation so a write in flight finishes on shutdown; its
        failure after cancellation is logged here rather than lost."""
        try:
            return await self._sync(key)
        except Exception:
            if self._closing:
                log.info(
                    "sync interrupted by shutdown",
                    extra={"namespace": key[0], "object_name": key[1]},
                )
                return CRASHED
            raise

    async def _sleep_until(self, worker: _Worker, when: float | None) -> None:
        if when is None:
            await worker.wake.wait()
            return
        delay = when - self._clock()
        if delay <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(worker.wake.wait(), timeout=delay)
