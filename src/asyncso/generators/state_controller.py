"""ESO's GeneratorState controller, and the GeneratorState bookkeeping of each fetch (`settle`).

Why: a stateful generator (in ESO: Vault leases, GitLab tokens...) returns state that must be
cleaned up when its values are superseded, even across restarts; ESO keeps that state in
GeneratorState objects. This is ESO's `pkg/controllers/generatorstate` (a finalizer on every
state, the generator's cleanup before the finalizer goes, deletion once the
`garbageCollectionDeadline` passes) and the commit/rollback of `runtime/statemanager`.

The kinds asyncso implements are stateless, as in ESO, so a fetch creates no GeneratorState; the
bookkeeping still flags superseded states (ESO's, after a migration) and the controller collects
them. It reads from its own watch (`on_event`), so a fetch costs no apiserver request when there
is nothing to flag. A replica that is not leader changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import anyio.abc
import msgspec

from asyncso import errors, model, model_generators, observability, ports
from asyncso.generators import registry, state_rules

log = logging.getLogger("asyncso.generators.state")

_decoder = msgspec.json.Decoder(model_generators.GeneratorState)
IDLE = 300.0
"""Seconds between looks when nothing is due (a safety net; events wake the loop)."""
RETRY = 10.0
"""Seconds before a GeneratorState whose handling failed is tried again."""


class StateController:
    """Keeps the GeneratorStates it watches collected, and settles each fetch's states."""

    def __init__(
        self,
        *,
        kube_client: ports.GeneratorStateWriter,
        generators: registry.GeneratorRegistry,
        clock: Callable[[], float] = time.time,
        may_write: Callable[[], bool] | None = None,
        grace: float = state_rules.GC_GRACE,
    ) -> None:
        self.kube = kube_client
        self.generators = generators
        self.clock = clock
        self.may_write = may_write
        self.grace = grace
        self.states: dict[model.Key, model_generators.GeneratorState] = {}
        self._dirty: set[model.Key] = set()
        self._retry_at: dict[model.Key, float] = {}
        #: Events seen per key, so that a write's own event that arrives before the write
        #: returns is not mistaken for silence.
        self._events: dict[model.Key, int] = {}
        self._wake = asyncio.Event()

    # --- the watch handler (sync, cheap) -------------------------------------------------------

    def on_event(self, event: str, key: model.Key, raw: msgspec.Raw) -> None:
        """A `watch.Handler` (ADDED, MODIFIED, DELETED) for GeneratorStates."""
        self._retry_at.pop(key, None)  # a new version deserves a fresh look
        if event == "DELETED":
            self.states.pop(key, None)
            self._events.pop(key, None)
            return
        self._events[key] = self._events.get(key, 0) + 1
        try:
            self.states[key] = _decoder.decode(raw)
        except msgspec.ValidationError as exc:
            fields = observability.log_fields(namespace=key[0], name=key[1])
            log.warning("GeneratorState not understood", extra={**fields, "error": str(exc)})
            return
        self._dirty.add(key)
        self._wake.set()

    def _of_namespace(self, namespace: str) -> dict[str, list[model_generators.GeneratorState]]:
        """The states of one namespace by owner key (one pass; none at all costs nothing)."""
        out: dict[str, list[model_generators.GeneratorState]] = {}
        for (ns, _), state in self.states.items():
            key = state.metadata.labels.get(model_generators.LABEL_OWNER_KEY)
            if ns == namespace and key:
                out.setdefault(key, []).append(state)
        return out

    # --- the controller loop -------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Handle changed states, and states whose deadline passed, until cancelled; a state
        whose handling failed is tried again after `RETRY` seconds."""
        task_status.started()
        while True:
            self._wake.clear()
            if self.may_write is not None and not self.may_write():
                with anyio.move_on_after(RETRY):  # not the leader: nothing to do but wait
                    await self._wake.wait()
                continue
            for key in self._due(self.clock()):
                self._dirty.discard(key)
                self._retry_at.pop(key, None)
                seen = self._events.get(key, 0)
                try:
                    wrote = await self.handle(key)
                except errors.AsyncsoError as exc:
                    wrote = True
                    fields = observability.log_fields(namespace=key[0], name=key[1])
                    log.warning("GeneratorState not handled", extra={**fields, "error": str(exc)})
                # The watch brings the result of a write; look again only if it does not.
                if wrote and key in self.states and self._events.get(key, 0) == seen:
                    self._retry_at[key] = self.clock() + RETRY
            with anyio.move_on_after(self._next_wait()):
                await self._wake.wait()

    def _deadline(self, key: model.Key, state: model_generators.GeneratorState) -> float | None:
        """When `key` next needs a look without an event: a retry, else its GC deadline (none
        once it is being deleted: the finalizer's removal is event-driven)."""
        if key in self._retry_at:
            return self._retry_at[key]
        if state.metadata.deletion_timestamp:
            return None
        return state_rules.gc_due_at(state)

    def _due(self, now: float) -> list[model.Key]:
        due = set()
        for key, state in self.states.items():
            at = self._deadline(key, state)
            if at is not None and at <= now:
                due.add(key)
        waiting = {k for k, at in self._retry_at.items() if at > now}
        return sorted((self._dirty - waiting) | due)

    def _next_wait(self) -> float:
        deadlines = [at for k, s in self.states.items() if (at := self._deadline(k, s)) is not None]
        if not deadlines:
            return IDLE
        return max(0.05, min(IDLE, min(deadlines) - self.clock()))

    async def handle(self, key: model.Key) -> bool:
        """ESO's reconcile of one GeneratorState: finalizer, cleanup on deletion, collection.
        True when it wrote something (or tried to, and failed)."""
        state = self.states.get(key)
        if state is None:
            return False
        meta = state.metadata
        finalizers = meta.finalizers
        has = model_generators.STATE_FINALIZER in finalizers
        if not meta.deletion_timestamp:
            if not has:
                await self._set_finalizers(state, [*finalizers, model_generators.STATE_FINALIZER])
                return True
            due = state_rules.gc_due_at(state)
            if due is not None and due <= self.clock():
                await self.kube.delete_generator_state(*key)
                return True
            return False
        if has:
            await self._cleanup(state)
            await self._set_finalizers(
                state, [f for f in finalizers if f != model_generators.STATE_FINALIZER]
            )
            return True
        return False

    async def _set_finalizers(
        self, state: model_generators.GeneratorState, finalizers: list[str]
    ) -> None:
        meta = state.metadata
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta.resource_version}}
        await self.kube.patch_generator_state(meta.namespace, meta.name, patch)

    async def _cleanup(self, state: model_generators.GeneratorState) -> None:
        resource = state.spec.resource if isinstance(state.spec.resource, dict) else {}
        kind = str(resource.get("kind", ""))
        generator = self.generators.implementation(kind)
        if generator is None:
            raise errors.PermanentError(f"could not get generator: generator {kind!r} not found")
        try:
            spec = msgspec.convert(resource.get("spec") or {}, generator.spec_type)
        except msgspec.ValidationError as exc:
            raise errors.PermanentError(f"could not get generator: {exc}") from None
        await generator.cleanup(spec, state.spec.state, namespace=state.metadata.namespace)

    # --- ports.GeneratorStates: after each fetch -----------------------------------------------

    async def settle(
        self,
        owner: model.ExternalSecret,
        *,
        entries: int,
        generated: dict[int, model_generators.Generated],
        ok: bool,
    ) -> None:
        """An ExternalSecret's fetch: its state keys are its dataFrom indexes."""
        await self.settle_owner(
            state_rules.external_secret(owner),
            keys=[str(index) for index in range(entries)],
            generated={str(index): made for index, made in generated.items()},
            ok=ok,
        )

    async def settle_owner(
        self,
        owner: model_generators.StateOwner,
        *,
        keys: Sequence[str],
        generated: Mapping[str, model_generators.Generated],
        ok: bool,
        latest_too: bool = False,
    ) -> None:
        """ESO's statemanager: on success flag every key's superseded states and keep the new
        states; on failure clean up what this run made (or leave it to be collected now).
        `latest_too`: the latest state is flagged as well (ESO's PushSecret: a new generation,
        or a Secret selected instead, retires the one before)."""
        if not ok:
            for key, made in generated.items():
                if made.output.state is not None:
                    await self._roll_back(owner, key, made)
            return
        by_key = self._of_namespace(owner.namespace) if self.states else {}
        for key in keys:
            states = by_key.get(state_rules.state_key(owner, key), [])
            flagged = (
                state_rules.unflagged(states) if latest_too else state_rules.superseded(states)
            )
            for stale in flagged:
                patch = {
                    "spec": {
                        "garbageCollectionDeadline": state_rules.deadline(
                            now=self.clock(), grace=self.grace
                        )
                    }
                }
                await self.kube.patch_generator_state(owner.namespace, stale.metadata.name, patch)
        for key, made in generated.items():
            if made.output.state is not None:
                body = state_rules.new_state(owner, key=key, generated=made)
                await self.kube.create_generator_state(owner.namespace, body)

    async def _roll_back(
        self, owner: model_generators.StateOwner, key: str, made: model_generators.Generated
    ) -> None:
        generator = self.generators.implementation(made.kind)
        try:
            if generator is None:
                raise errors.PermanentError(f"generator {made.kind!r} not found")
            spec: Any = msgspec.convert(made.resource.get("spec") or {}, generator.spec_type)
            await generator.cleanup(spec, made.output.state, namespace=owner.namespace)
        except errors.AsyncsoError:
            body = state_rules.new_state(
                owner,
                key=key,
                generated=made,
                gc_deadline=state_rules.deadline(now=self.clock(), grace=0),
            )
            await self.kube.create_generator_state(owner.namespace, body)
