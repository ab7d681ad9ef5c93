"""The hostile-input corpus: entries read from `corpus/*.yaml`, each a few manifests and the one
result they must produce.

Why data files: a new trick is a new YAML document, reviewed as a manifest a tenant could apply,
not as test code. Each document holds:

- `id`: unique, also the name of its ExternalSecret (or store) when that is not hostile;
- `about`: what the tenant tries;
- `objects`: manifests; `apiVersion` and (for namespaced kinds) `metadata.namespace` default to
  ESO's group / the tenant namespace. Placeholders: `$TENANT`, `$VICTIM`, `$OWNER` (namespaces),
  `$RUN` (a unique suffix, for cluster-scoped names and remote keys), `$CLASS` (the controller
  class of the operator under test), `$A254` (254 times "a");
- `subject`: `Kind/name` whose result is checked (default: the last object);
- `expect`: either `{admission: refused, field: <path the apiserver names>}`, or the subject's
  Ready condition: `ready`, `reason`, `message` (substrings that must all appear) and
  `not_message` (substrings that must not); `admission: either` with both accepts a refusal
  naming `field` or the condition (inputs ESO's CRD refuses and ours may not yet);
- `xfail` (optional): why this fails on today's main (`issue 10: <defect>`); the test is a strict
  xfail, so it turns red the moment the defect is fixed and the key must go.
"""

from __future__ import annotations

import copy
import dataclasses
import pathlib
from typing import Any

import yaml

CORPUS_DIR = pathlib.Path(__file__).resolve().parent / "corpus"
ES_API = "external-secrets.io/v1"
_CORE = {"Secret", "ConfigMap", "ServiceAccount"}
_CLUSTER_SCOPED = {"ClusterSecretStore"}
PLURALS = {
    "ExternalSecret": "externalsecrets",
    "SecretStore": "secretstores",
    "ClusterSecretStore": "clustersecretstores",
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "ServiceAccount": "serviceaccounts",
}


@dataclasses.dataclass(frozen=True)
class Expectation:
    admission: str = ""
    field: str = ""
    ready: str = ""
    reason: str = ""
    message: tuple[str, ...] = ()
    not_message: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        return self.admission == "refused"

    @property
    def either(self) -> bool:
        """Refused at admission (naming `field`) or admitted with the condition: for inputs ESO's
        CRD refuses and ours may not yet."""
        return self.admission == "either"


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str
    file: str
    about: str
    objects: tuple[dict[str, Any], ...]
    expect: Expectation
    subject: str
    xfail: str = ""


def _listed(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def load(directory: pathlib.Path = CORPUS_DIR) -> list[Entry]:
    entries: list[Entry] = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            raw = doc.get("expect") or {}
            expect = Expectation(
                admission=raw.get("admission", ""),
                field=raw.get("field", ""),
                ready=str(raw.get("ready", "")),
                reason=raw.get("reason", ""),
                message=_listed(raw.get("message")),
                not_message=_listed(raw.get("not_message")),
            )
            objects = tuple(doc["objects"])
            last = objects[-1]
            subject = doc.get("subject") or f"{last['kind']}/{last['metadata']['name']}"
            entries.append(
                Entry(
                    id=doc["id"],
                    file=path.name,
                    about=doc.get("about", ""),
                    objects=objects,
                    expect=expect,
                    subject=subject,
                    xfail=doc.get("xfail", ""),
                )
            )
    ids = [e.id for e in entries]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate corpus ids: {sorted(duplicates)}"
    return entries


def _substitute(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key in sorted(names, key=len, reverse=True):
            value = value.replace(f"${key}", names[key])
        return value
    if isinstance(value, dict):
        return {_substitute(k, names): _substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    return value


def instantiate(entry: Entry, names: dict[str, str]) -> list[dict[str, Any]]:
    """The entry's manifests, ready to POST: placeholders filled, defaults added."""
    names = {**names, "A254": "a" * 254}
    out = []
    for obj in entry.objects:
        body = _substitute(copy.deepcopy(obj), names)
        kind = body["kind"]
        body.setdefault("apiVersion", "v1" if kind in _CORE else ES_API)
        if kind not in _CLUSTER_SCOPED:
            body["metadata"].setdefault("namespace", names["TENANT"])
        out.append(body)
    return out


def collection_path(body: dict[str, Any]) -> str:
    kind = body["kind"]
    base = "/api/v1" if body["apiVersion"] == "v1" else f"/apis/{body['apiVersion']}"
    if kind in _CLUSTER_SCOPED:
        return f"{base}/{PLURALS[kind]}"
    return f"{base}/namespaces/{body['metadata']['namespace']}/{PLURALS[kind]}"


def subject_key(entry: Entry, names: dict[str, str]) -> tuple[str, str]:
    """(kind, name) of the subject, placeholders filled."""
    kind, _, name = entry.subject.partition("/")
    return kind, str(_substitute(name, {**names, "A254": "a" * 254}))
