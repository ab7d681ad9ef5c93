from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator

import anyio
import pytest

from asyncso import scheduler


async def test_priority_slots_serve_urgent_waiters_first() -> None:
    slots = scheduler.PrioritySlots(1)
    order: list[str] = []
    gate = asyncio.Event()

    async def hold() -> None:
        async with slots.slot(scheduler.ROUTINE):
            await gate.wait()

    async def job(name: str, priority: int) -> None:
        async with slots.slot(priority):
            order.append(name)

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(job(f"routine{i}", scheduler.ROUTINE)) for i in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(job("urgent", scheduler.URGENT)))
    await asyncio.sleep(0)
    assert slots.waiting == 4
    gate.set()
    await asyncio.gather(holder, *tasks)
    assert order == ["urgent", "routine0", "routine1", "routine2"]


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    slots = scheduler.PrioritySlots(1)
    async with slots.slot(0):
        waiter = asyncio.create_task(slots._acquire(1))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
    async with asyncio.timeout(1):
        async with slots.slot(0):
            pass


@dataclasses.dataclass(frozen=True)
class Result:
    ok: bool
    next_at: float | None
    retry: bool = False


class FakeClock:
    """Time moves only when the test says so; waiters whose time has come are released."""

    def __init__(self, now: float = 1000.0) -> None:
        self.time = now
        self.waiting: list[tuple[float, asyncio.Event]] = []

    def now(self) -> float:
        return self.time

    async def wait(self, event: scheduler.Signal, until: float) -> None:
        reached = asyncio.Event()
        self.waiting.append((until, reached))
        woken = asyncio.ensure_future(event.wait())
        timer = asyncio.ensure_future(reached.wait())
        try:
            await asyncio.wait({woken, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            timer.cancel()

    def advance(self, seconds: float) -> None:
        self.time += seconds
        for until, reached in self.waiting:
            if until <= self.time:
                reached.set()


async def settle() -> None:
    """Let every ready task run (no time passes)."""
    for _ in range(20):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running(sched: scheduler.Scheduler) -> AsyncIterator[scheduler.Scheduler]:
    async with anyio.create_task_group() as tasks:
        await tasks.start(sched.run)
        yield sched
        tasks.cancel_scope.cancel()


async def test_worker_syncs_when_due_and_on_wake_and_backs_off_on_failure() -> None:
    calls: list[tuple[str, str]] = []
    outcomes = iter([Result(False, None, retry=True), Result(True, None), Result(True, None)])
    clock = FakeClock()

    async def sync(key: tuple[str, str]) -> Result:
        calls.append(key)
        return next(outcomes)  # type: ignore[return-value]

    sched = scheduler.Scheduler(
        sync,  # type: ignore[arg-type]
        is_due=lambda key: (True, None),
        concurrency=2,
        clock=clock,
        rand=lambda: 0.0,
    )
    async with running(sched):
        sched.ensure(("ns", "a"))
        await settle()
        assert calls == [("ns", "a")]  # failed; backing off (0.5 s with rand 0)
        clock.advance(0.4)
        await settle()
        assert len(calls) == 1
        clock.advance(0.1)
        await settle()
        assert len(calls) == 2  # retried after backoff; succeeded; sleeps until woken
        clock.advance(3600)
        await settle()
        assert len(calls) == 2
        sched.wake(("ns", "a"), urgent=True)
        await settle()
        assert len(calls) == 3


async def test_worker_not_due_waits_for_its_time() -> None:
    calls: list[tuple[str, str]] = []
    clock = FakeClock()

    async def sync(key: tuple[str, str]) -> Result:
        calls.append(key)
        return Result(True, None)

    sched = scheduler.Scheduler(
        sync,  # type: ignore[arg-type]
        is_due=lambda key: (False, clock.now() + 0.3),
        concurrency=1,
        clock=clock,
    )
    async with running(sched):
        sched.ensure(("ns", "b"))
        await settle()
        assert calls == []
        clock.advance(0.3)
        await settle()
        assert calls == [("ns", "b")]
        sched.remove(("ns", "b"))
        await settle()
        sched.wake(("ns", "b"))  # a removed worker is gone; a wake starts a new one
        await settle()
        assert len(sched) == 1


async def test_a_crashing_sync_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    """Logging at every level must work on the failure path (a bad `extra` kills workers)."""
    caplog.set_level(logging.DEBUG)
    calls = 0
    clock = FakeClock()

    async def sync(key: tuple[str, str]) -> Result:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return Result(True, None)

    sched = scheduler.Scheduler(
        sync,  # type: ignore[arg-type]
        is_due=lambda key: (True, None),
        concurrency=1,
        clock=clock,
        rand=lambda: 0.0,
    )
    async with running(sched):
        sched.ensure(("ns", "c"))
        await settle()
        clock.advance(0.5)
        await settle()
    assert calls == 2
    assert any(r.getMessage() == "sync crashed" for r in caplog.records)


async def test_shutdown_lets_a_sync_in_flight_finish_within_the_grace() -> None:
    started, finished = asyncio.Event(), asyncio.Event()
    release = asyncio.Event()

    async def sync(key: tuple[str, str]) -> Result:
        started.set()
        await release.wait()
        finished.set()
        return Result(True, None)

    sched = scheduler.Scheduler(
        sync,  # type: ignore[arg-type]
        is_due=lambda key: (True, None),
        concurrency=1,
        clock=FakeClock(),
        grace=5.0,
    )
    shutdown = anyio.CancelScope()
    ended = asyncio.Event()

    async def host() -> None:
        with shutdown:
            await sched.run()
        ended.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(host)
        await settle()
        sched.ensure(("ns", "d"))
        await started.wait()
        shutdown.cancel()  # shutdown while the sync writes
        await settle()
        assert not finished.is_set() and not ended.is_set()
        release.set()
        await ended.wait()
    assert finished.is_set()  # the write finished before the scheduler ended


async def test_the_grace_period_bounds_the_drain() -> None:
    async def sync(key: tuple[str, str]) -> Result:
        await asyncio.Event().wait()  # never ends
        return Result(True, None)

    sched = scheduler.Scheduler(
        sync,  # type: ignore[arg-type]
        is_due=lambda key: (True, None),
        concurrency=1,
        clock=FakeClock(),
        grace=0.01,
    )
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            await tasks.start(sched.run)
            sched.ensure(("ns", "e"))
            await settle()
            tasks.cancel_scope.cancel()
    assert len(sched) == 0


async def test_slots_are_contended_while_someone_waits() -> None:
    slots = scheduler.PrioritySlots(1)
    assert not slots.contended
    held = asyncio.Event()

    async def hold() -> None:
        async with slots.slot(1):
            await held.wait()

    first = asyncio.create_task(hold())
    await asyncio.sleep(0)
    assert not slots.contended  # one in use, nobody waiting
    second = asyncio.create_task(hold())
    await asyncio.sleep(0)
    assert slots.contended
    held.set()
    await asyncio.gather(first, second)
    assert not slots.contended
