"""`Reconciler.sync` without a cluster: the view, the fake provider and `FakeKube`.

Each case states the cluster before, the ExternalSecret, and what the sync must write and
report. The real wire is proven by the integration tests; these pin the orchestration: policies,
ownership, finalizers, conflict → re-plan, "the same failure is not re-written", the leader
gate, and names from the spec that must never reach another namespace.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from core_fixtures import es as make_es
from core_fixtures import secret as make_secret

from asyncso import (
    errors,
    fake_kube,
    model,
    plan,
    providers,
    reconciler,
    scheduler,
    settings,
    stores,
    view,
)
from asyncso.providers import fake

NS = "ns"
KEY = (NS, "es1")
DATA = [{"secretKey": "password", "remoteRef": {"key": "db", "property": "pw"}}]


def fake_store(data: dict[str, str], *, name: str = "store") -> stores.StoreEntry:
    body = {
        "metadata": {"name": name, "namespace": NS, "uid": "store-uid", "generation": 1},
        "spec": {"provider": {"fake": {"data": [{"key": k, "value": v} for k, v in data.items()]}}},
    }
    store = msgspec.convert(body, model.SecretStore)
    return stores.StoreEntry(meta=store.metadata, kind="SecretStore", store=store)


class World:
    """A view, a FakeKube and a reconciler over them, at a fixed clock."""

    def __init__(self, remote: dict[str, str] | None = None, *, leader: bool = True) -> None:
        self.kube = fake_kube.FakeKube()
        self.view = view.View()
        entry = fake_store({"db": '{"pw":"p"}'} if remote is None else remote)
        self.view.stores[("SecretStore", NS, "store")] = entry
        self.leader = leader
        self.reconciler = reconciler.Reconciler(
            state=self.view,
            kube_client=self.kube,
            registry=providers.ProviderRegistry([fake.FakeProviderFactory()]),
            config=settings.Settings(),
            clock=lambda: 1_700_000_000.0,
            rand=lambda: 0.5,
            may_write=lambda: self.leader,
        )

    def seed(self, secret: model.Secret) -> model.Secret:
        """A Secret that exists, as the watch of managed Secrets would have recorded it."""
        stored = self.kube.put_secret(secret)
        meta = stored.metadata
        if meta.labels.get(model.LABEL_MANAGED) == "true":
            record = view.SecretRecord(meta.resource_version, plan.is_valid(stored))
            self.view.secrets[(meta.namespace, meta.name)] = record
        return stored

    def put(self, item: model.ExternalSecret | view.InvalidObject) -> None:
        self.view.put_externalsecret(KEY, item)

    async def sync(self, **es: Any) -> scheduler.SyncResult:
        """Sync the ExternalSecret built from `es`, with the status last written (as the watch
        would deliver it)."""
        written = self.kube.statuses.get(("ExternalSecret", NS, "es1"))
        self.put(make_es(**{"data": DATA, "status": written, **es}))
        return await self.reconciler.sync(KEY)

    def ready(self) -> tuple[str, str, str] | None:
        return self.kube.ready("ExternalSecret", NS, "es1")


def managed(es: model.ExternalSecret, data: dict[str, bytes]) -> model.Secret:
    """A Secret as a previous sync of `es` wrote it."""
    written = plan.plan_sync(es, model.SecretContent(data, {}, {}, "Opaque"), None).secret
    assert written is not None
    return written


# --- the happy path and the policies -----------------------------------------------------------


async def test_first_sync_creates_the_secret_and_reports_ready() -> None:
    world = World()
    result = await world.sync()
    assert result.ok and result.next_at is not None
    secret = world.kube.secrets[(NS, "es1")]
    assert secret.data == {"password": b"p"}
    assert secret.metadata.labels[model.LABEL_MANAGED] == "true"
    assert world.ready() == ("True", plan.REASON_SYNCED, plan.MSG_SYNCED)
    status = world.kube.statuses[("ExternalSecret", NS, "es1")]
    assert status["binding"] == {"name": "es1"} and status["syncedResourceVersion"]
    assert [(e.type, e.reason) for e in world.kube.events] == [("Normal", "Created")]


@pytest.mark.parametrize(
    ("target", "existing", "writes", "ready"),
    [
        ({"creationPolicy": "None"}, False, [], ("True", plan.REASON_SYNCED)),
        ({"creationPolicy": "Merge"}, False, [], ("False", plan.REASON_MISSING)),
        ({"creationPolicy": "Merge"}, True, ["replace_secret"], ("True", plan.REASON_SYNCED)),
        ({"creationPolicy": "Orphan"}, False, ["create_secret"], ("True", plan.REASON_SYNCED)),
        (
            {"creationPolicy": "Owner", "deletionPolicy": "Delete"},
            False,
            ["set_finalizers", "create_secret"],
            ("True", plan.REASON_SYNCED),
        ),
    ],
)
async def test_creation_policies(
    target: dict[str, str], existing: bool, writes: list[str], ready: tuple[str, str]
) -> None:
    world = World()
    if existing:
        world.kube.put_secret(make_secret(data={"foreign": b"kept"}))
    await world.sync(target=target)
    verbs = [verb for verb, _, _ in world.kube.writes() if verb != "patch_status"]
    assert verbs == writes
    assert world.ready() is not None and world.ready()[:2] == ready  # type: ignore[index]
    if existing:
        assert world.kube.secrets[(NS, "es1")].data == {"foreign": b"kept", "password": b"p"}


async def test_a_target_owned_by_another_externalsecret_is_left_alone() -> None:
    world = World()
    other = make_es(name="other", uid="uid-other", data=DATA)
    world.seed(
        msgspec.structs.replace(
            managed(other, {"password": b"theirs"}),
            metadata=msgspec.structs.replace(
                managed(other, {"password": b"theirs"}).metadata, name="es1"
            ),
        )
    )
    before = world.kube.secrets[(NS, "es1")]
    result = await world.sync()
    assert not result.ok and result.retry
    assert world.kube.secrets[(NS, "es1")] == before
    ready = world.ready()
    assert ready is not None and ready[0] == "False" and plan.MSG_IS_OWNED in ready[2]


async def test_a_create_conflict_replans_from_a_fresh_read() -> None:
    """The view says "no Secret" (it lags, or the Secret is not labelled managed), the create
    meets 409, the sync reads the Secret and updates it instead."""
    world = World()
    world.kube.put_secret(make_secret(data={"old": b"x"}))  # not in the view
    result = await world.sync()
    assert result.ok
    verbs = [verb for verb, _, _ in world.kube.calls if verb.endswith("_secret")]
    assert verbs == ["create_secret", "get_secret", "replace_secret"]
    assert world.kube.secrets[(NS, "es1")].data == {"password": b"p"}


async def test_the_same_failure_is_reported_once() -> None:
    world = World(remote={})  # the remote secret does not exist
    first = await world.sync()
    second = await world.sync()
    assert not first.ok and first.retry and not second.ok
    assert [c[0] for c in world.kube.writes()] == ["patch_status"]  # not twice
    ready = world.ready()
    assert ready is not None and ready[:2] == ("False", plan.REASON_ERROR)
    assert "'db' not found" in ready[2]
    assert (NS, "es1") not in world.kube.secrets


async def test_remote_gone_with_deletion_policy_delete_deletes_the_managed_secret() -> None:
    world = World(remote={})
    item = make_es(data=DATA, target={"deletionPolicy": "Delete"})
    world.seed(managed(item, {"password": b"p"}))
    item = msgspec.structs.replace(
        item, metadata=msgspec.structs.replace(item.metadata, finalizers=[model.FINALIZER])
    )
    world.put(item)
    result = await world.reconciler.sync(KEY)
    assert result.ok
    assert (NS, "es1") not in world.kube.secrets
    assert world.ready() == ("True", plan.REASON_DELETED, plan.MSG_DELETED)


async def test_finalizer_deletes_the_managed_target_then_lets_go() -> None:
    world = World()
    item = make_es(data=DATA, target={"deletionPolicy": "Delete"})
    world.kube.put_secret(managed(item, {"password": b"p"}))
    meta = msgspec.structs.replace(
        item.metadata,
        finalizers=[model.FINALIZER, "other"],
        deletion_timestamp="2024-01-01T00:00:00Z",
    )
    world.put(msgspec.structs.replace(item, metadata=meta))
    assert (await world.reconciler.sync(KEY)).ok
    assert (NS, "es1") not in world.kube.secrets
    assert world.kube.finalizers[("ExternalSecret", NS, "es1")] == ["other"]


async def test_a_transient_status_failure_retries() -> None:
    world = World()
    world.kube.fail_next["patch_status"] = errors.api_error(503, "unavailable")
    result = await world.sync()
    assert not result.ok and result.retry
    assert (NS, "es1") in world.kube.secrets  # the write happened; only the report failed


async def test_a_replica_that_is_not_leader_writes_nothing() -> None:
    world = World(leader=False)
    result = await world.sync()
    assert not result.ok and result.retry
    assert world.kube.calls == []


async def test_an_undecodable_externalsecret_gets_a_condition() -> None:
    world = World()
    world.put(view.InvalidObject(meta=model.ObjectMeta(name="es1", namespace=NS), error="bad"))
    result = await world.reconciler.sync(KEY)
    assert not result.ok and not result.retry
    assert world.ready() == ("False", plan.REASON_ERROR, "invalid ExternalSecret: bad")


async def test_a_store_of_another_controller_class_is_skipped() -> None:
    world = World()
    entry = world.view.stores[("SecretStore", NS, "store")]
    assert entry.store is not None
    theirs = msgspec.structs.replace(
        entry.store, spec=msgspec.structs.replace(entry.store.spec, controller="another")
    )
    world.view.stores[("SecretStore", NS, "store")] = stores.StoreEntry(
        entry.meta, "SecretStore", theirs
    )
    assert (await world.sync()).ok
    assert world.kube.calls == []


async def test_a_failed_store_verdict_stops_the_sync() -> None:
    world = World()
    world.view.store_verdicts[("SecretStore", NS, "store")] = stores.Verdict(1, False, "no creds")
    await world.sync()
    ready = world.ready()
    assert ready is not None and ready[2] == (
        "could not get store: SecretStore 'store' is not ready: no creds"
    )


# --- names from the spec never leave the namespace ---------------------------------------------

VICTIM = ("victim-ns", "victim")
TRAVERSALS = ["../../victim-ns/secrets/victim", "..%2F..%2Fvictim-ns%2Fsecrets%2Fvictim", "a/b"]


@pytest.mark.parametrize("name", TRAVERSALS)
@pytest.mark.parametrize(
    ("es", "field"),
    [
        ({"target": {"name": "{}", "creationPolicy": "Merge"}}, "spec.target.name"),
        (
            {"target": {"name": "{}", "deletionPolicy": "Delete"}},
            "spec.target.name",
        ),
        (
            {"target": {"template": {"templateFrom": [{"secret": {"name": "{}"}}]}}},
            "spec.target.template.templateFrom[0].secret.name",
        ),
        (
            {"target": {"template": {"templateFrom": [{"configMap": {"name": "{}"}}]}}},
            "spec.target.template.templateFrom[0].configMap.name",
        ),
    ],
)
async def test_traversal_names_are_refused_before_any_request(
    name: str, es: dict[str, Any], field: str
) -> None:
    world = World()
    victim = world.kube.put_secret(
        make_secret(name=VICTIM[1], namespace=VICTIM[0], data={"k": b"v"})
    )
    spec = msgspec.json.decode(msgspec.json.encode(es).replace(b"{}", name.encode()))
    result = await world.sync(**spec)
    assert not result.ok
    assert world.kube.secrets[VICTIM] == victim
    assert [c for c in world.kube.calls if c[0] != "patch_status" and c[0] != "emit_event"] == []
    ready = world.ready()
    assert ready is not None and ready[0] == "False"
    assert ready[2].startswith(f"invalid ExternalSecret: {field}: ")


async def test_finalizing_with_an_invalid_target_name_touches_nothing() -> None:
    """Admission refuses such a name; an object that has one anyway (a CRD without patterns)
    cannot own a Secret under it, so the finalizer goes and nothing else is touched."""
    world = World()
    victim = world.kube.put_secret(make_secret(name=VICTIM[1], namespace=VICTIM[0]))
    item = make_es(data=DATA, target={"name": TRAVERSALS[0], "deletionPolicy": "Delete"})
    meta = msgspec.structs.replace(
        item.metadata, finalizers=[model.FINALIZER], deletion_timestamp="2024-01-01T00:00:00Z"
    )
    world.put(msgspec.structs.replace(item, metadata=meta))
    assert (await world.reconciler.sync(KEY)).ok
    assert world.kube.secrets[VICTIM] == victim
    assert world.kube.writes() == [("set_finalizers", NS, "es1")]
