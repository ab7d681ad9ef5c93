from __future__ import annotations

import asyncio
import dataclasses
import logging

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


async def test_worker_syncs_when_due_and_on_wake_and_backs_off_on_failure() -> None:
    calls: list[tuple[str, str]] = []
    outcomes = iter([Result(False, None, retry=True), Result(True, None), Result(True, None)])

    async def sync(key: tuple[str, str]) -> Result:
        calls.append(key)
        return next(outcomes)

    sched = scheduler.Scheduler(
        sync, is_due=lambda key: (True, None), concurrency=2, rand=lambda: 0.0
    )
    sched.ensure(("ns", "a"))
    await asyncio.sleep(0.05)
    assert calls == [("ns", "a")]  # failed; backing off (0.5 s with rand 0)
    await asyncio.sleep(0.6)
    assert len(calls) == 2  # retried after backoff; succeeded; sleeps until woken
    sched.wake(("ns", "a"), urgent=True)
    await asyncio.sleep(0.05)
    assert len(calls) == 3
    await sched.close()


async def test_worker_not_due_waits_for_its_time() -> None:
    calls: list[tuple[str, str]] = []
    loop = asyncio.get_running_loop()

    async def sync(key: tuple[str, str]) -> Result:
        calls.append(key)
        return Result(True, None)

    sched = scheduler.Scheduler(
        sync, is_due=lambda key: (False, loop.time() + 0.3), concurrency=1, clock=loop.time
    )
    sched.ensure(("ns", "b"))
    await asyncio.sleep(0.1)
    assert calls == []
    await asyncio.sleep(0.35)
    assert calls == [("ns", "b")]
    sched.remove(("ns", "b"))
    await sched.close()


async def test_a_crashing_sync_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    """Logging at every level must work on the failure path (a bad `extra` kills workers)."""
    caplog.set_level(logging.DEBUG)
    calls = 0

    async def sync(key: tuple[str, str]) -> Result:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return Result(True, None)

    sched = scheduler.Scheduler(
        sync, is_due=lambda key: (True, None), concurrency=1, rand=lambda: 0.0
    )
    sched.ensure(("ns", "c"))
    await asyncio.sleep(0.7)
    assert calls == 2
    assert any(r.getMessage() == "sync crashed" for r in caplog.records)
    await sched.close()
