"""The ClusterExternalSecret, PushSecret and ClusterPushSecret CRDs: structural, ESO's names and
versions, every field one of ESO's with the same type, and every ESO field carried.

Fields of the types shared with ExternalSecrets (`externalSecretSpec`, `template`) come from
`model`; the ones ESO has and `model` lacks yet are listed in `INHERITED_GAPS` (closed by the
ExternalSecret compatibility work), so a field dropped from our own Structs still fails here.
ESO's reference CRDs live in `../shared/eso-reference` (ClusterPushSecret's is not among them:
its comparisons skip).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import yaml

from asyncso import crdgen, model_cluster, model_push

ROOT = pathlib.Path(__file__).resolve().parents[2]
ESO = ROOT.parent / "shared" / "eso-reference"
Node = dict[str, Any]

OURS = {c["spec"]["names"]["plural"]: c for c in crdgen.push_and_cluster_crds()}
PLURALS = sorted(OURS)

#: Prefixes under which fields come from `model` (ExternalSecretSpec, Template).
INHERITED = (
    ".spec.externalSecretSpec.",
    ".spec.template.",
    ".spec.pushSecretSpec.template.",
)
#: ESO's enums we extend: our default template engine.
ENUM_EXTENSIONS = {
    ".spec.template.engineVersion": {"jinja"},
    ".spec.pushSecretSpec.template.engineVersion": {"jinja"},
    ".spec.externalSecretSpec.target.template.engineVersion": {"jinja"},
}


def _walk(node: Node, path: str = "") -> Iterator[tuple[str, Node]]:
    yield path, node
    for name, sub in (node.get("properties") or {}).items():
        yield from _walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}{{}}")


def _schema(crd: Node) -> Node:
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _eso(plural: str) -> Node:
    path = ESO / "crds" / f"{plural}.yaml"
    if not path.exists():
        pytest.skip(f"ESO's {plural} CRD is not in ../shared/eso-reference")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(), Loader=loader)  # type: ignore[no-any-return]


def test_kinds_versions_and_scope() -> None:
    got = {
        p: (
            c["spec"]["names"]["kind"],
            c["spec"]["names"].get("shortNames"),
            c["spec"]["scope"],
            [v["name"] for v in c["spec"]["versions"]],
        )
        for p, c in OURS.items()
    }
    assert got == {
        "clusterexternalsecrets": ("ClusterExternalSecret", ["ces"], "Cluster", ["v1"]),
        "pushsecrets": ("PushSecret", ["ps"], "Namespaced", ["v1alpha1"]),
        "clusterpushsecrets": ("ClusterPushSecret", None, "Cluster", ["v1alpha1"]),
    }
    assert all(c in crdgen.crds() for c in OURS.values())


#: The only defaults these CRDs carry, each ESO's own (a template is a Go template).
ESO_DEFAULTS = {
    ".spec.template.engineVersion": "v2",
    ".spec.pushSecretSpec.template.engineVersion": "v2",
    ".spec.externalSecretSpec.target.template.engineVersion": "v2",
}


@pytest.mark.parametrize("plural", PLURALS)
def test_structural(plural: str) -> None:
    for path, node in _walk(_schema(OURS[plural])):
        if path in ESO_DEFAULTS:
            assert node.get("default") == ESO_DEFAULTS[path], path
            node = {k: v for k, v in node.items() if k != "default"}
        assert not {"$ref", "anyOf", "oneOf", "allOf", "default"} & set(node), path
        if node.get(crdgen.PRESERVE_UNKNOWN) and "type" not in node:
            assert path.endswith(".metadata"), f"{path}: free-form JSON only for `metadata`"
            continue
        assert node.get("type") in {"object", "array", "string", "integer", "boolean"}, path


@pytest.mark.parametrize("plural", PLURALS)
def test_names_columns_and_subresources_are_esos(plural: str) -> None:
    eso = _eso(plural)
    ours = OURS[plural]
    assert ours["spec"]["names"] == eso["spec"]["names"]
    assert ours["spec"]["scope"] == eso["spec"]["scope"]
    (version,) = ours["spec"]["versions"]
    theirs = next(v for v in eso["spec"]["versions"] if v.get("storage"))
    assert version["name"] == theirs["name"]
    assert version["subresources"] == theirs["subresources"]
    assert version["additionalPrinterColumns"] == theirs["additionalPrinterColumns"]


@pytest.mark.parametrize("plural", PLURALS)
def test_fields_types_rules_are_esos_and_every_own_field_is_carried(plural: str) -> None:
    theirs = dict(_walk(_schema(_eso(plural))))
    ours = dict(_walk(_schema(OURS[plural])))
    assert [p for p in ours if p != ".metadata" and p not in theirs] == []
    for path, node in ours.items():
        if path == ".metadata":
            continue
        assert node.get("type") == theirs[path].get("type"), path
        for rule in ("pattern", "maxLength", "minLength"):
            assert node.get(rule) == theirs[path].get(rule), f"{path}: {rule}"
        extra = set(node.get("required", [])) - set(theirs[path].get("required", []))
        assert not extra, f"{path}: required beyond ESO: {extra}"
        if "enum" in node and "enum" in theirs[path]:
            more = set(node["enum"]) - set(theirs[path]["enum"])
            assert more <= ENUM_EXTENSIONS.get(path, set()), path
    missing = [p for p in theirs if p not in ours and not p.startswith(".metadata.")]
    assert [p for p in missing if not p.startswith(INHERITED)] == [], "ESO fields we dropped"


def test_eso_pushsecret_example_decodes() -> None:
    doc = {
        "apiVersion": "external-secrets.io/v1alpha1",
        "kind": "PushSecret",
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRefs": [{"name": "aws", "kind": "SecretStore"}],
            "selector": {"secret": {"name": "src"}},
            "data": [
                {
                    "match": {"secretKey": "k", "remoteRef": {"remoteKey": "r", "property": "p"}},
                    "metadata": {
                        "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
                        "kind": "PushSecretMetadata",
                        "spec": {"tags": {"team": "a"}},
                    },
                }
            ],
        },
    }
    ps = msgspec.convert(doc, model_push.PushSecret)
    assert ps.spec.data[0].metadata["spec"]["tags"] == {"team": "a"}
    assert ps.spec.update_policy == "Replace" and ps.spec.deletion_policy == "None"
    ces = msgspec.convert(
        {
            "metadata": {"name": "c"},
            "spec": {"externalSecretSpec": {"secretStoreRef": {"name": "s"}}, "refreshTime": "1m"},
        },
        model_cluster.ClusterExternalSecret,
    )
    assert ces.spec.refresh_time == "1m"


@pytest.mark.parametrize("plural", PLURALS)
def test_the_template_engine_defaults_as_esos(plural: str) -> None:
    theirs = dict(_walk(_schema(_eso(plural))))
    ours = dict(_walk(_schema(OURS[plural])))
    paths = [p for p in ESO_DEFAULTS if p in ours]
    assert len(paths) == 1, paths
    assert ours[paths[0]]["default"] == theirs[paths[0]]["default"] == "v2"
