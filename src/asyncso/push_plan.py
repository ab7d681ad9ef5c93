"""Pure PushSecret planning: spec checks, the stores to push to, and the entries for each store
(`data[]` and the bulk `dataTo[]`); `push_report` does the bookkeeping and the status.

Why pure and apart from the controller: these are ESO's rules (`pkg/controllers/pushsecret`) with
many cases — dataTo per-key and bundle modes, rewrites, conversion, explicit `data` winning over
`dataTo` for the same source key, no two entries writing the same remote location — and each is
table-tested here without a cluster or a provider.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from asyncso import (
    errors,
    keymapping,
    model,
    model_generators,
    model_push,
    names,
    selectors,
    stores,
    timing,
)
from asyncso.generators import refs
from asyncso.templates import engines, jinja, limits

GENERATOR = "spec.selector.generatorRef"
BUNDLE = "(bundle)"


def state_owner(ps: model_push.PushSecret) -> model_generators.StateOwner:
    """Whose GeneratorStates a `selector.generatorRef` makes: this PushSecret's (ESO's
    `StatefulResource`), so they go with it."""
    meta = ps.metadata
    return model_generators.StateOwner(
        kind=model_push.KIND,
        api_version=ps.api_version or model_push.API_VERSION,
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
    )


# --- checks --------------------------------------------------------------------------------------


def validate(ps: model_push.PushSecret) -> None:
    """Every spec check that needs no I/O; `errors.InvalidSpecError` naming the field."""
    spec = ps.spec
    selector = spec.selector
    if (selector.secret is None) == (selector.generator_ref is None):
        raise errors.InvalidSpecError("spec.selector: exactly one of secret or generatorRef")
    source = selector.secret
    if selector.generator_ref is not None:
        refs.check(selector.generator_ref, field=GENERATOR)
    elif source is not None and source.name:
        names.check_object(source.name, kind="Secret", field="spec.selector.secret.name")
    elif source is not None and source.selector is not None:
        selectors.check(source.selector, field="spec.selector.secret.selector")
    else:
        raise errors.InvalidSpecError("spec.selector.secret: name or selector is required")
    timing.parse_duration(spec.refresh_interval, field="spec.refreshInterval")
    for index, ref in enumerate(spec.secret_store_refs):
        _check_store_ref(ref, field=f"spec.secretStoreRefs[{index}]")
    for index, item in enumerate(spec.data):
        if not item.match.remote_ref.remote_key:
            raise errors.InvalidSpecError(f"spec.data[{index}].match.remoteRef.remoteKey: required")
    for index, data_to in enumerate(spec.data_to):
        _check_data_to(data_to, spec.secret_store_refs, where=f"spec.dataTo[{index}]")


def _check_store_ref(ref: model_push.PushSecretStoreRef, *, field: str) -> None:
    if ref.label_selector is not None:
        selectors.check(ref.label_selector, field=f"{field}.labelSelector")
    elif ref.name:
        names.check_object(ref.name, kind=ref.kind, field=f"{field}.name")
    else:
        raise errors.InvalidSpecError(f"{field}: name or labelSelector is required")


def _check_data_to(
    data_to: model_push.PushSecretDataTo,
    refs: Sequence[model_push.PushSecretStoreRef],
    *,
    where: str,
) -> None:
    ref = data_to.store_ref
    if ref is None or (not ref.name and ref.label_selector is None):
        raise errors.InvalidSpecError(
            f"{where}.storeRef: storeRef must specify either name or labelSelector"
        )
    _check_store_ref(ref, field=f"{where}.storeRef")
    if ref.name and not any(r.name == ref.name and r.kind == ref.kind for r in refs):
        raise errors.InvalidSpecError(
            f"{where}: storeRef {ref.name!r} not found in secretStoreRefs"
        )
    if data_to.remote_key and data_to.rewrite:
        raise errors.InvalidSpecError(
            f"{where}: remoteKey and rewrite are mutually exclusive: rewrite is only supported "
            "in per-key mode (without remoteKey)"
        )
    for index, op in enumerate(data_to.rewrite):
        if (op.regexp is None) == (op.transform is None):
            raise errors.InvalidSpecError(
                f"{where}.rewrite[{index}]: exactly one of regexp or transform must be set"
            )
    if data_to.match is not None and data_to.match.regexp:
        keymapping.compile_pattern(data_to.match.regexp, where=f"{where}.match.regexp")


# --- stores --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Target:
    """A store to push to; `key` is ESO's "Kind/name" of `syncedPushSecrets`."""

    kind: str
    name: str
    store: model.SecretStore

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


def select_stores(
    ps: model_push.PushSecret,
    *,
    entries: Mapping[stores.StoreKey, stores.StoreEntry],
    verdicts: Mapping[stores.StoreKey, stores.Verdict],
    namespace_labels: dict[str, str],
    controller_class: str,
) -> list[Target]:
    """The stores `secretStoreRefs` name or select, usable from the PushSecret's namespace, in
    spec order. Stores being deleted and stores of another controller class are skipped (ESO);
    a named store that is missing or not ready is an error."""
    namespace = ps.metadata.namespace
    found: dict[tuple[str, str], Target] = {}
    for index, ref in enumerate(ps.spec.secret_store_refs):
        where = f"spec.secretStoreRefs[{index}]"
        candidates = [ref.name]
        if ref.label_selector is not None:
            candidates = sorted(
                key[2]
                for key, entry in entries.items()
                if key[0] == ref.kind
                and key[1] == ("" if ref.kind == "ClusterSecretStore" else namespace)
                and selectors.matches(ref.label_selector, entry.meta.labels)
            )
        for name in candidates:
            entry = entries.get(stores.ref_key(namespace, model.StoreRef(name=name, kind=ref.kind)))
            if entry is not None and (
                entry.meta.deletion_timestamp or not stores.is_ours(entry.store, controller_class)
            ):
                continue
            store = stores.resolve(
                namespace,
                model.StoreRef(name=name, kind=ref.kind),
                stores=dict(entries),
                namespace_labels=namespace_labels,
                verdicts=verdicts,
                where=where,
            )
            found.setdefault((ref.kind, name), Target(ref.kind, name, store))
    return list(found.values())


def uses_store(ps: model_push.PushSecret, key: stores.StoreKey) -> bool:
    """May a change of the store `key` change what `ps` pushes? Yes when a `secretStoreRefs`
    entry names it, or selects stores of its kind by labels (its labels may have started or
    stopped matching), or when `ps` pushed to it before (`syncedPushSecrets`)."""
    kind, namespace, name = key
    if namespace not in ("", ps.metadata.namespace):
        return False
    if (namespace == "") != (kind == "ClusterSecretStore"):
        return False
    for ref in ps.spec.secret_store_refs:
        if ref.kind == kind and (ref.name == name or ref.label_selector is not None):
            return True
    return f"{kind}/{name}" in ps.status.synced_push_secrets


def data_to_for(
    data_to: Sequence[model_push.PushSecretDataTo], target: Target
) -> list[tuple[int, model_push.PushSecretDataTo]]:
    """The `dataTo` entries aimed at `target` (by name, or by its labels), with their index."""
    out = []
    for index, item in enumerate(data_to):
        ref = item.store_ref
        if ref is None or ref.kind != target.kind:
            continue
        if ref.name:
            if ref.name == target.name:
                out.append((index, item))
        elif ref.label_selector is not None and selectors.matches(
            ref.label_selector, target.store.metadata.labels
        ):
            out.append((index, item))
    return out


def check_data_to_matches(ps: model_push.PushSecret, targets: Sequence[Target]) -> None:
    """ESO: a `dataTo` label selector that matches none of the stores is an error, not a no-op."""
    for index, item in enumerate(ps.spec.data_to):
        ref = item.store_ref
        if ref is None or ref.name or ref.label_selector is None:
            continue
        if not any(
            t.kind == ref.kind and selectors.matches(ref.label_selector, t.store.metadata.labels)
            for t in targets
        ):
            raise errors.InvalidSpecError(
                f"spec.dataTo[{index}]: labelSelector does not match any store in secretStoreRefs"
            )


# --- entries -------------------------------------------------------------------------------------


_UNICODE = re.compile(r"_U([0-9a-fA-F]{4,5})_")


def reverse_key(key: str, strategy: model_push.PushConversionStrategy) -> str:
    """ESO's `ReverseUnicode`: `_U00e9_` back to `é` (the inverse of `conversionStrategy:
    Unicode` on the way in)."""
    if strategy != "ReverseUnicode":
        return key

    def char(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        return "\ufffd" if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF else chr(code)

    return _UNICODE.sub(char, key)


def reverse_keys(
    data: Mapping[str, bytes], strategy: model_push.PushConversionStrategy
) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key, value in data.items():
        new = reverse_key(key, strategy)
        if new in out:
            raise errors.InvalidSpecError(f"secret name collision during conversion: {new}")
        out[new] = value
    return out


@dataclasses.dataclass(frozen=True)
class Planned:
    """One entry for one store: what ESO records in `syncedPushSecrets` and what is pushed."""

    data: model_push.PushSecretData
    entry: model_push.PushEntry | None  # None when `error` says why it cannot be pushed
    error: errors.AsyncsoError | None = None


def status_ref(data: model_push.PushSecretData) -> str:
    """ESO's key in `syncedPushSecrets`: `remoteKey`, or `remoteKey/property`."""
    ref = data.match.remote_ref
    return f"{ref.remote_key}/{ref.property}" if ref.property else ref.remote_key


def plan_entries(
    ps: model_push.PushSecret, data: Mapping[str, bytes], target: Target
) -> list[Planned]:
    """`dataTo` expanded for `target`, merged with `data` (explicit entries win for the same
    source key), each with the value source it pushes (converted as its strategy says)."""
    engine = ps.spec.template.engine_version if ps.spec.template is not None else "v2"
    expanded, bundles = _expand_data_to(data, data_to_for(ps.spec.data_to, target), engine=engine)
    explicit = [(f"spec.data[{i}]", item) for i, item in enumerate(ps.spec.data)]
    taken = {_original_key(item, data) for _, item in explicit}
    merged = [(w, item) for w, item in expanded if item.match.secret_key not in taken] + explicit
    seen: dict[tuple[str, str], str] = {}
    for _, item in merged:
        ref = item.match.remote_ref
        location = (ref.remote_key, ref.property)
        if location in seen:
            what = f"duplicate remote key {ref.remote_key!r}"
            if ref.property:
                what += f" with property {ref.property!r}"
            raise errors.InvalidSpecError(
                f"{what}: source keys {seen[location]!r} and {item.match.secret_key!r} "
                "both map to the same destination"
            )
        seen[location] = item.match.secret_key
    return [_planned(item, bundles.get(status_ref(item), data), where) for where, item in merged]


def _planned(item: model_push.PushSecretData, source: Mapping[str, bytes], where: str) -> Planned:
    try:
        converted = reverse_keys(source, item.conversion_strategy)
    except errors.InvalidSpecError as exc:
        return Planned(item, None, errors.InvalidSpecError(f"{where}: {exc}"))
    key = item.match.secret_key
    if key and key not in converted:
        return Planned(item, None, errors.InvalidSpecError(f"secret key {key} does not exist"))
    ref = item.match.remote_ref
    entry = model_push.PushEntry(
        remote_key=ref.remote_key,
        property=ref.property,
        secret_key=key,
        data=converted,
        metadata=item.metadata,
        where=where,
    )
    return Planned(item, entry)


def _original_key(item: model_push.PushSecretData, data: Mapping[str, bytes]) -> str:
    key = item.match.secret_key
    if item.conversion_strategy == "None":
        return key
    for original in data:
        if reverse_key(original, item.conversion_strategy) == key:
            return original
    return key


def _expand_data_to(
    data: Mapping[str, bytes],
    data_to: Sequence[tuple[int, model_push.PushSecretDataTo]],
    *,
    engine: model.TemplateEngine,
) -> tuple[list[tuple[str, model_push.PushSecretData]], dict[str, dict[str, bytes]]]:
    """ESO's `expandDataTo`: per-key entries (or one bundle entry per `remoteKey`), and for each
    bundle the matched keys it carries."""
    entries: list[tuple[str, model_push.PushSecretData]] = []
    bundles: dict[str, dict[str, bytes]] = {}
    claimed: dict[str, str] = {}
    for index, item in data_to:
        where = f"spec.dataTo[{index}]"
        converted = reverse_keys(data, item.conversion_strategy)
        original = {reverse_key(k, item.conversion_strategy): k for k in data}
        matched = sorted(converted)
        if item.match is not None and item.match.regexp:
            pattern = keymapping.compile_pattern(item.match.regexp, where=f"{where}.match.regexp")
            matched = [k for k in matched if pattern.search(k)]
        if not matched:
            continue
        if item.remote_key:
            key_map = {BUNDLE: item.remote_key}
            bundles[item.remote_key] = {k: converted[k] for k in matched}
            new = [(where, _data(item, "", item.remote_key))]
        else:
            key_map = _rewritten(matched, item.rewrite, where=where, engine=engine)
            new = [(where, _data(item, original[k], key_map[k])) for k in sorted(key_map)]
        for source, remote in key_map.items():
            if not remote:
                raise errors.InvalidSpecError(
                    f"{where}: empty remote key produced for source key {source!r}"
                )
            if remote in claimed:
                raise errors.InvalidSpecError(
                    f"{where}: duplicate remote key {remote!r} from source key {source!r} "
                    f"(conflicts with {claimed[remote]})"
                )
            claimed[remote] = f"{where}:{source}"
        entries += new
    return entries, bundles


def _data(
    item: model_push.PushSecretDataTo, secret_key: str, remote: str
) -> model_push.PushSecretData:
    return model_push.PushSecretData(
        match=model_push.PushSecretMatch(
            secret_key=secret_key, remote_ref=model_push.PushSecretRemoteRef(remote_key=remote)
        ),
        metadata=item.metadata,
        conversion_strategy="None",
    )


def _rewritten(
    keys: Sequence[str],
    rewrites: Sequence[model_push.PushSecretRewrite],
    *,
    where: str,
    engine: model.TemplateEngine,
) -> dict[str, str]:
    """Source key → remote key after each rewrite in order (ESO's `rewriteWithKeyMapping`). A
    `transform` is a Go template over `.value`, as in ESO, unless the PushSecret's template says
    `engineVersion: jinja` (the same engine selection as an ExternalSecret's rewrites)."""
    key_map = {k: k for k in keys}
    for index, op in enumerate(rewrites):
        at = f"{where}.rewrite[{index}]"
        if op.regexp is not None:
            pattern = keymapping.compile_pattern(op.regexp.source, where=f"{at}.regexp.source")
            target = op.regexp.target
            key_map = {k: keymapping.go_replace_all(pattern, v, target) for k, v in key_map.items()}
        elif op.transform is not None and engine == "jinja":
            with limits.budget():
                key_map = {
                    k: jinja.render(op.transform.template, {"value": v}, where=f"{at}.transform")
                    for k, v in key_map.items()
                }
        elif op.transform is not None:
            rename = engines.go_transform(
                op.transform.template,
                where=f"{at}.transform",
                engine_field=engines.ENGINE_FIELD_PUSHSECRET,
            )
            key_map = {k: rename(v) for k, v in key_map.items()}
    return key_map
