"""What a sync asks of the shared read path (`freshness.Want`), prefetching, and the refresh
that does not GET a target the watch shows as a previous sync left it (`settled`)."""

from __future__ import annotations

import msgspec
from core_fixtures import es as make_es
from test_reconciler import DATA, KEY, NS, fake_store

from asyncso import fake_kube, freshness, model, plan, providers, reconciler, settings, view
from asyncso.providers import fake

NOW = 1_700_000_000.0


class RecordingProvider(fake.FakeSecretsProvider):
    """The fake provider, noting the `Want` each read and prefetch was made under."""

    def __init__(self, values: dict[str, str], log: list[tuple[str, freshness.Want | None]]):
        super().__init__([model.FakeProviderData(key=k, value=v) for k, v in values.items()])
        self.log = log

    async def read(self, ref: model.RemoteRef) -> bytes:
        self.log.append(("read", freshness.current()))
        return await super().read(ref)

    def prefetch(self, ref: model.RemoteRef) -> None:
        self.log.append((f"prefetch {ref.key}", freshness.current()))


class RecordingFactory(fake.FakeProviderFactory):
    def __init__(self) -> None:
        self.values = {"db": '{"pw":"p"}'}
        self.log: list[tuple[str, freshness.Want | None]] = []

    async def provider_for(self, store: model.SecretStore, *, namespace: str) -> RecordingProvider:
        return RecordingProvider(self.values, self.log)


class World:
    def __init__(self) -> None:
        self.kube = fake_kube.FakeKube()
        self.view = view.View()
        self.view.stores[("SecretStore", NS, "store")] = fake_store({"db": '{"pw":"p"}'})
        self.factory = RecordingFactory()
        self.now = NOW
        self.reconciler = reconciler.Reconciler(
            state=self.view,
            kube_client=self.kube,
            registry=providers.ProviderRegistry([self.factory]),
            config=settings.Settings(),
            clock=lambda: self.now,
            rand=lambda: 0.5,
        )

    def watch_secret(self) -> None:
        """What the managed-Secret watch records about the target after a write."""
        secret = self.kube.secrets[(NS, "es1")]
        record = view.SecretRecord(secret.metadata.resource_version, plan.is_valid(secret))
        self.view.secrets[(NS, "es1")] = record

    async def sync(self, **es: object) -> None:
        written = self.kube.statuses.get(("ExternalSecret", NS, "es1"))
        self.view.put_externalsecret(KEY, make_es(**{"data": DATA, "status": written, **es}))
        result = await self.reconciler.sync(KEY)
        assert result.ok
        self.watch_secret()

    def wants(self) -> list[freshness.Want | None]:
        found = [want for what, want in self.factory.log if what == "read"]
        self.factory.log.clear()
        return found


async def test_a_new_externalsecret_reads_values_fetched_after_it_was_seen() -> None:
    world = World()
    world.view.changed_at[KEY] = NOW - 2
    await world.sync()
    assert world.wants() == [freshness.Want(reader=KEY, interval=3600, not_before=NOW - 2)]


async def test_a_routine_refresh_takes_values_up_to_one_interval_old() -> None:
    world = World()
    await world.sync()
    world.wants()
    world.now += 3600
    await world.sync()
    assert world.wants() == [freshness.Want(reader=KEY, interval=3600, not_before=world.now - 3600)]


async def test_the_shared_reads_keep_the_min_refresh_interval_floor() -> None:
    """A 1 s refreshInterval under `--min-refresh-interval 60` leases values for 60 s: the
    shared re-reads never come sooner than the floor allows the syncs to."""
    world = World()
    world.reconciler.settings = settings.Settings(min_refresh_interval=60.0)
    await world.sync(refresh_interval="1s")
    world.wants()
    world.now += 60
    await world.sync(refresh_interval="1s")
    assert world.wants() == [freshness.Want(reader=KEY, interval=60, not_before=world.now - 60)]


async def test_force_sync_and_spec_changes_read_afresh() -> None:
    world = World()
    await world.sync()
    world.now += 100
    world.view.changed_at[KEY] = world.now - 1  # the watch saw the annotation change
    await world.sync(annotations={"force-sync": "1"})
    [want] = world.wants()[-1:]
    assert want is not None and want.not_before == world.now - 1
    world.now += 100
    world.view.changed_at[KEY] = world.now
    await world.sync(annotations={"force-sync": "1"}, generation=2)
    [want] = world.wants()[-1:]
    assert want is not None and want.not_before == world.now


def test_not_before() -> None:
    assert freshness.not_before(now=100, interval=60, changed=False) == 40
    assert freshness.not_before(now=100, interval=0, changed=False) == 100  # OnChange: afresh
    assert freshness.not_before(now=100, interval=60, changed=True, changed_at=90) == 90
    assert freshness.not_before(now=100, interval=60, changed=True) == 100
    # Seen changed long ago (failing since): still no value older than one interval.
    assert freshness.not_before(now=100, interval=60, changed=True, changed_at=10) == 40
    assert freshness.not_before(now=100, interval=60, changed=True, changed_at=120) == 100


async def test_an_unchanged_target_is_not_read_again_on_refresh() -> None:
    world = World()
    await world.sync()  # creates the Secret (no GET: the view has no such target)
    assert [c[0] for c in world.kube.calls if c[0] == "get_secret"] == []
    world.kube.calls.clear()
    world.now += 3600
    await world.sync()
    verbs = [c[0] for c in world.kube.calls]
    assert "get_secret" not in verbs  # the view shows the Secret as written
    assert "replace_secret" not in verbs and "create_secret" not in verbs
    assert world.kube.ready("ExternalSecret", NS, "es1") == (
        "True",
        plan.REASON_SYNCED,
        plan.MSG_SYNCED,
    )


async def test_a_target_changed_by_someone_else_is_read_and_repaired() -> None:
    world = World()
    await world.sync()
    secret = world.kube.secrets[(NS, "es1")]
    labels = {**secret.metadata.labels, "team": "x"}
    edited = msgspec.structs.replace(
        secret, metadata=msgspec.structs.replace(secret.metadata, labels=labels)
    )
    world.kube.put_secret(edited)  # a new resourceVersion
    world.watch_secret()
    world.kube.calls.clear()
    await world.sync()
    assert "get_secret" in [c[0] for c in world.kube.calls]


async def test_a_changed_remote_value_is_written_after_a_read_of_the_target() -> None:
    world = World()
    await world.sync()
    world.factory.values["db"] = '{"pw":"new"}'
    world.kube.calls.clear()
    await world.sync()
    verbs = [c[0] for c in world.kube.calls]
    assert verbs.index("get_secret") < verbs.index("replace_secret")
    assert world.kube.secrets[(NS, "es1")].data == {"password": b"new"}
    world.kube.calls.clear()
    await world.sync()  # and the refresh after that reads nothing again
    assert "get_secret" not in [c[0] for c in world.kube.calls]


async def test_a_deleted_externalsecret_is_forgotten() -> None:
    world = World()
    await world.sync()
    assert len(world.reconciler.settled) == 1
    world.view.drop_externalsecret(KEY)
    await world.reconciler.sync(KEY)
    assert len(world.reconciler.settled) == 0


async def test_prefetch_starts_the_reads_of_the_next_syncs_under_their_want() -> None:
    world = World()
    data = [*DATA, {"secretKey": "user", "remoteRef": {"key": "user"}}]
    world.view.put_externalsecret(KEY, make_es(data=data))
    world.view.changed_at[KEY] = NOW - 5
    other = (NS, "gone")
    await world.reconciler.prefetch([KEY, other])
    want = freshness.Want(reader=KEY, interval=3600, not_before=NOW - 5)
    assert world.factory.log == [("prefetch db", want), ("prefetch user", want)]


async def test_a_replica_that_is_not_leader_prefetches_nothing() -> None:
    world = World()
    world.reconciler.may_write = lambda: False
    world.view.put_externalsecret(KEY, make_es(data=DATA))
    await world.reconciler.prefetch([KEY])
    assert world.factory.log == []
