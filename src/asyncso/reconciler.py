"""The one impure step: observe → fetch → render → plan → execute → status, for one ExternalSecret.

Why one place: every side effect of a sync (provider reads, the Secret write, status, events,
metrics) happens here in a fixed order around the pure core (`timing`, `secret_data`, `templates`,
`plan`), so the safety rule is easy to audit: an exception anywhere before `_execute` leaves the
target Secret untouched, and only `plan` decides a delete or a shrink.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, cast

import msgspec

from asyncso import (
    errors,
    freshness,
    manifest,
    metrics,
    model,
    model_generators,
    observability,
    plan,
    ports,
    property_path,
    provider_health,
    providers,
    scheduler,
    secret_data,
    settings,
    settled,
    status,
    stores,
    syncwindows,
    timing,
    validation,
    view,
)
from asyncso.generators import expiry
from asyncso.templates import apply, engines

log = logging.getLogger("asyncso.reconciler")

MSG_STORE = "could not get store"
MSG_TEMPLATE = "could not apply template"
MSG_NO_GENERATORS = "generators are not available here"
#: A sync waiting on a throttled provider for longer than its refresh interval says so (and
#: the Event leaves the seconds out, so that repeats aggregate into one Event).
MSG_THROTTLED = (
    "waiting on provider throttling for {seconds}s (refreshInterval {interval}); "
    "the Secret keeps its last synced values"
)
MSG_THROTTLED_EVENT = (
    "waiting on provider throttling (refreshInterval {interval}); "
    "the Secret keeps its last synced values"
)
MSG_FLOORED = "refreshInterval raised to --min-refresh-interval"
DONE = scheduler.SyncResult(ok=True, next_at=None)
RETRY = scheduler.SyncResult(ok=False, next_at=None, retry=True)

#: `prefetch` lets other tasks run after this many ExternalSecrets.
PREFETCH_YIELD = 500

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
        generators: ports.GeneratorSource | None = None,
        health: provider_health.ProviderHealth | None = None,
    ) -> None:
        self.may_write = may_write
        self.generators = generators
        #: Per ExternalSecret, when its generated values must be made again (`expiry`).
        self._regenerate_at: dict[model.Key, float] = {}
        self.view = state
        self.kube = kube_client
        self.registry = registry
        self.settings = config
        self.clock = clock
        self.rand = rand
        self.health = health or provider_health.ProviderHealth()
        #: Since when each ExternalSecret's syncs have been failing on throttling.
        self._throttled_since: dict[model.Key, float] = {}
        #: Per ExternalSecret, the refreshInterval whose raise to the floor was logged.
        self._floored: dict[model.Key, str] = {}
        #: Targets known to be right, so a routine refresh need not GET them (`settled`).
        self.settled = settled.Settled()
        #: The last ExternalSecret validated and its synced version (each is asked for twice
        #: or three times in one sync; one slot each, identity-checked).
        self._validated: model.ExternalSecret | None = None
        #: Per ExternalSecret: what its synced version was computed from, and the version
        #: (generation, store version, labels, annotations, version).
        self._versions: dict[model.Key, tuple[int, str, dict[str, str], dict[str, str], str]] = {}
        #: Per ExternalSecret, the (uid, generation) last found valid (`_validate`).
        self._valid: dict[model.Key, tuple[str, int]] = {}
        self._version: tuple[model.ExternalSecret | None, str, str] = (None, "", "")
        #: Between planning and writing: the fingerprint and desired content of the plan.
        self._planned: dict[model.Key, tuple[bytes, model.SecretContent]] = {}

    # --- entry point ---------------------------------------------------------------------------

    async def sync(self, key: model.Key) -> scheduler.SyncResult:
        """One sync: the leader gate, then the invalid / foreign / finalizing cases, then
        `_reconcile` (plan and write), then the report (Event, status, metrics, log)."""
        try:
            return await self._sync(key)
        finally:
            # Deleted while this sync ran: what it noted about `key` must not outlive it.
            if key not in self.view.externalsecrets:
                self.forget(key)

    def forget(self, key: model.Key) -> None:
        """The ExternalSecret `key` is gone: drop every record kept about it between syncs
        (throttled since, the floor logged, when to regenerate, the settled target), so memory
        follows the live ExternalSecrets."""
        self.settled.forget(key)
        self._planned.pop(key, None)
        self._throttled_since.pop(key, None)
        self._floored.pop(key, None)
        self._regenerate_at.pop(key, None)
        self._valid.pop(key, None)
        self._versions.pop(key, None)

    async def _sync(self, key: model.Key) -> scheduler.SyncResult:
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
        held = self._held_by_windows(es)
        if held is not None:
            return scheduler.SyncResult(ok=True, next_at=held)
        if self._keeps_its_secret(key, es):
            return DONE
        self._regenerate_at.pop(key, None)
        started = self.clock()
        labels = {"name": es.metadata.name, "namespace": es.metadata.namespace}
        metrics.SYNC_CALLS_TOTAL.labels(**labels).inc()
        seen = errors.KnownValues()
        try:
            async with self._watching_throttling(es, key, started=started):
                the_plan = await self._reconcile(es, seen=seen)
        except errors.AsyncsoError as exc:
            report, binding, transient = (
                self._failure(es, key, exc, seen=seen, started=started),
                "",
                exc.transient,
            )
        else:
            self._throttled_since.pop(key, None)
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
        floor = self.settings.min_refresh_interval
        self._say_floored(es, key, floor=floor)
        next_at = timing.next_refresh(
            synced,
            now=self.clock(),
            jitter=self.settings.refresh_jitter,
            rand=self.rand(),
            floor=floor,
        )
        regenerate_at = self._regenerate_at.pop(key, None)
        if timing.effective_policy(es) == "Periodic":
            next_at = expiry.sooner(next_at, regenerate_at)
        return scheduler.SyncResult(ok=True, next_at=next_at)

    async def _reconcile(
        self, es: model.ExternalSecret, *, seen: errors.KnownValues
    ) -> plan.Plan | manifest.ConfigMapPlan:
        """Validate, keep the finalizer right, plan from the view, write; re-plan from a fresh
        read when a create finds the Secret exists after all (the view lags, or it is not ours)."""
        self._validate(es)
        if es.spec.target.manifest is not None:
            manifest.check(es, allowed=self.settings.unsafe_allow_generic_targets)
            await self._ensure_finalizer(es)
            return await self._reconcile_config_map(es, seen=seen)
        await self._ensure_finalizer(es)
        the_plan = await self._plan(es, trust_view=True, seen=seen)
        manager = plan.field_manager(es)
        try:
            written = await self._execute(the_plan, manager=manager)
        except errors.ConflictError:
            if the_plan.action != "create":
                raise
            the_plan = await self._plan(es, trust_view=False, seen=seen)
            written = await self._execute(the_plan, manager=manager)
        self._settle(es, written)
        return the_plan

    def _keeps_its_secret(self, key: model.Key, es: model.ExternalSecret) -> bool:
        """ESO's `!shouldRefresh && isSecretValid`: under `CreatedOnce` (or `OnChange` with
        nothing changed) a synced ExternalSecret whose Secret is intact is not fetched again
        when woken, so a generated password is not replaced by a label edit or a restart."""
        if timing.effective_policy(es) == "Periodic" or es.spec.target.creation_policy == "None":
            return False
        record = self.view.secrets.get((key[0], model.target_name(es)))
        if record is None or not record.valid:
            return False
        store = stores.version_of(key[0], es.spec.secret_store_ref, self.view.stores)
        return not timing.is_due(es, now=self.clock(), store_version=store)

    def _held_by_windows(self, es: model.ExternalSecret) -> float | None:
        """`spec.syncWindows`: when a periodic refresh must wait, until when."""
        if es.spec.sync_windows is None:
            return None
        record = self.view.secrets.get((es.metadata.namespace, model.target_name(es)))
        valid = es.spec.target.creation_policy == "Orphan" or (record is not None and record.valid)
        store = stores.version_of(es.metadata.namespace, es.spec.secret_store_ref, self.view.stores)
        try:
            return syncwindows.hold(es, now=self.clock(), store_version=store, target_valid=valid)
        except errors.InvalidSpecError:
            return None  # the sync reports it

    async def _reconcile_config_map(
        self, es: model.ExternalSecret, *, seen: errors.KnownValues
    ) -> manifest.ConfigMapPlan:
        """`target.manifest` (a ConfigMap): fetch, render as ESO's generic path, plan, write;
        a create that meets an existing ConfigMap re-plans from a fresh read."""
        namespace, name = es.metadata.namespace, model.target_name(es)
        desired = await self.desired(manifest.template_for(es), seen=seen)
        if desired is not None:
            desired = manifest.rendered_data(es, desired)
        manager = plan.field_manager(es)
        for attempt in (1, 2):
            observed = None
            if es.spec.target.creation_policy != "None":
                observed = await self.kube.get_config_map(namespace, name, field=TARGET)
            the_plan = manifest.plan_config_map(es, desired, observed)
            wanted = the_plan.config_map
            if the_plan.action == "none" or wanted is None:
                return the_plan
            self._check_leader()
            try:
                if the_plan.action == "create":
                    await self.kube.create_config_map(wanted, field=TARGET, field_manager=manager)
                elif the_plan.action == "update":
                    await self.kube.replace_config_map(wanted, field=TARGET, field_manager=manager)
                else:
                    await self.kube.delete_config_map(
                        namespace,
                        name,
                        resource_version=wanted.metadata.resource_version,
                        field=TARGET,
                    )
            except errors.ConflictError:
                if the_plan.action != "create" or attempt == 2:
                    raise
                continue
            return the_plan
        raise AssertionError("unreachable")  # pragma: no cover

    def _synced_version(self, es: model.ExternalSecret) -> str:
        store = stores.version_of(es.metadata.namespace, es.spec.secret_store_ref, self.view.stores)
        last, last_store, version = self._version
        if last is es and last_store == store:
            return version
        meta = es.metadata
        key = (meta.namespace, meta.name)
        held = self._versions.get(key)
        if (
            held is not None
            and held[0] == meta.generation
            and held[1] == store
            and held[2] == meta.labels
            and held[3] == meta.annotations
        ):
            version = held[4]  # a status write's echo: what the version hashes is unchanged
        else:
            version = timing.synced_resource_version(es, store_version=store)
        self._versions[key] = (meta.generation, store, meta.labels, meta.annotations, version)
        self._version = (es, store, version)
        return version

    def _validate(self, es: model.ExternalSecret) -> None:
        """`validation.validate`, once for the same ExternalSecret object, and once per
        generation: the checks read the spec and the name only, which a generation fixes, and
        every status write of ours comes back from the watch as a new object of the same
        generation (most of them, at thousands of refreshes a cycle). An invalid verdict is
        not kept (the error is raised afresh each time)."""
        if self._validated is es:
            return
        meta = es.metadata
        key = (meta.namespace, meta.name)
        mark = (meta.uid, meta.generation)
        if not (meta.uid and meta.generation and self._valid.get(key) == mark):
            validation.validate(es)
            if meta.uid and meta.generation:
                self._valid[key] = mark
        self._validated = es

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

    async def desired(
        self, es: model.ExternalSecret, *, seen: errors.KnownValues | None = None
    ) -> model.SecretContent | None:
        """What the target Secret should hold, from the providers and the template; None when
        every remote secret is gone and `deletionPolicy` (Delete/Merge) says to act on it.
        Every value met on the way is added to `seen` (for redaction). Also used by
        `asyncso render`."""
        self._validate(es)
        spec = es.spec
        seen = seen if seen is not None else errors.KnownValues()
        with freshness.wanting(self._want(es)):
            fetched = await self._fetch(es)
        _remember_fetched(seen, fetched)
        if secret_data.merge_inline(spec, fetched):
            values = secret_data.merge(spec, fetched)
        else:
            # Off the event loop: rewrite transforms are templates too (bounded, but CPU-bound).
            values = await asyncio.to_thread(secret_data.merge, spec, fetched)
        seen.add_all(values.values())
        if not values and spec.target.deletion_policy in ("Delete", "Merge"):
            return None
        content = await self._template(es, values, seen=seen)
        _remember_content(seen, content, written=_keys_in_spec(es))
        return content

    def _want(self, es: model.ExternalSecret) -> freshness.Want:
        """How fresh this sync's remote values must be: fetched after the ExternalSecret (or
        its store) was seen changed when it was (new, spec, labels, annotations such as
        `force-sync`); at most one refresh interval old otherwise (the interval in force,
        raised to `--min-refresh-interval`, so that the shared re-reads keep the floor too)."""
        key = (es.metadata.namespace, es.metadata.name)
        periodic = timing.effective_policy(es) == "Periodic"
        interval = self._interval(es) if periodic else 0.0
        changed = es.status.synced_resource_version != self._synced_version(es)
        return freshness.Want(
            reader=key,
            interval=interval,
            not_before=freshness.not_before(
                now=self.clock(),
                interval=interval,
                changed=changed,
                changed_at=self.view.changed_at.get(key),
            ),
        )

    async def prefetch(self, keys: Iterable[model.Key]) -> None:
        """Start the remote reads the next syncs of these ExternalSecrets will make (many
        syncs starting together, e.g. at start-up, then find their values read in full batch
        calls instead of trickling in as slots free up). Nothing is written and no error is
        reported here: a sync meets its own. A replica that is not leader reads nothing."""
        if self.may_write is not None and not self.may_write():
            return
        for count, key in enumerate(keys, 1):
            if not count % PREFETCH_YIELD:
                await asyncio.sleep(0)  # thousands at start-up: let the watches breathe
            es = self.view.externalsecrets.get(key)
            if not isinstance(es, model.ExternalSecret) or es.metadata.deletion_timestamp:
                continue
            try:
                self._validate(es)
                if not self._not_ours(es):
                    await self._prefetch(es)
            except errors.AsyncsoError:
                continue

    async def _prefetch(self, es: model.ExternalSecret) -> None:
        namespace = es.metadata.namespace
        entries: list[tuple[model.SourceRef | None, model.RemoteRef, str]] = [
            (item.source_ref, item.remote_ref, f"spec.data[{index}]")
            for index, item in enumerate(es.spec.data)
        ]
        entries += [
            (entry.source_ref, entry.extract, f"spec.dataFrom[{index}]")
            for index, entry in enumerate(es.spec.data_from)
            if entry.extract is not None
            and (entry.source_ref is None or entry.source_ref.generator_ref is None)
        ]
        with freshness.wanting(self._want(es)):
            for source, ref, where in entries:
                store = self._entry_store(es, source, where=where)
                factory = self.registry.factory_for(store)
                provider = await factory.provider_for(store, namespace=namespace)
                if isinstance(provider, ports.Prefetching):
                    provider.prefetch(ref)

    async def _plan(
        self, es: model.ExternalSecret, *, trust_view: bool, seen: errors.KnownValues
    ) -> plan.Plan:
        desired = await self.desired(es, seen=seen)
        target = (es.metadata.namespace, model.target_name(es))
        key = (es.metadata.namespace, es.metadata.name)
        mark = None if desired is None else settled.fingerprint(es, desired)
        record = self.view.secrets.get(target)
        if mark is not None and desired is not None:
            self._planned[key] = (mark, desired)
            if trust_view and record is not None and record.valid:
                known = self.settled.recall(key, mark, record.resource_version)
                if known is not None:
                    return known  # the view shows the target as a sync left it: no GET
        else:
            self._planned.pop(key, None)
        observed: model.Secret | None = None
        # A managed Secret absent from the watched view is very likely absent: skip the GET and
        # let a create conflict (409) fall back to reading it. Merge targets are not watched.
        if not (
            trust_view
            and es.spec.target.creation_policy in ("Owner", "Orphan")
            and target not in self.view.secrets
        ):
            observed = await self.kube.get_secret(*target, field=TARGET)
        the_plan = plan.plan_sync(es, desired, observed)
        if mark is not None:
            self.settled.remember(key, mark, observed, the_plan)
        return the_plan

    def _settle(self, es: model.ExternalSecret, written: model.Secret | None) -> None:
        """After a write: remember the Secret as written when a refresh of the same content
        would find nothing to do on it (so the next refresh need not GET it)."""
        key = (es.metadata.namespace, es.metadata.name)
        planned = self._planned.pop(key, None)
        if planned is None or written is None:
            return
        mark, desired = planned
        self.settled.remember(key, mark, written, plan.plan_sync(es, desired, written))

    def _entry_store(
        self, es: model.ExternalSecret, source: model.SourceRef | None, *, where: str
    ) -> model.SecretStore:
        """The store one entry reads from (its own `sourceRef.storeRef` or the ExternalSecret's),
        resolved and checked the same way for a prefetch as for a sync."""
        namespace = es.metadata.namespace
        return stores.resolve(
            namespace,
            _entry_ref(source, es.spec.secret_store_ref),
            stores=self.view.stores,
            namespace_labels=self.view.namespaces.get(namespace, {}),
            verdicts=self.view.store_verdicts,
            where=f"{where}.sourceRef.storeRef" if source else "spec.secretStoreRef",
        )

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
        store = self._entry_store(es, source, where=where)
        cache_key = (store.kind, store.metadata.namespace, store.metadata.name)
        provider = cache.get(cache_key)
        if provider is None:
            factory = self.registry.factory_for(store)
            provider = provider_health.Observed(
                await factory.provider_for(store, namespace=namespace),
                store=stores.store_key(*cache_key),
                health=self.health,
                clock=self.clock,
            )
            cache[cache_key] = provider
        return provider

    async def _fetch(self, es: model.ExternalSecret) -> secret_data.Fetched:
        spec = es.spec
        cache: dict[Any, ports.SecretsProvider] = {}
        # Every entry's provider first: a store that cannot be used fails the sync before any
        # read starts (no coroutine is made that would then never be awaited).
        jobs: list[Callable[[], Awaitable[Any]]] = []
        # Per job: where a value held for it may be (a provider answering at once), or None.
        peeks: list[_Peek | None] = []
        for index, item in enumerate(spec.data):
            where = f"spec.data[{index}]"
            provider = await self._provider(es, item.source_ref, where=where, cache=cache)
            jobs.append(functools.partial(_value, provider, item.remote_ref))
            peeks.append((provider, item.remote_ref, property_path.value))
        generated: dict[int, model_generators.Generated] = {}
        for index, entry in enumerate(spec.data_from):
            where = f"spec.dataFrom[{index}]"
            ref = entry.source_ref.generator_ref if entry.source_ref is not None else None
            if ref is not None:
                jobs.append(
                    functools.partial(
                        self._generate, es, ref, index=index, where=where, into=generated
                    )
                )
                peeks.append(None)
                continue
            provider = await self._provider(es, entry.source_ref, where=where, cache=cache)
            if entry.extract is not None:
                jobs.append(functools.partial(_value_map, provider, entry.extract))
                peeks.append((provider, entry.extract, property_path.value_map))
            elif entry.find is not None:
                jobs.append(functools.partial(provider.find, entry.find))
                peeks.append(None)
        held = [None if peek is None else _held(*peek) for peek in peeks]
        results = await _gather_unheld(jobs, held)
        missing_ok = spec.target.deletion_policy in ("Delete", "Merge")
        if self.generators is not None and spec.data_from:
            failed = any(
                isinstance(r, BaseException)
                and not (missing_ok and isinstance(r, errors.RemoteSecretNotFoundError))
                for r in results
            )
            await self.generators.settle(
                es, entries=len(spec.data_from), generated=generated, ok=not failed
            )
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

    async def _generate(
        self,
        es: model.ExternalSecret,
        ref: model.GeneratorRef,
        *,
        index: int,
        where: str,
        into: dict[int, model_generators.Generated],
    ) -> dict[str, bytes]:
        """One `dataFrom[].sourceRef.generatorRef` entry; notes when its values expire."""
        field = f"{where}.sourceRef.generatorRef"
        if self.generators is None:
            raise errors.InvalidSpecError(f"{field}: {MSG_NO_GENERATORS}")
        made = await self.generators.generate(ref, namespace=es.metadata.namespace, where=field)
        into[index] = made
        if made.refresh_at is not None:
            key = (es.metadata.namespace, es.metadata.name)
            self._regenerate_at[key] = min(
                self._regenerate_at.get(key, made.refresh_at), made.refresh_at
            )
        return made.values

    async def _template(
        self, es: model.ExternalSecret, values: dict[str, bytes], *, seen: errors.KnownValues
    ) -> model.SecretContent:
        """`target.template` over `values`; the templates read from Secrets join `seen` (a
        template kept in a Secret is secret too)."""
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
            seen.add_all(secret.data.values())
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

    async def _execute(self, the_plan: plan.Plan, *, manager: str) -> model.Secret | None:
        """At most one write, carrying the ExternalSecret's field manager (`fieldowners`);
        the Secret as the apiserver stored it, when one was created or replaced."""
        secret = the_plan.secret
        if the_plan.action == "none" or secret is None:
            return None
        self._check_leader()
        if the_plan.action == "create":
            return await self.kube.create_secret(secret, field=TARGET, field_manager=manager)
        if the_plan.action == "update":
            return await self.kube.replace_secret(secret, field=TARGET, field_manager=manager)
        if the_plan.action == "delete":
            await self.kube.delete_secret(
                secret.metadata.namespace,
                secret.metadata.name,
                resource_version=secret.metadata.resource_version,
                field=TARGET,
            )
        return None

    # --- the error and report path --------------------------------------------------------

    def _failure(
        self,
        es: model.ExternalSecret,
        key: model.Key,
        exc: errors.AsyncsoError,
        *,
        seen: errors.KnownValues,
        started: float,
    ) -> plan.Report:
        """The report of a failed sync: every value the sync knew redacted from the text; a
        sync that has been failing on throttling for longer than its interval says so."""
        # Values first, then the provider patterns and the length cap (a cap first could cut a
        # value in two and leave its head unrecognised).
        report = plan.failure(_message_for(exc), errors.redact(seen.redact(str(exc))))
        if not isinstance(exc, errors.ThrottledError):
            self._throttled_since.pop(key, None)
            return report
        since = self._throttled_since.setdefault(key, started)
        return self._throttled_report(es, waited=self.clock() - since) or report

    def _throttled_report(self, es: model.ExternalSecret, *, waited: float) -> plan.Report | None:
        interval = self._interval(es)
        if interval <= 0 or waited <= interval:
            return None
        shown = timing.format_duration(interval)
        report = plan.failure(
            plan.MSG_GET_DATA, MSG_THROTTLED.format(seconds=int(waited), interval=shown)
        )
        event = f"{plan.MSG_GET_DATA}: {MSG_THROTTLED_EVENT.format(interval=shown)}"
        return dataclasses.replace(report, event_message=event)

    def _interval(self, es: model.ExternalSecret) -> float:
        """The refresh interval in force (floored), 0 when there is none or it is invalid."""
        try:
            return timing.refresh_interval(es, floor=self.settings.min_refresh_interval)
        except errors.InvalidSpecError:
            return 0.0

    @contextlib.asynccontextmanager
    async def _watching_throttling(
        self, es: model.ExternalSecret, key: model.Key, *, started: float
    ) -> AsyncIterator[None]:
        """While the sync runs: once it has waited longer than its refresh interval and a store
        it reads from has been throttled meanwhile, say so in its condition at once (botocore's
        retries and rate limiter can hold one call for a long time; a stale Ready=True must not
        stand meanwhile). The Secret is not touched."""
        interval = self._interval(es)
        if interval <= 0 or es.spec.refresh_policy in ("OnChange", "CreatedOnce"):
            yield
            return
        loop = asyncio.get_running_loop()
        said: list[asyncio.Task[None]] = []
        handle: asyncio.TimerHandle | None = None

        def check() -> None:
            nonlocal handle
            throttled = [self.health.throttled_at(s) for s in _store_keys(es)]
            if any(t is not None and t >= started for t in throttled):
                since = min(self._throttled_since.get(key, started), started)
                said.append(loop.create_task(self._say_throttled(es, waited=self.clock() - since)))
            else:
                handle = loop.call_later(interval, check)

        handle = loop.call_later(interval, check)
        try:
            yield
        finally:
            handle.cancel()
            for task in said:  # before the sync's own status write, never after it
                await task

    async def _say_throttled(self, es: model.ExternalSecret, *, waited: float) -> None:
        report = self._throttled_report(es, waited=waited)
        if report is None:
            return
        try:
            await self._write_status(es, report, started=self.clock(), binding="")
        except errors.AsyncsoError as exc:
            fields = observability.log_fields(
                namespace=es.metadata.namespace, name=es.metadata.name
            )
            log.warning("status write failed", extra={**fields, "error": _detail(exc)})

    def _say_floored(self, es: model.ExternalSecret, key: model.Key, *, floor: float) -> None:
        """Log once per ExternalSecret (and interval) that the floor raised its interval."""
        interval = es.spec.refresh_interval
        if self._floored.get(key) == interval or not timing.floored(es, floor=floor):
            return
        self._floored[key] = interval
        log.info(
            MSG_FLOORED,
            extra={
                **observability.log_fields(namespace=key[0], name=key[1]),
                "refreshInterval": es.spec.refresh_interval,
                "minRefreshInterval": timing.format_duration(floor),
            },
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
        if manifest.is_config_map(es):
            await self._finalize_config_map(es)
            return
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

    async def _finalize_config_map(self, es: model.ExternalSecret) -> None:
        namespace, name = es.metadata.namespace, model.target_name(es)
        observed = await self.kube.get_config_map(namespace, name, field=TARGET)
        if (
            observed is not None
            and observed.metadata.labels.get(model.LABEL_MANAGED) == "true"
            and not plan.owned_by_other(es, model.Secret(metadata=observed.metadata))
        ):
            await self.kube.delete_config_map(namespace, name, field=TARGET)
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


#: A data entry's provider, remote ref, and what to take of the remote value.
_Peek = tuple[ports.SecretsProvider, model.RemoteRef, Callable[[bytes, model.RemoteRef], Any]]


#: Per provider class: whether it is a `ports.CachedReading`.
_CACHED_READING: dict[type, bool] = {}


def _held(
    provider: ports.SecretsProvider,
    ref: model.RemoteRef,
    select: Callable[[bytes, model.RemoteRef], Any],
) -> Callable[[], Any] | None:
    """The entry's value (`select`: its property) if the provider holds the remote value fresh
    enough now, as a thunk that raises what `select` raises; else None (await the read)."""
    kind = type(provider)
    able = _CACHED_READING.get(kind)
    if able is None:  # a runtime Protocol check is slow: once per class
        able = _CACHED_READING[kind] = isinstance(provider, ports.CachedReading)
    if not able:
        return None
    raw = cast(ports.CachedReading, provider).read_cached(ref)
    if raw is None:
        return None
    return functools.partial(select, raw, ref)


async def _gather_unheld(
    jobs: list[Callable[[], Awaitable[Any]]], held: list[Callable[[], Any] | None]
) -> list[Any]:
    """Each job's result or exception, in order: held values at once, the others awaited
    together. A routine refresh whose every value is held makes no task and never waits."""
    results: list[Any] = []
    waiting: list[int] = []
    for index, value in enumerate(held):
        if value is None:
            waiting.append(index)
            results.append(None)
            continue
        try:
            results.append(value())
        except Exception as exc:  # as `gather(return_exceptions=True)` would hand it over
            results.append(exc)
    if waiting:
        answers = await asyncio.gather(*(jobs[i]() for i in waiting), return_exceptions=True)
        for index, answer in zip(waiting, answers, strict=True):
            results[index] = answer
    return results


def _entry_ref(
    source: model.SourceRef | None, default: model.StoreRef | None
) -> model.StoreRef | None:
    """An entry's own store (generator entries never get here), else the default."""
    if source is None:
        return default
    return source.store_ref or default


def _with_refresh(es: model.ExternalSecret, started: float, version: str) -> model.ExternalSecret:
    refreshed = msgspec.structs.replace(
        es.status, refresh_time=timing.format_time(started), synced_resource_version=version
    )
    return msgspec.structs.replace(es, status=refreshed)


def _remember_fetched(seen: errors.KnownValues, fetched: secret_data.Fetched) -> None:
    for value in fetched.data:
        if value is not None:
            seen.add(value)
    for found in fetched.data_from:
        if found is not None:
            seen.add_all(found.values())


def _remember_content(
    seen: errors.KnownValues, content: model.SecretContent, *, written: set[str]
) -> None:
    """Rendered data, labels and annotations, and their keys but those `written` in the spec
    (a key the manifest names is no secret, and messages that name it stay readable)."""
    for mapping in (content.data, content.labels, content.annotations):
        seen.add_all(key for key in mapping if key not in written)
        seen.add_all(mapping.values())


def _keys_in_spec(es: model.ExternalSecret) -> set[str]:
    """Target keys the ExternalSecret names literally: `data[].secretKey`, the template's
    `data` keys, and its own labels and annotations (copied when there is no template)."""
    keys = {item.secret_key for item in es.spec.data}
    keys |= set(es.metadata.labels) | set(es.metadata.annotations)
    template = es.spec.target.template
    if template is not None:
        keys |= set(template.data)
    return keys


def _store_keys(es: model.ExternalSecret) -> set[stores.StoreKey]:
    """The stores an ExternalSecret reads from (its own, and its entries')."""
    refs = [es.spec.secret_store_ref]
    refs += [d.source_ref.store_ref for d in es.spec.data if d.source_ref is not None]
    refs += [d.source_ref.store_ref for d in es.spec.data_from if d.source_ref is not None]
    return {stores.ref_key(es.metadata.namespace, r) for r in refs if r is not None and r.name}


def _message_for(exc: errors.AsyncsoError) -> str:
    if isinstance(exc, errors.StoreNotFoundError | errors.StoreNotReadyError):
        return MSG_STORE
    if isinstance(exc, errors.StoreConfigError):
        return plan.MSG_GET_DATA
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
