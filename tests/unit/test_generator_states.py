"""ESO's GeneratorState rules (pure) and controller (on `FakeKube`): owner keys as ESO hashes
them, which state is latest, the finalizer, the generator's cleanup before it goes, deletion
after the garbage-collection deadline, and retries that never spin."""

from __future__ import annotations

import hashlib
from typing import Any

import anyio
import msgspec
import pytest

from asyncso import fake_kube, model, model_generators
from asyncso.generators import registry, state_controller, state_rules

NS = "ns"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
FINALIZER = model_generators.STATE_FINALIZER


def state(name: str, **spec: Any) -> dict[str, Any]:
    meta = spec.pop("metadata", {})
    return {
        "apiVersion": model_generators.API_VERSION,
        "kind": "GeneratorState",
        "metadata": {"name": name, "namespace": NS, "resourceVersion": "1", **meta},
        "spec": {"resource": {"kind": "Tracked", "spec": {}}, "state": {"id": name}, **spec},
    }


class Tracked:
    """A stateful generator kind whose cleanups are recorded."""

    kind = "Tracked"
    spec_type: type[Any] = model_generators.FakeSpec

    def __init__(self) -> None:
        self.cleaned: list[Any] = []

    async def generate(self, spec: Any, *, namespace: str, name: str) -> model_generators.Output:
        return model_generators.Output(values={})

    async def cleanup(self, spec: Any, state: Any, *, namespace: str) -> None:
        self.cleaned.append(state)


class World:
    def __init__(self) -> None:
        self.now = NOW
        self.kube = fake_kube.FakeKube()
        self.tracked = Tracked()
        self.controller = state_controller.StateController(
            kube_client=self.kube,
            generators=registry.GeneratorRegistry(self.kube, [self.tracked]),
            clock=lambda: self.now,
        )

    def see(self, body: dict[str, Any], event: str = "ADDED") -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        self.kube.generator_states[key] = body
        self.controller.on_event(event, key, msgspec.Raw(msgspec.json.encode(body)))


def test_owner_key_is_esos_hash() -> None:
    """ESO's ObjectHash of "<kind>-<namespace>-<name>-<index>": sha3-224 of Go's `%+v`, which
    for a string is the string itself; states written by ESO are recognised."""
    expected = hashlib.sha3_224(b"ExternalSecret-ns-es1-0").hexdigest()
    assert state_rules.owner_key("ExternalSecret", "ns", "es1", "0") == expected
    owner = msgspec.convert(
        {"metadata": {"name": "es1", "namespace": "ns"}, "spec": {}}, model.ExternalSecret
    )
    assert state_rules.key_of(owner, 0) == expected


def test_latest_and_superseded() -> None:
    def decoded(
        name: str, created: str, deadline: str | None = None
    ) -> model_generators.GeneratorState:
        body = state(name, metadata={"creationTimestamp": created})
        if deadline:
            body["spec"]["garbageCollectionDeadline"] = deadline
        return msgspec.convert(body, model_generators.GeneratorState)

    a = decoded("a", "2026-01-01T00:00:00Z")
    b = decoded("b", "2026-01-01T00:02:00Z")
    c = decoded("c", "2026-01-01T00:05:00Z", deadline="2026-01-01T00:06:00Z")  # flagged
    assert state_rules.latest([a, b, c]) is b
    assert [s.metadata.name for s in state_rules.superseded([a, b, c])] == ["a"]
    assert state_rules.latest([c]) is None and state_rules.superseded([]) == []


def test_a_long_owner_name_makes_a_valid_generate_name() -> None:
    owner = msgspec.convert(
        {"metadata": {"name": "x" * 200 + ".y", "namespace": NS, "uid": "u"}, "spec": {}},
        model.ExternalSecret,
    )
    made = model_generators.Generated(
        kind="Tracked", output=model_generators.Output({}, state=1), resource={}
    )
    body = state_rules.new_state(state_rules.external_secret(owner), key="3", generated=made)
    prefix = body["metadata"]["generateName"]
    assert (
        prefix.startswith("gen-externalsecret-xxx") and prefix.endswith("-") and len(prefix) <= 58
    )


async def test_a_new_state_gets_the_finalizer() -> None:
    world = World()
    world.see(state("s1"))
    await world.controller.handle((NS, "s1"))
    assert world.kube.generator_states[(NS, "s1")]["metadata"]["finalizers"] == [FINALIZER]


async def test_a_deleted_state_is_cleaned_up_then_let_go() -> None:
    world = World()
    world.see(
        state(
            "s1",
            metadata={
                "finalizers": [FINALIZER, "other"],
                "deletionTimestamp": "2026-01-01T00:00:00Z",
            },
        )
    )
    await world.controller.handle((NS, "s1"))
    assert world.tracked.cleaned == [{"id": "s1"}]
    assert world.kube.generator_states[(NS, "s1")]["metadata"]["finalizers"] == ["other"]


async def test_a_state_of_an_unknown_kind_keeps_its_finalizer() -> None:
    world = World()
    body = state(
        "s1", metadata={"finalizers": [FINALIZER], "deletionTimestamp": "2026-01-01T00:00:00Z"}
    )
    body["spec"]["resource"] = {"kind": "VaultDynamicSecret"}
    world.see(body)
    with pytest.raises(
        Exception, match="could not get generator: generator 'VaultDynamicSecret' not found"
    ):
        await world.controller.handle((NS, "s1"))
    assert world.kube.generator_states[(NS, "s1")]["metadata"]["finalizers"] == [FINALIZER]


async def test_a_state_past_its_deadline_is_deleted_by_the_loop_and_failures_wait() -> None:
    world = World()
    world.see(
        state(
            "due",
            metadata={"finalizers": [FINALIZER]},
            garbageCollectionDeadline="2025-12-31T23:59:00Z",
        )
    )
    world.see(
        state(
            "later",
            metadata={"finalizers": [FINALIZER]},
            garbageCollectionDeadline="2026-01-01T01:00:00Z",
        )
    )
    broken = state(
        "broken", metadata={"finalizers": [FINALIZER], "deletionTimestamp": "2026-01-01T00:00:00Z"}
    )
    broken["spec"]["resource"] = {"kind": "Nope"}
    world.see(broken)
    async with anyio.create_task_group() as tasks:
        await tasks.start(world.controller.run)
        await anyio.sleep(0.05)
        tasks.cancel_scope.cancel()
    deletes = [c for c in world.kube.calls if c[0] == "delete_generator_state"]
    assert deletes == [("delete_generator_state", NS, "due")]  # not "later", not twice
    assert (NS, "broken") in world.controller._retry_at  # tried once, then waits
    assert world.controller._next_wait() == pytest.approx(state_controller.RETRY)
    assert sum(1 for c in world.kube.calls if c[2] == "broken") == 0  # nothing written for it


async def run_briefly(world: World, seconds: float = 0.2) -> None:
    async with anyio.create_task_group() as tasks:
        await tasks.start(world.controller.run)
        await anyio.sleep(seconds)
        tasks.cancel_scope.cancel()


async def test_a_write_is_not_repeated_before_the_watch_brings_its_result() -> None:
    world = World()
    world.see(state("new"))  # no finalizer yet; the fake sends no MODIFIED afterwards
    await run_briefly(world)
    assert [c for c in world.kube.calls if c[0] == "patch_generator_state"] == [
        ("patch_generator_state", NS, "new")
    ]


async def test_a_replica_that_is_not_leader_writes_nothing() -> None:
    world = World()
    world.controller.may_write = lambda: False
    world.see(state("due", garbageCollectionDeadline="2025-12-31T23:59:00Z"))
    world.see(state("new"))
    await run_briefly(world)
    assert world.kube.calls == []


async def test_an_event_that_arrives_during_the_write_is_not_ignored() -> None:
    """The PATCH's own MODIFIED event can come before the PATCH returns: the state is handled
    again at once, not after the retry delay."""
    world = World()
    world.see(state("s1", garbageCollectionDeadline="2025-12-31T23:59:00Z"))
    real_patch = world.kube.patch_generator_state

    async def patch_then_event(namespace: str, name: str, patch: dict[str, Any]) -> None:
        await real_patch(namespace, name, patch)
        world.see(world.kube.generator_states[(namespace, name)], event="MODIFIED")

    world.kube.patch_generator_state = patch_then_event  # type: ignore[method-assign]
    await run_briefly(world)
    assert ("delete_generator_state", NS, "s1") in world.kube.calls
