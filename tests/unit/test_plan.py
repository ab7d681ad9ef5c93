"""The decisions that can lose a Secret: table-driven over creation/deletion policies."""

from __future__ import annotations

from typing import Any

import pytest
from core_fixtures import es, secret

from asyncso import fake_kube, model, plan, secret_data

DESIRED = model.SecretContent(data={"a": b"1"}, labels={}, annotations={}, type="Opaque")


def owned_secret(item: model.ExternalSecret, data: dict[str, bytes], **kw: Any) -> model.Secret:
    """A Secret as we would have written it for `item` (with the apiserver's record of the
    fields our write set)."""
    result = plan.plan_sync(item, model.SecretContent(data, {}, {}, "Opaque"), None)
    assert result.secret is not None
    written = result.secret
    made = secret(
        data=written.data,
        labels=written.metadata.labels,
        annotations=written.metadata.annotations,
        owners=written.metadata.owner_references,
        **kw,
    )
    return stored(item, made)


def stored(item: model.ExternalSecret, written: model.Secret) -> model.Secret:
    """`written` as the apiserver keeps it after `item`'s write (field owners recorded)."""
    kube = fake_kube.FakeKube()
    return kube.put_secret(written, manager=plan.field_manager(item))


@pytest.mark.parametrize(
    ("creation", "observed", "action", "reason"),
    [
        ("Owner", False, "create", plan.REASON_SYNCED),
        ("Orphan", False, "create", plan.REASON_SYNCED),
        ("Merge", False, "none", plan.REASON_MISSING),
        ("None", False, "none", plan.REASON_SYNCED),
        ("None", True, "none", plan.REASON_SYNCED),
        ("Merge", True, "update", plan.REASON_SYNCED),
    ],
)
def test_creation_policies(creation: str, observed: bool, action: str, reason: str) -> None:
    item = es(target={"creationPolicy": creation})
    existing = secret(data={"foreign": b"x"}) if observed else None
    result = plan.plan_sync(item, DESIRED, existing)
    assert (result.action, result.report.reason) == (action, reason)


def test_owner_sets_controller_reference_labels_and_hash() -> None:
    item = es(target={"creationPolicy": "Owner"})
    result = plan.plan_sync(item, DESIRED, None)
    assert result.secret is not None
    meta = result.secret.metadata
    assert meta.name == "es1" and meta.namespace == "ns"
    assert [(r.kind, r.name, r.uid, r.controller) for r in meta.owner_references] == [
        ("ExternalSecret", "es1", "uid-1", True)
    ]
    assert meta.labels[model.LABEL_MANAGED] == "true"
    assert meta.annotations[model.ANNOTATION_DATA_HASH] == secret_data.data_hash({"a": b"1"})
    assert result.report.event_reason == "Created"
    assert result.binding == "es1"


def test_orphan_has_no_owner_reference() -> None:
    result = plan.plan_sync(es(target={"creationPolicy": "Orphan"}), DESIRED, None)
    assert result.secret is not None and result.secret.metadata.owner_references == []


def test_target_name_defaults_and_overrides() -> None:
    result = plan.plan_sync(es(target={"name": "custom"}), DESIRED, None)
    assert result.secret is not None and result.secret.metadata.name == "custom"


def test_unchanged_secret_is_not_written() -> None:
    item = es()
    existing = owned_secret(item, {"a": b"1"})
    result = plan.plan_sync(item, DESIRED, existing)
    assert result.action == "none"
    assert result.report.ready and result.report.event_reason == ""


def test_drift_is_restored_and_foreign_keys_dropped_for_owner() -> None:
    item = es()
    existing = owned_secret(item, {"a": b"1"})
    tampered = secret(
        data={"a": b"edited", "extra": b"x"},
        labels=existing.metadata.labels,
        annotations=existing.metadata.annotations,
        owners=existing.metadata.owner_references,
    )
    assert not plan.is_valid(tampered)
    result = plan.plan_sync(item, DESIRED, tampered)
    assert result.action == "update"
    assert result.secret is not None and result.secret.data == {"a": b"1"}
    assert result.secret.metadata.resource_version == "7"  # optimistic concurrency


def test_other_parties_labels_survive_owner_update() -> None:
    item = es()
    existing = owned_secret(item, {"a": b"old"})
    existing.metadata.labels["team"] = "x"
    result = plan.plan_sync(item, DESIRED, existing)
    assert result.secret is not None and result.secret.metadata.labels["team"] == "x"


def test_merge_keeps_foreign_keys_and_drops_keys_it_no_longer_renders() -> None:
    item = es(target={"creationPolicy": "Merge"})
    first = plan.plan_sync(
        item,
        model.SecretContent({"a": b"1", "b": b"2"}, {}, {}, "Opaque"),
        secret(data={"foreign": b"x"}),
    )
    assert first.secret is not None
    assert first.secret.data == {"foreign": b"x", "a": b"1", "b": b"2"}
    assert first.secret.metadata.owner_references == []
    kube = fake_kube.FakeKube()
    kube.put_secret(secret(data={"foreign": b"x"}))
    after_first = kube.put_secret(first.secret, manager=plan.field_manager(item))
    second = plan.plan_sync(item, DESIRED, after_first)
    assert second.secret is not None and second.secret.data == {"foreign": b"x", "a": b"1"}


def test_second_externalsecret_on_same_target_is_refused() -> None:
    first = es(name="first", uid="uid-first", target={"name": "shared"})
    second = es(name="second", uid="uid-second", target={"name": "shared"})
    written = plan.plan_sync(first, DESIRED, None).secret
    assert written is not None
    result = plan.plan_sync(second, DESIRED, written)
    assert result.action == "none"
    assert not result.report.ready
    assert plan.MSG_IS_OWNED in result.report.message


def test_orphan_from_another_externalsecret_is_refused_by_label() -> None:
    first = es(name="first", uid="u1", target={"name": "shared", "creationPolicy": "Orphan"})
    second = es(name="second", uid="u2", target={"name": "shared", "creationPolicy": "Orphan"})
    written = plan.plan_sync(first, DESIRED, None).secret
    assert written is not None
    assert plan.plan_sync(second, DESIRED, written).report.message.startswith(plan.MSG_IS_OWNED)


@pytest.mark.parametrize(
    ("deletion", "action", "reason"),
    [("Delete", "delete", plan.REASON_DELETED), ("Merge", "update", plan.REASON_DELETED)],
)
def test_remote_gone_acts_only_as_deletion_policy_says(
    deletion: str, action: str, reason: str
) -> None:
    item = es(target={"deletionPolicy": deletion})
    existing = owned_secret(item, {"a": b"1"})
    kube = fake_kube.FakeKube()
    kube.put_secret(existing, manager=plan.field_manager(item))
    changed = model.Secret(metadata=existing.metadata, data={**existing.data, "foreign": b"x"})
    existing = kube.put_secret(changed, manager="kubectl")
    result = plan.plan_sync(item, None, existing)
    assert (result.action, result.report.reason) == (action, reason)
    if deletion == "Merge":
        assert result.secret is not None and result.secret.data == {"foreign": b"x"}


def test_delete_refuses_unmanaged_secret() -> None:
    item = es(target={"deletionPolicy": "Delete"})
    result = plan.plan_sync(item, None, secret(data={"a": b"1"}))
    assert result.action == "none" and not result.report.ready


def test_immutable_secret_is_not_overwritten() -> None:
    item = es(target={"immutable": True})
    existing = owned_secret(item, {"a": b"old"}, immutable=True)
    result = plan.plan_sync(item, DESIRED, existing)
    assert result.action == "none"
    assert result.report.message.startswith(plan.MSG_IMMUTABLE)
    created = plan.plan_sync(item, DESIRED, None).secret
    assert created is not None and created.immutable is True


def test_type_change_is_an_error_not_a_silent_rewrite() -> None:
    item = es()
    existing = owned_secret(item, {"a": b"1"})
    tls = model.SecretContent({"a": b"1"}, {}, {}, "kubernetes.io/tls")
    result = plan.plan_sync(item, tls, existing)
    assert result.action == "none" and not result.report.ready


def test_template_labels_and_annotations_are_applied() -> None:
    rendered = model.SecretContent({"a": b"1"}, {"app": "x"}, {"note": "y"}, "Opaque")
    result = plan.plan_sync(es(target={"template": {}}), rendered, None)
    assert result.secret is not None
    assert result.secret.metadata.labels["app"] == "x"
    assert result.secret.metadata.annotations["note"] == "y"
