"""Fan-out planning (ClusterExternalSecret, ClusterPushSecret): pure, table-tested."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import pytest

from asyncso import clusterexternalsecret_controller as ces_rules
from asyncso import clusterpushsecret_controller as cps_rules
from asyncso import errors, fanout, model

KIND = ces_rules.KIND


def ces(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterExternalSecret",
        "metadata": {"name": "db", "uid": "u-1", "generation": 1},
        "spec": {"externalSecretSpec": {"secretStoreRef": {"name": "s"}}, **spec},
    }
    return body


def parent(**spec: Any) -> fanout.Parent:
    return ces_rules.ClusterExternalSecretRules().decode(msgspec.json.encode(ces(**spec)))


NS = {
    "a": fanout.NamespaceRecord({"team": "x"}),
    "b": fanout.NamespaceRecord({"team": "y"}),
    "c": fanout.NamespaceRecord({"team": "x"}, terminating=True),
    "d": fanout.NamespaceRecord({}),
}
X = {"matchLabels": {"team": "x"}}


@pytest.mark.parametrize(
    ("spec", "targets"),
    [
        ({"namespaceSelectors": [X]}, ("a",)),
        ({"namespaceSelector": X}, ("a",)),  # deprecated, still honoured
        ({"namespaces": ["d"]}, ("d",)),  # by name
        ({"namespaceSelectors": [X], "namespaces": ["b"]}, ("a", "b")),  # ORed
        ({"namespaceSelectors": [{}]}, ("a", "b", "d")),  # empty selector: every namespace
        (
            {
                "namespaceSelectors": [
                    {"matchExpressions": [{"key": "team", "operator": "In", "values": ["y"]}]}
                ]
            },
            ("b",),
        ),
        ({}, ()),  # no selector: nothing
        ({"namespaces": ["c", "zz"]}, ()),  # terminating or absent namespaces are no targets
    ],
)
def test_targets(spec: dict[str, Any], targets: tuple[str, ...]) -> None:
    assert fanout.plan(parent(**spec), namespaces=NS, owned={}).targets == targets


def test_create_update_keep_and_delete() -> None:
    p = parent(namespaceSelectors=[{}])
    good = fanout.ChildRecord("db", "u-a", fanout.desired_fingerprint(p))
    stale = fanout.ChildRecord("db", "u-b", "old")
    owned = {
        ("a", "db"): good,  # in place: nothing to do
        ("b", "db"): stale,  # differs: update
        ("c", "db"): good,  # namespace terminating: delete
        ("a", "old-name"): good,  # renamed child: delete the old one
    }
    result = fanout.plan(p, namespaces=NS, owned=owned)
    assert result.create == ("d",)
    assert result.update == ("b",)
    assert result.delete == (("a", "old-name", "u-a"), ("c", "db", "u-a"))


def test_children_copy_the_spec_verbatim_with_esos_owner_reference() -> None:
    p = parent(
        namespaceSelectors=[X],
        externalSecretName="app",
        externalSecretMetadata={"labels": {"l": "1"}, "annotations": {"a": "2"}},
    )
    body = fanout.new_child(KIND, p, "a")
    assert body["metadata"] == {
        "name": "app",
        "namespace": "a",
        "labels": {"l": "1"},
        "annotations": {"a": "2"},
        "ownerReferences": [
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "ClusterExternalSecret",
                "name": "db",
                "uid": "u-1",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    assert body["spec"] == {"secretStoreRef": {"name": "s"}}
    assert fanout.controller_of(KIND, body) == "db"
    live = {**body, "metadata": {**body["metadata"], "finalizers": ["f"], "resourceVersion": "7"}}
    live["metadata"]["ownerReferences"] = [{"kind": "Other", "name": "o", "controller": False}]
    updated = fanout.updated_child(KIND, p, live)
    assert updated["metadata"]["finalizers"] == ["f"]
    assert updated["metadata"]["resourceVersion"] == "7"
    assert [r["kind"] for r in updated["metadata"]["ownerReferences"]] == [
        "Other",
        "ClusterExternalSecret",
    ]


def test_force_sync_annotation_follows_the_parent() -> None:
    body = ces(externalSecretMetadata={"annotations": {"external-secrets.io/force-sync": "old"}})
    body["metadata"]["annotations"] = {"external-secrets.io/force-sync": "now"}
    p = ces_rules.ClusterExternalSecretRules().decode(msgspec.json.encode(body))
    assert p.child_annotations == {"external-secrets.io/force-sync": "now"}
    assert (
        parent(
            externalSecretMetadata={"annotations": {"external-secrets.io/force-sync": "x"}}
        ).child_annotations
        == {}
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"namespaces": ["../x"]}, r"spec\.namespaces\[0\]"),
        ({"namespaceSelectors": [{"matchLabels": {"a=b,c": "d"}}]}, "not a valid label key"),
        ({"refreshTime": "soon"}, "spec.refreshTime"),
    ],
)
def test_unusable_specs_are_refused_naming_the_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.InvalidSpecError, match=message):
        parent(**spec)


def test_controller_of_wants_our_group_and_kind() -> None:
    def obj(**ref: Any) -> dict[str, Any]:
        return {"metadata": {"ownerReferences": [{"controller": True, "name": "db", **ref}]}}

    assert (
        fanout.controller_of(
            KIND, obj(apiVersion="external-secrets.io/v1beta1", kind="ClusterExternalSecret")
        )
        == "db"
    )
    assert (
        fanout.controller_of(KIND, obj(apiVersion="other.io/v1", kind="ClusterExternalSecret"))
        is None
    )
    assert (
        fanout.controller_of(
            KIND, obj(apiVersion="external-secrets.io/v1", kind="ClusterPushSecret")
        )
        is None
    )
    assert fanout.controller_of(KIND, {"metadata": {}}) is None


def test_child_index_records_only_ours_and_says_whom_it_concerned() -> None:
    index = fanout.ChildIndex(KIND)
    p = parent(namespaceSelectors=[X])
    ours = msgspec.json.encode(fanout.new_child(KIND, p, "a"))
    record, owner = index.record(("a", "db"), ours)
    assert owner == "db" and record is not None
    assert record.fingerprint == fanout.desired_fingerprint(p)
    assert set(index.owned_by("db")) == {("a", "db")}
    foreign = msgspec.json.encode({"metadata": {"name": "db", "namespace": "a"}, "spec": {}})
    assert index.record(("a", "db"), foreign) == (None, "db")  # ownership taken away
    assert index.owned_by("db") == {}
    assert index.record(("a", "db"), None) == (None, "")


def test_selection_changes_wake_only_the_parents_concerned() -> None:
    by_team = parent(namespaceSelectors=[X])
    by_name = dataclasses.replace(parent(namespaces=["a"]), meta=model.ObjectMeta(name="n"))
    before, after = fanout.NamespaceRecord({"team": "x"}), fanout.NamespaceRecord({"team": "y"})
    assert fanout.selection_changed([by_team, by_name], "a", before, after) == ["db"]
    assert fanout.selection_changed([by_team, by_name], "a", None, before) == ["db", "n"]
    gone = fanout.NamespaceRecord({"team": "x"}, terminating=True)
    assert fanout.selection_changed([by_team, by_name], "a", before, gone) == ["db", "n"]


def test_cleanup_covers_the_watch_and_the_status() -> None:
    body = ces(namespaceSelectors=[X])
    body["status"] = {"externalSecretName": "db", "provisionedNamespaces": ["a", "b"]}
    p = ces_rules.ClusterExternalSecretRules().decode(msgspec.json.encode(body))
    owned = {("z", "db"): fanout.ChildRecord("db", "u", "f")}
    assert fanout.cleanup(p, owned) == [("a", "db"), ("b", "db"), ("z", "db")]


def test_status_shapes_are_esos() -> None:
    rules = ces_rules.ClusterExternalSecretRules()
    p = parent(namespaceSelectors=[X])
    ok = rules.status(p, provisioned=["b", "a"], failed={}, now=0)
    assert ok == {
        "externalSecretName": "db",
        "provisionedNamespaces": ["a", "b"],
        "failedNamespaces": None,
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    bad = rules.status(p, provisioned=[], failed={"z": "boom", "c": "exists"}, now=0)
    assert bad["failedNamespaces"] == [
        {"namespace": "c", "reason": "exists"},
        {"namespace": "z", "reason": "boom"},
    ]
    assert bad["conditions"] == [
        {"type": "Ready", "status": "False", "message": "one or more namespaces failed"}
    ]
    cps = cps_rules.ClusterPushSecretRules()
    body = {
        "metadata": {"name": "p"},
        "spec": {
            "pushSecretSpec": {"secretStoreRefs": [], "selector": {"secret": {"name": "s"}}},
            "namespaceSelectors": [X],
        },
    }
    pp = cps.decode(msgspec.json.encode(body))
    assert pp.child_name == "p" and pp.child_spec["selector"] == {"secret": {"name": "s"}}
    st = cps.status(pp, provisioned=["a"], failed={}, now=0)
    assert st["pushSecretName"] == "p"
    assert st["conditions"] == [
        {"type": "Ready", "status": "True", "lastTransitionTime": "1970-01-01T00:00:00Z"}
    ]
