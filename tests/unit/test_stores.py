from __future__ import annotations

from typing import Any

import msgspec
import pytest

from asyncso import errors, model, stores


def store(
    kind: str = "ClusterSecretStore",
    conditions: list[dict[str, Any]] | None = None,
    controller: str = "",
) -> model.SecretStore:
    return msgspec.convert(
        {
            "kind": kind,
            "metadata": {"name": "css", "namespace": "" if kind == "ClusterSecretStore" else "ns"},
            "spec": {
                "provider": {"fake": {"data": []}},
                "conditions": conditions or [],
                "controller": controller,
            },
        },
        model.SecretStore,
    )


@pytest.mark.parametrize(
    ("conds", "namespace", "labels", "allowed"),
    [
        ([], "any", {}, True),
        ([{"namespaces": ["a", "b"]}], "b", {}, True),
        ([{"namespaces": ["a"]}], "b", {}, False),
        ([{"namespaceRegexes": ["^team-.*$"]}], "team-x", {}, True),
        ([{"namespaceRegexes": ["^team-.*$"]}], "other", {}, False),
        ([{"namespaceSelector": {"matchLabels": {"env": "prod"}}}], "p", {"env": "prod"}, True),
        ([{"namespaceSelector": {"matchLabels": {"env": "prod"}}}], "p", {"env": "dev"}, False),
        (
            [
                {
                    "namespaceSelector": {
                        "matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}]
                    }
                }
            ],
            "p",
            {"env": "b"},
            True,
        ),
        (
            [
                {
                    "namespaceSelector": {
                        "matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]
                    }
                }
            ],
            "p",
            {"env": "b"},
            False,
        ),
        ([{"namespaces": ["x"]}, {"namespaces": ["y"]}], "y", {}, True),  # any condition admits
    ],
)
def test_cluster_store_conditions(
    conds: list[dict[str, Any]], namespace: str, labels: dict[str, str], allowed: bool
) -> None:
    assert stores.namespace_allowed(store(conditions=conds), namespace, labels) is allowed


def test_conditions_do_not_apply_to_namespaced_stores() -> None:
    assert stores.namespace_allowed(store("SecretStore", [{"namespaces": ["x"]}]), "ns", {})


def test_resolve_reports_missing_and_denied() -> None:
    ref = model.StoreRef(name="css", kind="ClusterSecretStore")
    with pytest.raises(errors.StoreNotFoundError, match="css"):
        stores.resolve("ns", ref, stores={}, namespace_labels={})
    denied = store(conditions=[{"namespaces": ["other"]}])
    entries = {
        ("ClusterSecretStore", "", "css"): stores.StoreEntry(
            denied.metadata, "ClusterSecretStore", denied
        )
    }
    with pytest.raises(errors.StoreNotReadyError, match="not allowed from namespace 'ns'"):
        stores.resolve("ns", ref, stores=entries, namespace_labels={})
    assert stores.resolve("other", ref, stores=entries, namespace_labels={}) is denied


def test_namespaced_store_is_looked_up_in_the_externalsecrets_namespace() -> None:
    own = store("SecretStore")
    entries = {("SecretStore", "ns", "css"): stores.StoreEntry(own.metadata, "SecretStore", own)}
    ref = model.StoreRef(name="css", kind="SecretStore")
    assert stores.resolve("ns", ref, stores=entries, namespace_labels={}) is own
    with pytest.raises(errors.StoreNotFoundError):
        stores.resolve("elsewhere", ref, stores=entries, namespace_labels={})


def test_controller_class() -> None:
    assert stores.is_ours(store(controller=""), "default")
    assert stores.is_ours(store(controller="default"), "default")
    assert not stores.is_ours(store(controller="other"), "default")
