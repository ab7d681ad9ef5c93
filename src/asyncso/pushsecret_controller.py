"""The PushSecret controller: one worker per PushSecret pushes its source Secret's keys to its
stores, and removes what it pushed as `deletionPolicy` says.

Why its own controller (ESO's `pkg/controllers/pushsecret`): the direction is the other way
round — the source is a Kubernetes Secret, the target a provider — but the shape is the
ExternalSecret's: a worker per object on the shared `scheduler` (its refresh timer, wake-ups,
backoff), a pure core (`push_plan` decides the entries, the stores, the status), and the I/O
here: read the source Secret, render `template` (`templates.apply`, as ExternalSecrets do),
push through `ports.SecretsPusher`, write status and Events.

Safety lives in the pushers (`ports.SecretsPusher`): nothing unmanaged is overwritten or
deleted, nothing is written when the value is already there. Here: only what
`syncedPushSecrets` records as ours is ever deleted, a failed push keeps the record of what was
pushed before (so a later delete still finds it), and no value reaches a log, Event or status.
Source Secrets are read when a PushSecret syncs (at `refreshInterval`, and at once when the
PushSecret changes), not watched, as in ESO. A `selector.generatorRef` is run on each refresh, as
in ESO (`push_report.generates`), its values kept in memory for the syncs between refreshes, and
its GeneratorState kept as ESO keeps it (`generators.registry.values_for`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Callable

import anyio
import anyio.abc
import msgspec

from asyncso import (
    errors,
    metrics,
    model,
    model_push,
    observability,
    ports,
    push_plan,
    push_report,
    scheduler,
    settings,
    stores,
    view,
    watch,
)
from asyncso.generators import registry as generator_registry
from asyncso.providers import push_registry
from asyncso.templates import apply, engines

log = logging.getLogger("asyncso.pushsecret")

DONE = scheduler.SyncResult(ok=True, next_at=None)
RETRY = scheduler.SyncResult(ok=False, next_at=None, retry=True)
SOURCE = "spec.selector.secret"
MSG_DELETE_FAILED = "Failed to Delete Secrets from Provider"
MSG_CLEANUP_FAILED = "failed to cleanup provider secrets"
MSG_NO_GENERATORS = f"{push_plan.GENERATOR}: generators are not available here"
#: ESO's name for the Secret a generator's values make.
GENERATED_SECRET = "___generated-secret"

_decoder = msgspec.json.Decoder(model_push.PushSecret)
_envelope = msgspec.json.Decoder(model.Envelope)


class SourceMissingError(errors.PermanentError):
    """The Secret named by `spec.selector.secret.name` does not exist."""


class GeneratorFailedError(errors.PermanentError):
    """`spec.selector.generatorRef` could not be resolved or its generator failed."""


class PushSecretController:
    def __init__(
        self,
        *,
        state: view.View,
        kube_client: ports.PushKube,
        pushers: push_registry.PusherRegistry,
        config: settings.Settings,
        may_write: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        generators: ports.GeneratorSource | None = None,
    ) -> None:
        self.view = state
        self.kube = kube_client
        self.pushers = pushers
        self.settings = config
        self.may_write = may_write
        self.clock = clock
        self.rand = rand
        self.generators = generators
        #: Per PushSecret with a `generatorRef`: the values generated last, and the
        #: `push_report.synced_version` they were generated for.
        self._generated: dict[model.Key, tuple[str, dict[str, bytes]]] = {}
        self.pushsecrets: dict[model.Key, model_push.PushSecret | view.InvalidObject] = {}
        self.scheduler = scheduler.Scheduler(
            self.sync, is_due=self._is_due, concurrency=config.syncs_in_flight
        )
        self._started = False

    # --- the watch handler (sync, cheap) -------------------------------------------------------

    def on_event(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        if event == "DELETED":
            self.pushsecrets.pop(key, None)
            self._generated.pop(key, None)
            self.scheduler.remove(key)
            metrics.forget(
                metrics.PUSHSECRET_STATUS_CONDITION,
                metrics.PUSHSECRET_RECONCILE_DURATION,
                name=key[1],
                namespace=key[0],
            )
            return
        item: model_push.PushSecret | view.InvalidObject
        try:
            item = _decoder.decode(raw)
        except msgspec.ValidationError as exc:
            item = view.InvalidObject(meta=_envelope.decode(raw).metadata, error=str(exc))
        old = self.pushsecrets.get(key)
        self.pushsecrets[key] = item
        if not self._started:
            return
        if old is None:
            self.scheduler.ensure(key, urgent=True)
        elif _changed(_meta_of(old), _meta_of(item)):
            self.scheduler.wake(key, urgent=True)

    def on_store(self, key: stores.StoreKey) -> None:
        """A SecretStore or ClusterSecretStore changed (spec, labels, or its verdict): sync the
        PushSecrets that use it now, as ExternalSecrets are woken."""
        if not self._started:
            return
        for ps_key, item in list(self.pushsecrets.items()):
            if isinstance(item, model_push.PushSecret) and push_plan.uses_store(item, key):
                self.scheduler.wake(ps_key)

    # --- running -------------------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        async with anyio.create_task_group() as tasks:
            await tasks.start(self.scheduler.run)
            self._started = True
            for key, item in list(self.pushsecrets.items()):
                never = isinstance(item, model_push.PushSecret) and not item.status.refresh_time
                self.scheduler.ensure(key, urgent=never)
            task_status.started()

    def _is_due(self, key: model.Key) -> tuple[bool, float | None]:
        item = self.pushsecrets.get(key)
        if not isinstance(item, model_push.PushSecret):
            return True, None
        return push_report.due_at_start(
            item, now=self.clock(), jitter=self.settings.refresh_jitter, rand=self.rand()
        )

    def _check_leader(self) -> None:
        if self.may_write is not None and not self.may_write():
            raise errors.TransientError("not the leader; write skipped")

    # --- one sync ------------------------------------------------------------------------------

    async def sync(self, key: model.Key) -> scheduler.SyncResult:
        if self.may_write is not None and not self.may_write():
            return RETRY
        item = self.pushsecrets.get(key)
        if item is None:
            return DONE
        if isinstance(item, view.InvalidObject):
            return await self._report_invalid(item)
        ps = item
        if ps.metadata.deletion_timestamp:
            return await self._finalize(ps)
        if self._awaits_refresh(key, ps):
            return scheduler.SyncResult(ok=True, next_at=self._is_due(key)[1])
        started = self.clock()
        fields = observability.log_fields(namespace=key[0], name=key[1], kind=model_push.KIND)
        try:
            await self._ensure_finalizer(ps)
            pushed = await self._push(ps)
        except errors.AsyncsoError as exc:
            pushed = push_report.failed(errors.redact(str(exc)))
        if pushed is None:  # every store belongs to another controller: not ours to report
            return DONE
        report = pushed
        try:
            await self._report(ps, report, started=started)
        except errors.AsyncsoError as exc:
            log.warning("status write failed", extra={**fields, "error": errors.redact(str(exc))})
            return RETRY
        metrics.set_ready(
            metrics.PUSHSECRET_STATUS_CONDITION,
            metrics.PUSHSECRET_RECONCILE_DURATION,
            name=key[1],
            namespace=key[0],
            ready=report.ready,
            seconds=self.clock() - started,
        )
        if not report.ready:
            log.info(
                "push failed", extra={**fields, "reason": report.reason, "error": report.message}
            )
            return DONE if report.reason == push_report.REASON_SOURCE_DELETED else RETRY
        next_at = push_report.next_refresh(
            ps,
            synced_at=started,
            now=self.clock(),
            jitter=self.settings.refresh_jitter,
            rand=self.rand(),
        )
        return scheduler.SyncResult(ok=True, next_at=next_at)

    async def _push(self, ps: model_push.PushSecret) -> push_report.Report | None:
        push_plan.validate(ps)
        namespace = ps.metadata.namespace
        try:
            sources = await self._sources(ps)
        except GeneratorFailedError as exc:
            return push_report.failed(f"{push_report.MSG_GET_SOURCE}: {exc}")
        except SourceMissingError:
            if ps.spec.deletion_policy == "Delete" and ps.status.synced_push_secrets:
                return await self._source_deleted(ps)
            return push_report.failed(push_report.MSG_GET_SOURCE)
        targets = push_plan.select_stores(
            ps,
            entries=self.view.stores,
            verdicts=self.view.store_verdicts,
            namespace_labels=self.view.namespaces.get(namespace, {}),
            controller_class=self.settings.controller_class,
        )
        if not targets:  # every store belongs to another controller (ESO: nothing to do)
            return None
        push_plan.check_data_to_matches(ps, targets)
        verify = ps.status.synced_resource_version != push_report.synced_version(ps)
        synced: model_push.SyncedPushSecrets = {t.key: {} for t in targets}
        failures: list[tuple[model_push.PushSecretData, str, errors.AsyncsoError]] = []
        wrote = False
        for source in sources:
            data = await self._template(ps, source.data)
            for target in targets:
                pusher = await self.pushers.pusher_for(target.store, namespace=namespace)
                planned = push_plan.plan_entries(ps, data, target)
                entries = [p.entry for p in planned if p.entry is not None]
                self._check_leader()
                results = iter(
                    await pusher.push(entries, update_policy=ps.spec.update_policy, verify=verify)
                )
                for item in planned:
                    result = item.error or next(results)
                    if isinstance(result, errors.AsyncsoError):
                        failures.append((item.data, target.name, result))
                    else:
                        synced[target.key][push_plan.status_ref(item.data)] = item.data
                        wrote = wrote or result in ("created", "updated")
        old = ps.status.synced_push_secrets
        if failures:
            return push_report.failed(
                push_report.push_failure(failures), push_report.merge_synced(synced, old)
            )
        if ps.spec.deletion_policy == "Delete":
            gone = push_report.to_delete(old, synced)
            left, problem = await self._delete(ps, gone)
            wrote = wrote or bool(gone)
            if problem is not None:
                return push_report.failed(
                    f"{MSG_DELETE_FAILED}: {problem}", push_report.merge_synced(synced, left)
                )
        return push_report.Report(
            True, push_report.REASON_SYNCED, _synced_message(ps), synced=synced, wrote=wrote
        )

    # --- sources and template ------------------------------------------------------------------

    def _awaits_refresh(self, key: model.Key, ps: model_push.PushSecret) -> bool:
        """A generator's PushSecret woken between refreshes with no values kept (after a
        restart): nothing to push until its refresh (ESO would not run at all)."""
        if ps.spec.selector.generator_ref is None or key in self._generated:
            return False
        try:
            return not push_report.is_due(ps, now=self.clock())
        except errors.InvalidSpecError:
            return False  # said in the condition by `push_plan.validate`

    async def _sources(self, ps: model_push.PushSecret) -> list[model.Secret]:
        if ps.spec.selector.generator_ref is not None:
            return [await self._generated_source(ps, ps.spec.selector.generator_ref)]
        self._generated.pop((ps.metadata.namespace, ps.metadata.name), None)
        source = ps.spec.selector.secret
        assert source is not None  # push_plan.validate
        namespace = ps.metadata.namespace
        if source.name:
            found = await self.kube.get_secret(namespace, source.name, field=SOURCE)
            if found is None:
                raise SourceMissingError(push_report.MSG_GET_SOURCE)
            if self.generators is not None:
                owner = push_plan.state_owner(ps)
                await generator_registry.retire_push_state(self.generators, owner)
            return [found]
        assert source.selector is not None
        listed = await self.kube.list_secrets(
            namespace, selector=source.selector, field=f"{SOURCE}.selector"
        )
        return sorted(listed, key=lambda s: s.metadata.name)

    async def _generated_source(
        self, ps: model_push.PushSecret, ref: model.GeneratorRef
    ) -> model.Secret:
        """The generator's values as a Secret (ESO's `resolveSecretFromGenerator`): generated
        afresh when `push_report.generates` says so, else the ones generated last."""
        if self.generators is None:
            raise errors.InvalidSpecError(MSG_NO_GENERATORS)
        meta = ps.metadata
        key = (meta.namespace, meta.name)
        kept = self._generated.get(key)
        version = push_report.synced_version(ps)
        if push_report.generates(ps, now=self.clock(), kept_for=kept[0] if kept else None):
            try:
                values = await generator_registry.values_for(
                    self.generators,
                    ref,
                    namespace=meta.namespace,
                    where=push_plan.GENERATOR,
                    owner=push_plan.state_owner(ps),
                )
            except errors.AsyncsoError as exc:
                raise GeneratorFailedError(errors.redact(str(exc))) from None
            kept = (version, values)
            self._generated[key] = kept
        assert kept is not None
        secret_meta = model.ObjectMeta(name=GENERATED_SECRET, namespace=meta.namespace)
        return model.Secret(metadata=secret_meta, data=dict(kept[1]))

    async def _template(
        self, ps: model_push.PushSecret, data: dict[str, bytes]
    ) -> dict[str, bytes]:
        """`spec.template` over the Secret's data; ESO's PushSecret templates render into the
        Secret's data, so the keys not templated stay (mergePolicy Merge). The engine is chosen
        as for an ExternalSecret: Go (ESO's) unless `engineVersion: jinja`, with the
        operator's template delimiters."""
        template = ps.spec.template
        if template is None:
            return dict(data)
        template = msgspec.structs.replace(template, merge_policy="Merge")
        namespace = ps.metadata.namespace
        config_map_fields, secret_fields = apply.referenced_sources(template)
        config_maps: dict[str, dict[str, str]] = {}
        for name, field in config_map_fields.items():
            found_map = await self.kube.get_config_map(namespace, name, field=field)
            if found_map is None:
                raise errors.TemplateError(f"templateFrom: ConfigMap {name!r} not found")
            config_maps[name] = found_map.data
        secrets: dict[str, dict[str, bytes]] = {}
        for name, field in secret_fields.items():
            found = await self.kube.get_secret(namespace, name, field=field)
            if found is None:
                raise errors.TemplateError(f"templateFrom: Secret {name!r} not found")
            secrets[name] = found.data
        sources = apply.TemplateSources(config_maps=config_maps, secrets=secrets)
        delimiters = engines.Delimiters(
            left=self.settings.template_left_delimiter,
            right=self.settings.template_right_delimiter,
        )
        content = await asyncio.to_thread(
            functools.partial(
                apply.apply_template,
                sources=sources,
                delimiters=delimiters,
                engine_field=engines.ENGINE_FIELD_PUSHSECRET,
            ),
            template,
            data,
        )
        return content.data

    # --- deletes -------------------------------------------------------------------------------

    async def _delete(
        self,
        ps: model_push.PushSecret,
        gone: dict[str, dict[str, model_push.RemoteLocation]],
        *,
        finalizing: bool = False,
    ) -> tuple[model_push.SyncedPushSecrets, str | None]:
        """Delete `gone` (by store key); returns what could not be deleted (in
        `syncedPushSecrets` form) and the first error's message."""
        left: model_push.SyncedPushSecrets = {}
        problem: str | None = None
        old = ps.status.synced_push_secrets
        for store_key, locations in gone.items():
            try:
                pusher = await self._pusher_of(ps, store_key)
            except errors.StoreNotFoundError:
                if finalizing:
                    log.warning(
                        "store gone; its pushed secrets are left",
                        extra=observability.log_fields(
                            namespace=ps.metadata.namespace, name=ps.metadata.name
                        ),
                    )
                    continue
                raise
            self._check_leader()
            results = await pusher.delete(list(locations.values()))
            for ref, result in zip(locations, results, strict=True):
                if result is not None:
                    left.setdefault(store_key, {})[ref] = old[store_key][ref]
                    problem = problem or errors.redact(str(result))
        return left, problem

    async def _pusher_of(self, ps: model_push.PushSecret, store_key: str) -> ports.SecretsPusher:
        namespace = ps.metadata.namespace
        store = stores.resolve(
            namespace,
            push_report.store_of_key(store_key),
            stores=self.view.stores,
            namespace_labels=self.view.namespaces.get(namespace, {}),
            where=f"status.syncedPushSecrets[{store_key!r}]",
        )
        return await self.pushers.pusher_for(store, namespace=namespace)

    def _all_pushed(
        self, ps: model_push.PushSecret
    ) -> dict[str, dict[str, model_push.RemoteLocation]]:
        return push_report.to_delete(ps.status.synced_push_secrets, {})

    async def _source_deleted(self, ps: model_push.PushSecret) -> push_report.Report:
        """ESO: the source Secret is gone and `deletionPolicy: Delete`: remove what we pushed."""
        left, problem = await self._delete(ps, self._all_pushed(ps))
        if problem is not None:
            return push_report.failed(f"{MSG_CLEANUP_FAILED}: {problem}", left)
        return push_report.Report(
            False, push_report.REASON_SOURCE_DELETED, push_report.MSG_SOURCE_DELETED, {}, True
        )

    async def _finalize(self, ps: model_push.PushSecret) -> scheduler.SyncResult:
        """Deleted with `deletionPolicy: Delete`: remove what we pushed, then the finalizer."""
        if model_push.FINALIZER not in ps.metadata.finalizers:
            return DONE
        try:
            left, problem = await self._delete(ps, self._all_pushed(ps), finalizing=True)
            if problem is not None:
                report = push_report.failed(f"{MSG_DELETE_FAILED}: {problem}", left)
                await self._report(ps, report, started=self.clock())
                return RETRY
            self._check_leader()
            await self.kube.set_finalizers(
                model_push.KIND,
                ps.metadata.namespace,
                ps.metadata.name,
                finalizers=[f for f in ps.metadata.finalizers if f != model_push.FINALIZER],
                resource_version=ps.metadata.resource_version,
            )
        except errors.AsyncsoError as exc:
            log.warning(
                "finalizer failed",
                extra={
                    **observability.log_fields(
                        namespace=ps.metadata.namespace, name=ps.metadata.name
                    ),
                    "error": errors.redact(str(exc)),
                },
            )
            return RETRY
        return DONE

    async def _ensure_finalizer(self, ps: model_push.PushSecret) -> None:
        """ESO: the finalizer is there exactly while `deletionPolicy` is Delete."""
        finalizers = ps.metadata.finalizers
        wants = ps.spec.deletion_policy == "Delete"
        if wants == (model_push.FINALIZER in finalizers):
            return
        self._check_leader()
        new = (
            [*finalizers, model_push.FINALIZER]
            if wants
            else [f for f in finalizers if f != model_push.FINALIZER]
        )
        await self.kube.set_finalizers(
            model_push.KIND,
            ps.metadata.namespace,
            ps.metadata.name,
            finalizers=new,
            resource_version=ps.metadata.resource_version,
        )

    # --- status and events ---------------------------------------------------------------------

    async def _report(
        self, ps: model_push.PushSecret, report: push_report.Report, *, started: float
    ) -> None:
        patch = push_report.status_patch(ps, report, now=self.clock(), started=started)
        if patch is None:
            return
        self._check_leader()
        await self.kube.patch_status(
            model_push.KIND, ps.metadata.namespace, ps.metadata.name, patch
        )
        event_type = "Normal" if report.ready or report.wrote else "Warning"
        if report.wrote or not report.ready or _condition_changed(ps, report):
            await self.kube.emit_event(
                ps.metadata,
                kind=model_push.KIND,
                type_=event_type,
                reason=report.reason,
                message=report.message,
            )

    async def _report_invalid(self, item: view.InvalidObject) -> scheduler.SyncResult:
        ps = model_push.PushSecret(
            metadata=item.meta,
            spec=model_push.PushSecretSpec(
                secret_store_refs=[], selector=model_push.PushSecretSelector()
            ),
        )
        report = push_report.failed(f"{push_report.MSG_INVALID}: {errors.redact(item.error)}")
        try:
            await self._report(ps, report, started=self.clock())
        except errors.AsyncsoError:
            return RETRY
        return scheduler.SyncResult(ok=False, next_at=None)


def _synced_message(ps: model_push.PushSecret) -> str:
    if ps.spec.update_policy == "IfNotExists":
        return push_report.MSG_SYNCED_IF_NOT_EXISTS
    return push_report.MSG_SYNCED


def _condition_changed(ps: model_push.PushSecret, report: push_report.Report) -> bool:
    for condition in ps.status.conditions:
        if condition.type == "Ready":
            return (condition.status == "True") != report.ready or condition.reason != report.reason
    return True


def _meta_of(item: model_push.PushSecret | view.InvalidObject) -> model.ObjectMeta:
    return item.meta if isinstance(item, view.InvalidObject) else item.metadata


def _changed(old: model.ObjectMeta, new: model.ObjectMeta) -> bool:
    """ESO's predicate: generation, labels, annotations or deletion changed."""
    return (old.generation, old.labels, old.annotations, old.deletion_timestamp) != (
        new.generation,
        new.labels,
        new.annotations,
        new.deletion_timestamp,
    )
