"""Every field of ESO's v1 CRDs is carried by ours, and is either implemented or refused by name.

Why: the README promises that asyncso reads the manifests ESO users write. A field pruned by our
CRD, or decoded and then ignored, would make a Secret differ from ESO's without a word. These
tests walk ESO's v1 schemas (`../shared/eso-reference/crds`, ESO's newest CRDs) and hold every
field path to one of two fates: in our models and implemented, or in `compat`'s "not supported"
tables (a path covers its subtree), where setting it yields `spec.foo is not supported by
asyncso`. `docs/compatibility.md` must be what `tools/compat_doc.py` makes of those tables.
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
import pytest
import yaml

import compat_doc
from asyncso import compat, crdgen, errors, model, validation

ROOT = pathlib.Path(__file__).resolve().parents[2]
ESO = ROOT.parent / "shared" / "eso-reference" / "crds"
NO_ESO = "ESO reference CRDs (../shared/eso-reference/crds) are not beside this checkout"

Node = dict[str, Any]
KINDS = {
    "externalsecrets": (model.ExternalSecret, compat.EXTERNALSECRET),
    "secretstores": (model.SecretStore, compat.STORE),
    "clustersecretstores": (model.SecretStore, compat.STORE),
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
    version = next(v for v in crd["spec"]["versions"] if v["name"] == model.VERSION)
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


@functools.cache
def _eso(plural: str) -> Node:
    path = ESO / f"{plural}.yaml"
    if not path.exists():
        pytest.skip(NO_ESO)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _schema(yaml.load(path.read_text(), Loader=loader))


def _ours(plural: str) -> Node:
    return _schema(next(c for c in crdgen.crds() if c["spec"]["names"]["plural"] == plural))


def _covered(path: str, table: Mapping[str, str]) -> str | None:
    """The table entry that covers `path` (itself or an ancestor), if any."""
    for entry in table:
        if path == entry or path.startswith(entry + ".") or path.startswith(entry + "["):
            return entry
    return None


def _kept_unknown(path: str, ours: dict[str, Node]) -> bool:
    """True when an ancestor of `path` in our schema keeps unknown fields (nothing pruned)."""
    parts = path
    while parts:
        parts = parts.rsplit(".", 1)[0] if "." in parts else ""
        node = ours.get(parts.removesuffix("[]"))
        if node is not None and node.get(crdgen.PRESERVE_UNKNOWN):
            return True
    return False


@pytest.mark.parametrize("plural", KINDS)
def test_our_crd_carries_every_eso_field(plural: str) -> None:
    """Nothing a user applies is pruned: each ESO path is in our schema, or under a node that
    keeps unknown fields (a provider asyncso does not implement)."""
    ours = dict(_walk(_ours(plural)))
    missing = [
        path
        for path, _ in _walk(_eso(plural))
        if path not in ours and not _kept_unknown(path, ours) and not path.startswith(".metadata.")
    ]
    assert missing == []


@pytest.mark.parametrize("plural", KINDS)
def test_every_eso_spec_field_is_implemented_or_listed(plural: str) -> None:
    """A field in our models and on no list is implemented; every other ESO field must be on
    the list, so that setting it is refused by name."""
    _, table = KINDS[plural]
    ours = dict(_walk(_ours(plural)))
    unaccounted = [
        path
        for path, _ in _walk(_eso(plural))
        if path.startswith(".spec") and path not in ours and _covered(path, table) is None
    ]
    assert unaccounted == [], "implement these or list them in compat"


@pytest.mark.parametrize("plural", KINDS)
def test_listed_fields_are_eso_fields_in_our_schema(plural: str) -> None:
    _, table = KINDS[plural]
    theirs = dict(_walk(_eso(plural)))
    ours = dict(_walk(_ours(plural)))
    for path, why in table.items():
        assert path in theirs, f"{path} is not an ESO v1 field"
        assert path in ours, f"{path} must be in our models, so that it is kept and seen"
        assert why.strip(), path


def test_the_opaque_providers_are_esos() -> None:
    theirs = set(_eso("secretstores")["properties"]["spec"]["properties"]["provider"]["properties"])
    ours = {f.encode_name for f in msgspec.structs.fields(model.Provider)}
    assert ours == theirs


# --- the refusal, for each listed field ---------------------------------------------------------


def _sample(node: Node) -> Any:
    """A minimal value that ESO's schema accepts at `node` (required fields filled)."""
    if node.get(crdgen.INT_OR_STRING):
        return "1m"
    kind = node.get("type", "object")
    if kind == "string":
        if "enum" in node:  # a value that is not the default (ESO's defaults: first or None)
            return next(v for v in reversed(node["enum"]) if v != "None")
        return "x"
    if kind == "integer":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return [_sample(node["items"])]
    props = node.get("properties") or {}
    sample = {name: _sample(props[name]) for name in node.get("required", [])}
    return sample or ({"server": "x"} if not props else {})


BASES: dict[str, Node] = {
    "externalsecrets": {
        "metadata": {"name": "es", "namespace": "ns"},
        "spec": {"secretStoreRef": {"name": "store"}},
    },
    "secretstores": {"metadata": {"name": "s", "namespace": "ns"}, "spec": {"provider": {}}},
}


def _set(doc: Node, path: str, value: Any, schema: Mapping[str, Node]) -> str:
    """Set `path` (schema notation) in `doc`, one element per array (its required fields
    filled from ESO's `schema`); return the path as the user would name it."""
    parts = path.lstrip(".").split(".")
    node: Any = doc
    concrete: list[str] = []
    for position, part in enumerate(parts):
        name, is_list = part.removesuffix("[]"), part.endswith("[]")
        last = position == len(parts) - 1
        element = "." + ".".join([*(c.replace("[0]", "[]") for c in concrete), part])
        concrete.append(f"{name}[0]" if is_list else name)
        if last and not is_list:
            node[name] = value
            break
        if is_list:
            node = node.setdefault(name, [_sample(schema[element])])[0]
            if last:
                node.update(value)
        else:
            node = node.setdefault(name, _sample(schema[element]))
    return ".".join(concrete)


def _cases() -> list[Any]:
    cases = []
    for plural, (_, table) in KINDS.items():
        if plural == "clustersecretstores":
            continue
        cases += [pytest.param(plural, path, id=f"{plural}:{path}") for path in table]
    return cases


@pytest.mark.parametrize(("plural", "path"), _cases())
def test_a_listed_field_is_refused_by_name(plural: str, path: str) -> None:
    struct, table = KINDS[plural]
    theirs = dict(_walk(_eso(plural)))
    doc = yaml.safe_load(yaml.safe_dump(BASES[plural]))
    if plural == "secretstores" and not path.startswith(".spec.provider."):
        doc["spec"]["provider"] = {"fake": {"data": []}}
    field = _set(doc, path, _sample(theirs[path]), theirs)
    decoded = msgspec.convert(doc, struct)
    assert compat.unsupported(decoded, table) == [field]
    with pytest.raises(errors.InvalidSpecError) as caught:
        compat.check(decoded, table)
    assert str(caught.value) == f"{field} is not supported by asyncso"


def test_validate_refuses_an_unsupported_externalsecret_field_first() -> None:
    doc = {
        "metadata": {"name": "es", "namespace": "ns"},
        "spec": {
            "secretStoreRef": {"name": "store"},
            "data": [
                {"secretKey": "a", "remoteRef": {"key": "a"}},
                {
                    "secretKey": "b",
                    "remoteRef": {"key": "b"},
                    "sourceRef": {"generatorRef": {"kind": "Password", "name": "p"}},
                },
            ],
        },
    }
    es = msgspec.convert(doc, model.ExternalSecret)
    with pytest.raises(errors.InvalidSpecError) as caught:
        validation.validate(es)
    assert str(caught.value) == "spec.data[1].sourceRef.generatorRef is not supported by asyncso"


@pytest.mark.parametrize(
    ("doc", "struct", "field"),
    [
        (
            {"spec": {"provider": {"aws": {"service": "SecretsManager", "futureOption": 1}}}},
            model.SecretStore,
            "spec.provider.aws.futureOption",
        ),
        (
            {"spec": {"data": [{"secretKey": "a", "remoteRef": {"key": "k", "nope": "x"}}]}},
            model.ExternalSecret,
            "spec.data[0].remoteRef.nope",
        ),
        ({"spec": {"somethingNew": True}}, model.ExternalSecret, "spec.somethingNew"),
    ],
)
def test_a_field_the_models_do_not_know_is_refused_by_name(
    doc: Node, struct: type[msgspec.Struct], field: str
) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert({"metadata": {"name": "x"}, **doc}, struct)
    assert compat.decode_error(caught.value) == f"{field} is not supported by asyncso"


def test_other_decoding_errors_keep_msgspecs_words() -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(
            {"metadata": {}, "spec": {"target": {"creationPolicy": "X"}}}, model.ExternalSecret
        )
    assert compat.decode_error(caught.value) == str(caught.value)


def test_metadata_and_status_may_carry_fields_we_do_not_model() -> None:
    doc = {
        "metadata": {"name": "x", "managedFields": [{}], "generateName": "x-"},
        "spec": {},
        "status": {"somethingElse": 1},
    }
    assert msgspec.convert(doc, model.ExternalSecret).metadata.name == "x"


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        ({"fake": {"data": []}, "aws": {"service": "SecretsManager"}}, "found 2"),
        ({}, "found 0"),
    ],
)
def test_a_store_needs_exactly_one_provider(providers: Node, message: str) -> None:
    store = msgspec.convert(
        {"metadata": {"name": "s"}, "spec": {"provider": providers}}, model.SecretStore
    )
    with pytest.raises(errors.InvalidSpecError) as caught:
        compat.check_store(store)
    assert str(caught.value) == (
        f"spec.provider: secret stores must only have exactly one backend specified, {message}"
    )


# --- the generated documentation ---------------------------------------------------------------


def test_the_compatibility_doc_is_up_to_date() -> None:
    text = (ROOT / "docs" / "compatibility.md").read_text()
    assert text == compat_doc.render(), "run: .venv/bin/python tools/compat_doc.py"


def test_the_doc_lists_every_unsupported_field() -> None:
    text = compat_doc.render()
    for table in (compat.EXTERNALSECRET, compat.STORE):
        for path in table:
            assert f"`{path.lstrip('.')}`" in text
