"""Pure: (ExternalSecret, desired content, observed Secret) → what to write and what to report.

Why pure: creation/deletion policies, ownership and the safety rule ("only a missing remote secret
may shrink or delete a target") are the decisions that can lose a user's Secret. They are made
here, from values only, and table-tested; the reconciler just executes the `Plan`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Literal

from asyncso import fieldowners, model, secret_data

#: Where asyncso recorded its data keys before it used field ownership (`fieldowners`), as ESO
#: does: still read as ours, and dropped on the next write.
ANNOTATION_MANAGED_KEYS = "reconcile.asyncso.io/managed-keys"

REASON_SYNCED = "SecretSynced"
REASON_ERROR = "SecretSyncedError"
REASON_DELETED = "SecretDeleted"
REASON_MISSING = "SecretMissing"

MSG_SYNCED = "secret synced"
MSG_DELETED = "secret deleted due to DeletionPolicy"
MSG_MERGED_AWAY = "managed keys removed due to DeletionPolicy=Merge"
MSG_GET_DATA = "could not get secret data from provider"
MSG_UPDATE = "could not update secret"
MSG_DELETE = "could not delete secret"
MSG_IS_OWNED = "target is owned by another ExternalSecret"
MSG_IMMUTABLE = "could not update secret, target is immutable"
MSG_BECOME_OWNER = "failed to take ownership of target secret"
#: Adopting a Secret nobody managed is never silent (docs/security.md): a Warning Event with
#: this reason, and the condition says it; key names only, never values.
EVENT_ADOPTED = "Adopted"
MSG_ADOPTED = 'adopted existing Secret "{name}"'
MSG_DROPPED_KEYS = "dropped keys: {keys}"
MSG_NO_KEYS_DROPPED = "no keys dropped"
_DROPPED_SHOWN = 20

Action = Literal["none", "create", "update", "delete"]


@dataclasses.dataclass(frozen=True)
class Report:
    """The Ready condition and the Event that go with a plan."""

    ready: bool
    reason: str
    message: str
    event_reason: str = ""  # "", Created, Updated, Deleted, UpdateFailed, Adopted
    event_message: str = ""
    #: "" follows `ready` (Normal / Warning); `Adopted` is a Warning on a successful sync.
    event_type: str = ""


@dataclasses.dataclass(frozen=True)
class Plan:
    action: Action
    secret: model.Secret | None
    report: Report
    #: Name recorded as `status.binding` (the target), or "" when nothing was bound.
    binding: str = ""


def field_manager(es: model.ExternalSecret) -> str:
    """The field manager every write of `es` carries (ESO's name for it)."""
    return fieldowners.manager_for(es.metadata.name)


def owner_label(es: model.ExternalSecret) -> str:
    """Value of the `created-by` label: a hash of namespace/name (fits a 63-char label)."""
    text = f"{es.metadata.namespace}/{es.metadata.name}"
    return hashlib.sha3_224(text.encode()).hexdigest()


def is_valid(secret: model.Secret | None) -> bool:
    """ESO's `isSecretValid`: present, marked managed, and its data still matches the hash."""
    if secret is None:
        return False
    meta = secret.metadata
    if meta.labels.get(model.LABEL_MANAGED) != "true":
        return False
    return meta.annotations.get(model.ANNOTATION_DATA_HASH) == secret_data.data_hash(secret.data)


def failure(message: str, detail: str) -> Report:
    """A failed sync: Ready=False, and an `UpdateFailed` warning event (never with values)."""
    text = f"{message}: {detail}" if detail else message
    return Report(
        ready=False,
        reason=REASON_ERROR,
        message=text,
        event_reason="UpdateFailed",
        event_message=text,
    )


def owned_by_other(es: model.ExternalSecret, observed: model.Secret) -> bool:
    meta = observed.metadata
    for ref in meta.owner_references:
        if ref.controller and ref.kind == "ExternalSecret" and ref.uid != es.metadata.uid:
            return True
    created_by = meta.labels.get(model.LABEL_CREATED_BY)
    return created_by is not None and created_by != owner_label(es)


def plan_sync(
    es: model.ExternalSecret, desired: model.SecretContent | None, observed: model.Secret | None
) -> Plan:
    """Plan a sync. `desired` is None when every remote secret is gone and `deletionPolicy`
    (`Delete` or `Merge`) says to act on that; otherwise it is the rendered content."""
    target = es.spec.target
    name = model.target_name(es)
    owning = target.creation_policy in ("Owner", "Orphan", "CreateOrMerge")
    if owning and observed is not None and owned_by_other(es, observed):
        return Plan("none", None, failure(MSG_IS_OWNED, f"Secret {name!r}"))
    if desired is None:
        return _plan_remote_gone(es, observed)
    if target.creation_policy == "None":
        return Plan("none", None, Report(True, REASON_SYNCED, MSG_SYNCED))
    if target.creation_policy == "Merge":
        if observed is None:
            message = (
                f"the desired secret {name} was not found. "
                "With creationPolicy=Merge the secret won't be created"
            )
            return Plan("none", None, Report(False, REASON_MISSING, message))
        return _write(es, observed, _merged(es, desired, observed))
    if target.creation_policy == "CreateOrMerge" and observed is not None:
        # ESO: created like Orphan when missing; merged into like Merge when present.
        return _write(es, observed, _merged(es, desired, observed))
    if target.creation_policy == "Owner" and observed is not None:
        other = _other_controller(observed)
        if other is not None:
            detail = f"Secret {name!r} is already controlled by {other.kind} {other.name!r}"
            return Plan("none", None, failure(MSG_BECOME_OWNER, detail))
    return _adopting(observed, _write(es, observed, _owned(es, desired, observed)))


def _other_controller(observed: model.Secret) -> model.OwnerReference | None:
    """The controller of a Secret when it is not an ExternalSecret (ESO's
    `SetControllerReference` refuses to take such a Secret over)."""
    for ref in observed.metadata.owner_references:
        if ref.controller and ref.kind != "ExternalSecret":
            return ref
    return None


def _adopting(observed: model.Secret | None, the_plan: Plan) -> Plan:
    """Owner/Orphan writing over an existing Secret that was not managed: ESO adopts it (its
    data becomes ours, other keys go); we do too, and say so in a Warning Event and the
    condition, naming the keys dropped."""
    if (
        observed is None
        or the_plan.action != "update"
        or the_plan.secret is None
        or observed.metadata.labels.get(model.LABEL_MANAGED) == "true"
    ):
        return the_plan
    name = observed.metadata.name
    dropped = sorted(set(observed.data) - set(the_plan.secret.data))
    shown = ", ".join(dropped[:_DROPPED_SHOWN])
    if len(dropped) > _DROPPED_SHOWN:
        shown += f" and {len(dropped) - _DROPPED_SHOWN} more"
    keys = MSG_DROPPED_KEYS.format(keys=shown) if dropped else MSG_NO_KEYS_DROPPED
    adopted = MSG_ADOPTED.format(name=name)
    report = dataclasses.replace(
        the_plan.report,
        message=f"{MSG_SYNCED}; {adopted}, {keys}",
        event_reason=EVENT_ADOPTED,
        event_message=f"{adopted}; {keys}",
        event_type="Warning",
    )
    return dataclasses.replace(the_plan, report=report)


def _plan_remote_gone(es: model.ExternalSecret, observed: model.Secret | None) -> Plan:
    target = es.spec.target
    if target.deletion_policy == "Delete":
        if observed is None:
            return Plan("none", None, Report(True, REASON_DELETED, MSG_DELETED))
        if observed.metadata.labels.get(model.LABEL_MANAGED) != "true":
            return Plan("none", None, failure(MSG_DELETE, "the target is not managed by us"))
        report = Report(True, REASON_DELETED, MSG_DELETED, "Deleted", "Deleted Secret")
        return Plan("delete", observed, report)
    if target.deletion_policy == "Merge":
        if observed is None:
            return Plan("none", None, Report(True, REASON_DELETED, MSG_MERGED_AWAY))
        empty = model.SecretContent(data={}, labels={}, annotations={}, type=observed.type)
        merged = _merged(es, empty, observed)
        plan = _write(es, observed, merged)
        return dataclasses.replace(
            plan,
            report=dataclasses.replace(plan.report, reason=REASON_DELETED, message=MSG_MERGED_AWAY),
        )
    # Retain never reaches here (a missing remote secret is an error then); be safe anyway.
    return Plan("none", None, failure(MSG_GET_DATA, "remote secret not found"))


def _metadata(
    es: model.ExternalSecret,
    desired: model.SecretContent,
    observed: model.Secret | None,
    data: dict[str, bytes],
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """ESO's `setMetadata`, `applyOwnership` and markers: labels, annotations and finalizers.

    The labels and annotations this ExternalSecret set before (`fieldowners`) are dropped, then
    set again from the ExternalSecret's own metadata when it has no template, or from the
    template's (rendered) metadata; other parties' keys stay. The template's finalizers are
    added (never removed), unless the Secret is being deleted."""
    meta = observed.metadata if observed is not None else model.ObjectMeta()
    owned = fieldowners.owned_keys(meta, field_manager(es))
    labels = {k: v for k, v in meta.labels.items() if k not in owned.labels}
    annotations = {
        k: v
        for k, v in meta.annotations.items()
        if k not in owned.annotations and k != ANNOTATION_MANAGED_KEYS
    }
    finalizers = list(meta.finalizers)
    template = es.spec.target.template
    if template is None:
        labels.update(es.metadata.labels)
        annotations.update(es.metadata.annotations)
    else:
        labels.update(desired.labels)
        annotations.update(desired.annotations)
        wanted = template.metadata.finalizers if template.metadata is not None else []
        if not meta.deletion_timestamp:
            finalizers += [f for f in wanted if f not in finalizers]
    if es.spec.target.creation_policy in ("Owner", "Orphan"):
        # ESO sets it for Owner only; asyncso also marks Orphan targets, so that a second
        # ExternalSecret writing the same Secret is refused instead of fighting over it.
        labels[model.LABEL_CREATED_BY] = owner_label(es)
    else:
        labels.pop(model.LABEL_CREATED_BY, None)
    labels[model.LABEL_MANAGED] = "true"
    annotations[model.ANNOTATION_DATA_HASH] = secret_data.data_hash(data)
    return labels, annotations, finalizers


def owners(es: model.ExternalSecret, meta: model.ObjectMeta) -> list[model.OwnerReference]:
    """ESO's `applyOwnership`: our controller reference with `Owner`, none otherwise (it is
    removed when the policy changed); other references stay."""
    refs = [r for r in meta.owner_references if r.uid != es.metadata.uid]
    if es.spec.target.creation_policy == "Owner":
        refs.append(
            model.OwnerReference(
                api_version=model.API_VERSION,
                kind="ExternalSecret",
                name=es.metadata.name,
                uid=es.metadata.uid,
                controller=True,
                block_owner_deletion=True,
            )
        )
    return refs


def _owned(
    es: model.ExternalSecret, desired: model.SecretContent, observed: model.Secret | None
) -> model.Secret:
    """Owner/Orphan (and a new CreateOrMerge target): the data is exactly what the
    ExternalSecret renders; other parties' labels and annotations on an existing Secret survive."""
    base_meta = observed.metadata if observed is not None else model.ObjectMeta()
    data = dict(desired.data)
    labels, annotations, finalizers = _metadata(es, desired, observed, data)
    meta = model.ObjectMeta(
        name=model.target_name(es),
        namespace=es.metadata.namespace,
        resource_version=base_meta.resource_version,
        labels=labels,
        annotations=annotations,
        owner_references=owners(es, base_meta),
        finalizers=finalizers,
    )
    return model.Secret(
        metadata=meta,
        data=data,
        type=desired.type or "Opaque",
        immutable=True if es.spec.target.immutable else None,
    )


def _merged(
    es: model.ExternalSecret, desired: model.SecretContent, observed: model.Secret
) -> model.Secret:
    """Merge / CreateOrMerge: keep others' keys; drop the keys this ExternalSecret wrote before
    (it sets again those it still renders); set ours."""
    meta = observed.metadata
    owned = fieldowners.owned_keys(meta, field_manager(es)).data
    legacy = {k for k in meta.annotations.get(ANNOTATION_MANAGED_KEYS, "").split(",") if k}
    data = {k: v for k, v in observed.data.items() if k not in owned and k not in legacy}
    data.update(desired.data)
    labels, annotations, finalizers = _metadata(es, desired, observed, data)
    new_meta = model.ObjectMeta(
        name=meta.name,
        namespace=meta.namespace,
        resource_version=meta.resource_version,
        labels=labels,
        annotations=annotations,
        owner_references=owners(es, meta),
        finalizers=finalizers,
    )
    return model.Secret(
        metadata=new_meta, data=data, type=observed.type, immutable=observed.immutable
    )


def _same(a: model.Secret, b: model.Secret) -> bool:
    return (
        a.data == b.data
        and a.type == b.type
        and a.metadata.labels == b.metadata.labels
        and a.metadata.annotations == b.metadata.annotations
        and a.metadata.owner_references == b.metadata.owner_references
        and a.metadata.finalizers == b.metadata.finalizers
        and bool(a.immutable) == bool(b.immutable)
    )


def _write(es: model.ExternalSecret, observed: model.Secret | None, secret: model.Secret) -> Plan:
    name = model.target_name(es)
    synced = Report(True, REASON_SYNCED, MSG_SYNCED)
    if observed is None:
        created = dataclasses.replace(
            synced, event_reason="Created", event_message="Created Secret"
        )
        return Plan("create", secret, created, binding=name)
    if _same(observed, secret):
        return Plan("none", None, synced, binding=name)
    if observed.immutable:
        return Plan("none", None, failure(MSG_IMMUTABLE, f"Secret {name!r}"), binding=name)
    if observed.type != secret.type:
        detail = f"Secret {name!r} has type {observed.type!r}, the template wants {secret.type!r}"
        return Plan("none", None, failure(MSG_UPDATE, detail), binding=name)
    updated = dataclasses.replace(synced, event_reason="Updated", event_message="Updated Secret")
    return Plan("update", secret, updated, binding=name)
