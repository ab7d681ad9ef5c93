"""Our CRDs stay in step with the models, stay structural, and match ESO's field names."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import yaml

from asyncso import crdgen, model

ROOT = pathlib.Path(__file__).resolve().parents[2]
ESO = ROOT.parent / "shared" / "eso-reference"
#: Deliberate additions to ESO's enums: our opt-in Jinja template engine.
EXTENSIONS = {".spec.target.template.engineVersion": {"jinja"}}
#: The v1 read-side kinds; the fan-out and push kinds have their own tests (test_crds_push.py).
V1_CRDS = [
    c
    for c in crdgen.crds()
    if c["spec"]["names"]["kind"] in ("ExternalSecret", "SecretStore", "ClusterSecretStore")
]


def test_shipped_crds_match_the_models() -> None:
    shipped = {p.name: p.read_text() for p in (ROOT / "charts/asyncso/files/crds").glob("*.yaml")}
    assert shipped == crdgen.files(), "run: python -m asyncso.crdgen"


def _walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, sub in (node.get("properties") or {}).items():
        yield from _walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}{{}}")


def _schema(crd: dict[str, Any]) -> dict[str, Any]:
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("crd", V1_CRDS, ids=lambda c: c["metadata"]["name"])
def test_schemas_are_structural(crd: dict[str, Any]) -> None:
    for path, node in _walk(_schema(crd)):
        assert "type" in node or node.get(crdgen.INT_OR_STRING), f"{path} has no type"
        assert not {"$ref", "anyOf", "oneOf", "allOf", "x-kubernetes-validations"} & set(node), path


def _eso(name: str) -> dict[str, Any] | None:
    path = ESO / "crds" / name
    if not path.exists():
        return None
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("crd", V1_CRDS, ids=lambda c: c["metadata"]["name"])
def test_fields_exist_in_eso_with_the_same_type(crd: dict[str, Any]) -> None:
    eso = _eso(f"{crd['spec']['names']['plural']}.yaml")
    if eso is None:
        pytest.skip("ESO reference CRDs (../shared/eso-reference) are not beside this checkout")
    theirs = dict(_walk(_schema(eso)))
    assert crd["spec"]["names"] == {k: eso["spec"]["names"][k] for k in crd["spec"]["names"]}
    assert crd["spec"]["scope"] == eso["spec"]["scope"]
    for path, node in _walk(_schema(crd)):
        if path.startswith(".metadata.") or path == ".status.binding.name":
            continue
        assert path in theirs, f"{path} is not an ESO v1 field"
        assert node.get("type") == theirs[path].get("type", node.get("type")), path
        if "enum" in node and "enum" in theirs[path]:
            ours = set(node["enum"]) - EXTENSIONS.get(path, set())
            assert ours <= set(theirs[path]["enum"]), path


def _examples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((ESO / "examples").glob("*.yaml")) if ESO.exists() else []:
        text = path.read_text().replace("{% raw %}", "").replace("{% endraw %}", "")
        try:
            docs = list(yaml.safe_load_all(text))
        except yaml.YAMLError:  # filterpem example: not valid YAML as published
            continue
        for doc in docs:
            if isinstance(doc, dict) and doc.get("apiVersion") == model.API_VERSION:
                found.append((f"{path.name}:{doc['kind']}", doc))
    return found


@pytest.mark.skipif(not ESO.exists(), reason="ESO reference examples are not beside this checkout")
@pytest.mark.parametrize(("name", "doc"), _examples() or [("none", {})])
def test_eso_examples_decode(name: str, doc: dict[str, Any]) -> None:
    kind = doc["kind"]
    if kind == "ExternalSecret":
        msgspec.convert(doc, model.ExternalSecret)
    elif kind in ("SecretStore", "ClusterSecretStore"):
        msgspec.convert(doc, model.SecretStore)
    else:
        pytest.skip(f"{kind} is not supported yet")
