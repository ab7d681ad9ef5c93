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


# --- a backlog drains faster; one object's Events stay in order --------------------------------


async def emit_as(queue: event_queue.EventQueue, name: str, reason: str) -> None:
    await queue(
        model.ObjectMeta(name=name, namespace="ns"),
        kind="ExternalSecret",
        type_="Normal",
        reason=reason,
        message="m",
    )


class PerObject(Sink):
    """A sink that also records the most Events of one object in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.by_object: dict[str, int] = {}
        self.most_of_one = 0

    async def __call__(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        name = involved.name
        self.by_object[name] = self.by_object.get(name, 0) + 1
        self.most_of_one = max(self.most_of_one, self.by_object[name])
        try:
            await super().__call__(involved, kind=kind, type_=type_, reason=reason, message=message)
        finally:
            self.by_object[name] -= 1


async def until(check: Any) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.005)


async def stop(runner: asyncio.Task[None]) -> None:
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)


async def test_a_backlog_drains_with_more_in_flight_then_back_to_the_base() -> None:
    sink = Sink()
    queue = event_queue.EventQueue(sink, concurrency=2, burst=6, backlog=10)
    for i in range(30):
        await emit(queue, f"es{i}")
    runner = asyncio.create_task(queue.run())
    await until(lambda: sink.in_flight == 6)
    assert sink.in_flight == 6 and len(queue) == 24
    sink.gate.set()
    await until(lambda: len(sink.sent) == 30)
    assert sorted(sink.sent) == sorted(f"es{i}:Created" for i in range(30))
    assert sink.most == 6
    sink.gate.clear()
    for i in range(5):  # no backlog: the base concurrency only
        await emit(queue, f"late{i}")
    await until(lambda: sink.in_flight == 2)
    await asyncio.sleep(0.02)
    assert sink.in_flight == 2
    sink.gate.set()
    await until(lambda: len(sink.sent) == 35)
    await stop(runner)


async def test_a_backlog_waits_for_spare_client_slots(monkeypatch: Any) -> None:
    monkeypatch.setattr(event_queue, "BURST_POLL", 0.005)
    sink, spare = Sink(), [False]
    queue = event_queue.EventQueue(sink, concurrency=2, burst=6, backlog=10, spare=lambda: spare[0])
    for i in range(30):
        await emit(queue, f"es{i}")
    runner = asyncio.create_task(queue.run())
    await asyncio.sleep(0.05)
    assert sink.in_flight == 2  # the syncs use the client: no more than before
    spare[0] = True
    await until(lambda: sink.in_flight == 6)
    assert sink.in_flight == 6
    sink.gate.set()
    await until(lambda: len(sink.sent) == 30)
    await stop(runner)


async def test_one_objects_events_are_never_in_flight_together_and_keep_their_order() -> None:
    sink = PerObject()
    queue = event_queue.EventQueue(sink, concurrency=2, burst=4, backlog=2)
    for reason in ("A", "B", "C"):
        await emit_as(queue, "one", reason)
        await emit_as(queue, f"other-{reason}", reason)
    runner = asyncio.create_task(queue.run())
    await until(lambda: sink.in_flight >= 4)
    sink.gate.set()
    await until(lambda: len(sink.sent) == 6)
    assert sink.most_of_one == 1
    assert [s for s in sink.sent if s.startswith("one:")] == ["one:A", "one:B", "one:C"]
    await stop(runner)


async def test_events_waiting_behind_their_objects_are_flushed_at_shutdown() -> None:
    sink = PerObject()
    queue = event_queue.EventQueue(sink, concurrency=2)
    for reason in ("A", "B"):
        await emit_as(queue, "one", reason)
    runner = asyncio.create_task(queue.run())
    await until(lambda: sink.in_flight == 1)
    await asyncio.sleep(0.01)
    assert sink.in_flight == 1 and len(queue) == 0  # B waits behind A
    sink.gate.set()  # A is cancelled at shutdown (as before); B is still sent
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    assert "one:B" in sink.sent


async def test_the_client_has_slots_to_spare_while_more_than_half_are_free() -> None:
    client = kube.Kube(cast(Any, None), max_in_flight=4)
    held = []
    for expected in (True, True, False, False):
        assert client.spare() is expected
        gate = client._gate
        await gate.acquire()
        held.append(gate)
    for gate in held:
        gate.release()
    assert client.spare()
