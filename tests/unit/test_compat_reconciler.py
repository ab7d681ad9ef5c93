"""`Reconciler.sync` on ESO semantics asyncso used to miss, without a cluster (`FakeKube`)."""

from __future__ import annotations

import gc
import warnings

import msgspec
import pytest
from core_fixtures import secret as make_secret
from test_reconciler import NS, World, fake_store

from asyncso import manifest, model, plan, settings, validation, view


async def test_a_spec_error_after_a_good_entry_leaves_no_coroutine_unawaited() -> None:
    """`data[0]` reads a good store, `dataFrom[0]` names a missing one: the sync fails before
    any read starts, so no read coroutine is left to the garbage collector."""
    world = World()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await world.sync(
            data_from=[{"extract": {"key": "db"}, "sourceRef": {"storeRef": {"name": "gone"}}}]
        )
        gc.collect()
    assert not result.ok
    ready = world.ready()
    assert ready is not None and ready[0] == "False" and "'gone'" in ready[2]
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


# --- nullBytePolicy ----------------------------------------------------------------------------

NUL = "AGE="  # base64 of b"\x00a"


async def test_null_byte_policy_fail_refuses_a_value_with_nul_and_keeps_the_secret() -> None:
    world = World({"bin": NUL})
    data = [
        {
            "secretKey": "blob",
            "remoteRef": {"key": "bin", "decodingStrategy": "Base64", "nullBytePolicy": "Fail"},
        }
    ]
    result = await world.sync(data=data)
    assert not result.ok
    ready = world.ready()
    assert ready is not None and ready[0] == "False"
    assert "spec.data[0]: fetched secret value for key 'blob' contains null bytes" in ready[2]
    assert world.kube.secrets == {}


@pytest.mark.parametrize("policy", [None, "Ignore"])
async def test_null_bytes_are_kept_by_default(policy: str | None) -> None:
    world = World({"bin": NUL})
    ref: dict[str, str] = {"key": "bin", "decodingStrategy": "Base64"}
    if policy:
        ref["nullBytePolicy"] = policy
    result = await world.sync(data=[{"secretKey": "blob", "remoteRef": ref}])
    assert result.ok
    assert world.kube.secrets[(NS, "es1")].data == {"blob": b"\x00a"}


@pytest.mark.parametrize(
    "entry",
    [
        {"extract": {"key": "json", "nullBytePolicy": "Fail", "decodingStrategy": "Base64"}},
        {
            "find": {"name": {"regexp": "^json$"}, "nullBytePolicy": "Fail"},
            "rewrite": [{"regexp": {"source": "json", "target": "z"}}],
        },
    ],
    ids=["extract", "find"],
)
async def test_null_byte_policy_on_extract_and_find(entry: dict[str, object]) -> None:
    world = World({"json": '{"a": "b2s=", "b": "AGE="}' if "extract" in entry else "\x00x"})
    result = await world.sync(data=[], data_from=[entry])
    assert not result.ok
    ready = world.ready()
    assert ready is not None
    key = "b" if "extract" in entry else "z"
    assert f"spec.dataFrom[0]: fetched secret value for key '{key}' contains null bytes" in ready[2]


# --- metadata: ESO's setMetadata, with the keys it wrote before tracked by field owner -----------


def stored(world: World) -> model.Secret:
    return world.kube.secrets[(NS, "es1")]


async def test_without_template_the_externalsecrets_metadata_is_copied() -> None:
    world = World()
    await world.sync(labels={"team": "a", "tier": "x"}, annotations={"note": "n"})
    meta = stored(world).metadata
    assert {k: meta.labels[k] for k in ("team", "tier")} == {"team": "a", "tier": "x"}
    assert meta.annotations["note"] == "n"
    # someone else labels the Secret; then a label and the annotation leave the ExternalSecret
    labelled = stored(world).metadata
    world.kube.put_secret(
        msgspec.structs.replace(
            stored(world),
            metadata=msgspec.structs.replace(labelled, labels={**labelled.labels, "extra": "e"}),
        ),
        manager="kubectl-label",
    )
    await world.sync(labels={"team": "b"})
    meta = stored(world).metadata
    assert meta.labels["team"] == "b" and meta.labels["extra"] == "e"
    assert "tier" not in meta.labels and "note" not in meta.annotations
    assert meta.labels[model.LABEL_MANAGED] == "true"
    assert meta.annotations[model.ANNOTATION_DATA_HASH]


async def test_with_a_template_its_metadata_replaces_the_copied_one() -> None:
    world = World()
    await world.sync(labels={"team": "a"})
    assert stored(world).metadata.labels["team"] == "a"
    template = {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "1"}}}
    await world.sync(labels={"team": "a"}, target={"template": template})
    meta = stored(world).metadata
    assert "team" not in meta.labels
    assert meta.labels["app"] == "web" and meta.annotations["a"] == "1"


async def test_template_finalizers_are_added_and_never_removed() -> None:
    world = World()
    template = {"metadata": {"finalizers": ["example.com/keep", "example.com/audit"]}}
    await world.sync(target={"template": template})
    assert stored(world).metadata.finalizers == ["example.com/keep", "example.com/audit"]
    await world.sync(target={"template": {"metadata": {"finalizers": ["example.com/other"]}}})
    assert stored(world).metadata.finalizers == [
        "example.com/keep",
        "example.com/audit",
        "example.com/other",
    ]


async def test_no_finalizer_is_added_to_a_secret_being_deleted() -> None:
    world = World()
    await world.sync()
    current = stored(world)
    deleting = msgspec.structs.replace(
        current,
        data={"password": b"old"},
        metadata=msgspec.structs.replace(
            current.metadata, deletion_timestamp="2024-01-01T00:00:00Z"
        ),
    )
    world.kube.put_secret(deleting, manager="someone")
    await world.sync(target={"template": {"metadata": {"finalizers": ["example.com/keep"]}}})
    assert stored(world).metadata.finalizers == []
    assert stored(world).data == {"password": b"p"}


# --- creationPolicy: CreateOrMerge -------------------------------------------------------------


async def test_create_or_merge_creates_a_missing_secret_without_owning_it() -> None:
    world = World()
    result = await world.sync(target={"creationPolicy": "CreateOrMerge"})
    assert result.ok
    secret = stored(world)
    assert secret.data == {"password": b"p"}
    assert secret.metadata.owner_references == []
    assert model.LABEL_CREATED_BY not in secret.metadata.labels


async def test_create_or_merge_merges_into_an_existing_secret() -> None:
    world = World({"db": '{"pw":"p","user":"u"}'})
    world.kube.put_secret(make_secret(data={"foreign": b"kept", "password": b"old"}))
    both = [
        {"secretKey": "password", "remoteRef": {"key": "db", "property": "pw"}},
        {"secretKey": "user", "remoteRef": {"key": "db", "property": "user"}},
    ]
    await world.sync(target={"creationPolicy": "CreateOrMerge"}, data=both)
    assert stored(world).data == {"foreign": b"kept", "password": b"p", "user": b"u"}
    assert stored(world).metadata.owner_references == []
    # `user` leaves the ExternalSecret: the key it wrote goes, the foreign key stays
    await world.sync(target={"creationPolicy": "CreateOrMerge"}, data=both[:1])
    assert stored(world).data == {"foreign": b"kept", "password": b"p"}


async def test_create_or_merge_with_delete_is_refused_as_eso_does() -> None:
    world = World()
    result = await world.sync(
        target={"creationPolicy": "CreateOrMerge", "deletionPolicy": "Delete"}
    )
    assert not result.ok
    ready = world.ready()
    assert ready is not None and validation.MSG_DELETE_NEEDS_OWNER in ready[2]
    assert world.kube.secrets == {}


# --- spec.syncWindows -------------------------------------------------------------------------

# World's clock: 2023-11-14 22:13:20 UTC, inside a window opened at 22:00 for an hour.
DENY_NOW = {"kind": "deny", "windows": [{"schedule": "0 22 * * *", "duration": "1h"}]}
WINDOW_END = 1_700_002_801.0  # 23:00:01


def watched(world: World) -> None:
    """Record the target in the view as the watch of managed Secrets would."""
    secret = stored(world)
    record = view.SecretRecord(secret.metadata.resource_version, plan.is_valid(secret))
    world.view.secrets[(NS, "es1")] = record


async def test_a_deny_window_holds_a_periodic_refresh_but_not_the_first_sync() -> None:
    world = World()
    first = await world.sync(sync_windows=DENY_NOW)
    assert first.ok and stored(world).data == {"password": b"p"}
    watched(world)
    calls = len(world.kube.calls)
    held = await world.sync(sync_windows=DENY_NOW)
    assert held.ok and held.next_at == WINDOW_END
    assert len(world.kube.calls) == calls  # nothing read, nothing written, no status
    # a drifted target is repaired at once, window or not
    world.view.secrets[(NS, "es1")] = view.SecretRecord("x", valid=False)
    repaired = await world.sync(sync_windows=DENY_NOW)
    assert repaired.ok and repaired.next_at != WINDOW_END


async def test_an_allow_window_lets_the_refresh_run() -> None:
    world = World()
    allow = {**DENY_NOW, "kind": "allow"}
    await world.sync(sync_windows=allow)
    watched(world)
    result = await world.sync(sync_windows=allow)
    assert result.ok and result.next_at != WINDOW_END


async def test_a_window_with_a_bad_duration_is_refused() -> None:
    world = World()
    bad = {"kind": "deny", "windows": [{"schedule": "0 22 * * *", "duration": "soon"}]}
    result = await world.sync(sync_windows=bad)
    assert not result.ok
    ready = world.ready()
    assert (
        ready is not None and "spec.syncWindows.windows[0].duration: invalid duration" in ready[2]
    )


# --- target.manifest: a ConfigMap (ESO's generic targets) ---------------------------------------

CONFIGMAP = {"manifest": {"apiVersion": "v1", "kind": "ConfigMap"}}


def generic(world: World) -> World:
    world.reconciler.settings = settings.Settings(unsafe_allow_generic_targets=True)
    return world


async def test_a_configmap_target_gets_the_values_as_text() -> None:
    world = generic(World())
    result = await world.sync(target=CONFIGMAP, labels={"team": "a"})
    assert result.ok
    assert world.kube.secrets == {}
    cm = world.kube.config_maps[(NS, "es1")]
    assert cm.data == {"password": "p"}
    assert cm.metadata.labels["team"] == "a" and cm.metadata.labels[model.LABEL_MANAGED] == "true"
    assert cm.metadata.annotations[model.ANNOTATION_DATA_HASH] == manifest.data_hash(
        {"password": "p"}
    )
    (owner,) = cm.metadata.owner_references
    assert owner.kind == "ExternalSecret" and owner.controller
    assert world.ready() == ("True", manifest.REASON_SYNCED, manifest.MSG_SYNCED)
    assert [(e.reason, e.message) for e in world.kube.events] == [
        ("Created", "Created ConfigMap es1")
    ]
    # unchanged: no write; changed value: one update
    calls = len(world.kube.writes())
    await world.sync(target=CONFIGMAP, labels={"team": "a"})
    assert len([c for c in world.kube.writes()[calls:] if c[0] != "patch_status"]) == 0


async def test_a_configmap_template_and_merge_policies() -> None:
    world = generic(World({"db": '{"pw":"p","user":"u"}'}))
    world.kube.config_maps[(NS, "es1")] = model.ConfigMap(
        metadata=model.ObjectMeta(name="es1", namespace=NS, resource_version="1"),
        data={"foreign": "kept"},
    )
    template = {"data": {"dsn": "db://{{ .user }}:{{ .pw }}"}, "mergePolicy": "Merge"}
    target = {**CONFIGMAP, "creationPolicy": "CreateOrMerge", "template": template}
    result = await world.sync(target=target, data=[], data_from=[{"extract": {"key": "db"}}])
    assert result.ok
    cm = world.kube.config_maps[(NS, "es1")]
    assert cm.data == {"foreign": "kept", "dsn": "db://u:p"}  # no mergePolicy here (ESO)
    assert cm.metadata.owner_references == []


async def test_a_configmap_target_under_merge_is_not_created() -> None:
    world = generic(World())
    await world.sync(target={**CONFIGMAP, "creationPolicy": "Merge"})
    assert world.kube.config_maps == {}
    assert world.ready() == ("True", manifest.REASON_MISSING, manifest.MSG_MISSING)


async def test_generic_targets_are_off_unless_switched_on() -> None:
    world = World()
    result = await world.sync(target=CONFIGMAP)
    assert not result.ok and world.kube.config_maps == {} and world.kube.secrets == {}
    ready = world.ready()
    assert ready is not None and manifest.MSG_DISABLED in ready[2]


async def test_other_kinds_are_refused_by_name() -> None:
    world = generic(World())
    await world.sync(target={"manifest": {"apiVersion": "apps/v1", "kind": "Deployment"}})
    ready = world.ready()
    assert ready is not None and ready[0] == "False"
    assert "spec.target.manifest: apps/v1/Deployment is not supported by asyncso" in ready[2]


async def test_binary_values_are_refused_for_a_configmap() -> None:
    world = generic(World({"bin": "//4="}))  # b"\xff\xfe"
    data = [{"secretKey": "blob", "remoteRef": {"key": "bin", "decodingStrategy": "Base64"}}]
    await world.sync(target=CONFIGMAP, data=data)
    ready = world.ready()
    assert ready is not None and "the value of key 'blob' is not UTF-8 text" in ready[2]
    assert world.kube.config_maps == {}


async def test_remote_gone_with_delete_deletes_the_configmap() -> None:
    world = generic(World({"db": '{"pw":"p"}'}))
    target = {**CONFIGMAP, "deletionPolicy": "Delete"}
    await world.sync(target=target)
    assert (NS, "es1") in world.kube.config_maps
    world.view.stores[("SecretStore", NS, "store")] = fake_store({"other": "x"})
    await world.sync(target=target)
    assert world.kube.config_maps == {}
    assert world.ready() == ("True", manifest.REASON_DELETED, manifest.MSG_DELETED)


def test_the_view_keeps_no_managed_fields_of_externalsecrets() -> None:
    from asyncso import app

    raw = msgspec.json.encode(
        {
            "metadata": {
                "name": "es1",
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
            },
            "spec": {},
        }
    )
    es = app._without_managed_fields(msgspec.json.decode(raw, type=model.ExternalSecret))
    assert es.metadata.managed_fields == [] and es.metadata.name == "es1"
