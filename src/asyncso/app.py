"""Composition root: wiring (watchers → view → scheduler → reconciler, store controller) and
the routing of watch events to whom they concern.

Why here and only here: every adapter (kube client, providers, watchers) is built and wired in
this module, so the core stays free of I/O and tests can assemble the same `Operator` in-process
against the real test apiserver.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
from collections.abc import Callable

import anyio
import msgspec

from asyncso import (
    apiserver,
    clusterexternalsecret_controller,
    clusterpushsecret_controller,
    compat,
    event_queue,
    fanout_controller,
    kube,
    metrics,
    model,
    plan,
    ports,
    provider_health,
    providers,
    pushsecret_controller,
    reconciler,
    scheduler,
    settings,
    store_controller,
    stores,
    timing,
    view,
    watch,
)
from asyncso.generators import ecr, password, state_controller, sts, uuids
from asyncso.generators import fake as fake_generator
from asyncso.generators import registry as generator_registry
from asyncso.providers import aws_factory, aws_push_factory, fake, fake_push, push_registry

log = logging.getLogger("asyncso.app")

_es_decoder = msgspec.json.Decoder(model.ExternalSecret)
_envelope_decoder = msgspec.json.Decoder(model.Envelope)
_secret_decoder = msgspec.json.Decoder(model.Secret)
_namespace_decoder = msgspec.json.Decoder(model.Namespace)


def default_registry(
    kube_client: ports.KubeClient, config: settings.Settings
) -> providers.ProviderRegistry:
    """Every provider this build ships: AWS (Secrets Manager, Parameter Store) and fake.
    Provider notices (e.g. batch reads denied by IAM) go to `registry.note`, which the store
    controller turns into Events on the store while it runs."""
    registry = providers.ProviderRegistry([])
    registry.add(
        aws_factory.AwsProviderFactory(
            kube_client,
            config,
            on_note=registry.note,
            on_throttled=registry.throttled,
            on_change=registry.changed,
        )
    )
    registry.add(fake.FakeProviderFactory())
    return registry


def default_generators(
    kube_client: kube.Kube, registry: providers.ProviderRegistry, config: settings.Settings
) -> generator_registry.GeneratorRegistry:
    """Every generator kind this build ships. The AWS ones (ECR, STS) take their clients from
    the registry's AWS factory (one credential cache, closed with the registry); without that
    factory they are not offered."""
    kinds: list[ports.Generator] = [
        password.PasswordGenerator(),
        uuids.UUIDGenerator(),
        fake_generator.FakeGenerator(controller_class=config.controller_class),
    ]
    aws = registry.first(aws_factory.AwsProviderFactory)
    if aws is not None:
        kinds += [ecr.EcrAuthorizationTokenGenerator(aws), sts.StsSessionTokenGenerator(aws)]
    return generator_registry.GeneratorRegistry(kube_client, kinds)


def default_pushers(
    registry: providers.ProviderRegistry, kube_client: ports.KubeReader
) -> push_registry.PusherRegistry:
    """The stores PushSecrets can write to: AWS (on the readers of `registry`) and fake (whose
    pushed values the registry's fake reader reads back, as ESO's fake does)."""
    fake_pushers = fake_push.FakePusherFactory()
    fake_reader = registry.first(fake.FakeProviderFactory)
    if fake_reader is not None:
        fake_reader.pushed = fake_pushers
    return push_registry.PusherRegistry(
        [aws_push_factory.AwsPusherFactory(registry, kube_client), fake_pushers]
    )


def _tee(*handlers: watch.Handler) -> watch.Handler:
    """One watch stream feeding several handlers, in order."""

    def handle(event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        for handler in handlers:
            handler(event, key, raw)

    return handle


class Operator:
    """One operator instance: its view, the store controller, the scheduler and the watchers."""

    def __init__(
        self,
        config: settings.Settings,
        kube_client: kube.Kube,
        registry: providers.ProviderRegistry,
        *,
        may_write: Callable[[], bool] | None = None,
        generators: generator_registry.GeneratorRegistry | None = None,
        pushers: push_registry.PusherRegistry | None = None,
    ) -> None:
        self.settings = config
        self.kube = kube_client
        self.registry = registry
        self.view = view.View()
        self.generators = generators or default_generators(kube_client, registry, config)
        self.generator_states = state_controller.StateController(
            kube_client=kube_client, generators=self.generators, may_write=may_write
        )
        self.generators.states = self.generator_states
        # Recovery wake-ups and throttling, per store (docs/security.md): reads feed it through
        # the reconciler, throttled answers inside a provider call through the registry.
        self.health = provider_health.ProviderHealth(on_recovered=self._recovered)
        registry.on_throttled = lambda store: self.health.throttled(store, now=time.time())
        self.reconciler = reconciler.Reconciler(
            state=self.view,
            kube_client=kube_client,
            registry=registry,
            config=config,
            may_write=may_write,
            generators=self.generators,
            health=self.health,
        )
        #: Every controller's Events, sent behind the syncs while the operator runs (a cold
        #: sync's Secrets do not wait on them): `Kube.emit_event` queues here.
        self.events = event_queue.EventQueue(kube_client.record_event, spare=self._events_may_burst)
        self.scheduler = scheduler.Scheduler(
            self._sync,
            is_due=self._is_due,
            concurrency=config.syncs_in_flight,
            probes=self._failing_readers,
            probe_interval=provider_health.PROBE_INTERVAL,
        )
        self.stores = store_controller.StoreController(
            state=self.view,
            kube_client=kube_client,
            registry=registry,
            config=config,
            wake=self._store_changed,
        )
        registry.on_change = self._remote_changed
        self._started = False
        self._states: dict[model.Key, str] = {}
        self._counts: collections.Counter[str] = collections.Counter()
        #: The (synced, error, pending) counts last set on the gauge.
        self._published: tuple[int, int, int] | None = None
        self.informers: list[watch.Informer] = []
        self.ready = asyncio.Event()
        #: ExternalSecrets about to sync with fresh values: their reads start together.
        self._to_prefetch: set[model.Key] = set()
        self._prefetch_wanted = asyncio.Event()
        self._init_push_and_fanout(may_write, pushers)

    def _init_push_and_fanout(
        self,
        may_write: Callable[[], bool] | None,
        pushers: push_registry.PusherRegistry | None,
    ) -> None:
        """PushSecrets, ClusterExternalSecrets and ClusterPushSecrets, each as its flag says."""
        config, client = self.settings, self.kube
        self.pushers = pushers or default_pushers(self.registry, client)
        self.pushsecrets: pushsecret_controller.PushSecretController | None = None
        self.clusterexternalsecrets: fanout_controller.FanoutController | None = None
        self.clusterpushsecrets: fanout_controller.FanoutController | None = None
        if config.enable_push_secret_reconciler:
            self.pushsecrets = pushsecret_controller.PushSecretController(
                state=self.view,
                kube_client=client,
                pushers=self.pushers,
                config=config,
                may_write=may_write,
                generators=self.generators,
            )
            self.stores.on_change = self.pushsecrets.on_store
        if config.enable_cluster_external_secret_reconciler:
            self.clusterexternalsecrets = clusterexternalsecret_controller.controller(
                client, config, may_write=may_write
            )
        if config.enable_cluster_push_secret_reconciler:
            self.clusterpushsecrets = clusterpushsecret_controller.controller(
                client, config, may_write=may_write
            )

    def _push_and_fanout_informers(self) -> list[watch.Informer]:
        """Their watches; the namespace and ExternalSecret streams are shared (`_tee`)."""
        ns = self.settings.namespace
        out: list[watch.Informer] = []
        ces, cps, ps = self.clusterexternalsecrets, self.clusterpushsecrets, self.pushsecrets
        if ces is not None:
            out.append(self._informer(apiserver.CLUSTEREXTERNALSECRETS, ces.on_parent))
        if cps is not None:
            out.append(self._informer(apiserver.CLUSTERPUSHSECRETS, cps.on_parent))
        ps_handlers = [h.on_event for h in (ps,) if h is not None]
        ps_handlers += [h.on_child for h in (cps,) if h is not None]
        if ps_handlers:
            out.append(self._informer(apiserver.PUSHSECRETS, _tee(*ps_handlers), namespace=ns))
        return out

    def _namespace_handler(self) -> watch.Handler:
        fanouts = [c for c in (self.clusterexternalsecrets, self.clusterpushsecrets) if c]
        return _tee(self._on_namespace, *(c.on_namespace for c in fanouts))

    def _externalsecret_handler(self) -> watch.Handler:
        ces = self.clusterexternalsecrets
        if ces is None:
            return self._on_externalsecret
        return _tee(self._on_externalsecret, ces.on_child)

    # --- run -----------------------------------------------------------------------------------

    def _informer(
        self,
        resource: apiserver.Resource,
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
        """Watch and reconcile until cancelled; every task it starts ends with it."""
        ns = self.settings.namespace
        informers = [
            self._informer(apiserver.NAMESPACES, self._namespace_handler()),
            self._informer(apiserver.SECRETSTORES, self.stores.on_event, namespace=ns),
            self._informer(
                apiserver.SECRETS,
                self._on_secret,
                namespace=ns,
                label_selector=f"{model.LABEL_MANAGED}=true",
            ),
            self._informer(apiserver.EXTERNALSECRETS, self._externalsecret_handler(), namespace=ns),
            *self._push_and_fanout_informers(),
        ]
        if self.settings.enable_cluster_store_reconciler:
            informers.insert(1, self._informer(apiserver.CLUSTERSECRETSTORES, self.stores.on_event))
        # GeneratorStates: not waited for (a cluster without that CRD still syncs).
        states = self._informer(
            apiserver.GENERATORSTATES, self.generator_states.on_event, namespace=ns
        )
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._sending_events, name="events")
            for informer in informers:
                tasks.start_soon(informer.run, name=f"watch:{informer.resource.plural}")
            tasks.start_soon(states.run, name="watch:generatorstates")
            await tasks.start(self.generator_states.run, name="generatorstates")
            for informer in informers:
                await informer.synced.wait()
            await tasks.start(self.scheduler.run, name="scheduler")
            await self.reconciler.prefetch(
                k for k in self.view.externalsecrets if self._is_due(k)[0]
            )
            self._start_workers()
            tasks.start_soon(self._prefetching, name="prefetch")
            await tasks.start(self.stores.run, name="stores")
            for name, controller in (
                ("pushsecrets", self.pushsecrets),
                ("clusterexternalsecrets", self.clusterexternalsecrets),
                ("clusterpushsecrets", self.clusterpushsecrets),
            ):
                if controller is not None:
                    await tasks.start(controller.run, name=name)
            self.ready.set()
            log.info("watchers synced; reconciling", extra={"externalsecrets": len(self.scheduler)})

    async def _sending_events(self) -> None:
        """While this runs, `Kube.emit_event` queues (`event_queue`); what is left at the end is
        sent within the queue's grace."""
        self.kube.event_queue = self.events
        try:
            await self.events.run()
        finally:
            self.kube.event_queue = None

    async def _prefetching(self) -> None:
        """Start the reads of ExternalSecrets that are new, changed or whose store changed,
        in bursts (a `kubectl apply` of thousands), so that they share full batch calls."""
        while True:
            await self._prefetch_wanted.wait()
            self._prefetch_wanted.clear()
            keys, self._to_prefetch = self._to_prefetch, set()
            await self.reconciler.prefetch(keys)

    def _prefetch_soon(self, key: model.Key) -> None:
        self._to_prefetch.add(key)
        self._prefetch_wanted.set()

    def _start_workers(self) -> None:
        self._started = True
        for key, item in list(self.view.externalsecrets.items()):
            self.scheduler.ensure(key, urgent=_never_synced(item))

    # --- sync, with the state gauges ---

    async def _sync(self, key: model.Key) -> scheduler.SyncResult:
        result = await self.reconciler.sync(key)
        if key in self.view.externalsecrets:
            self._set_state(key, "synced" if result.ok else "error")
        return result

    def _events_may_burst(self) -> bool:
        """An Event backlog may take more request slots: no sync waits for a sync slot (a
        cold sync's syncs go first) and the client has more than half of its slots free."""
        return not self.scheduler.slots.contended and self.kube.spare()

    def _set_state(self, key: model.Key, state: str | None) -> None:
        """Keep per-state counts incrementally: O(1) per sync even at 10k+ ExternalSecrets."""
        old = self._states.pop(key, None)
        if old is not None:
            self._counts[old] -= 1
        if state is not None:
            self._states[key] = state
            self._counts[state] += 1
        pending = len(self.view.externalsecrets) - self._counts["synced"] - self._counts["error"]
        counts = (self._counts["synced"], self._counts["error"], max(0, pending))
        if counts == self._published:
            return  # a routine refresh of a synced one: the gauges already say so
        self._published = counts
        for name, count in zip(("synced", "error", "pending"), counts, strict=True):
            metrics.EXTERNALSECRETS_BY_STATE.labels(state=name).set(count)

    def _failing_readers(self) -> list[set[model.Key]]:
        """The readers of each failing store due for a probe (one of each is let through)."""
        groups = []
        for store in self.health.due_probes(now=time.time()):
            readers = self.view.readers_of_store(store)
            if readers:
                groups.append(readers)
            else:
                self.health.forget(store)  # nobody reads it any more
        return groups

    def _recovered(self, store: stores.StoreKey) -> None:
        """A store's provider answers again: its readers backing off try again (with jitter)."""
        for es_key in self.view.readers_of_store(store):
            self.scheduler.recover(es_key)

    def _is_due(self, key: model.Key) -> tuple[bool, float | None]:
        item = self.view.externalsecrets.get(key)
        if not isinstance(item, model.ExternalSecret):
            return True, None
        record = self.view.secrets.get((key[0], model.target_name(item)))
        return timing.due_at_start(
            item,
            now=time.time(),
            store_version=stores.version_of(key[0], item.spec.secret_store_ref, self.view.stores),
            target_valid=record is not None and record.valid,
            jitter=self.settings.refresh_jitter,
            rand=random.random(),
            floor=self.settings.min_refresh_interval,
        )

    # --- wake-ups: a store or a remote value changed ------------------------------------------

    def _store_changed(self, key: model.Key) -> None:
        """A reader of a store that changed: it syncs now, with values read after the change."""
        self.view.changed_at[key] = time.time()
        self._prefetch_soon(key)
        self.scheduler.wake(key)

    def _remote_changed(self, readers: set[model.Key]) -> None:
        """A re-read found a new version of a remote value: its readers sync at once (ahead of
        routine refreshes), from the value just fetched."""
        for key in readers:
            self.scheduler.wake(key, urgent=True)

    # --- watch handlers (sync, cheap): record in the view, then say whom to wake ---------------

    def _on_externalsecret(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        if event == "DELETED":
            self.view.drop_externalsecret(key)
            self.scheduler.remove(key)
            self.reconciler.forget(key)
            self._set_state(key, None)
            return
        item: model.ExternalSecret | view.InvalidObject
        old = self.view.externalsecrets.get(key)
        try:
            decoded = _without_managed_fields(_es_decoder.decode(raw))
            # A status write's echo (same generation) keeps the spec the view holds.
            item = view.compact(decoded, spec=view.same_spec(old, decoded))
        except msgspec.ValidationError as exc:
            meta = _envelope_decoder.decode(raw).metadata
            item = view.InvalidObject(meta=meta, error=compat.decode_error(exc))
        self.view.put_externalsecret(key, item)
        changed = old is None or _changed(old, item)
        if changed:
            self.view.changed_at[key] = time.time()
        if not self._started:
            return
        if changed:
            self._prefetch_soon(key)
        if old is None:
            self.scheduler.ensure(key, urgent=True)
        elif changed:
            self.scheduler.wake(key, urgent=True)

    def _on_namespace(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
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

    def _on_secret(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
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


def _without_managed_fields(es: model.ExternalSecret) -> model.ExternalSecret:
    """The view keeps every ExternalSecret: not their `managedFields` (only Secrets' are read,
    by `fieldowners`), which can weigh more than the rest of the object."""
    if not es.metadata.managed_fields:
        return es
    meta = msgspec.structs.replace(es.metadata, managed_fields=[])
    return msgspec.structs.replace(es, metadata=meta)


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
    # What `timing.synced_resource_version` hashes, compared directly (every status write of
    # ours comes back as such an event).
    a, b = old.metadata, new.metadata
    return (a.generation, a.labels, a.annotations) != (b.generation, b.labels, b.annotations)
