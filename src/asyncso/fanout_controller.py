"""The fan-out controller: one worker per ClusterExternalSecret (or ClusterPushSecret) that keeps
one child of the same name in every selected namespace, driven by watches, not polling.

Why a controller of its own: the parent's children follow three streams — the parents, the
namespaces (labels flip, namespaces come and go) and the children themselves (deleted or edited
by hand) — and each event wakes only the parents it concerns (`fanout.selection_changed`, the
child's controller reference). A reconcile plans from the watched indexes (`fanout.plan`); an
apiserver call is made only for a child to create, update or delete, and for a status that
changed. The kind-specific parts (decoding, status shape, gauges) are a `Rules` object, given by
`clusterexternalsecret_controller` and `clusterpushsecret_controller`.

Safety: a child of the same name that another owner controls is never written or deleted
(ESO: "already exists in namespace", in `failedNamespaces`); deletes carry the child's uid as a
precondition, so a child replaced meanwhile by someone else's survives.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import anyio
import anyio.abc
import msgspec
from prometheus_client import Gauge

from asyncso import (
    errors,
    fanout,
    metrics,
    model,
    observability,
    ports,
    scheduler,
    settings,
    watch,
)

log = logging.getLogger("asyncso.fanout")

DONE = scheduler.SyncResult(ok=True, next_at=None)
RETRY = scheduler.SyncResult(ok=False, next_at=None, retry=True)
#: ESO's reason of a ClusterPushSecret's Warning Events (`ReasonErrored`).
REASON_ERRORED = "Errored"
_envelope = msgspec.json.Decoder(model.Envelope)


class Rules(Protocol):
    """The kind-specific parts of a fan-out controller."""

    kind: fanout.FanoutKind

    def decode(self, raw: bytes) -> fanout.Parent:
        """The parent; `msgspec.ValidationError` or `errors.InvalidSpecError` when unusable."""
        ...

    def status(
        self, parent: fanout.Parent, *, provisioned: list[str], failed: dict[str, str], now: float
    ) -> dict[str, Any]:
        """The parent's new status (every key present; None clears it)."""
        ...

    def invalid_status(self, item: fanout.InvalidParent, *, now: float) -> dict[str, Any]: ...

    @property
    def gauges(self) -> ParentGauges:
        """The kind's condition and duration gauges."""
        ...


@dataclasses.dataclass(frozen=True)
class ParentGauges:
    """A cluster-scoped parent kind's Ready-condition and reconcile-duration gauges (ESO's
    `<kind>_status_condition` and `<kind>_reconcile_duration`), labelled without a namespace."""

    condition: Gauge
    duration: Gauge

    def observe(self, name: str, *, ready: bool, seconds: float) -> None:
        """Set the parent's condition and duration gauges."""
        metrics.set_ready(
            self.condition, self.duration, name=name, namespace="", ready=ready, seconds=seconds
        )

    def forget(self, name: str) -> None:
        """Drop the gauges of a parent that is gone."""
        metrics.forget(self.condition, self.duration, name=name, namespace="")


@dataclasses.dataclass
class _Outcome:
    provisioned: list[str] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    conflict: bool = False
    #: A child of a previous child name (the parent's name for it changed) was not deleted.
    renamed_left: bool = False


class FanoutController:
    def __init__(
        self,
        rules: Rules,
        *,
        kube_client: ports.FanoutKube,
        config: settings.Settings,
        may_write: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rules = rules
        self.kind = rules.kind
        self.kube = kube_client
        self.may_write = may_write
        self.clock = clock
        self.parents: dict[str, fanout.Parent | fanout.InvalidParent] = {}
        self.namespaces: dict[str, fanout.NamespaceRecord] = {}
        self.children = fanout.ChildIndex(self.kind)
        self.scheduler = scheduler.Scheduler(
            self._sync, is_due=lambda _key: (True, None), concurrency=config.syncs_in_flight
        )
        self._started = False

    # --- watch handlers (sync, cheap) ----------------------------------------------------------

    def on_parent(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        name = key[1]
        if event == "DELETED":
            self.parents.pop(name, None)
            self.scheduler.remove(key)
            self.rules.gauges.forget(name)
            return
        item: fanout.Parent | fanout.InvalidParent
        try:
            item = self.rules.decode(bytes(raw))
        except (msgspec.ValidationError, errors.InvalidSpecError) as exc:
            item = fanout.InvalidParent(meta=_envelope.decode(raw).metadata, error=str(exc))
        old = self.parents.get(name)
        self.parents[name] = item
        if self._started and (old is None or _changed(old, item)):
            self.scheduler.wake(key, urgent=True)

    def on_namespace(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        name = key[1]
        old = self.namespaces.get(name)
        new: fanout.NamespaceRecord | None = None
        if event == "DELETED":
            self.namespaces.pop(name, None)
        else:
            meta = _envelope.decode(raw).metadata
            new = fanout.NamespaceRecord(meta.labels, terminating=bool(meta.deletion_timestamp))
            self.namespaces[name] = new
        if self._started:
            live = [p for p in self.parents.values() if isinstance(p, fanout.Parent)]
            for parent in fanout.selection_changed(live, name, old, new):
                self.scheduler.wake(("", parent))

    def on_child(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        """A child changed: its parent re-reconciles if the child was deleted or no longer
        looks as the parent wants (ESO's `Owns`); our own writes wake nobody."""
        record, owner = self.children.record(key, None if event == "DELETED" else bytes(raw))
        parent = self.parents.get(owner) if owner else None
        if not self._started or not isinstance(parent, fanout.Parent):
            return
        if record is not None and record.fingerprint == fanout.desired_fingerprint(parent):
            return
        self.scheduler.wake(("", owner))

    # --- running -------------------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Reconcile every known parent, then follow the watches, until cancelled."""
        async with anyio.create_task_group() as tasks:
            await tasks.start(self.scheduler.run)
            self._started = True
            for name in list(self.parents):
                self.scheduler.ensure(("", name), urgent=True)
            task_status.started()

    async def _sync(self, key: model.Key) -> scheduler.SyncResult:
        if self.may_write is not None and not self.may_write():
            return RETRY
        item = self.parents.get(key[1])
        if item is None:
            return DONE
        if isinstance(item, fanout.InvalidParent):
            body = self.rules.invalid_status(item, now=self.clock())
            try:
                await self.kube.patch_status(self.kind.kind, "", item.meta.name, body)
            except errors.AsyncsoError:
                return RETRY
            await self._warn(item.meta, f"invalid {self.kind.kind}: {errors.redact(item.error)}")
            self.rules.gauges.observe(item.meta.name, ready=False, seconds=0)
            return scheduler.SyncResult(ok=False, next_at=None)
        started = self.clock()
        fields = observability.log_fields(name=key[1], kind=self.kind.kind)
        try:
            if item.meta.deletion_timestamp:
                await self._finalize(item)
                return DONE
            await self._ensure_finalizer(item)
            outcome = await self._reconcile(item)
            body = self.rules.status(
                item, provisioned=outcome.provisioned, failed=outcome.failed, now=self.clock()
            )
            if _without_nulls(body) != _without_nulls(item.status):
                self._check_leader()
                await self.kube.patch_status(self.kind.kind, "", item.meta.name, body)
            if outcome.renamed_left:
                await self._warn(item.meta, self.kind.msg_delete_failed)
        except errors.AsyncsoError as exc:
            log.warning("fan-out failed", extra={**fields, "error": errors.redact(str(exc))})
            return RETRY
        elapsed = self.clock() - started
        self.rules.gauges.observe(item.meta.name, ready=not outcome.failed, seconds=elapsed)
        if outcome.failed:
            log.info("fan-out incomplete", extra={**fields, "failed": sorted(outcome.failed)})
        if outcome.conflict:
            return RETRY
        refresh = item.refresh_seconds
        return scheduler.SyncResult(ok=True, next_at=self.clock() + refresh if refresh else None)

    async def _warn(self, meta: model.ObjectMeta, message: str) -> None:
        """ESO's `markAsFailed` Event (Warning, `Errored`), for the kinds that record one."""
        if self.kind.msg_delete_failed:
            await self.kube.emit_event(
                meta, kind=self.kind.kind, type_="Warning", reason=REASON_ERRORED, message=message
            )

    def _check_leader(self) -> None:
        if self.may_write is not None and not self.may_write():
            raise errors.TransientError("not the leader; write skipped")

    # --- the steps -----------------------------------------------------------------------------

    async def _reconcile(self, parent: fanout.Parent) -> _Outcome:
        owned = self.children.owned_by(parent.meta.name)
        the_plan = fanout.plan(parent, namespaces=self.namespaces, owned=owned)
        outcome = _Outcome()
        for namespace, name, uid in the_plan.delete:
            self._check_leader()
            try:
                await self.kube.delete_object(self.kind.child_kind, namespace, name, uid=uid)
            except errors.AsyncsoError as exc:
                outcome.failed[namespace] = errors.redact(str(exc))
                outcome.conflict = outcome.conflict or isinstance(exc, errors.ConflictError)
                outcome.renamed_left = outcome.renamed_left or name != parent.child_name
        jobs = [(ns, self._create) for ns in the_plan.create]
        jobs += [(ns, self._update) for ns in the_plan.update]
        failed: dict[str, errors.AsyncsoError] = {}

        async def run(namespace: str, step: Callable[..., Any]) -> None:
            try:
                await step(parent, namespace)
            except errors.AsyncsoError as exc:
                failed[namespace] = exc

        async with anyio.create_task_group() as tasks:
            for namespace, step in jobs:
                tasks.start_soon(run, namespace, step)
        for namespace, error in failed.items():
            outcome.failed[namespace] = errors.redact(str(error))
            outcome.conflict = outcome.conflict or isinstance(error, errors.ConflictError)
        outcome.provisioned = [n for n in the_plan.targets if n not in outcome.failed]
        return outcome

    async def _create(self, parent: fanout.Parent, namespace: str) -> None:
        self._check_leader()
        body = fanout.new_child(self.kind, parent, namespace)
        try:
            await self.kube.create_object(self.kind.child_kind, body)
        except errors.ApiConflictError:
            # It exists: ours but not yet seen by the watch, or someone else's.
            await self._update(parent, namespace)

    async def _update(self, parent: fanout.Parent, namespace: str) -> None:
        live = await self.kube.get_object(self.kind.child_kind, namespace, parent.child_name)
        if live is None:
            where = f"{namespace}/{parent.child_name}"
            raise errors.ConflictError(f"{self.kind.child_kind} {where} vanished; retrying")
        if fanout.controller_of(self.kind, live) != parent.meta.name:
            raise errors.PermanentError(self.kind.msg_exists)
        self._check_leader()
        await self.kube.replace_object(
            self.kind.child_kind, fanout.updated_child(self.kind, parent, live)
        )

    async def _ensure_finalizer(self, parent: fanout.Parent) -> None:
        finalizers = parent.meta.finalizers
        if self.kind.finalizer in finalizers:
            return
        self._check_leader()
        await self.kube.set_finalizers(
            self.kind.kind,
            "",
            parent.meta.name,
            finalizers=[*finalizers, self.kind.finalizer],
            resource_version=parent.meta.resource_version,
        )

    async def _finalize(self, parent: fanout.Parent) -> None:
        """Delete every child of ours, then let the parent go (ESO's cleanup finalizer)."""
        if self.kind.finalizer not in parent.meta.finalizers:
            return
        owned = self.children.owned_by(parent.meta.name)
        for namespace, name in fanout.cleanup(parent, owned):
            self._check_leader()
            record = owned.get((namespace, name))
            if record is None:  # listed in the status only: delete it only if it is ours
                live = await self.kube.get_object(self.kind.child_kind, namespace, name)
                if live is None or fanout.controller_of(self.kind, live) != parent.meta.name:
                    continue
                uid = str(live["metadata"].get("uid", ""))
            else:
                uid = record.uid
            await self.kube.delete_object(self.kind.child_kind, namespace, name, uid=uid)
        await self.kube.set_finalizers(
            self.kind.kind,
            "",
            parent.meta.name,
            finalizers=[f for f in parent.meta.finalizers if f != self.kind.finalizer],
            resource_version=parent.meta.resource_version,
        )


def _changed(
    old: fanout.Parent | fanout.InvalidParent, new: fanout.Parent | fanout.InvalidParent
) -> bool:
    """A spec, label or annotation change (or deletion) wakes the worker; status changes do not."""
    if isinstance(old, fanout.InvalidParent) or isinstance(new, fanout.InvalidParent):
        return True
    a, b = old.meta, new.meta
    return (a.generation, a.labels, a.annotations, a.deletion_timestamp, a.finalizers) != (
        b.generation,
        b.labels,
        b.annotations,
        b.deletion_timestamp,
        b.finalizers,
    )


def _without_nulls(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None and v != [] and v != ""}
