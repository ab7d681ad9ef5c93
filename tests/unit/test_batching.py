from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping

import pytest

from asyncso.providers import batching


class Backend:
    def __init__(self, missing: set[str] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.missing = missing or set()

    async def fetch(self, ids: list[str]) -> Mapping[str, str | BaseException]:
        self.batches.append(ids)
        await asyncio.sleep(0.01)
        return {i: (LookupError(i) if i in self.missing else f"value-{i}") for i in ids}


async def test_concurrent_reads_coalesce_into_full_batches() -> None:
    backend = Backend()
    batcher: batching.Batcher[str] = batching.Batcher(backend.fetch, window=0.01, max_batch=20)
    ids = [f"s{i % 60}" for i in range(200)]  # 200 readers over 60 secrets
    values = await asyncio.gather(*(batcher.get(i) for i in ids))
    assert values == [f"value-{i}" for i in ids]
    assert len(backend.batches) == 3
    assert sorted(i for b in backend.batches for i in b) == sorted({*ids})


async def test_errors_go_only_to_their_callers() -> None:
    backend = Backend(missing={"b"})
    batcher: batching.Batcher[str] = batching.Batcher(backend.fetch, window=0.01, max_batch=20)
    a, b = await asyncio.gather(batcher.get("a"), batcher.get("b"), return_exceptions=True)
    assert a == "value-a"
    assert isinstance(b, LookupError)
    assert len(backend.batches) == 1


async def test_reads_of_an_id_in_flight_share_the_call() -> None:
    backend = Backend()
    batcher: batching.Batcher[str] = batching.Batcher(backend.fetch, window=0.0, max_batch=1)
    first = asyncio.create_task(batcher.get("x"))
    await asyncio.sleep(0.001)  # "x" is in flight now
    assert await batcher.get("x") == "value-x"
    assert await first == "value-x"
    assert backend.batches == [["x"]]


async def test_a_failed_call_fails_every_caller_of_the_batch() -> None:
    async def broken(ids: list[str]) -> Mapping[str, str | BaseException]:
        raise RuntimeError("throttled")

    batcher: batching.Batcher[str] = batching.Batcher(broken, window=0.0, max_batch=5)
    results = await asyncio.gather(batcher.get("a"), batcher.get("b"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):
        await batcher.get("a")  # not cached: a new call


async def test_a_caller_gone_before_the_call_fails_leaves_no_unretrieved_error() -> None:
    """Shutdown: the sync waiting on a batch is cancelled (its grace ran out), the call in
    flight then fails (throttled, or its client closed). Nobody is owed that error, and asyncio
    must not log "Future exception was never retrieved" for it."""
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    # The loop is the session's: garbage of earlier tests (a fault proxy's pending server task)
    # is collected and reported first, to the handler it belongs to, not to this test's.
    gc.collect()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))
    try:
        await _cancel_a_caller_then_fail_the_call()
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert reported == []


async def _cancel_a_caller_then_fail_the_call() -> None:
    release = asyncio.Event()

    async def throttled(ids: list[str]) -> Mapping[str, str | BaseException]:
        await release.wait()
        raise RuntimeError("throttled")

    batcher: batching.Batcher[str] = batching.Batcher(throttled, window=0.0, max_batch=5)
    caller = asyncio.create_task(batcher.get("a"))
    await asyncio.sleep(0.01)  # the call is in flight
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    release.set()
    await asyncio.sleep(0.01)


async def test_a_batch_cancelled_at_shutdown_cancels_its_callers() -> None:
    started = asyncio.Event()

    async def slow(ids: list[str]) -> Mapping[str, str | BaseException]:
        started.set()
        await asyncio.sleep(3600)
        return {}

    batcher: batching.Batcher[str] = batching.Batcher(slow, window=0.0, max_batch=5)
    caller = asyncio.create_task(batcher.get("a"))
    await started.wait()
    for task in list(batcher._tasks):  # what asyncio.run does to tasks left at the end
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
