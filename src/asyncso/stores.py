"""Which store serves an ExternalSecret, and whether it may: pure lookups over the views.

Why separate: store resolution has ESO's rules that users rely on for tenancy —
`spec.controller` vs our `--controller-class`, ClusterSecretStore `conditions` (namespace
selectors, names, regexes) — and each refusal must say exactly why in the ExternalSecret's status.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import msgspec
import re2

from asyncso import errors, model

REASON_VALID = "Valid"
REASON_INVALID_CONFIG = "InvalidStoreConfiguration"
REASON_INVALID_PROVIDER = "InvalidProviderConfig"
REASON_VALIDATION_FAILED = "ValidationFailed"
MSG_VALID = "store validated"
MSG_ONE_PROVIDER = "spec.provider: exactly one provider may be set, found {found}"

StoreKey = tuple[str, str, str]  # (kind, namespace, name); namespace "" for cluster stores


@dataclasses.dataclass(frozen=True)
class StoreEntry:
    """A store as seen by the watch: decoded, or only its metadata with the decoding error.
    Written only by the watch handler; validation results are `Verdict`s, kept apart."""

    meta: model.ObjectMeta
    kind: str
    store: model.SecretStore | None
    invalid: str = ""  # decoding error, "" when the spec decoded


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The store controller's last validation of one generation of a store."""

    generation: int
    ok: bool
    message: str = ""


def check_one_provider(store: model.SecretStore) -> None:
    """ESO's schema allows exactly one provider per store (`maxProperties: 1`); a store
    stored without that schema and naming two is refused, never served by one of them."""
    provider = store.spec.provider
    named = [
        field.encode_name
        for field in msgspec.structs.fields(provider)
        if getattr(provider, field.name) is not None
    ]
    if len(named) > 1:
        raise errors.StoreConfigError(MSG_ONE_PROVIDER.format(found=", ".join(named)))


def current_verdict(entry: StoreEntry, verdict: Verdict | None) -> Verdict | None:
    """The verdict if it judged this generation of the store (a spec change voids it)."""
    if verdict is None or verdict.generation != entry.meta.generation:
        return None
    return verdict


def store_key(kind: str, namespace: str, name: str) -> StoreKey:
    return (kind, "" if kind == "ClusterSecretStore" else namespace, name)


def ref_key(es_namespace: str, ref: model.StoreRef) -> StoreKey:
    return store_key(ref.kind or "SecretStore", es_namespace, ref.name)


def is_ours(store: model.SecretStore | None, controller_class: str) -> bool:
    """ESO: a store with `spec.controller` set to another class belongs to another controller."""
    if store is None or not store.spec.controller:
        return True
    return store.spec.controller == controller_class


def selector_matches(selector: model.LabelSelector, labels: dict[str, str]) -> bool:
    for key, value in selector.match_labels.items():
        if labels.get(key) != value:
            return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator == "In" and (not present or labels[req.key] not in req.values):
            return False
        if req.operator == "NotIn" and present and labels[req.key] in req.values:
            return False
        if req.operator == "Exists" and not present:
            return False
        if req.operator == "DoesNotExist" and present:
            return False
    return True


def namespace_allowed(
    store: model.SecretStore, namespace: str, namespace_labels: dict[str, str]
) -> bool:
    """ESO's ClusterSecretStore `conditions`: allowed if any condition admits the namespace."""
    conditions = store.spec.conditions
    if store.kind != "ClusterSecretStore" or not conditions:
        return True
    for condition in conditions:
        selector = condition.namespace_selector
        if selector is not None and selector_matches(selector, namespace_labels):
            return True
        if namespace in condition.namespaces:
            return True
        for pattern in condition.namespace_regexes:
            try:
                if re2.search(pattern, namespace):
                    return True
            except re2.error:
                continue
    return False


def resolve(
    es_namespace: str,
    ref: model.StoreRef | None,
    *,
    stores: dict[StoreKey, StoreEntry],
    namespace_labels: dict[str, str],
    verdicts: Mapping[StoreKey, Verdict] | None = None,
    where: str = "spec.secretStoreRef",
) -> model.SecretStore:
    """The store an ExternalSecret (or one of its entries) reads from, or the reason it can't."""
    if ref is None or not ref.name:
        raise errors.InvalidSpecError(f"{where}.name: a store reference is required")
    key = ref_key(es_namespace, ref)
    entry = stores.get(key)
    if entry is None:
        raise errors.StoreNotFoundError(f"could not get {ref.kind} {ref.name!r}: not found")
    verdict = current_verdict(entry, (verdicts or {}).get(key))
    problem = entry.invalid or (verdict.message if verdict and not verdict.ok else "")
    if entry.store is None or problem:
        raise errors.StoreNotReadyError(
            f"{ref.kind} {ref.name!r} is not ready: {problem or 'invalid spec'}"
        )
    if not namespace_allowed(entry.store, es_namespace, namespace_labels):
        raise errors.StoreNotReadyError(
            f"using cluster store {ref.name!r} is not allowed from namespace {es_namespace!r}: "
            "denied by spec.condition"
        )
    return entry.store


def version_of(
    es_namespace: str, ref: model.StoreRef | None, entries: dict[StoreKey, StoreEntry]
) -> str:
    """The store's identity and generation as recorded in `syncedResourceVersion`."""
    if ref is None:
        return ""
    entry = entries.get(ref_key(es_namespace, ref))
    if entry is None:
        return ""
    return f"{entry.meta.uid}:{entry.meta.generation}"
