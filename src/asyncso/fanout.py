"""Pure fan-out planning for ClusterExternalSecret and ClusterPushSecret: which namespaces get a
child, what each child should look like, and what to create, update or delete.

Why one module for both kinds: ESO's two controllers (`pkg/controllers/clusterexternalsecret`,
`clusterpushsecret`) are the same algorithm over different child kinds — select namespaces by
label selectors (and, for ClusterExternalSecrets, by name), create or update one child of the
same name in each, delete the children in namespaces that stopped matching or under an old
name, never touch a child of that name owned by someone else (reported in `failedNamespaces`).

The planner works from what the watches recorded (`NamespaceIndex`, `ChildIndex`), so a
reconcile that finds everything in place makes no apiserver call at all. A child "is in place"
when its labels, annotations and spec hash to the parent's desired `fingerprint`. Namespaces
that are being deleted are not targets (ESO skips them too). Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from asyncso import model, selectors

MSG_NAMESPACES_FAILED = "one or more namespaces failed"


@dataclasses.dataclass(frozen=True)
class FanoutKind:
    """What differs between the two fan-out kinds."""

    kind: str  # ClusterExternalSecret, ClusterPushSecret
    api_version: str
    child_kind: str  # ExternalSecret, PushSecret
    child_api_version: str
    finalizer: str
    #: ESO's reason in `failedNamespaces` for a child of the same name that is not ours.
    msg_exists: str
    #: ESO's Warning Event (reason `Errored`) when the children of a previous child name
    #: cannot be deleted, and an invalid parent is said in an Event too; "": no Events (ESO's
    #: ClusterExternalSecret records none).
    msg_delete_failed: str = ""


@dataclasses.dataclass(frozen=True)
class Parent:
    """A decoded ClusterExternalSecret / ClusterPushSecret, reduced to what fan-out needs."""

    meta: model.ObjectMeta
    child_name: str
    child_labels: dict[str, str]
    child_annotations: dict[str, str]
    #: The child's spec exactly as the parent's author wrote it (JSON), so fields are copied
    #: verbatim, as ESO copies the Go struct.
    child_spec: dict[str, Any]
    selectors: tuple[model.LabelSelector, ...]
    names: tuple[str, ...]
    refresh_seconds: float
    #: From the parent's status: the child name and namespaces of the last reconcile.
    last_child_name: str
    provisioned: tuple[str, ...]
    status: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class InvalidParent:
    """A parent whose spec does not decode; `error` names the bad field."""

    meta: model.ObjectMeta
    error: str


@dataclasses.dataclass(frozen=True)
class NamespaceRecord:
    labels: dict[str, str]
    terminating: bool = False


@dataclasses.dataclass(frozen=True)
class ChildRecord:
    """A child (ExternalSecret / PushSecret) whose controller owner is one of our parents."""

    owner: str  # the parent's name
    uid: str
    fingerprint: str


# --- desired children --------------------------------------------------------------------------


def fingerprint(labels: Mapping[str, str], annotations: Mapping[str, str], spec: Any) -> str:
    """A digest of what the parent controls on a child (ESO replaces all three)."""
    text = json.dumps(
        [dict(labels), dict(annotations), spec],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def desired_fingerprint(parent: Parent) -> str:
    return fingerprint(parent.child_labels, parent.child_annotations, parent.child_spec)


def owner_reference(kind: FanoutKind, parent: Parent) -> dict[str, Any]:
    """The controller reference ESO sets (`SetControllerReference`)."""
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "name": parent.meta.name,
        "uid": parent.meta.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def new_child(kind: FanoutKind, parent: Parent, namespace: str) -> dict[str, Any]:
    """The body of a child to create in `namespace`."""
    return {
        "apiVersion": kind.child_api_version,
        "kind": kind.child_kind,
        "metadata": {
            "name": parent.child_name,
            "namespace": namespace,
            "labels": dict(parent.child_labels),
            "annotations": dict(parent.child_annotations),
            "ownerReferences": [owner_reference(kind, parent)],
        },
        "spec": parent.child_spec,
    }


def updated_child(kind: FanoutKind, parent: Parent, live: dict[str, Any]) -> dict[str, Any]:
    """`live` (as read) with the parent's labels, annotations, spec and controller reference;
    everything else (finalizers, other owners, resourceVersion) kept, as `CreateOrUpdate` does."""
    meta = dict(live.get("metadata") or {})
    others = [r for r in meta.get("ownerReferences") or [] if not r.get("controller")]
    meta["labels"] = dict(parent.child_labels)
    meta["annotations"] = dict(parent.child_annotations)
    meta["ownerReferences"] = [*others, owner_reference(kind, parent)]
    return {**live, "metadata": meta, "spec": parent.child_spec}


def controller_of(kind: FanoutKind, obj: Mapping[str, Any]) -> str | None:
    """The name of the parent of our kind that controls `obj` (JSON), if any."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return _controller(
        kind,
        [
            model.OwnerReference(
                api_version=str(r.get("apiVersion", "")),
                kind=str(r.get("kind", "")),
                name=str(r.get("name", "")),
                uid=str(r.get("uid", "")),
                controller=bool(r.get("controller")),
            )
            for r in refs
        ],
    )


def _controller(kind: FanoutKind, refs: Iterable[model.OwnerReference]) -> str | None:
    """ESO's `isExternalSecretOwnedBy`: the controller reference's group, kind and name (not
    its uid, nor the API version within the group)."""
    for ref in refs:
        if not ref.controller:
            continue
        same_group = ref.api_version.split("/")[0] == kind.api_version.split("/")[0]
        return ref.name if ref.kind == kind.kind and same_group else None
    return None


# --- selection and the plan --------------------------------------------------------------------


def is_target(parent: Parent, name: str, record: NamespaceRecord | None) -> bool:
    """Whether namespace `name` should hold a child: it exists, is not being deleted, and is
    named by the parent or matched by any of its selectors (ORed)."""
    if record is None or record.terminating:
        return False
    if name in parent.names:
        return True
    return any(selectors.matches(s, record.labels) for s in parent.selectors)


@dataclasses.dataclass(frozen=True)
class Plan:
    targets: tuple[str, ...]  # sorted
    create: tuple[str, ...]  # namespaces with no child of ours yet
    update: tuple[str, ...]  # namespaces whose child of ours differs
    #: (namespace, child name, uid) of children of ours to delete.
    delete: tuple[tuple[str, str, str], ...]


def plan(
    parent: Parent,
    *,
    namespaces: Mapping[str, NamespaceRecord],
    owned: Mapping[model.Key, ChildRecord],
) -> Plan:
    """What one reconcile does. `owned` holds the children this parent controls, by
    (namespace, name), as the watch saw them."""
    targets = tuple(sorted(n for n, r in namespaces.items() if is_target(parent, n, r)))
    wanted = desired_fingerprint(parent)
    create, update = [], []
    for namespace in targets:
        child = owned.get((namespace, parent.child_name))
        if child is None:
            create.append(namespace)
        elif child.fingerprint != wanted:
            update.append(namespace)
    target_set = set(targets)
    delete = sorted(
        (namespace, name, child.uid)
        for (namespace, name), child in owned.items()
        if name != parent.child_name or namespace not in target_set
    )
    return Plan(targets, tuple(create), tuple(update), tuple(delete))


def cleanup(parent: Parent, owned: Mapping[model.Key, ChildRecord]) -> list[model.Key]:
    """Every child to delete when the parent goes: those the watch saw, and those its status
    lists (a child the watch has not reported yet), as ESO's finalizer does."""
    keys = set(owned)
    names = {parent.last_child_name or parent.meta.name, parent.child_name}
    keys.update((ns, name) for ns in parent.provisioned for name in names)
    return sorted(keys)


def failures(failed: Mapping[str, str]) -> list[dict[str, str]] | None:
    """`failedNamespaces`, sorted by namespace (None clears the field in a merge patch)."""
    return [{"namespace": n, "reason": failed[n]} for n in sorted(failed)] or None


# --- indexes the watches fill ------------------------------------------------------------------


class _Child(msgspec.Struct):
    metadata: model.ObjectMeta
    spec: Any = None


class _Metadata(msgspec.Struct):
    metadata: model.ObjectMeta


_child_decoder = msgspec.json.Decoder(_Child)
_metadata_decoder = msgspec.json.Decoder(_Metadata)


class ChildIndex:
    """The children of one child kind that our parents control, by (namespace, name)."""

    def __init__(self, kind: FanoutKind) -> None:
        self.kind = kind
        self._children: dict[model.Key, ChildRecord] = {}
        self._by_owner: dict[str, set[model.Key]] = {}

    def owned_by(self, owner: str) -> dict[model.Key, ChildRecord]:
        return {key: self._children[key] for key in self._by_owner.get(owner, ())}

    def get(self, key: model.Key) -> ChildRecord | None:
        return self._children.get(key)

    def record(self, key: model.Key, raw: bytes | None) -> tuple[ChildRecord | None, str]:
        """Record a watch event (`raw` None: deleted). Returns (the record now, the owner it
        had before or has now: "" when neither is ours)."""
        old = self._drop(key)
        if raw is None:
            return None, old.owner if old else ""
        owner = _controller(self.kind, _metadata_decoder.decode(raw).metadata.owner_references)
        if not owner:  # most ExternalSecrets: their spec is not even decoded
            return None, old.owner if old else ""
        child = _child_decoder.decode(raw)
        meta = child.metadata
        record = ChildRecord(
            owner=owner,
            uid=meta.uid,
            fingerprint=fingerprint(meta.labels, meta.annotations, child.spec),
        )
        self._children[key] = record
        self._by_owner.setdefault(owner, set()).add(key)
        return record, owner

    def _drop(self, key: model.Key) -> ChildRecord | None:
        old = self._children.pop(key, None)
        if old is not None:
            keys = self._by_owner.get(old.owner, set())
            keys.discard(key)
            if not keys:
                self._by_owner.pop(old.owner, None)
        return old


def selection_changed(
    parents: Iterable[Parent], name: str, old: NamespaceRecord | None, new: NamespaceRecord | None
) -> list[str]:
    """The parents for which namespace `name` started or stopped being a target."""
    return [p.meta.name for p in parents if is_target(p, name, old) != is_target(p, name, new)]


class RawParent(msgspec.Struct):
    """A parent's spec and status as plain data: the child's spec is copied from the parent's
    as it stands (unknown fields too), and the status is kept but for what the kind sets."""

    spec: dict[str, Any]
    status: dict[str, Any] = {}


_raw_parent = msgspec.json.Decoder(RawParent)


def raw_parent(raw: bytes) -> RawParent:
    """The parent's spec and status as plain data."""
    return _raw_parent.decode(raw)
