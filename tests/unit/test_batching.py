from __future__ import annotations

import asyncio
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
