"""The cheap paths of a routine refresh, and that they change nothing a sync reports.

At thousands of refreshes a cycle each hop counts: the merge runs on the event loop unless the
work is large or the user's (rewrite, template); these tests pin where it runs and that the
Secret and status come out the same either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import core_fixtures
import pytest
from test_reconciler import KEY, NS, World

from asyncso import model, plan, providers, secret_data, stores, timing, validation
from asyncso.providers import fake


@pytest.fixture
def merge_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread every `secret_data.merge` ran in."""
    threads: list[int] = []
    real = secret_data.merge

    def spy(spec: Any, fetched: secret_data.Fetched) -> dict[str, bytes]:
        threads.append(threading.get_ident())
        return real(spec, fetched)

    monkeypatch.setattr(secret_data, "merge", spy)
    return threads


async def test_a_plain_merge_runs_on_the_loop(merge_threads: list[int]) -> None:
    world = World()
    assert (await world.sync()).ok
    assert merge_threads == [threading.get_ident()]
    assert world.kube.secrets[(NS, "es1")].data == {"password": b"p"}
    assert world.ready() == ("True", plan.REASON_SYNCED, plan.MSG_SYNCED)


async def test_a_rewrite_merges_in_a_worker_thread(merge_threads: list[int]) -> None:
    world = World()
    rewrite = [{"regexp": {"source": "^pw$", "target": "pass"}}]
    result = await world.sync(data=[], data_from=[{"extract": {"key": "db"}, "rewrite": rewrite}])
    assert result.ok
    assert len(merge_threads) == 1 and merge_threads[0] != threading.get_ident()
    assert world.kube.secrets[(NS, "es1")].data == {"pass": b"p"}


async def test_large_data_merges_in_a_worker_thread(merge_threads: list[int]) -> None:
    big = "x" * (secret_data.INLINE_BYTES + 1)
    world = World({"db": f'{{"pw":"{big}"}}'})
    assert (await world.sync()).ok
    assert len(merge_threads) == 1 and merge_threads[0] != threading.get_ident()
    assert world.kube.secrets[(NS, "es1")].data == {"password": big.encode()}


# --- syncs whose every value is held: no task, no wait ------------------------------------------


class HeldProvider(fake.FakeSecretsProvider):
    """The fake provider, with some remote values held (as the shared reads hold them)."""

    def __init__(self, data: list[model.FakeProviderData], held: dict[str, bytes]) -> None:
        super().__init__(data)
        self.held = held
        self.reads: list[str] = []

    def read_cached(self, ref: model.RemoteRef) -> bytes | None:
        return self.held.get(ref.key)

    async def read(self, ref: model.RemoteRef) -> bytes:
        self.reads.append(ref.key)
        return await super().read(ref)


class HeldFactory(fake.FakeProviderFactory):
    def __init__(self, held: dict[str, bytes]) -> None:
        super().__init__()
        self.held = held
        self.made: list[HeldProvider] = []

    async def provider_for(self, store: model.SecretStore, *, namespace: str) -> HeldProvider:
        spec = store.spec.provider.fake
        provider = HeldProvider(spec.data if spec is not None else [], self.held)
        self.made.append(provider)
        return provider


def holding(world: World, held: dict[str, bytes]) -> HeldFactory:
    factory = HeldFactory(held)
    world.reconciler.registry = providers.ProviderRegistry([factory])
    return factory


@contextlib.contextmanager
def counting_tasks() -> Iterator[list[str]]:
    """The coroutine of every task created on the running loop meanwhile."""
    loop = asyncio.get_running_loop()
    made: list[str] = []
    old = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Future[Any]:
        made.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kw)

    loop.set_task_factory(factory)
    try:
        yield made
    finally:
        loop.set_task_factory(old)


TWO = [
    {"secretKey": "password", "remoteRef": {"key": "db", "property": "pw"}},
    {"secretKey": "user", "remoteRef": {"key": "db", "property": "user"}},
]
REMOTE = {"db": '{"pw":"p","user":"u"}', "other": '{"x":"1"}'}


async def test_every_value_held_syncs_without_a_task_or_a_read() -> None:
    world = World(REMOTE)
    factory = holding(world, {"db": REMOTE["db"].encode(), "other": REMOTE["other"].encode()})
    data_from = [{"extract": {"key": "other"}}]
    with counting_tasks() as tasks:
        assert (await world.sync(data=TWO, data_from=data_from)).ok
    assert tasks == []
    assert [p.reads for p in factory.made] == [[]]
    assert world.kube.secrets[(NS, "es1")].data == {"password": b"p", "user": b"u", "x": b"1"}
    assert world.ready() == ("True", plan.REASON_SYNCED, plan.MSG_SYNCED)


async def test_only_the_values_not_held_are_awaited() -> None:
    world = World(REMOTE)
    factory = holding(world, {"db": REMOTE["db"].encode()})
    data = [*TWO, {"secretKey": "x", "remoteRef": {"key": "other", "property": "x"}}]
    with counting_tasks() as tasks:
        assert (await world.sync(data=data)).ok
    assert [p.reads for p in factory.made] == [["other"]]
    assert tasks == ["_value"]  # the one read awaited
    assert world.kube.secrets[(NS, "es1")].data == {"password": b"p", "user": b"u", "x": b"1"}


async def test_a_held_value_fails_a_sync_as_a_read_value_would() -> None:
    data = [{"secretKey": "password", "remoteRef": {"key": "db", "property": "missing"}}]
    awaited = World(REMOTE)
    holding(awaited, {})
    assert not (await awaited.sync(data=data)).ok
    held = World(REMOTE)
    holding(held, {"db": REMOTE["db"].encode()})
    assert not (await held.sync(data=data)).ok
    assert held.ready() == awaited.ready()
    assert held.ready() is not None and held.ready()[0] == "False"  # type: ignore[index]
    assert held.kube.statuses == awaited.kube.statuses
    assert [(e.reason, e.message) for e in held.kube.events] == [
        (e.reason, e.message) for e in awaited.kube.events
    ]


# --- the spec checks: once per generation ------------------------------------------------------


@pytest.fixture
def validated(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(uid, generation) of every ExternalSecret `validation.validate` checked."""
    seen: list[tuple[str, int]] = []
    real = validation.validate

    def spy(es: model.ExternalSecret) -> None:
        seen.append((es.metadata.uid, es.metadata.generation))
        real(es)

    monkeypatch.setattr(validation, "validate", spy)
    return seen


async def test_status_echoes_of_one_generation_are_checked_once(
    validated: list[tuple[str, int]],
) -> None:
    world = World()
    for _ in range(3):  # each sync sees a new object: the watch's echo of the status write
        assert (await world.sync()).ok
    assert validated == [("uid-1", 1)]
    assert (await world.sync(labels={"team": "a"})).ok  # metadata only: same generation
    assert validated == [("uid-1", 1)]


async def test_a_new_generation_or_object_is_checked_again(
    validated: list[tuple[str, int]],
) -> None:
    world = World()
    assert (await world.sync()).ok
    bad = {"target": {"creationPolicy": "None", "deletionPolicy": "Merge"}}
    for _ in range(2):  # an invalid verdict is never kept
        assert not (await world.sync(generation=2, **bad)).ok
        ready = world.ready()
        assert ready is not None and validation.MSG_MERGE_NOT_WITH_NONE in ready[2]
    # Deleted and created again (its old Secret is another object's now: not ours to judge).
    await world.sync(uid="uid-2", generation=2)
    world.reconciler.forget(KEY)
    await world.sync(uid="uid-2", generation=2)
    assert validated == [("uid-1", 1), ("uid-1", 2), ("uid-1", 2), ("uid-2", 2), ("uid-2", 2)]


async def test_objects_without_uid_or_generation_are_always_checked(
    validated: list[tuple[str, int]],
) -> None:
    world = World()
    for _ in range(2):
        assert (await world.sync(generation=0)).ok
    for _ in range(2):
        await world.sync(uid="")
    assert validated == [("uid-1", 0), ("uid-1", 0), ("", 1), ("", 1)]


# --- the synced version: hashed once while what it hashes is unchanged ---------------------------


async def test_the_synced_version_is_hashed_again_only_when_its_inputs_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashed: list[tuple[int, dict[str, str]]] = []
    real = timing.synced_resource_version

    def spy(es: model.ExternalSecret, *, store_version: str = "") -> str:
        hashed.append((es.metadata.generation, dict(es.metadata.labels)))
        return real(es, store_version=store_version)

    monkeypatch.setattr(timing, "synced_resource_version", spy)
    world = World()

    def written() -> str:
        return str(world.kube.statuses[("ExternalSecret", NS, "es1")]["syncedResourceVersion"])

    for _ in range(3):
        assert (await world.sync()).ok
    assert hashed == [(1, {})]
    first = written()
    assert (await world.sync(labels={"team": "a"})).ok
    assert (await world.sync(labels={"team": "a"})).ok
    assert (await world.sync(labels={"team": "a"}, generation=2)).ok
    assert hashed == [(1, {}), (1, {"team": "a"}), (2, {"team": "a"})]
    assert written() != first
    assert written() == real(
        core_fixtures.es(labels={"team": "a"}, generation=2),
        store_version=stores.version_of(NS, world_store_ref(), world.view.stores),
    )


def world_store_ref() -> model.StoreRef:
    return model.StoreRef(name="store", kind="SecretStore")
