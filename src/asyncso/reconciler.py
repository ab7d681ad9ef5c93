"""The one impure step: observe → fetch → render → plan → execute → status, for one ExternalSecret.

Why one place: every side effect of a sync (provider reads, the Secret write, status, events,
metrics) happens here in a fixed order around the pure core (`timing`, `secret_data`, `templates`,
`plan`), so the safety rule is easy to audit: an exception anywhere before `_execute` leaves the
target Secret untouched, and only `plan` decides a delete or a shrink.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import msgspec

from asyncso import (
    errors,
    metrics,
    model,
    observability,
    plan,
    ports,
    property_path,
    providers,
    scheduler,
    secret_data,
    settings,
    status,
    stores,
    timing,
    validation,
    view,
)
from asyncso.templates import apply, engines

log = logging.getLogger("asyncso.reconciler")

MSG_STORE = "could not get store"
MSG_TEMPLATE = "could not apply template"
DONE = scheduler.SyncResult(ok=True, next_at=None)
RETRY = scheduler.SyncResult(ok=False, next_at=None, retry=True)

#: Where the target Secret's name comes from (`spec.target.name`, defaulting to the ES's name).
TARGET = "spec.target"


class NotLeaderError(errors.TransientError):
    """Leadership is gone: nothing may be written (the process is about to exit)."""


class Reconciler:
    """Syncs one ExternalSecret at a time, by key, against the view and the cluster."""

    def __init__(
        self,
        *,
        state: view.View,
        kube_client: ports.KubeClient,
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

    async def sync(self, key: model.Key) -> scheduler.SyncResult:
        """One sync: the leader gate, then the invalid / foreign / finalizing cases, then
        `_reconcile` (plan and write), then the report (Event, status, metrics, log)."""
        if self.may_write is not None and not self.may_write():
            return RETRY
        item = self.view.externalsecrets.get(key)
        if item is None:
            return DONE
        if isinstance(item, view.InvalidObject):
            return await self._report_invalid(item)
        es = item
        if self._not_ours(es):
            return DONE
        if es.metadata.deletion_timestamp:
            try:
                await self._finalize(es)
            except errors.AsyncsoError:
                return RETRY
            return DONE
        started = self.clock()
        labels = {"name": es.metadata.name, "namespace": es.metadata.namespace}
        metrics.SYNC_CALLS_TOTAL.labels(**labels).inc()
        try:
            the_plan = await self._reconcile(es)
        except errors.AsyncsoError as exc:
            report, binding, transient = (
                plan.failure(_message_for(exc), _detail(exc)),
                "",
                exc.transient,
            )
        else:
            report, binding, transient = the_plan.report, the_plan.binding, False
        if not report.ready:
            metrics.SYNC_CALLS_ERROR.labels(**labels).inc()
        event = status.event_for(report)
        if event is not None:
            await self.kube.emit_event(
                es.metadata,
                kind="ExternalSecret",
                type_=event.type,
                reason=event.reason,
                message=event.message,
            )
        fields = observability.log_fields(namespace=key[0], name=key[1])
        try:
            await self._write_status(es, report, started=started, binding=binding)
        except errors.AsyncsoError as exc:
            # The Secret is written (or untouched); only the report failed: try again soon.
            log.warning("status write failed", extra={**fields, "error": _detail(exc)})
            return RETRY
        elapsed = self.clock() - started
        metrics.EXTERNALSECRET_RECONCILE_DURATION.labels(**labels).set(elapsed * 1000)
        metrics.RECONCILE_SECONDS.labels(result="ok" if report.ready else "error").observe(elapsed)
        if not report.ready:
            log.info(
                "sync failed",
                extra={
                    **fields,
                    "reason": report.reason,
                    "error": report.message,
                    "transient": transient,
                },
            )
            return RETRY
        synced = _with_refresh(es, started, self._synced_version(es))
        next_at = timing.next_refresh(
            synced, now=self.clock(), jitter=self.settings.refresh_jitter, rand=self.rand()
        )
        return scheduler.SyncResult(ok=True, next_at=next_at)

    async def _reconcile(self, es: model.ExternalSecret) -> plan.Plan:
        """Validate, keep the finalizer right, plan from the view, write; re-plan from a fresh
        read when a create finds the Secret exists after all (the view lags, or it is not ours)."""
        validation.validate(es)
        await self._ensure_finalizer(es)
        the_plan = await self._plan(es, trust_view=True)
        try:
            await self._execute(the_plan)
        except errors.ConflictError:
            if the_plan.action != "create":
                raise
            the_plan = await self._plan(es, trust_view=False)
            await self._execute(the_plan)
        return the_plan

    def _synced_version(self, es: model.ExternalSecret) -> str:
        store = stores.version_of(es.metadata.namespace, es.spec.secret_store_ref, self.view.stores)
        return timing.synced_resource_version(es, store_version=store)

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

    async def desired(self, es: model.ExternalSecret) -> model.SecretContent | None:
        """What the target Secret should hold, from the providers and the template; None when
        every remote secret is gone and `deletionPolicy` (Delete/Merge) says to act on it.
        Also used by `asyncso render`."""
        validation.validate(es)
        spec = es.spec
        fetched = await self._fetch(es)
        # Off the event loop: rewrite transforms are templates too (bounded, but CPU-bound).
        values = await asyncio.to_thread(secret_data.merge, spec, fetched)
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
            observed = await self.kube.get_secret(*target, field=TARGET)
        return plan.plan_sync(es, desired, observed)

    async def _provider(
        self,
        es: model.ExternalSecret,
        source: model.SourceRef | None,
        *,
        where: str,
        cache: dict[Any, ports.SecretsProvider],
    ) -> ports.SecretsProvider:
        """The provider of one `data[]`/`dataFrom[]` entry: its own `sourceRef.storeRef`, or
        the ExternalSecret's store; one per store within a sync (`cache`)."""
        namespace = es.metadata.namespace
        store = stores.resolve(
            namespace,
            _entry_ref(source, es.spec.secret_store_ref),
            stores=self.view.stores,
            namespace_labels=self.view.namespaces.get(namespace, {}),
            verdicts=self.view.store_verdicts,
            where=f"{where}.sourceRef.storeRef" if source else "spec.secretStoreRef",
        )
        cache_key = (store.kind, store.metadata.namespace, store.metadata.name)
        provider = cache.get(cache_key)
        if provider is None:
            factory = self.registry.factory_for(store)
            provider = await factory.provider_for(store, namespace=namespace)
            cache[cache_key] = provider
        return provider

    async def _fetch(self, es: model.ExternalSecret) -> secret_data.Fetched:
        spec = es.spec
        cache: dict[Any, ports.SecretsProvider] = {}
        jobs: list[Any] = []
        for index, item in enumerate(spec.data):
            where = f"spec.data[{index}]"
            provider = await self._provider(es, item.source_ref, where=where, cache=cache)
            jobs.append(_value(provider, item.remote_ref))
        for index, entry in enumerate(spec.data_from):
            where = f"spec.dataFrom[{index}]"
            provider = await self._provider(es, entry.source_ref, where=where, cache=cache)
            if entry.extract is not None:
                jobs.append(_value_map(provider, entry.extract))
            elif entry.find is not None:
                jobs.append(provider.find(entry.find))
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
        return secret_data.Fetched(data=values[:count], data_from=values[count:])

    async def _template(
        self, es: model.ExternalSecret, values: dict[str, bytes]
    ) -> model.SecretContent:
        template = es.spec.target.template
        if template is None:
            return model.SecretContent(data=values, labels={}, annotations={}, type="Opaque")
        namespace = es.metadata.namespace
        config_map_fields, secret_fields = apply.referenced_sources(template)
        config_maps: dict[str, dict[str, str]] = {}
        for name, field in config_map_fields.items():
            found = await self.kube.get_config_map(namespace, name, field=field)
            if found is None:
                raise errors.TemplateError(f"templateFrom: ConfigMap {name!r} not found")
            config_maps[name] = found.data
        secrets: dict[str, dict[str, bytes]] = {}
        for name, field in secret_fields.items():
            secret = await self.kube.get_secret(namespace, name, field=field)
            if secret is None:
                raise errors.TemplateError(f"templateFrom: Secret {name!r} not found")
            secrets[name] = secret.data
        sources = apply.TemplateSources(config_maps=config_maps, secrets=secrets)
        delimiters = engines.Delimiters(
            left=self.settings.template_left_delimiter,
            right=self.settings.template_right_delimiter,
        )
        return await asyncio.to_thread(
            apply.apply_template, template, values, sources=sources, delimiters=delimiters
        )

    def _check_leader(self) -> None:
        """The last gate before any write: a replica that is not leader writes nothing."""
        if self.may_write is not None and not self.may_write():
            raise NotLeaderError("not the leader; write skipped")

    async def _execute(self, the_plan: plan.Plan) -> None:
        secret = the_plan.secret
        if the_plan.action == "none" or secret is None:
            return
        self._check_leader()
        if the_plan.action == "create":
            await self.kube.create_secret(secret, field=TARGET)
        elif the_plan.action == "update":
            await self.kube.replace_secret(secret, field=TARGET)
        elif the_plan.action == "delete":
            await self.kube.delete_secret(
                secret.metadata.namespace,
                secret.metadata.name,
                resource_version=secret.metadata.resource_version,
                field=TARGET,
            )

    # --- status, finalizer ---------------------------------------------------------------------

    async def _write_status(
        self, es: model.ExternalSecret, report: plan.Report, *, started: float, binding: str
    ) -> None:
        condition = status.ready(report.ready, report.reason, report.message)
        status.set_condition_metric("ExternalSecret", es.metadata, condition)
        synced = None
        if report.ready:
            synced = (timing.format_time(started), self._synced_version(es))
        body = status.externalsecret_status(
            es, report, now=self.clock(), synced=synced, binding=binding
        )
        if body is None:
            return
        self._check_leader()
        await self.kube.patch_status(
            "ExternalSecret", es.metadata.namespace, es.metadata.name, body
        )

    async def _report_invalid(self, item: view.InvalidObject) -> scheduler.SyncResult:
        body = status.invalid_status(item.error, now=self.clock())
        try:
            await self.kube.patch_status(
                "ExternalSecret", item.meta.namespace, item.meta.name, body
            )
        except errors.AsyncsoError:
            return RETRY
        return scheduler.SyncResult(ok=False, next_at=None)

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
        try:
            observed = await self.kube.get_secret(namespace, name, field=TARGET)
        except errors.InvalidNameError as exc:
            # No Secret of ours can exist under a name the apiserver would refuse.
            log.info(
                "finalizer removed: invalid target name",
                extra={
                    **observability.log_fields(namespace=namespace, name=es.metadata.name),
                    "error": str(exc),
                },
            )
            observed = None
        if (
            observed is not None
            and observed.metadata.labels.get(model.LABEL_MANAGED) == "true"
            and not plan.owned_by_other(es, observed)
        ):
            await self.kube.delete_secret(namespace, name, field=TARGET)
        await self.kube.set_finalizers(
            "ExternalSecret",
            namespace,
            es.metadata.name,
            finalizers=[f for f in es.metadata.finalizers if f != model.FINALIZER],
            resource_version=es.metadata.resource_version,
        )


async def _value(provider: ports.SecretsProvider, ref: model.RemoteRef) -> bytes:
    return property_path.value(await provider.read(ref), ref)


async def _value_map(provider: ports.SecretsProvider, ref: model.RemoteRef) -> dict[str, bytes]:
    return property_path.value_map(await provider.read(ref), ref)


def _entry_ref(
    source: model.SourceRef | None, default: model.StoreRef | None
) -> model.StoreRef | None:
    """An entry's own store (generators are refused by `validation`), else the default."""
    if source is None:
        return default
    return source.store_ref or default


def _with_refresh(es: model.ExternalSecret, started: float, version: str) -> model.ExternalSecret:
    refreshed = msgspec.structs.replace(
        es.status, refresh_time=timing.format_time(started), synced_resource_version=version
    )
    return msgspec.structs.replace(es, status=refreshed)


def _message_for(exc: errors.AsyncsoError) -> str:
    if isinstance(exc, errors.StoreNotFoundError | errors.StoreNotReadyError):
        return MSG_STORE
    if isinstance(exc, errors.InvalidSpecError):
        return status.MSG_INVALID_EXTERNALSECRET
    if isinstance(exc, errors.TemplateError):
        return MSG_TEMPLATE
    if isinstance(exc, errors.AccessDeniedError):
        return plan.MSG_GET_DATA
    if isinstance(exc, errors.ConflictError | errors.ApiError):
        return plan.MSG_UPDATE
    return plan.MSG_GET_DATA


def _detail(exc: errors.AsyncsoError) -> str:
    return errors.redact(str(exc))
