"""Composition root: watchers → view → scheduler → reconciler, store status, and the run loop.

Why here and only here: every adapter (kube client, providers, watchers) is built and wired in
this module, so the core stays free of I/O and tests can assemble the same `Operator` in-process
against the real test apiserver.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
from collections.abc import Callable

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
    reconciler,
    scheduler,
    settings,
    stores,
    timing,
    view,
    watch,
)
from asyncso.providers import aws_factory, fake

log = logging.getLogger("asyncso.app")
_background: set[asyncio.Task[None]] = set()

EXTERNALSECRETS = watch.Resource(model.GROUP, model.VERSION, "externalsecrets", namespaced=True)
SECRETSTORES = watch.Resource(model.GROUP, model.VERSION, "secretstores", namespaced=True)
CLUSTERSECRETSTORES = watch.Resource(
    model.GROUP, model.VERSION, "clustersecretstores", namespaced=False
)
SECRETS = watch.Resource("", "v1", "secrets", namespaced=True)
NAMESPACES = watch.Resource("", "v1", "namespaces", namespaced=False)

_es_decoder = msgspec.json.Decoder(model.ExternalSecret)
_store_decoder = msgspec.json.Decoder(model.SecretStore)
_envelope_decoder = msgspec.json.Decoder(model.Envelope)
_secret_decoder = msgspec.json.Decoder(model.Secret)
_namespace_decoder = msgspec.json.Decoder(model.Namespace)


def default_registry(
    kube_client: kube.Kube, config: settings.Settings
) -> providers.ProviderRegistry:
    """Every provider this build ships: AWS (Secrets Manager, Parameter Store) and fake."""
    factories: list[ports.ProviderFactory] = []

    def note(store: tuple[str, str, str], message: str) -> None:
        """Say a provider fact once on the store itself (e.g. batch reads denied by IAM)."""
        kind, namespace, name = store
        meta = model.ObjectMeta(name=name, namespace=namespace)
        task = asyncio.get_running_loop().create_task(
            kube_client.emit_event(
                meta, kind=kind, type_="Warning", reason="ProviderNotice", message=message
            )
        )
        _background.add(task)
        task.add_done_callback(_background.discard)

    factories.append(aws_factory.AwsProviderFactory(kube_client, config, on_note=note))
    factories.append(fake.FakeProviderFactory())
    return providers.ProviderRegistry(factories)


class Operator:
    """One operator instance: its view, scheduler and watchers."""

    def __init__(
        self,
        config: settings.Settings,
        kube_client: kube.Kube,
        registry: providers.ProviderRegistry,
        *,
        may_write: Callable[[], bool] | None = None,
    ) -> None:
        self.settings = config
        self.kube = kube_client
        self.registry = registry
        self.view = view.View()
        self.reconciler = reconciler.Reconciler(
            state=self.view,
            kube_client=kube_client,
            registry=registry,
            config=config,
            may_write=may_write,
        )
        self.scheduler = scheduler.Scheduler(
            self._sync, is_due=self._is_due, concurrency=config.syncs_in_flight
        )
        self._started = False
        self._states: dict[view.Key, str] = {}
        self._counts: collections.Counter[str] = collections.Counter()
        self._store_tasks: set[asyncio.Task[None]] = set()
        self.informers: list[watch.Informer] = []
        self.ready = asyncio.Event()

    # --- run -----------------------------------------------------------------------------------

    def _informer(
        self,
        resource: watch.Resource,
        handler: watch.Handler,
        *,
        namespace: str = "",
        label_selector: str = "",
    ) -> watch.Informer:
        informer = watch.Informer(
            self.kube.api, resource, handler, namespace=namespace, label_selector=label_selector
        )
        self.informers.append(informer)
        return informer

    async def run(self) -> None:
        """Watch and reconcile until cancelled."""
        ns = self.settings.namespace
        informers = [
            self._informer(NAMESPACES, self._on_namespace),
            self._informer(SECRETSTORES, self._on_store, namespace=ns),
            self._informer(
                SECRETS,
                self._on_secret,
                namespace=ns,
                label_selector=f"{model.LABEL_MANAGED}=true",
            ),
            self._informer(EXTERNALSECRETS, self._on_externalsecret, namespace=ns),
        ]
        if self.settings.enable_cluster_store_reconciler:
            informers.insert(1, self._informer(CLUSTERSECRETSTORES, self._on_store))
        tasks = [asyncio.create_task(i.run(), name=f"watch:{i.resource.plural}") for i in informers]
        try:
            await asyncio.gather(*(i.synced.wait() for i in informers))
            self._start_workers()
            tasks.append(asyncio.create_task(self._revalidate_stores(), name="stores"))
            self.ready.set()
            log.info("watchers synced; reconciling", extra={"externalsecrets": len(self.scheduler)})
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.scheduler.close()
            for task in list(self._store_tasks):
                task.cancel()

    def _start_workers(self) -> None:
        self._started = True
        for key, item in list(self.view.externalsecrets.items()):
            self.scheduler.ensure(key, urgent=_never_synced(item))
        for skey in list(self.view.stores):
            self._validate_store_later(skey)

    async def _revalidate_stores(self) -> None:
        """ESO re-checks stores every `--store-requeue-interval` (credentials expire, roles
        change); a store whose Ready flips wakes its readers through `_validate_store`."""
        while True:
            await asyncio.sleep(self.settings.store_requeue_interval)
            for skey in list(self.view.stores):
                self._validate_store_later(skey)

    # --- sync, with the state gauges ---

    async def _sync(self, key: view.Key) -> reconciler.SyncResult:
        result = await self.reconciler.sync(key)
        if key in self.view.externalsecrets:
            self._set_state(key, "synced" if result.ok else "error")
        return result

    def _set_state(self, key: view.Key, state: str | None) -> None:
        """Keep per-state counts incrementally: O(1) per sync even at 10k+ ExternalSecrets."""
        old = self._states.pop(key, None)
        if old is not None:
            self._counts[old] -= 1
        if state is not None:
            self._states[key] = state
            self._counts[state] += 1
        pending = len(self.view.externalsecrets) - self._counts["synced"] - self._counts["error"]
        for name in ("synced", "error"):
            metrics.EXTERNALSECRETS_BY_STATE.labels(state=name).set(self._counts[name])
        metrics.EXTERNALSECRETS_BY_STATE.labels(state="pending").set(max(0, pending))

    # --- due? ----------------------------------------------------------------------------------

    def _is_due(self, key: view.Key) -> tuple[bool, float | None]:
        item = self.view.externalsecrets.get(key)
        if not isinstance(item, model.ExternalSecret):
            return True, None
        now = time.time()
        try:
            store = stores.version_of(key[0], item.spec.secret_store_ref, self.view.stores)
            due = timing.is_due(item, now=now, store_version=store)
            if not due and item.spec.target.creation_policy != "None":
                record = self.view.secrets.get((key[0], model.target_name(item)))
                due = record is None or not record.valid
            next_at = timing.next_refresh(
                item, now=now, jitter=self.settings.refresh_jitter, rand=random.random()
            )
        except errors.InvalidSpecError:
            return True, None
        return due, next_at

    # --- watch handlers (sync, cheap) ----------------------------------------------------------

    def _on_externalsecret(self, event: watch.EventType, key: view.Key, raw: msgspec.Raw) -> None:
        if event == "DELETED":
            self.view.drop_externalsecret(key)
            self.scheduler.remove(key)
            self._set_state(key, None)
            return
        item: model.ExternalSecret | view.InvalidObject
        try:
            item = _es_decoder.decode(raw)
        except msgspec.ValidationError as exc:
            item = view.InvalidObject(meta=_envelope_decoder.decode(raw).metadata, error=str(exc))
        old = self.view.externalsecrets.get(key)
        self.view.put_externalsecret(key, item)
        if not self._started:
            return
        if old is None:
            self.scheduler.ensure(key, urgent=True)
        elif _changed(old, item):
            self.scheduler.wake(key, urgent=True)

    def _on_store(self, event: watch.EventType, key: view.Key, raw: msgspec.Raw) -> None:
        envelope = _envelope_decoder.decode(raw)
        kind = envelope.kind or ("ClusterSecretStore" if not key[0] else "SecretStore")
        skey = stores.store_key(kind, key[0], key[1])
        if event == "DELETED":
            self.view.stores.pop(skey, None)
        else:
            try:
                store = _store_decoder.decode(raw)
                store = msgspec.structs.replace(store, kind=kind)
                entry = stores.StoreEntry(meta=store.metadata, kind=kind, store=store)
            except msgspec.ValidationError as exc:
                entry = stores.StoreEntry(
                    meta=envelope.metadata, kind=kind, store=None, invalid=str(exc)
                )
            old = self.view.stores.get(skey)
            self.view.stores[skey] = entry
            if old is not None and old.meta.generation == entry.meta.generation and old.validated:
                entry.validated = True
                entry.invalid = entry.invalid or old.invalid
                return  # a status-only change (often our own write)
            if self._started:
                self._validate_store_later(skey)
        if self._started:
            for es_key in self.view.readers_of_store(skey):
                self.scheduler.wake(es_key)

    def _on_namespace(self, event: watch.EventType, key: view.Key, raw: msgspec.Raw) -> None:
        name = key[1]
        if event == "DELETED":
            self.view.namespaces.pop(name, None)
            return
        labels = _namespace_decoder.decode(raw).metadata.labels
        old = self.view.namespaces.get(name)
        self.view.namespaces[name] = labels
        if self._started and old is not None and old != labels:
            for es_key in self.view.namespace_readers(name):
                self.scheduler.wake(es_key)

    def _on_secret(self, event: watch.EventType, key: view.Key, raw: msgspec.Raw) -> None:
        if event == "DELETED":
            self.view.secrets.pop(key, None)
            valid = False
        else:
            secret = _secret_decoder.decode(raw)
            valid = plan.is_valid(secret)
            self.view.secrets[key] = view.SecretRecord(secret.metadata.resource_version, valid)
        if self._started and not valid:
            for es_key in self.view.writers_of(key):
                self.scheduler.wake(es_key, urgent=True)

    # --- store validation ----------------------------------------------------------------------

    def _validate_store_later(self, key: stores.StoreKey) -> None:
        task = asyncio.create_task(self._validate_store(key))
        self._store_tasks.add(task)
        task.add_done_callback(self._store_tasks.discard)

    async def _validate_store(self, key: stores.StoreKey) -> None:
        entry = self.view.stores.get(key)
        if entry is None or not stores.is_ours(entry.store, self.settings.controller_class):
            return
        if entry.store is None:
            ok, reason, message = (
                False,
                stores.REASON_INVALID_CONFIG,
                f"invalid store: {entry.invalid}",
            )
        else:
            try:
                factory = self.registry.factory_for(entry.store)
                await factory.validate(entry.store)
            except errors.InvalidSpecError as exc:
                ok, reason, message = False, stores.REASON_INVALID_PROVIDER, str(exc)
            except errors.AsyncsoError as exc:
                ok, reason, message = (
                    False,
                    stores.REASON_VALIDATION_FAILED,
                    errors.redact(str(exc)),
                )
            else:
                ok, reason, message = True, stores.REASON_VALID, stores.MSG_VALID
        previous = (entry.validated, entry.invalid)
        entry.validated = True
        entry.invalid = "" if ok else message
        condition = conditions.ready(ok, reason, message)
        _store_metric(entry, condition)
        current = conditions.find(entry.store.status.conditions) if entry.store else None
        if not conditions.same(current, condition):
            old = entry.store.status.conditions if entry.store else []
            status = {
                "conditions": msgspec.to_builtins(
                    conditions.set_condition(old, condition, now=time.time())
                )
            }
            with contextlib.suppress(errors.AsyncsoError):
                await self.kube.patch_status(
                    entry.kind, entry.meta.namespace, entry.meta.name, status
                )
        if previous[0] and previous[1] != entry.invalid:
            # Validity flipped (e.g. credentials revoked or fixed): readers re-sync now.
            for es_key in self.view.readers_of_store(key):
                self.scheduler.wake(es_key)


def _never_synced(item: model.ExternalSecret | view.InvalidObject) -> bool:
    return isinstance(item, model.ExternalSecret) and not item.status.synced_resource_version


def _changed(
    old: model.ExternalSecret | view.InvalidObject, new: model.ExternalSecret | view.InvalidObject
) -> bool:
    """A spec, label or annotation change (or deletion) wakes the worker; status changes do not."""
    if isinstance(old, view.InvalidObject) or isinstance(new, view.InvalidObject):
        return True
    if new.metadata.deletion_timestamp and not old.metadata.deletion_timestamp:
        return True
    return timing.resource_version(old) != timing.resource_version(new)


def _store_metric(entry: stores.StoreEntry, condition: model.Condition) -> None:
    for status in ("True", "False"):
        value = 1.0 if condition.status == status else 0.0
        if entry.kind == "ClusterSecretStore":
            metrics.CLUSTERSECRETSTORE_STATUS_CONDITION.labels(
                name=entry.meta.name, condition=condition.type, status=status
            ).set(value)
        else:
            metrics.SECRETSTORE_STATUS_CONDITION.labels(
                name=entry.meta.name,
                namespace=entry.meta.namespace,
                condition=condition.type,
                status=status,
            ).set(value)
