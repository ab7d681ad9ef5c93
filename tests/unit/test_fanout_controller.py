"""The fan-out controller on `FakeKube`: creates, leaves foreign children alone, follows label
flips, writes nothing when everything is in place, and cleans up on deletion."""

from __future__ import annotations

from typing import Any

import msgspec

from asyncso import (
    clusterexternalsecret_controller,
    clusterpushsecret_controller,
    errors,
    fanout_controller,
    settings,
)
from asyncso.fake_kube import FakeKube

CONFIG = settings.Settings()
SPEC = {"secretStoreRef": {"name": "s"}, "data": [{"secretKey": "k", "remoteRef": {"key": "r"}}]}


def raw(body: dict[str, Any]) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(body))


def ces(**meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterExternalSecret",
        "metadata": {"name": "db", "uid": "u-1", "generation": 1, "resourceVersion": "1", **meta},
        "spec": {"externalSecretSpec": SPEC, "namespaceSelectors": [{"matchLabels": {"t": "x"}}]},
    }


def namespace(name: str, **labels: str) -> tuple[model_key, msgspec.Raw]:
    return ("", name), raw({"metadata": {"name": name, "labels": labels}})


model_key = tuple[str, str]


def make(kube: FakeKube, **kw: Any) -> fanout_controller.FanoutController:
    controller = clusterexternalsecret_controller.controller(kube, CONFIG, **kw)
    for name, labels in (("a", {"t": "x"}), ("b", {"t": "x"}), ("c", {"t": "y"})):
        key, body = namespace(name, **labels)
        controller.on_namespace("ADDED", key, body)
    controller.on_parent("ADDED", ("", "db"), raw(ces()))
    return controller


def mirror_children(kube: FakeKube, controller: fanout_controller.FanoutController) -> None:
    """What the ExternalSecret watch would report."""
    for (kind, ns, name), body in kube.objects.items():
        if kind == "ExternalSecret":
            controller.on_child("MODIFIED", (ns, name), raw(body))


async def test_creates_in_matching_namespaces_and_reports_foreign_ones() -> None:
    kube = FakeKube()
    kube.put_object(
        "ExternalSecret",
        {"metadata": {"name": "db", "namespace": "b"}, "spec": {"refreshInterval": "1m"}},
    )
    controller = make(kube)
    result = await controller._sync(("", "db"))
    assert result.ok and result.next_at is not None
    created = kube.objects[("ExternalSecret", "a", "db")]
    assert created["spec"] == SPEC
    assert created["metadata"]["ownerReferences"][0]["name"] == "db"
    assert kube.objects[("ExternalSecret", "b", "db")]["spec"] == {"refreshInterval": "1m"}
    assert ("ExternalSecret", "c", "db") not in kube.objects
    assert kube.finalizers[("ClusterExternalSecret", "", "db")] == [
        "externalsecrets.external-secrets.io/clusterexternalsecret-cleanup"
    ]
    status = kube.statuses[("ClusterExternalSecret", "", "db")]
    assert status["provisionedNamespaces"] == ["a"]
    assert status["failedNamespaces"] == [
        {"namespace": "b", "reason": "external secret already exists in namespace"}
    ]
    assert status["conditions"] == [
        {"type": "Ready", "status": "False", "message": "one or more namespaces failed"}
    ]


async def test_in_place_means_no_write_and_a_label_flip_moves_the_child() -> None:
    kube = FakeKube()
    controller = make(kube)
    await controller._sync(("", "db"))
    mirror_children(kube, controller)
    body = ces(finalizers=["externalsecrets.external-secrets.io/clusterexternalsecret-cleanup"])
    body["status"] = kube.statuses[("ClusterExternalSecret", "", "db")]
    controller.on_parent("MODIFIED", ("", "db"), raw(body))
    kube.calls.clear()
    await controller._sync(("", "db"))
    assert kube.writes() == []  # everything in place: not even a status write

    key, flipped = namespace("a", t="y")
    controller.on_namespace("MODIFIED", key, flipped)
    key, joined = namespace("c", t="x")
    controller.on_namespace("MODIFIED", key, joined)
    await controller._sync(("", "db"))
    assert sorted(k[1] for k in kube.objects) == ["b", "c"]
    status = kube.statuses[("ClusterExternalSecret", "", "db")]
    assert status["provisionedNamespaces"] == ["b", "c"]


async def test_a_child_edited_by_hand_is_put_back() -> None:
    kube = FakeKube()
    controller = make(kube)
    await controller._sync(("", "db"))
    child = kube.objects[("ExternalSecret", "a", "db")]
    child["spec"] = {"secretStoreRef": {"name": "elsewhere"}}
    child["metadata"]["finalizers"] = ["keep-me"]
    mirror_children(kube, controller)
    await controller._sync(("", "db"))
    fixed = kube.objects[("ExternalSecret", "a", "db")]
    assert fixed["spec"] == SPEC
    assert fixed["metadata"]["finalizers"] == ["keep-me"]


async def test_deletion_removes_the_children_then_the_finalizer() -> None:
    kube = FakeKube()
    controller = make(kube)
    await controller._sync(("", "db"))
    mirror_children(kube, controller)
    finalizer = "externalsecrets.external-secrets.io/clusterexternalsecret-cleanup"
    body = ces(finalizers=[finalizer], deletionTimestamp="2024-01-01T00:00:00Z")
    controller.on_parent("MODIFIED", ("", "db"), raw(body))
    assert (await controller._sync(("", "db"))).ok
    assert kube.objects == {}
    assert kube.finalizers[("ClusterExternalSecret", "", "db")] == []


async def test_a_replica_that_is_not_leader_writes_nothing() -> None:
    kube = FakeKube()
    controller = make(kube, may_write=lambda: False)
    result = await controller._sync(("", "db"))
    assert result.retry and kube.writes() == []


async def test_an_invalid_parent_is_reported_not_fanned_out() -> None:
    kube = FakeKube()
    controller = make(kube)
    bad = ces()
    bad["spec"]["refreshTime"] = "whenever"
    controller.on_parent("MODIFIED", ("", "db"), raw(bad))
    assert not (await controller._sync(("", "db"))).ok
    status = kube.statuses[("ClusterExternalSecret", "", "db")]
    assert "spec.refreshTime" in status["conditions"][0]["message"]
    assert kube.objects == {}


def cps(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1alpha1",
        "kind": "ClusterPushSecret",
        "metadata": {"name": "db", "uid": "u-1", "generation": 1, "resourceVersion": "1"},
        "spec": {
            "pushSecretSpec": {"secretStoreRefs": [], "selector": {"secret": {"name": "s"}}},
            "namespaceSelectors": [{"matchLabels": {"t": "x"}}],
            **spec,
        },
    }


def make_cps(kube: FakeKube) -> fanout_controller.FanoutController:
    controller = clusterpushsecret_controller.controller(kube, CONFIG)
    for name, labels in (("a", {"t": "x"}), ("c", {"t": "y"})):
        key, body = namespace(name, **labels)
        controller.on_namespace("ADDED", key, body)
    return controller


async def renamed_with_a_failed_delete(
    kube: FakeKube,
    controller: fanout_controller.FanoutController,
    body: dict[str, Any],
    *,
    child: str,
    name_field: str,
) -> None:
    """Fan `body` out, rename its child (`name_field`), and fail the delete of the old one."""
    controller.on_parent("ADDED", ("", "db"), raw(body))
    await controller._sync(("", "db"))
    for (kind, ns, name), obj in kube.objects.items():
        if kind == child:
            controller.on_child("MODIFIED", (ns, name), raw(obj))
    body["status"] = kube.statuses[(body["kind"], "", "db")]
    body["spec"][name_field] = "renamed"
    body["metadata"]["generation"] = 2
    controller.on_parent("MODIFIED", ("", "db"), raw(body))
    kube.fail_next["delete_object"] = errors.api_error(500, "etcd unavailable")
    kube.events.clear()
    await controller._sync(("", "db"))


async def test_a_cluster_push_secret_warns_as_eso_when_an_old_child_stays() -> None:
    """ESO's ClusterPushSecret `markAsFailed`: a Warning Event, reason Errored, when the
    PushSecrets of a previous `pushSecretName` cannot be deleted."""
    kube = FakeKube()
    controller = make_cps(kube)
    await renamed_with_a_failed_delete(
        kube, controller, cps(), child="PushSecret", name_field="pushSecretName"
    )
    assert ("PushSecret", "a", "db") in kube.objects  # the delete failed
    assert [(e.kind, e.name, e.type, e.reason, e.message) for e in kube.events] == [
        ("ClusterPushSecret", "db", "Warning", "Errored", "failed to delete push secret")
    ]
    kube.events.clear()
    await controller._sync(("", "db"))  # the delete works now: no Event
    assert kube.events == [] and ("PushSecret", "a", "db") not in kube.objects


async def test_a_cluster_external_secret_records_no_events_as_in_eso() -> None:
    kube = FakeKube()
    controller = clusterexternalsecret_controller.controller(kube, CONFIG)
    for name, labels in (("a", {"t": "x"}),):
        key, body = namespace(name, **labels)
        controller.on_namespace("ADDED", key, body)
    await renamed_with_a_failed_delete(
        kube, controller, ces(), child="ExternalSecret", name_field="externalSecretName"
    )
    assert ("ExternalSecret", "a", "db") in kube.objects
    assert kube.events == []


async def test_an_invalid_cluster_push_secret_is_said_in_a_warning() -> None:
    kube = FakeKube()
    controller = make_cps(kube)
    bad = cps(namespaceSelectors=[{"matchLabels": {"not a key!": "x"}}])
    controller.on_parent("ADDED", ("", "db"), raw(bad))
    assert not (await controller._sync(("", "db"))).ok
    (event,) = kube.events
    assert (event.type, event.reason) == ("Warning", "Errored")
    assert event.message.startswith(
        "invalid ClusterPushSecret: "
    ) and "spec.namespaceSelectors[0]" in (event.message)
