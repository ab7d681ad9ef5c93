"""The generator CRDs (`generators.external-secrets.io/v1alpha1`): generated from
`model_generators`, structural, and ESO's — names, scope, subresources, columns and the spec
fields with ESO's types (taken from ESO's `config/crds/bases/generators.external-secrets.io_*`;
those files are not beside the checkout, so the expected values are written out here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from asyncso import crdgen, model_generators

Node = dict[str, Any]
CRDS = crdgen.generator_crds()
BY_KIND = {c["spec"]["names"]["kind"]: c for c in CRDS}
SECRET_REF = {
    "": "object",
    ".name": "string",
    ".key": "string",
    ".namespace": "string",
}
AUTH = {
    ".auth": "object",
    ".auth.jwt": "object",
    ".auth.jwt.serviceAccountRef": "object",
    ".auth.jwt.serviceAccountRef.audiences": "array",
    ".auth.jwt.serviceAccountRef.audiences[]": "string",
    ".auth.jwt.serviceAccountRef.name": "string",
    ".auth.jwt.serviceAccountRef.namespace": "string",
    ".auth.secretRef": "object",
    **{
        f".auth.secretRef.{ref}{path}": kind
        for ref in ("accessKeyIDSecretRef", "secretAccessKeySecretRef", "sessionTokenSecretRef")
        for path, kind in SECRET_REF.items()
    },
}
#: ESO's spec fields (path under .spec → type) for the kinds asyncso implements.
ESO_SPECS: dict[str, dict[str, str]] = {
    "Password": {
        ".allowRepeat": "boolean",
        ".digits": "integer",
        ".encoding": "string",
        ".length": "integer",
        ".noUpper": "boolean",
        ".secretKeys": "array",
        ".secretKeys[]": "string",
        ".symbolCharacters": "string",
        ".symbols": "integer",
    },
    "UUID": {},
    "Fake": {".controller": "string", ".data": "object", ".data{}": "string"},
    "ECRAuthorizationToken": {".region": "string", ".role": "string", ".scope": "string", **AUTH},
    "STSSessionToken": {
        ".region": "string",
        ".role": "string",
        ".requestParameters": "object",
        ".requestParameters.serialNumber": "string",
        ".requestParameters.sessionDuration": "integer",
        ".requestParameters.tokenCode": "string",
        **AUTH,
    },
    "GeneratorState": {
        ".garbageCollectionDeadline": "string",
        ".resource": "any",
        ".state": "any",
    },
}


def _walk(node: Node, path: str = "") -> Iterator[tuple[str, Node]]:
    yield path, node
    for name, sub in (node.get("properties") or {}).items():
        yield from _walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}{{}}")


def _version(crd: Node) -> Node:
    (version,) = crd["spec"]["versions"]
    return version  # type: ignore[no-any-return]


def _schema(crd: Node) -> Node:
    return _version(crd)["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _type(node: Node) -> str:
    if node.get(crdgen.PRESERVE_UNKNOWN) and "type" not in node:
        return "any"
    return str(node.get("type"))


def test_the_generator_crds_are_esos_kinds_scopes_and_columns() -> None:
    assert {
        k: (c["spec"]["names"]["plural"], c["spec"]["scope"], c["spec"]["names"].get("shortNames"))
        for k, c in BY_KIND.items()
    } == {
        "Password": ("passwords", "Namespaced", None),
        "UUID": ("uuids", "Namespaced", None),
        "Fake": ("fakes", "Namespaced", None),
        "ECRAuthorizationToken": ("ecrauthorizationtokens", "Namespaced", None),
        "STSSessionToken": ("stssessiontokens", "Namespaced", None),
        "ClusterGenerator": ("clustergenerators", "Cluster", None),
        "GeneratorState": ("generatorstates", "Namespaced", ["gs"]),
    }
    for kind, crd in BY_KIND.items():
        spec = crd["spec"]
        assert spec["group"] == "generators.external-secrets.io"
        assert crd["metadata"]["name"] == f"{spec['names']['plural']}.{spec['group']}"
        assert spec["names"]["categories"] == ["external-secrets", "external-secrets-generators"]
        version = _version(crd)
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
        if kind == "GeneratorState":
            assert version["subresources"] == {}
            assert [c["name"] for c in version["additionalPrinterColumns"]] == [
                "GC Deadline",
                "Age",
            ]
        else:
            assert version["subresources"] == {"status": {}}
            assert "additionalPrinterColumns" not in version


@pytest.mark.parametrize("crd", CRDS, ids=lambda c: c["spec"]["names"]["kind"])
def test_schemas_are_structural(crd: Node) -> None:
    for path, node in _walk(_schema(crd)):
        assert not {"$ref", "anyOf", "oneOf", "allOf", "default"} & set(node), path
        assert "type" in node or node.get(crdgen.PRESERVE_UNKNOWN), path


@pytest.mark.parametrize("kind", sorted(ESO_SPECS))
def test_spec_fields_are_esos_with_esos_types(kind: str) -> None:
    ours = {path: _type(node) for path, node in _walk(_schema(BY_KIND[kind])["properties"]["spec"])}
    ours.pop("")
    assert ours == ESO_SPECS[kind]


def test_enums_are_esos() -> None:
    password = _schema(BY_KIND["Password"])["properties"]["spec"]["properties"]
    assert password["encoding"]["enum"] == ["base32", "base64", "base64url", "hex", "raw"]
    cluster = _schema(BY_KIND["ClusterGenerator"])["properties"]["spec"]
    assert cluster["properties"]["kind"]["enum"] == sorted(model_generators.ESO_GENERATOR_KINDS)
    assert len(model_generators.ESO_GENERATOR_KINDS) == 17
    assert cluster["required"] == ["kind"]


def test_a_cluster_generator_keeps_the_specs_of_other_kinds() -> None:
    spec = _schema(BY_KIND["ClusterGenerator"])["properties"]["spec"]["properties"]
    generator = spec["generator"]
    assert generator[crdgen.PRESERVE_UNKNOWN] is True
    assert sorted(generator["properties"]) == sorted(model_generators.CLUSTER_SPEC_FIELDS.values())
    kept = {
        p for p, n in _walk(_schema(BY_KIND["ClusterGenerator"])) if n.get(crdgen.PRESERVE_UNKNOWN)
    }
    assert kept == {".spec.generator"}
    for field, kind in (
        ("passwordSpec", "Password"),
        ("ecrAuthorizationTokenSpec", "ECRAuthorizationToken"),
    ):
        wrapped = {p: _type(n) for p, n in _walk(generator["properties"][field])}
        wrapped.pop("")
        assert wrapped == ESO_SPECS[kind]


def test_name_fields_carry_the_kubernetes_patterns() -> None:
    ecr = dict(_walk(_schema(BY_KIND["ECRAuthorizationToken"])))
    for path in (
        ".spec.auth.secretRef.accessKeyIDSecretRef.name",
        ".spec.auth.jwt.serviceAccountRef.name",
    ):
        assert ecr[path]["maxLength"] == 253 and ecr[path]["pattern"].startswith("^[a-z0-9]")
    assert ecr[".spec.auth.jwt.serviceAccountRef.namespace"]["maxLength"] == 63


@pytest.mark.parametrize(
    ("kind", "doc"),
    [
        (
            "Password",
            {
                "spec": {
                    "length": 42,
                    "digits": 5,
                    "symbols": 5,
                    "symbolCharacters": "-_$@",
                    "allowRepeat": True,
                }
            },
        ),
        (
            "ECRAuthorizationToken",
            {
                "spec": {
                    "region": "eu-west-1",
                    "role": "arn:aws:iam::1:role/x",
                    "auth": {"jwt": {"serviceAccountRef": {"name": "sa"}}},
                }
            },
        ),
        (
            "STSSessionToken",
            {"spec": {"region": "eu-west-1", "requestParameters": {"sessionDuration": 3600}}},
        ),
        ("Fake", {"spec": {"data": {"foo": "bar"}}}),
        ("UUID", {"spec": {}}),
        (
            "ClusterGenerator",
            {"spec": {"kind": "Password", "generator": {"passwordSpec": {"length": 42}}}},
        ),
    ],
)
def test_esos_doc_manifests_decode(kind: str, doc: dict[str, Any]) -> None:
    struct = {
        **model_generators.OBJECT_TYPES,
        "ClusterGenerator": model_generators.ClusterGenerator,
    }[kind]
    body = {
        "apiVersion": model_generators.API_VERSION,
        "kind": kind,
        "metadata": {"name": "x"},
        **doc,
    }
    decoded = msgspec.convert(body, struct)
    assert msgspec.to_builtins(decoded)["spec"] == doc["spec"]
