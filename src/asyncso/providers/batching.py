"""Coalesce concurrent single reads into batch calls, and share identical reads in flight.

Why: at thousands of ExternalSecrets, ESO's one `GetSecretValue` per entry per reconcile is the
AWS bill and the throttling. Reads that arrive within a short window (or until a batch is full)
go out as one `BatchGetSecretValue` (≤ 20 ids) or `GetParameters` (≤ 10); a second reader of an id
already pending or in flight waits for the same answer. Each id's error goes to its own callers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")

#: Fetch these ids; return a value or an exception per id (missing ids fail with `KeyError`).
FetchMany = Callable[[list[str]], Awaitable[Mapping[str, "T | BaseException"]]]


class Batcher(Generic[T]):
    def __init__(self, fetch_many: FetchMany[T], *, window: float, max_batch: int) -> None:
        self._fetch_many = fetch_many
        self._window = window
        self._max = max_batch
        self._pending: dict[str, asyncio.Future[T]] = {}
        self._in_flight: dict[str, asyncio.Future[T]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.calls = 0

    async def get(self, ident: str) -> T:
        future = self._in_flight.get(ident) or self._pending.get(ident)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._pending[ident] = future
            if len(self._pending) >= self._max:
                self._flush()
            elif self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self._window, self._flush)
        return await asyncio.shield(future)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            ids = list(self._pending)[: self._max]
            batch = {i: self._pending.pop(i) for i in ids}
            self._in_flight.update(batch)
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: dict[str, asyncio.Future[T]]) -> None:
        self.calls += 1
        try:
            results = await self._fetch_many(list(batch))
        except BaseException as exc:  # the whole call failed: every caller gets the error
            cancelled = isinstance(exc, asyncio.CancelledError)
            for ident, future in batch.items():
                self._in_flight.pop(ident, None)
                if future.done():
                    continue
                if cancelled:
                    future.cancel()
                else:
                    future.set_exception(exc)
                    # A caller may be gone (cancelled at shutdown while the call was retried):
                    # nobody is owed the error then, and asyncio must not log it as lost.
                    future.exception()
            if cancelled:
                raise
            return
        for ident, future in batch.items():
            self._in_flight.pop(ident, None)
            if future.done():
                continue
            result = results.get(ident, KeyError(ident))
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        for future in batch.values():  # nobody may be awaiting: mark exceptions retrieved
            if future.done() and not future.cancelled():
                future.exception()
