"""`FakeKube`: an in-memory `ports.KubeClient` with the apiserver's rules that syncs rely on.

Why beside the port: the reconciler and the store controller are table-tested without a cluster
(conflicts, finalizers, ownership, policies, "same failure, no status write"), and those tests
must see what a real apiserver would do: resourceVersions that move on every write, 409 on a
stale PUT or an existing POST, absent objects as 404, and names checked by the same path builder
(`apiserver.path`) as the real adapter, so a name such as `../x` is refused the same way.
Integration tests still prove `kube.Kube` on the real wire.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import msgspec

from asyncso import apiserver, errors, model, selectors


@dataclasses.dataclass(frozen=True)
class Event:
    kind: str
    namespace: str
    name: str
    type: str
    reason: str
    message: str


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the apiserver applies a merge patch: maps merge, `null` deletes a key."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class FakeKube:
    """Objects by (namespace, name); every call is recorded in `calls` as (verb, ns, name)."""

    def __init__(self) -> None:
        self.secrets: dict[model.Key, model.Secret] = {}
        self.config_maps: dict[model.Key, model.ConfigMap] = {}
        self.service_accounts: dict[model.Key, dict[str, str]] = {}
        self.statuses: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.finalizers: dict[tuple[str, str, str], list[str]] = {}
        self.events: list[Event] = []
        #: Our custom objects as JSON, by (kind, namespace, name) (`ports.KubeObjects`).
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.tokens: list[model.Key] = []
        #: Generator manifests by (kind, namespace, name); namespace "" for ClusterGenerators.
        self.generators: dict[tuple[str, str, str], dict[str, Any]] = {}
        #: GeneratorStates by (namespace, name), as created (names made from generateName).
        self.generator_states: dict[model.Key, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, str]] = []
        #: Raise this on the next call of that verb (e.g. {"patch_status": ApiUnavailableError}).
        self.fail_next: dict[str, errors.AsyncsoError] = {}
        self._versions = itertools.count(100)

    def _enter(
        self, verb: str, resource: apiserver.Resource, ns: str, name: str, field: str
    ) -> None:
        apiserver.path(resource, namespace=ns, name=name, field=field)
        self.calls.append((verb, ns, name))
        failure = self.fail_next.pop(verb, None)
        if failure is not None:
            raise failure

    def _stored(self, secret: model.Secret, manager: str) -> model.Secret:
        old = self.secrets.get((secret.metadata.namespace, secret.metadata.name))
        meta = msgspec.structs.replace(
            secret.metadata,
            resource_version=str(next(self._versions)),
            uid=secret.metadata.uid or f"uid-{secret.metadata.name}",
            managed_fields=_managed_fields(old, secret, manager or "unnamed-client"),
        )
        stored = msgspec.structs.replace(secret, metadata=meta)
        self.secrets[(meta.namespace, meta.name)] = stored
        return stored

    # --- seeding (tests) -----------------------------------------------------------------------

    def put_secret(self, secret: model.Secret, *, manager: str = "someone-else") -> model.Secret:
        """Store a Secret as if someone else (`manager`) had written it."""
        return self._stored(secret, manager)

    # --- ports.KubeReader ----------------------------------------------------------------------

    async def get_secret(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.Secret | None:
        self._enter("get_secret", apiserver.SECRETS, namespace, name, field)
        return self.secrets.get((namespace, name))

    async def get_config_map(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.ConfigMap | None:
        self._enter("get_config_map", apiserver.CONFIGMAPS, namespace, name, field)
        return self.config_maps.get((namespace, name))

    async def get_service_account_annotations(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> dict[str, str]:
        self._enter("get_service_account", apiserver.SERVICEACCOUNTS, namespace, name, field)
        found = self.service_accounts.get((namespace, name))
        if found is None:
            raise errors.service_account_not_found(field=field, namespace=namespace, name=name)
        return dict(found)

    async def create_token(
        self,
        namespace: str,
        name: str,
        *,
        audiences: list[str],
        expiration_seconds: int = 3600,
        field: str = "metadata",
    ) -> str:
        self._enter("create_token", apiserver.SERVICEACCOUNTS, namespace, name, field)
        if (namespace, name) not in self.service_accounts:
            raise errors.service_account_not_found(field=field, namespace=namespace, name=name)
        self.tokens.append((namespace, name))
        return f"token-for-{namespace}-{name}"

    # --- ports.KubeWriter ----------------------------------------------------------------------

    async def create_secret(
        self, secret: model.Secret, *, field: str = "metadata", field_manager: str = ""
    ) -> model.Secret:
        meta = secret.metadata
        self._enter("create_secret", apiserver.SECRETS, meta.namespace, meta.name, field)
        if (meta.namespace, meta.name) in self.secrets:
            raise errors.api_error(409, f'secrets "{meta.name}" already exists', reason="Conflict")
        return self._stored(secret, field_manager)

    async def replace_secret(
        self, secret: model.Secret, *, field: str = "metadata", field_manager: str = ""
    ) -> model.Secret:
        meta = secret.metadata
        self._enter("replace_secret", apiserver.SECRETS, meta.namespace, meta.name, field)
        _check_replace("secrets", self.secrets.get((meta.namespace, meta.name)), meta)
        return self._stored(secret, field_manager)

    async def delete_secret(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        self._enter("delete_secret", apiserver.SECRETS, namespace, name, field)
        _delete(self.secrets, (namespace, name), resource_version)

    async def create_config_map(
        self, config_map: model.ConfigMap, *, field: str = "metadata", field_manager: str = ""
    ) -> model.ConfigMap:
        meta = config_map.metadata
        self._enter("create_config_map", apiserver.CONFIGMAPS, meta.namespace, meta.name, field)
        if (meta.namespace, meta.name) in self.config_maps:
            raise errors.api_error(409, f'configmaps "{meta.name}" exists', reason="Conflict")
        return self._stored_config_map(config_map)

    async def replace_config_map(
        self, config_map: model.ConfigMap, *, field: str = "metadata", field_manager: str = ""
    ) -> model.ConfigMap:
        meta = config_map.metadata
        self._enter("replace_config_map", apiserver.CONFIGMAPS, meta.namespace, meta.name, field)
        _check_replace("configmaps", self.config_maps.get((meta.namespace, meta.name)), meta)
        return self._stored_config_map(config_map)

    async def delete_config_map(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        self._enter("delete_config_map", apiserver.CONFIGMAPS, namespace, name, field)
        _delete(self.config_maps, (namespace, name), resource_version)

    def _stored_config_map(self, config_map: model.ConfigMap) -> model.ConfigMap:
        meta = msgspec.structs.replace(
            config_map.metadata,
            resource_version=str(next(self._versions)),
            uid=config_map.metadata.uid or f"uid-cm-{config_map.metadata.name}",
        )
        stored = msgspec.structs.replace(config_map, metadata=meta)
        self.config_maps[(meta.namespace, meta.name)] = stored
        return stored

    async def patch_status(self, kind: str, namespace: str, name: str, status: Any) -> None:
        self._enter("patch_status", apiserver.BY_KIND[kind], namespace, name, "metadata")
        key = (kind, namespace, name)
        self.statuses[key] = merge_patch(self.statuses.get(key, {}), status)

    async def set_finalizers(
        self, kind: str, namespace: str, name: str, *, finalizers: list[str], resource_version: str
    ) -> None:
        self._enter("set_finalizers", apiserver.BY_KIND[kind], namespace, name, "metadata")
        self.finalizers[(kind, namespace, name)] = list(finalizers)
        stored = self.objects.get((kind, namespace, name))
        if stored is not None:
            stored["metadata"]["finalizers"] = list(finalizers)

    async def emit_event(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        self.calls.append(("emit_event", involved.namespace, involved.name))
        self.events.append(Event(kind, involved.namespace, involved.name, type_, reason, message))

    # --- ports.GeneratorReader, ports.GeneratorStateWriter -------------------------------------

    def put_generator(self, body: dict[str, Any]) -> None:
        """Store a generator manifest (its kind, metadata.namespace and metadata.name say where)."""
        meta = body["metadata"]
        self.generators[(body["kind"], meta.get("namespace", ""), meta["name"])] = body

    async def get_generator(
        self, kind: str, namespace: str, name: str, *, field: str = "metadata"
    ) -> bytes | None:
        resource = apiserver.GENERATORS[kind]
        ns = namespace if resource.namespaced else ""
        self._enter("get_generator", resource, ns, name, field)
        found = self.generators.get((kind, ns, name))
        return None if found is None else msgspec.json.encode(found)

    async def create_generator_state(self, namespace: str, body: dict[str, Any]) -> None:
        name = (
            body["metadata"].get("name")
            or f"{body['metadata']['generateName']}{len(self.generator_states):05d}"
        )
        self._enter(
            "create_generator_state", apiserver.GENERATORSTATES, namespace, name, "metadata"
        )
        meta = {**body["metadata"], "name": name, "namespace": namespace}
        meta["resourceVersion"] = str(next(self._versions))
        meta.setdefault("creationTimestamp", f"2026-01-01T00:00:{len(self.generator_states):02d}Z")
        self.generator_states[(namespace, name)] = {**body, "metadata": meta}

    async def patch_generator_state(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self._enter("patch_generator_state", apiserver.GENERATORSTATES, namespace, name, "metadata")
        current = self.generator_states.get((namespace, name))
        if current is None:
            return
        for part, changes in patch.items():
            current[part] = {**current.get(part, {}), **changes}

    async def delete_generator_state(self, namespace: str, name: str) -> None:
        self._enter(
            "delete_generator_state", apiserver.GENERATORSTATES, namespace, name, "metadata"
        )
        self.generator_states.pop((namespace, name), None)

    # --- reading back (tests) ------------------------------------------------------------------

    def ready(self, kind: str, namespace: str, name: str) -> tuple[str, str, str] | None:
        """(status, reason, message) of the Ready condition last written, if any."""
        for condition in self.statuses.get((kind, namespace, name), {}).get("conditions", []):
            if condition.get("type") == "Ready":
                return (
                    condition["status"],
                    condition.get("reason", ""),
                    condition.get("message", ""),
                )
        return None

    def writes(self) -> list[tuple[str, str, str]]:
        """The calls that changed something (no reads, no events)."""
        return [
            c for c in self.calls if not c[0].startswith(("get_", "list_")) and c[0] != "emit_event"
        ]

    # --- ports.KubeObjects ---------------------------------------------------------------------

    def put_object(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store an object as if someone else had created it (tests)."""
        meta = body["metadata"]
        meta["resourceVersion"] = str(next(self._versions))
        meta.setdefault("uid", f"uid-{kind}-{meta['name']}")
        self.objects[(kind, meta.get("namespace", ""), meta["name"])] = body
        return body

    async def get_object(
        self, kind: str, namespace: str, name: str, *, field: str = "metadata"
    ) -> dict[str, Any] | None:
        self._enter("get_object", apiserver.BY_KIND[kind], namespace, name, field)
        found = self.objects.get((kind, namespace, name))
        return None if found is None else msgspec.json.decode(msgspec.json.encode(found))

    async def create_object(
        self, kind: str, body: dict[str, Any], *, field: str = "metadata"
    ) -> dict[str, Any]:
        meta = body["metadata"]
        namespace = meta.get("namespace", "")
        self._enter("create_object", apiserver.BY_KIND[kind], namespace, meta["name"], field)
        if (kind, namespace, meta["name"]) in self.objects:
            raise errors.api_error(
                409, f"{kind} {meta['name']!r} already exists", reason="Conflict"
            )
        stored: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(body))
        return self.put_object(kind, stored)

    async def replace_object(
        self, kind: str, body: dict[str, Any], *, field: str = "metadata"
    ) -> dict[str, Any]:
        meta = body["metadata"]
        namespace = meta.get("namespace", "")
        self._enter("replace_object", apiserver.BY_KIND[kind], namespace, meta["name"], field)
        current = self.objects.get((kind, namespace, meta["name"]))
        if current is None:
            raise errors.api_error(404, f"{kind} {meta['name']!r} not found", reason="NotFound")
        if meta.get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise errors.api_error(409, "the object has been modified", reason="Conflict")
        stored: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(body))
        stored["metadata"]["uid"] = current["metadata"]["uid"]
        return self.put_object(kind, stored)

    async def delete_object(
        self, kind: str, namespace: str, name: str, *, uid: str = "", field: str = "metadata"
    ) -> None:
        self._enter("delete_object", apiserver.BY_KIND[kind], namespace, name, field)
        current = self.objects.get((kind, namespace, name))
        if current is None:
            return
        if uid and uid != current["metadata"]["uid"]:
            raise errors.api_error(409, "precondition failed: uid", reason="Conflict")
        del self.objects[(kind, namespace, name)]

    async def list_secrets(
        self, namespace: str, *, selector: model.LabelSelector, field: str = "metadata"
    ) -> list[model.Secret]:
        apiserver.path(apiserver.SECRETS, namespace=namespace, field=field)
        selectors.check(selector, field=field)
        self.calls.append(("list_secrets", namespace, ""))
        return [
            secret
            for (ns, _), secret in sorted(self.secrets.items())
            if ns == namespace and selectors.matches(selector, secret.metadata.labels)
        ]


# --- the apiserver's field ownership, for the keys `fieldowners` reads --------------------------

_Owned = dict[str, dict[str, set[str]]]  # manager → part (labels, annotations, data) → keys
_PARTS = ("labels", "annotations", "data")


def _check_replace(resource: str, current: Any, meta: model.ObjectMeta) -> None:
    """The apiserver's answer to a PUT of `meta` over `current`: 404 when there is none, 409
    when `meta` names another resourceVersion."""
    if current is None:
        raise errors.api_error(404, f'{resource} "{meta.name}" not found', reason="NotFound")
    if meta.resource_version and meta.resource_version != current.metadata.resource_version:
        raise errors.api_error(409, "the object has been modified", reason="Conflict")


def _delete(store: dict[model.Key, Any], key: model.Key, resource_version: str) -> None:
    """The apiserver's DELETE with an optional resourceVersion precondition; a missing object
    is as good as deleted."""
    current = store.get(key)
    if current is None:
        return
    if resource_version and resource_version != current.metadata.resource_version:
        raise errors.api_error(409, "precondition failed", reason="Conflict")
    del store[key]


def _parts(secret: model.Secret) -> dict[str, dict[str, Any]]:
    meta = secret.metadata
    return {"labels": meta.labels, "annotations": meta.annotations, "data": secret.data}


def _managed_fields(
    old: model.Secret | None, new: model.Secret, manager: str
) -> list[model.ManagedFieldsEntry]:
    """managedFields after `manager` writes `new` over `old`, as the apiserver keeps them for
    labels, annotations and data: a create owns every key; an update owns the keys it adds or
    changes (taking them from other managers); a removed key is nobody's."""
    owned: _Owned = {}
    for entry in old.metadata.managed_fields if old is not None else []:
        recorded = entry.fields_v1
        mine = owned.setdefault(entry.manager, {part: set() for part in _PARTS})
        meta = recorded.get("f:metadata", {})
        for part, node in (
            ("labels", meta.get("f:labels", {})),
            ("annotations", meta.get("f:annotations", {})),
            ("data", recorded.get("f:data", {})),
        ):
            mine[part] |= {k.removeprefix("f:") for k in node if k != "."}
    before = _parts(old) if old is not None else {part: {} for part in _PARTS}
    after = _parts(new)
    writer = owned.setdefault(manager, {part: set() for part in _PARTS})
    for part in _PARTS:
        changed = {k for k, v in after[part].items() if before[part].get(k, object()) != v}
        for keys in owned.values():
            keys[part] &= set(after[part])  # removed keys are nobody's
            keys[part] -= changed
        writer[part] |= changed
    entries = []
    for name, keys in owned.items():
        if not any(keys.values()):
            continue
        fields: dict[str, Any] = {}
        meta_fields: dict[str, Any] = {
            f"f:{part}": {f"f:{k}": {} for k in sorted(keys[part])}
            for part in ("labels", "annotations")
            if keys[part]
        }
        if meta_fields:
            fields["f:metadata"] = meta_fields
        if keys["data"]:
            fields["f:data"] = {f"f:{k}": {} for k in sorted(keys["data"])}
        entries.append(model.ManagedFieldsEntry(manager=name, operation="Update", fields_v1=fields))
    return entries
