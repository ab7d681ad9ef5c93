"""Pure: `spec.target.manifest` — a ConfigMap written instead of a Secret (ESO's generic targets).

Why: ESO can write the synced values into another kind of object. asyncso implements it for
`v1 ConfigMap`, the kind whose RBAC story is simple (one extra rule, `configmaps` create/update/
delete, granted only with the chart's `genericTargets.enabled`), behind ESO's own switch
`--unsafe-allow-generic-targets` (off by default: a ConfigMap is not a place for secrets, and any
tenant who may create ExternalSecrets could then write ConfigMaps of their namespace). Other
kinds are refused by name: writing arbitrary kinds would need RBAC on arbitrary resources.

A port of ESO's `reconcileGenericTarget` / `applyTemplateToManifest` for a ConfigMap:

- `Owner`/`Orphan`: the ConfigMap is built afresh (others' labels on an existing one go, as in
  ESO); `Merge` (only if it exists) and `CreateOrMerge` start from the existing one;
- labels and annotations: the ExternalSecret's own without a template, else the template's;
  then `reconcile.external-secrets.io/managed=true` and the data-hash annotation (ESO's hash of
  the `data` map); `Owner` adds the controller reference and the `created-by` label;
- data: the fetched values without a template (replacing `data`); with one, what its
  `templateFrom` and `data` render (no `mergePolicy`, as in ESO's generic path);
- an empty result with `deletionPolicy: Delete` deletes the ConfigMap (Owner only).

Values must be UTF-8 text (a ConfigMap's `data`); binary values are refused by key.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Literal

import msgspec

from asyncso import errors, model, plan

REASON_SYNCED = "ResourceSynced"
REASON_ERROR = "ResourceSyncedError"
REASON_DELETED = "ResourceDeleted"
REASON_MISSING = "ResourceMissing"
MSG_SYNCED = "secret synced"
MSG_DELETED = "secret deleted due to DeletionPolicy=Delete"
MSG_MISSING = "resource will not be created due to CreationPolicy=Merge"
MSG_DISABLED = "generic targets are disabled. Enable with --unsafe-allow-generic-targets flag"
MSG_INVALID = "invalid generic target"
MSG_KIND = (
    "spec.target.manifest: {api_version}/{kind} is not supported by asyncso "
    "(it writes v1 ConfigMap targets)"
)

Action = Literal["none", "create", "update", "delete"]


@dataclasses.dataclass(frozen=True)
class ConfigMapPlan:
    action: Action
    config_map: model.ConfigMap | None
    report: plan.Report
    binding: str = ""


def is_config_map(es: model.ExternalSecret) -> bool:
    manifest = es.spec.target.manifest
    return manifest is not None and (manifest.api_version, manifest.kind) == ("v1", "ConfigMap")


def check(es: model.ExternalSecret, *, allowed: bool) -> None:
    """The target kind must be a v1 ConfigMap, and generic targets switched on."""
    manifest = es.spec.target.manifest
    if manifest is None:
        return
    if not is_config_map(es):
        raise errors.InvalidSpecError(
            MSG_KIND.format(api_version=manifest.api_version, kind=manifest.kind)
        )
    if not allowed:
        raise errors.InvalidSpecError(f"{MSG_INVALID}: {MSG_DISABLED}")


def data_hash(data: dict[str, str]) -> str:
    """ESO's `ObjectHash(obj["data"])` for a generic target: `%+v` of a string map, SHA3-224."""
    text = "map[" + " ".join(f"{key}:{data[key]}" for key in sorted(data)) + "]"
    return hashlib.sha3_224(text.encode()).hexdigest()


def _text(values: dict[str, bytes]) -> dict[str, str]:
    out = {}
    for key, value in values.items():
        try:
            out[key] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.InvalidSpecError(
                f"spec.target.manifest: the value of key {key!r} is not UTF-8 text, "
                "which a ConfigMap's data must be"
            ) from None
    return out


def plan_config_map(
    es: model.ExternalSecret,
    desired: model.SecretContent | None,
    observed: model.ConfigMap | None,
) -> ConfigMapPlan:
    """What to write. `desired` is None when every remote secret is gone and `deletionPolicy`
    (Delete/Merge) says to act; otherwise the fetched (or rendered) content."""
    target = es.spec.target
    name = model.target_name(es)
    policy = target.creation_policy
    if observed is not None and plan.owned_by_other(es, _as_secret(observed)):
        return ConfigMapPlan("none", None, _failure(plan.MSG_IS_OWNED, f"ConfigMap {name!r}"))
    if desired is None and target.deletion_policy == "Delete":
        if policy != "Owner":
            detail = f"unable to delete resource: creationPolicy={policy} is not Owner"
            return ConfigMapPlan("none", None, _failure(plan.MSG_DELETE, detail))
        report = plan.Report(
            True, REASON_DELETED, MSG_DELETED, "Deleted", f"Deleted ConfigMap {name}"
        )
        return ConfigMapPlan("delete" if observed is not None else "none", observed, report)
    content = desired or model.SecretContent(data={}, labels={}, annotations={}, type="")
    synced = plan.Report(True, REASON_SYNCED, MSG_SYNCED)
    if policy == "None":
        return ConfigMapPlan("none", None, synced)
    if policy == "Merge" and observed is None:
        return ConfigMapPlan("none", None, plan.Report(True, REASON_MISSING, MSG_MISSING))
    base = observed if observed is not None and policy in ("Merge", "CreateOrMerge") else None
    wanted = _build(es, content, base, observed)
    if observed is None:
        created = dataclasses.replace(
            synced, event_reason="Created", event_message=f"Created ConfigMap {name}"
        )
        return ConfigMapPlan("create", wanted, created, binding=name)
    if _same(observed, wanted):
        return ConfigMapPlan("none", None, synced, binding=name)
    updated = dataclasses.replace(
        synced, event_reason="Updated", event_message=f"Updated ConfigMap {name}"
    )
    return ConfigMapPlan("update", wanted, updated, binding=name)


def _build(
    es: model.ExternalSecret,
    content: model.SecretContent,
    base: model.ConfigMap | None,
    observed: model.ConfigMap | None,
) -> model.ConfigMap:
    meta = base.metadata if base is not None else model.ObjectMeta()
    labels, annotations = dict(meta.labels), dict(meta.annotations)
    template = es.spec.target.template
    if template is None:
        labels.update(es.metadata.labels)
        annotations.update(es.metadata.annotations)
    else:
        labels.update(content.labels)
        annotations.update(content.annotations)
    data = dict(base.data) if base is not None else {}
    if template is None:
        data = _text(content.data)
    else:
        data.update(_text(content.data))
    labels[model.LABEL_MANAGED] = "true"
    annotations[model.ANNOTATION_DATA_HASH] = data_hash(data)
    owners = plan.owners(es, meta)
    if es.spec.target.creation_policy == "Owner":
        labels[model.LABEL_CREATED_BY] = plan.owner_label(es)
    else:
        labels.pop(model.LABEL_CREATED_BY, None)
    observed_meta = observed.metadata if observed is not None else model.ObjectMeta()
    return model.ConfigMap(
        metadata=model.ObjectMeta(
            name=model.target_name(es),
            namespace=es.metadata.namespace,
            resource_version=observed_meta.resource_version,
            labels=labels,
            annotations=annotations,
            owner_references=owners,
            finalizers=list(meta.finalizers),
        ),
        data=data,
        binary_data=dict(base.binary_data) if base is not None else {},
    )


def _same(a: model.ConfigMap, b: model.ConfigMap) -> bool:
    return (
        a.data == b.data
        and a.binary_data == b.binary_data
        and a.metadata.labels == b.metadata.labels
        and a.metadata.annotations == b.metadata.annotations
        and a.metadata.owner_references == b.metadata.owner_references
    )


def _as_secret(config_map: model.ConfigMap) -> model.Secret:
    """Ownership is read the same way on any kind (`plan.owned_by_other`)."""
    return model.Secret(metadata=config_map.metadata)


def _failure(message: str, detail: str) -> plan.Report:
    failed = plan.failure(message, detail)
    return dataclasses.replace(failed, reason=REASON_ERROR)


def template_for(es: model.ExternalSecret) -> model.ExternalSecret:
    """The ExternalSecret as ESO's generic path renders it: `templateFrom` and `data` only, no
    `mergePolicy` (a template with neither renders no data: see `rendered_data`)."""
    template = es.spec.target.template
    if template is None or template.merge_policy == "Replace":
        return es
    target = msgspec.structs.replace(
        es.spec.target, template=msgspec.structs.replace(template, merge_policy="Replace")
    )
    return msgspec.structs.replace(es, spec=msgspec.structs.replace(es.spec, target=target))


def rendered_data(es: model.ExternalSecret, content: model.SecretContent) -> model.SecretContent:
    """A template without `data` or `templateFrom` writes no data into a ConfigMap (ESO)."""
    template = es.spec.target.template
    if template is not None and not template.data and not template.template_from:
        return dataclasses.replace(content, data={})
    return content
