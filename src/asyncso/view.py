"""The in-memory view the watchers fill: ExternalSecrets, stores, namespaces, managed Secrets.

Why: one source of truth per process that the reconciler reads without apiserver calls, with
indexes that answer "whom to wake" when a store or a target Secret changes. Memory matters at
10k+ ExternalSecrets: Secrets are kept only as (resourceVersion, still valid?) — never their data.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import defaultdict

import msgspec

from asyncso import model
from asyncso import stores as store_rules


@dataclasses.dataclass(frozen=True)
class InvalidObject:
    """An ExternalSecret whose spec does not decode; `error` names the bad field."""

    meta: model.ObjectMeta
    error: str


@dataclasses.dataclass(frozen=True)
class SecretRecord:
    resource_version: str
    valid: bool


@dataclasses.dataclass
class View:
    externalsecrets: dict[model.Key, model.ExternalSecret | InvalidObject] = dataclasses.field(
        default_factory=dict
    )
    stores: dict[store_rules.StoreKey, store_rules.StoreEntry] = dataclasses.field(
        default_factory=dict
    )
    #: Written only by the store controller (`stores` only by the watch handler).
    store_verdicts: dict[store_rules.StoreKey, store_rules.Verdict] = dataclasses.field(
        default_factory=dict
    )
    namespaces: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    secrets: dict[model.Key, SecretRecord] = dataclasses.field(default_factory=dict)
    #: When each ExternalSecret was last seen new or changed (its spec, labels, annotations, or
    #: its store): its next sync reads remote values fetched after that (`freshness`).
    changed_at: dict[model.Key, float] = dataclasses.field(default_factory=dict)
    _by_store: defaultdict[store_rules.StoreKey, set[model.Key]] = dataclasses.field(
        default_factory=lambda: defaultdict(set)
    )
    _by_target: defaultdict[model.Key, set[model.Key]] = dataclasses.field(
        default_factory=lambda: defaultdict(set)
    )
    _refs: dict[model.Key, tuple[set[store_rules.StoreKey], model.Key | None]] = dataclasses.field(
        default_factory=dict
    )

    def put_externalsecret(
        self, key: model.Key, item: model.ExternalSecret | InvalidObject
    ) -> None:
        old = self.externalsecrets.get(key)
        if (
            isinstance(old, model.ExternalSecret)
            and isinstance(item, model.ExternalSecret)
            and old.spec is item.spec
        ):
            self.externalsecrets[key] = item  # same spec and name: the same stores and target
            return
        self._unindex(key)
        self.externalsecrets[key] = item
        if isinstance(item, InvalidObject):
            return
        refs = {store_rules.ref_key(key[0], ref) for ref in _store_refs(item)}
        target = (key[0], model.target_name(item))
        for ref in refs:
            self._by_store[ref].add(key)
        self._by_target[target].add(key)
        self._refs[key] = (refs, target)

    def drop_externalsecret(self, key: model.Key) -> None:
        self._unindex(key)
        self.externalsecrets.pop(key, None)
        self.changed_at.pop(key, None)

    def _unindex(self, key: model.Key) -> None:
        refs, target = self._refs.pop(key, (set(), None))
        for ref in refs:
            self._by_store[ref].discard(key)
            if not self._by_store[ref]:
                del self._by_store[ref]
        if target is not None:
            self._by_target[target].discard(key)
            if not self._by_target[target]:
                del self._by_target[target]

    def readers_of_store(self, key: store_rules.StoreKey) -> set[model.Key]:
        return set(self._by_store.get(key, ()))

    def readers_of_cluster_stores(self) -> set[model.Key]:
        return {
            es
            for ref, keys in self._by_store.items()
            if ref[0] == "ClusterSecretStore"
            for es in keys
        }

    def writers_of(self, target: model.Key) -> set[model.Key]:
        return set(self._by_target.get(target, ()))

    def namespace_readers(self, namespace: str) -> set[model.Key]:
        """ExternalSecrets in a namespace that read ClusterSecretStores (conditions may change)."""
        return {key for key in self.readers_of_cluster_stores() if key[0] == namespace}


def compact(
    es: model.ExternalSecret, *, spec: model.ExternalSecretSpec | None = None
) -> model.ExternalSecret:
    """`es` with the strings that repeat across thousands of ExternalSecrets shared (namespace,
    store, interval, secret keys, remote keys and properties, condition words and times,
    apiVersion, kind): about 1 KiB less for each ExternalSecret the view keeps.

    `spec`: the compacted spec to keep instead of `es`'s (the view's object of the same uid and
    generation: `same_spec`), so that a status write's echo rebuilds only metadata and status."""
    i = sys.intern
    replace = msgspec.structs.replace
    meta, status = es.metadata, es.status
    meta = replace(
        meta,
        namespace=i(meta.namespace),
        creation_timestamp=_interned(meta.creation_timestamp),
    )
    if spec is None:
        spec = _compact_spec(es.spec)
    conditions = [
        replace(
            c,
            type=i(c.type),
            reason=i(c.reason),
            message=i(c.message),
            last_transition_time=_interned(c.last_transition_time),
        )
        for c in status.conditions
    ]
    status = replace(status, conditions=conditions, refresh_time=_interned(status.refresh_time))
    return replace(
        es,
        metadata=meta,
        spec=spec,
        status=status,
        api_version=i(es.api_version),
        kind=i(es.kind),
    )


def same_spec(
    old: model.ExternalSecret | InvalidObject | None, new: model.ExternalSecret
) -> model.ExternalSecretSpec | None:
    """`old`'s spec when `new` is the same object at the same generation (the apiserver bumps
    `generation` on every spec change), else None."""
    if not isinstance(old, model.ExternalSecret):
        return None
    a, b = old.metadata, new.metadata
    if not b.generation or not b.uid or (a.uid, a.generation) != (b.uid, b.generation):
        return None
    return old.spec


def _compact_spec(spec: model.ExternalSecretSpec) -> model.ExternalSecretSpec:
    i = sys.intern
    replace = msgspec.structs.replace
    store = spec.secret_store_ref
    if store is not None:
        store = replace(store, name=i(store.name), kind=i(store.kind))
    data = [
        replace(
            item,
            secret_key=i(item.secret_key),
            remote_ref=replace(
                item.remote_ref,
                key=i(item.remote_ref.key),
                property=i(item.remote_ref.property),
            ),
        )
        for item in spec.data
    ]
    return replace(
        spec, secret_store_ref=store, refresh_interval=i(spec.refresh_interval), data=data
    )


def _interned(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)


def _store_refs(es: model.ExternalSecret) -> list[model.StoreRef]:
    refs: list[model.StoreRef] = []
    if es.spec.secret_store_ref is not None:
        refs.append(es.spec.secret_store_ref)
    sources = [d.source_ref for d in es.spec.data] + [d.source_ref for d in es.spec.data_from]
    for source in sources:
        if source is not None and source.store_ref is not None:
            refs.append(source.store_ref)
    return refs
