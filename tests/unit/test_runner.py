"""`runner._until_signal`: the process's stop rule, without a process — a signal cancels the
work and waits for it to finish (its writes in flight); work that ends stops the signal watch."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator

import anyio

from asyncso import runner


async def _signals(
    send: anyio.Event, *, given: signal.Signals = signal.SIGTERM
) -> AsyncIterator[signal.Signals]:
    await send.wait()
    yield given


async def test_a_signal_cancels_the_work_and_waits_for_its_cleanup() -> None:
    steps: list[str] = []
    send = anyio.Event()

    async def work() -> None:
        steps.append("started")
        send.set()
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.05)  # a write in flight
                steps.append("drained")

    with anyio.fail_after(5):
        await runner._until_signal(_signals(send), work)
    assert steps == ["started", "drained"]


async def test_work_that_ends_ends_the_wait_without_a_signal() -> None:
    never = anyio.Event()
    done: list[bool] = []

    async def work() -> None:
        done.append(True)

    with anyio.fail_after(5):
        await runner._until_signal(_signals(never), work)
    assert done == [True]
