"""Events handed over by syncs are sent later, in order, a few at a time; beyond the limit they
are dropped and counted (client-go's broadcaster does the same)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from asyncso import event_queue, kube, model


class Sink:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.started: list[str] = []
        self.in_flight = 0
        self.most = 0
        self.gate = asyncio.Event()

    async def __call__(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        self.started.append(involved.name)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await self.gate.wait()
        self.sent.append(f"{involved.name}:{reason}")
        self.in_flight -= 1


async def emit(queue: event_queue.EventQueue, name: str) -> None:
    await queue(
        model.ObjectMeta(name=name, namespace="ns"),
        kind="ExternalSecret",
        type_="Normal",
        reason="Created",
        message="Created Secret",
    )


async def test_a_sync_does_not_wait_for_its_event_and_events_go_in_order() -> None:
    sink = Sink()
    queue = event_queue.EventQueue(sink, concurrency=2)
    for i in range(5):
        await emit(queue, f"es{i}")  # returns at once although the sink is blocked
    assert sink.sent == [] and len(queue) == 5
    runner = asyncio.create_task(queue.run())
    await asyncio.sleep(0.01)
    assert sink.in_flight == 2  # at most `concurrency` at a time
    sink.gate.set()
    for _ in range(50):
        if len(sink.sent) == 5:
            break
        await asyncio.sleep(0.01)
    assert sorted(sink.sent) == [f"es{i}:Created" for i in range(5)]
    assert sink.started == [f"es{i}" for i in range(5)]  # sent in the order handed over
    assert sink.most == 2
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)


async def test_beyond_the_limit_events_are_dropped_and_counted() -> None:
    sink = Sink()
    queue = event_queue.EventQueue(sink, limit=3)
    for i in range(5):
        await emit(queue, f"es{i}")
    assert len(queue) == 3 and queue.dropped == 2


async def test_events_left_at_shutdown_are_still_sent() -> None:
    sink = Sink()
    sink.gate.set()
    queue = event_queue.EventQueue(sink, concurrency=1)
    runner = asyncio.create_task(queue.run())
    await asyncio.sleep(0)
    runner.cancel()
    await emit(queue, "late")
    await asyncio.gather(runner, return_exceptions=True)
    assert sink.sent == ["late:Created"]


async def test_every_event_of_the_client_goes_through_the_queue_while_one_is_attached() -> None:
    """One path: `Kube.emit_event` queues while the operator's queue is attached, and records
    at once (through `record_event`, where repeats are correlated) when none is."""
    client = kube.Kube(cast(Any, None))
    recorded: list[str] = []

    async def record(
        involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        recorded.append(f"{involved.name}:{reason}")

    client.record_event = record  # type: ignore[method-assign]
    queue = event_queue.EventQueue(client.record_event)
    client.event_queue = queue
    meta = model.ObjectMeta(name="es", namespace="ns")
    await client.emit_event(meta, kind="ExternalSecret", type_="Normal", reason="A", message="m")
    assert recorded == [] and len(queue) == 1
    client.event_queue = None
    await client.emit_event(meta, kind="ExternalSecret", type_="Normal", reason="B", message="m")
    assert recorded == ["es:B"] and len(queue) == 1
