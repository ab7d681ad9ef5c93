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

A backlog (a cold sync hands over one Event per created Secret: 10,000 at W(10,000)) drains
faster: while `backlog` or more wait, up to `burst` are in flight, as long as the client has
slots to spare (`spare`: the syncs are not waiting for one), so the syncs' writes wait no more
than before. Events of one object are never in flight together: they are sent one after
another in the order handed over (a repeat then finds its first occurrence recorded).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from collections.abc import Callable
from typing import Protocol

import anyio

from asyncso import model

log = logging.getLogger("asyncso.events")

#: Events waiting beyond this are dropped (and counted), as client-go drops beyond its
#: `maxQueuedEvents` (1,000): a cold sync of 10,000 ExternalSecrets keeps its Created Events.
LIMIT = 10_000
#: Events in flight at once (the client allows `--concurrent` requests in all).
CONCURRENCY = 2
#: While at least `BACKLOG` Events wait, up to `BURST` in flight (when the client has slots to
#: spare); a busy client is asked again after `BURST_POLL` seconds.
BACKLOG = 200
BURST = 8
BURST_POLL = 0.1
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

    @property
    def subject(self) -> tuple[str, str, str]:
        return (self.kind, self.involved.namespace, self.involved.name)


class EventQueue:
    """An `EmitEvent` that queues; `run` (in the operator's task group) sends."""

    def __init__(
        self,
        send: EmitEvent,
        *,
        limit: int = LIMIT,
        concurrency: int = CONCURRENCY,
        burst: int = BURST,
        backlog: int = BACKLOG,
        spare: Callable[[], bool] | None = None,
    ) -> None:
        self._send = send
        self.limit = limit
        self.concurrency = max(1, concurrency)
        self.burst = max(self.concurrency, burst)
        self.backlog = max(1, backlog)
        #: Whether the client has request slots to spare (None: always).
        self.spare = spare
        self._queue: collections.deque[_Event] = collections.deque()
        self._ready = asyncio.Event()
        self._backlogged = asyncio.Event()
        #: Per object with an Event in flight: its Events handed over meanwhile, in order.
        self._after: dict[tuple[str, str, str], collections.deque[_Event]] = {}
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
        if len(self._queue) >= self.backlog:
            self._backlogged.set()

    async def run(self) -> None:
        """Send queued Events until cancelled; then what is left, within `FLUSH_GRACE`."""
        try:
            async with anyio.create_task_group() as tasks:
                for _ in range(self.concurrency):
                    tasks.start_soon(self._drain)
                for _ in range(self.burst - self.concurrency):
                    tasks.start_soon(self._drain_backlog)
        finally:
            with anyio.move_on_after(FLUSH_GRACE, shield=True):
                while self._queue:
                    await self._emit(self._queue.popleft())

    async def _drain(self) -> None:
        while True:
            while not self._queue:
                self._ready.clear()
                await self._ready.wait()
            await self._send_in_order(self._queue.popleft())

    async def _drain_backlog(self) -> None:
        """An extra sender, busy only while a backlog waits and the client has slots to spare."""
        while True:
            if len(self._queue) < self.backlog:
                self._backlogged.clear()
                await self._backlogged.wait()
            elif self.spare is not None and not self.spare():
                await asyncio.sleep(BURST_POLL)  # the syncs use the client: look again soon
            else:
                await self._send_in_order(self._queue.popleft())

    async def _send_in_order(self, event: _Event) -> None:
        """Send `event`, unless one of its object's is in flight: then it goes right after
        (by the sender of that one), so that one object's Events keep their order."""
        subject = event.subject
        after = self._after.get(subject)
        if after is not None:
            after.append(event)
            return
        after = self._after[subject] = collections.deque()
        try:
            await self._emit(event)
            while after:
                await self._emit(after.popleft())
        finally:
            del self._after[subject]
            self._queue.extendleft(reversed(after))  # cancelled: left for the flush

    async def _emit(self, event: _Event) -> None:
        await self._send(
            event.involved,
            kind=event.kind,
            type_=event.type_,
            reason=event.reason,
            message=event.message,
        )
