"""Events sent behind the syncs, not in their way: client-go's broadcaster queue.

Why: an Event reports what a sync did; it is best effort, and ESO's recorder (client-go's event
broadcaster) sends it from a goroutine of its own, from a queue of at most 1,000 (more are
dropped), correlating repeats only when it sends. Awaited inside the sync, an Event was a third
apiserver request on the critical path of every created Secret: during a cold sync the Secrets
waited behind their own Events.

One path for every Event: every controller calls `Kube.emit_event`; while the operator runs,
that hands the Event to this queue and goes on; `run` sends them through `Kube.record_event`
(repeats counted there by `events.Correlator`, the message capped) with at most `concurrency` in
flight, so that the syncs' writes keep most of the client's request slots.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from typing import Protocol

import anyio

from asyncso import model

log = logging.getLogger("asyncso.events")

#: Events waiting beyond this are dropped (and counted), as client-go drops beyond its
#: `maxQueuedEvents` (1,000): a cold sync of 10,000 ExternalSecrets keeps its Created Events.
LIMIT = 10_000
#: Events in flight at once (the client allows `--concurrent` requests in all).
CONCURRENCY = 2
#: On shutdown, Events still queued get this long to be sent.
FLUSH_GRACE = 2.0


class EmitEvent(Protocol):
    """`ports.KubeWriter.emit_event` (and `Kube.record_event`, which this queue sends to)."""

    async def __call__(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class _Event:
    involved: model.ObjectMeta
    kind: str
    type_: str
    reason: str
    message: str


class EventQueue:
    """An `EmitEvent` that queues; `run` (in the operator's task group) sends."""

    def __init__(
        self, send: EmitEvent, *, limit: int = LIMIT, concurrency: int = CONCURRENCY
    ) -> None:
        self._send = send
        self.limit = limit
        self.concurrency = max(1, concurrency)
        self._queue: collections.deque[_Event] = collections.deque()
        self._ready = asyncio.Event()
        #: Events dropped because the queue was full.
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._queue)

    async def __call__(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        if len(self._queue) >= self.limit:
            if not self.dropped % self.limit:
                log.warning("event queue full: events dropped", extra={"dropped": self.dropped})
            self.dropped += 1
            return
        # Only what an Event names of its object: the ExternalSecret the sync saw may be long
        # replaced in the view by the time the Event goes (10,000 of them after a cold sync).
        meta = model.ObjectMeta(
            name=involved.name,
            namespace=involved.namespace,
            uid=involved.uid,
            resource_version=involved.resource_version,
        )
        self._queue.append(_Event(meta, kind, type_, reason, message))
        self._ready.set()

    async def run(self) -> None:
        """Send queued Events until cancelled; then what is left, within `FLUSH_GRACE`."""
        try:
            async with anyio.create_task_group() as tasks:
                for _ in range(self.concurrency):
                    tasks.start_soon(self._drain)
        finally:
            with anyio.move_on_after(FLUSH_GRACE, shield=True):
                while self._queue:
                    await self._emit(self._queue.popleft())

    async def _drain(self) -> None:
        while True:
            while not self._queue:
                self._ready.clear()
                await self._ready.wait()
            await self._emit(self._queue.popleft())

    async def _emit(self, event: _Event) -> None:
        await self._send(
            event.involved,
            kind=event.kind,
            type_=event.type_,
            reason=event.reason,
            message=event.message,
        )
