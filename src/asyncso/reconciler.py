"""The one impure step: observe → fetch → render → plan → execute → status, for one ExternalSecret.

Why one place: every side effect of a sync (provider reads, the Secret write, status, events,
metrics) happens here in a fixed order around the pure core (`timing`, `render`, `templating`,
`plan`), so the safety rule is easy to audit: an exception anywhere before `_execute` leaves the
target Secret untouched, and only `plan` decides a delete or a shrink.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import msgspec

from asyncso import (
    conditions,
    errors,
    kube,
    metrics,
    model,
    plan,
    ports,
    providers,
    render,
    settings,
    stores,
    templating,
    timing,
    view,
)

log = logging.getLogger("asyncso.reconciler")


class NotLeaderError(errors.TransientError):
    """Leadership is gone: nothing may be written (the process is about to exit)."""


@dataclasses.dataclass(frozen=True)
class SyncResult:
    """What the scheduler needs: did it work, and when to come back (None: only on a wake)."""

    ok: bool
    next_at: float | None
    retry: bool = False  # True: back off and try again even without a wake


class Reconciler:
    def __init__(
        self,
        *,
        state: view.View,
        kube_client: kube.Kube,
        registry: providers.ProviderRegistry,
        config: settings.Settings,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        may_write: Callable[[], bool] | None = None,
    ) -> None:
        self.may_write = may_write
        self.view = state
        self.kube = kube_client
        self.registry = registry
        self.settings = config
        self.clock = clock
        self.rand = rand

    # --- entry point ---------------------------------------------------------------------------

    async def sync(self, key: view.Key) -> SyncResult:
        if self.may_write is not None and not self.may_write():
            return SyncResult(ok=False, next_at=None, retry=True)
        item = self.view.externalsecrets.get(key)
        if item is None:
            return SyncResult(ok=True, next_at=None)
        if isinstance(item, view.InvalidObject):
            try:
                await self._report_invalid(item)
            except errors.AsyncsoError:
                return SyncResult(ok=False, next_at=None, retry=True)
            return SyncResult(ok=False, next_at=None)
        es = item
        if self._not_ours(es):
            return SyncResult(ok=True, next_at=None)
        if es.metadata.deletion_timestamp:
            try:
                await self._finalize(es)
            except errors.AsyncsoError:
                return SyncResult(ok=False, next_at=None, retry=True)
            return SyncResult(ok=True, next_at=None)
        started = self.clock()
        labels = {"name": es.metadata.name, "namespace": es.metadata.namespace}
        metrics.SYNC_CALLS_TOTAL.labels(**labels).inc()
        binding = ""
        try:
            await self._ensure_finalizer(es)
            the_plan = await self._plan(es, trust_view=True)
            try:
                await self._execute(es, the_plan)
            except errors.ConflictError:
                if the_plan.action != "create":
                    raise
                # The view said "no Secret" but one exists (unmanaged, or the view lags).
                the_plan = await self._plan(es, trust_view=False)
                await self._execute(es, the_plan)
            binding = the_plan.binding
            outcome = the_plan.outcome
        except errors.AsyncsoError as exc:
            outcome = plan.failure(_message_for(exc), _detail(exc))
            transient = exc.transient
        else:
            transient = False
        ok = outcome.ready
        if not ok:
            metrics.SYNC_CALLS_ERROR.labels(**labels).inc()
        if outcome.event_reason:
            event_type = "Normal" if ok else "Warning"
            await self.kube.emit_event(
                es.metadata,
                kind="ExternalSecret",
                type_=event_type,
                reason=outcome.event_reason,
                message=outcome.event_message,
            )
        try:
            await self._write_status(es, outcome, started=started, ok=ok, binding=binding)
        except errors.AsyncsoError as exc:
            # The Secret is written (or untouched); only the report failed: try again soon.
            log.warning(
                "status write failed",
                extra={"namespace": key[0], "object_name": key[1], "error": _detail(exc)},
            )
            return SyncResult(ok=False, next_at=None, retry=True)
        elapsed = self.clock() - started
        metrics.EXTERNALSECRET_RECONCILE_DURATION.labels(**labels).set(elapsed * 1000)
        metrics.RECONCILE_SECONDS.labels(result="ok" if ok else "error").observe(elapsed)
        if not ok:
            log.info(
                "sync failed",
                extra={
                    "namespace": key[0],
                    "object_name": key[1],
                    "reason": outcome.reason,
                    "error": outcome.message,
                    "transient": transient,
                },
            )
            return SyncResult(ok=False, next_at=None, retry=True)
        synced = _with_refresh(es, started, self._synced_version(es))
        next_at = timing.next_refresh(
            synced, now=self.clock(), jitter=self.settings.refresh_jitter, rand=self.rand()
        )
        return SyncResult(ok=True, next_at=next_at)

    def _synced_version(self, es: model.ExternalSecret) -> str:
        store = stores.version_of(es.metadata.namespace, es.spec.secret_store_ref, self.view.stores)
        return timing.resource_version(es, store_version=store)

    def _not_ours(self, es: model.ExternalSecret) -> bool:
        """ESO skips ExternalSecrets whose store belongs to another controller class, and those
        reading ClusterSecretStores when that reconciler is disabled."""
        ref = es.spec.secret_store_ref
        if ref is None:
            return False
        if ref.kind == "ClusterSecretStore" and not self.settings.enable_cluster_store_reconciler:
            return True
        entry = self.view.stores.get(stores.ref_key(es.metadata.namespace, ref))
        return entry is not None and not stores.is_ours(entry.store, self.settings.controller_class)

    # --- the steps -----------------------------------------------------------------------------

    async def desired(self, es: model.ExternalSecret) -> templating.Rendered | None:
        """What the target Secret should hold, from the providers and the template; None when
        every remote secret is gone and `deletionPolicy` (Delete/Merge) says to act on it.
        Also used by `asyncso render`."""
        spec = es.spec
        if spec.target.deletion_policy == "Delete" and spec.target.creation_policy in (
            "Merge",
            "None",
        ):
            raise errors.InvalidSpecError(
                "spec.target.deletionPolicy: Delete requires creationPolicy Owner or Orphan"
            )
        if spec.target.deletion_policy == "Merge" and spec.target.creation_policy == "None":
            raise errors.InvalidSpecError(
                "spec.target.deletionPolicy: Merge cannot be used with creationPolicy None"
            )
        timing.parse_duration(spec.refresh_interval)
        fetched = await self._fetch(es)
        values = render.values(spec, fetched)
        if not values and spec.target.deletion_policy in ("Delete", "Merge"):
            return None
        return await self._template(es, values)

    async def _plan(self, es: model.ExternalSecret, *, trust_view: bool) -> plan.Plan:
        desired = await self.desired(es)
        target = (es.metadata.namespace, model.target_name(es))
        observed: model.Secret | None = None
        # A managed Secret absent from the watched view is very likely absent: skip the GET and
        # let a create conflict (409) fall back to reading it. Merge targets are not watched.
        if not (
            trust_view
            and es.spec.target.creation_policy in ("Owner", "Orphan")
            and target not in self.view.secrets
        ):
            observed = await self.kube.get_secret(*target)
        return plan.plan_sync(es, desired, observed)

    async def _provider(
        self,
        es: model.ExternalSecret,
        ref: model.StoreRef | None,
        *,
        where: str,
        cache: dict[Any, ports.SecretsProvider],
    ) -> ports.SecretsProvider:
        namespace = es.metadata.namespace
        store = stores.resolve(
            namespace,
            ref,
            stores=self.view.stores,
            namespace_labels=self.view.namespaces.get(namespace, {}),
            where=where,
        )
        cache_key = (store.kind, store.metadata.namespace, store.metadata.name)
        provider = cache.get(cache_key)
        if provider is None:
            factory = self.registry.factory_for(store)
            provider = await factory.provider_for(store, namespace=namespace)
            cache[cache_key] = provider
        return provider

    async def _entry_provider(
        self,
        es: model.ExternalSecret,
        source: model.SourceRef | None,
        *,
        where: str,
        cache: dict[Any, ports.SecretsProvider],
    ) -> ports.SecretsProvider:
        """The provider of one `data[]`/`dataFrom[]` entry: its own `sourceRef.storeRef`, or the
        ExternalSecret's store."""
        ref = _entry_ref(source, es.spec.secret_store_ref, where=where)
        field = f"{where}.sourceRef.storeRef" if source else "spec.secretStoreRef"
        return await self._provider(es, ref, where=field, cache=cache)

    async def _fetch(self, es: model.ExternalSecret) -> render.Fetched:
        spec = es.spec
        cache: dict[Any, ports.SecretsProvider] = {}
        jobs: list[Any] = []
        for index, item in enumerate(spec.data):
            where = f"spec.data[{index}]"
            provider = await self._entry_provider(es, item.source_ref, where=where, cache=cache)
            jobs.append(provider.get_secret(item.remote_ref))
        for index, entry in enumerate(spec.data_from):
            where = f"spec.dataFrom[{index}]"
            provider = await self._entry_provider(es, entry.source_ref, where=where, cache=cache)
            if entry.extract is not None:
                jobs.append(provider.get_secret_map(entry.extract))
            elif entry.find is not None:
                jobs.append(provider.get_all_secrets(entry.find))
            else:
                raise errors.InvalidSpecError(f"{where}: one of extract or find is required")
        results = await asyncio.gather(*jobs, return_exceptions=True)
        missing_ok = spec.target.deletion_policy in ("Delete", "Merge")
        values: list[Any] = []
        for result in results:
            if isinstance(result, errors.RemoteSecretNotFoundError) and missing_ok:
                values.append(None)
            elif isinstance(result, BaseException):
                if isinstance(result, errors.AsyncsoError):
                    raise result
                if isinstance(result, Exception):
                    raise errors.ProviderUnavailableError(
                        f"provider failed: {type(result).__name__}"
                    ) from result
                raise result
            else:
                values.append(result)
        count = len(spec.data)
        return render.Fetched(data=values[:count], data_from=values[count:])

    async def _template(
        self, es: model.ExternalSecret, values: dict[str, bytes]
    ) -> templating.Rendered:
        template = es.spec.target.template
        if template is None:
            return templating.Rendered(data=values, labels={}, annotations={}, type="Opaque")
        namespace = es.metadata.namespace
        config_map_names, secret_names = templating.referenced_sources(template)
        config_maps: dict[str, dict[str, str]] = {}
        for name in sorted(config_map_names):
            found = await self.kube.get_config_map(namespace, name)
            if found is None:
                raise errors.TemplateError(f"templateFrom: ConfigMap {name!r} not found")
            config_maps[name] = found.data
        secrets: dict[str, dict[str, bytes]] = {}
        for name in sorted(secret_names):
            secret = await self.kube.get_secret(namespace, name)
            if secret is None:
                raise errors.TemplateError(f"templateFrom: Secret {name!r} not found")
            secrets[name] = secret.data
        sources = templating.TemplateSources(config_maps=config_maps, secrets=secrets)
        return await asyncio.to_thread(templating.apply_template, template, values, sources=sources)

    def _check_leader(self) -> None:
        """The last gate before any write: a replica that is not leader writes nothing."""
        if self.may_write is not None and not self.may_write():
            raise NotLeaderError("not the leader; write skipped")

    async def _execute(self, es: model.ExternalSecret, the_plan: plan.Plan) -> None:
        secret = the_plan.secret
        if the_plan.action == "none" or secret is None:
            return
        self._check_leader()
        if the_plan.action == "create":
            await self.kube.create_secret(secret)
        elif the_plan.action == "update":
            await self.kube.replace_secret(secret)
        elif the_plan.action == "delete":
            await self.kube.delete_secret(
                secret.metadata.namespace,
                secret.metadata.name,
                resource_version=secret.metadata.resource_version,
            )

    # --- status, finalizer ---------------------------------------------------------------------

    async def _write_status(
        self,
        es: model.ExternalSecret,
        outcome: plan.Outcome,
        *,
        started: float,
        ok: bool,
        binding: str,
    ) -> None:
        condition = conditions.ready(outcome.ready, outcome.reason, outcome.message)
        current = conditions.find(es.status.conditions)
        _set_condition_metric(es, condition)
        if not ok and conditions.same(current, condition):
            return  # same failure again: do not rewrite status on every retry
        status = msgspec.structs.replace(
            es.status,
            conditions=conditions.set_condition(es.status.conditions, condition, now=self.clock()),
        )
        if ok:
            status = msgspec.structs.replace(
                status,
                refresh_time=timing.format_time(started),
                synced_resource_version=self._synced_version(es),
            )
        if binding:
            status = msgspec.structs.replace(status, binding=model.Binding(name=binding))
        self._check_leader()
        await self.kube.patch_status(
            "ExternalSecret", es.metadata.namespace, es.metadata.name, msgspec.to_builtins(status)
        )

    async def _report_invalid(self, item: view.InvalidObject) -> None:
        condition = conditions.ready(
            False, plan.REASON_ERROR, f"invalid ExternalSecret: {item.error}"
        )
        status = {
            "conditions": [
                msgspec.to_builtins(conditions.set_condition([], condition, now=self.clock())[0])
            ]
        }
        await self.kube.patch_status("ExternalSecret", item.meta.namespace, item.meta.name, status)

    async def _ensure_finalizer(self, es: model.ExternalSecret) -> None:
        finalizers = es.metadata.finalizers
        wants = es.spec.target.deletion_policy == "Delete"
        has = model.FINALIZER in finalizers
        if wants == has:
            return
        new = (
            [*finalizers, model.FINALIZER]
            if wants
            else [f for f in finalizers if f != model.FINALIZER]
        )
        await self.kube.set_finalizers(
            "ExternalSecret",
            es.metadata.namespace,
            es.metadata.name,
            finalizers=new,
            resource_version=es.metadata.resource_version,
        )

    async def _finalize(self, es: model.ExternalSecret) -> None:
        """`deletionPolicy: Delete`: remove the target we created, then let the object go."""
        if model.FINALIZER not in es.metadata.finalizers:
            return
        namespace, name = es.metadata.namespace, model.target_name(es)
        observed = await self.kube.get_secret(namespace, name)
        if (
            observed is not None
            and observed.metadata.labels.get(model.LABEL_MANAGED) == "true"
            and not plan.owned_by_other(es, observed)
        ):
            await self.kube.delete_secret(namespace, name)
        await self.kube.set_finalizers(
            "ExternalSecret",
            namespace,
            es.metadata.name,
            finalizers=[f for f in es.metadata.finalizers if f != model.FINALIZER],
            resource_version=es.metadata.resource_version,
        )


def _entry_ref(
    source: model.SourceRef | None, default: model.StoreRef | None, *, where: str
) -> model.StoreRef | None:
    if source is None:
        return default
    if source.generator_ref is not None:
        raise errors.InvalidSpecError(
            f"{where}.sourceRef.generatorRef: generators are not supported yet"
        )
    return source.store_ref or default


def _with_refresh(es: model.ExternalSecret, started: float, version: str) -> model.ExternalSecret:
    status = msgspec.structs.replace(
        es.status, refresh_time=timing.format_time(started), synced_resource_version=version
    )
    return msgspec.structs.replace(es, status=status)


def _message_for(exc: errors.AsyncsoError) -> str:
    if isinstance(exc, errors.StoreNotFoundError | errors.StoreNotReadyError):
        return "could not get store"
    if isinstance(exc, errors.InvalidSpecError):
        return "invalid ExternalSecret"
    if isinstance(exc, errors.TemplateError):
        return "could not apply template"
    if isinstance(exc, errors.ConflictError | kube.KubeUnavailableError | kube.KubeRequestError):
        return plan.MSG_UPDATE
    return plan.MSG_GET_DATA


def _detail(exc: errors.AsyncsoError) -> str:
    return errors.redact(str(exc))


def _set_condition_metric(es: model.ExternalSecret, condition: model.Condition) -> None:
    for status in ("True", "False"):
        metrics.EXTERNALSECRET_STATUS_CONDITION.labels(
            name=es.metadata.name,
            namespace=es.metadata.namespace,
            condition=condition.type,
            status=status,
        ).set(1.0 if condition.status == status else 0.0)
