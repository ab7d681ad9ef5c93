"""Pure: which label, annotation and data keys of a Secret an ExternalSecret wrote before.

Why: ESO removes what it managed and no longer wants — a label dropped from the ExternalSecret,
a key gone from a `Merge` target — while keeping what others put there. It knows its own keys
from the object's `metadata.managedFields`: every write carries the field manager
`externalsecrets.external-secrets.io/<name>` (ESO's `fqdnFor`; a SHA3 form for long names), and
the apiserver records which fields each manager set. asyncso writes with the same manager name,
so Secrets written by ESO keep their history when asyncso takes over (and the other way round).

Reference: ESO's `getManagedDataKeys` / `templating.GetManagedLabelKeys` /
`GetManagedAnnotationKeys` (`pkg/controllers/externalsecret`, `pkg/controllers/templating`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from asyncso import model

_MANAGER = "externalsecrets.external-secrets.io/{name}"
_MANAGER_SHA = "externalsecrets.external-secrets.io/sha3/{digest}"
_MAX_MANAGER = 63


def manager_for(es_name: str) -> str:
    """ESO's field manager for an ExternalSecret's writes (`fqdnFor`)."""
    name = _MANAGER.format(name=es_name)
    if len(name) > _MAX_MANAGER:
        digest = hashlib.sha3_224(es_name.encode()).hexdigest()
        name = _MANAGER_SHA.format(digest=digest)
    return name


@dataclasses.dataclass(frozen=True)
class OwnedKeys:
    labels: frozenset[str] = frozenset()
    annotations: frozenset[str] = frozenset()
    data: frozenset[str] = frozenset()


def _keys(fields: Any, *path: str) -> set[str]:
    node = fields
    for step in path:
        if not isinstance(node, dict):
            return set()
        node = node.get(step)
    if not isinstance(node, dict):
        return set()
    return {key.removeprefix("f:") for key in node if key != "."}


def owned_keys(meta: model.ObjectMeta, manager: str) -> OwnedKeys:
    """The keys `manager` set on the object, per its `managedFields` entries."""
    labels: set[str] = set()
    annotations: set[str] = set()
    data: set[str] = set()
    for entry in meta.managed_fields:
        if entry.manager != manager:
            continue
        labels |= _keys(entry.fields_v1, "f:metadata", "f:labels")
        annotations |= _keys(entry.fields_v1, "f:metadata", "f:annotations")
        data |= _keys(entry.fields_v1, "f:data")
    return OwnedKeys(frozenset(labels), frozenset(annotations), frozenset(data))
