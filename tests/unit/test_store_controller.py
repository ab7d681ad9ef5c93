"""The store controller without a cluster: verdicts, status, gauges, wake-ups, tenancy."""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
import pytest

from asyncso import fake_kube, metrics, model, providers, settings, store_controller, stores, view
from asyncso.providers import aws_factory, fake

NS = "team-a"
KEY = ("SecretStore", NS, "s")


def raw(
    spec: dict[str, Any],
    *,
    generation: int = 1,
    conditions: Any = None,
    labels: dict[str, str] | None = None,
) -> msgspec.Raw:
    meta = {"name": "s", "namespace": NS, "generation": generation, "uid": "u"}
    body: dict[str, Any] = {
        "kind": "SecretStore",
        "metadata": {**meta, "labels": labels or {}},
        "spec": spec,
    }
    if conditions is not None:
        body["status"] = {"conditions": conditions}
    return msgspec.Raw(msgspec.json.encode(body))


FAKE = {"provider": {"fake": {"data": [{"key": "db", "value": "v"}]}}}


class World:
    def __init__(self, *, controller_class: str = "default") -> None:
        self.kube = fake_kube.FakeKube()
        self.view = view.View()
        self.woken: list[model.Key] = []
        config = settings.Settings(controller_class=controller_class)
        registry = providers.ProviderRegistry(
            [aws_factory.AwsProviderFactory(self.kube, config), fake.FakeProviderFactory()]
        )
        self.controller = store_controller.StoreController(
            state=self.view,
            kube_client=self.kube,
            registry=registry,
            config=config,
            wake=self.woken.append,
            clock=lambda: 1_700_000_000.0,
        )

    async def see(self, spec: dict[str, Any], **kwargs: Any) -> None:
        self.controller.on_event("ADDED", (NS, "s"), raw(spec, **kwargs))
        await self.controller.validate(KEY)

    def ready(self) -> tuple[str, str, str] | None:
        return self.kube.ready("SecretStore", NS, "s")


@pytest.mark.parametrize(
    ("spec", "ready"),
    [
        (FAKE, ("True", stores.REASON_VALID, stores.MSG_VALID)),
        (
            {"provider": {"fake": {"data": [{"key": ""}]}}},
            ("False", stores.REASON_INVALID_PROVIDER, "spec.provider.fake.data[0].key: empty"),
        ),
        (
            {"provider": {"vault": {}}},
            (
                "False",
                stores.REASON_INVALID_PROVIDER,
                "spec.provider.vault is not supported by asyncso",
            ),
        ),
    ],
)
async def test_verdict_status_and_gauge(spec: dict[str, Any], ready: tuple[str, str, str]) -> None:
    world = World()
    await world.see(spec)
    assert world.ready() == ready
    ok = ready[0] == "True"
    assert world.view.store_verdicts[KEY] == stores.Verdict(1, ok, "" if ok else ready[2])
    gauge = metrics.REGISTRY.get_sample_value(
        "secretstore_status_condition",
        {"name": "s", "namespace": NS, "condition": "Ready", "status": "True"},
    )
    assert gauge == (1.0 if ok else 0.0)


async def test_an_undecodable_store_is_invalid_configuration() -> None:
    world = World()
    await world.see({"provider": {"aws": {"service": "Nope"}}})
    ready = world.ready()
    assert ready is not None and ready[:2] == ("False", stores.REASON_INVALID_CONFIG)
    assert ready[2].startswith("invalid store: ")


async def test_an_unchanged_condition_is_not_rewritten() -> None:
    world = World()
    valid = [{"type": "Ready", "status": "True", "reason": "Valid", "message": "store validated"}]
    await world.see(FAKE, conditions=valid)
    assert world.kube.writes() == []


async def test_a_flipped_verdict_wakes_the_readers() -> None:
    world = World()
    reader = msgspec.convert(
        {"metadata": {"name": "es", "namespace": NS}, "spec": {"secretStoreRef": {"name": "s"}}},
        model.ExternalSecret,
    )
    world.view.put_externalsecret((NS, "es"), reader)
    await world.see(FAKE)
    assert world.woken == []  # a first verdict wakes nobody: the readers sync anyway
    entry = world.view.stores[KEY]
    assert entry.store is not None
    world.view.stores[KEY] = stores.StoreEntry(entry.meta, "SecretStore", None, invalid="gone")
    await world.controller.validate(KEY)
    assert world.woken == [(NS, "es")]


async def test_on_change_hears_of_the_stores_whose_readers_are_woken() -> None:
    """The PushSecret controller's hook: told of a spec change and of a flipped verdict, not of
    a status-only change (often our own write)."""
    world = World()
    changed: list[stores.StoreKey] = []
    world.controller.on_change = changed.append
    await world.see(FAKE)
    assert changed == []  # `run` not started: it validates everything at start
    async with anyio.create_task_group() as tasks:
        await tasks.start(world.controller.run)
        await anyio.sleep(0.01)
        world.controller.on_event("MODIFIED", (NS, "s"), raw(FAKE))  # status only
        assert changed == []
        relabelled = raw(FAKE, labels={"push": "yes"})
        world.controller.on_event("MODIFIED", (NS, "s"), relabelled)  # same generation
        assert changed == [KEY] and world.woken == []  # ExternalSecrets name stores
        changed.clear()
        world.controller.on_event("MODIFIED", (NS, "s"), raw(FAKE, generation=2))
        assert changed == [KEY]
        world.controller.on_event("DELETED", (NS, "s"), raw(FAKE, generation=2))
        assert changed == [KEY, KEY]
        tasks.cancel_scope.cancel()
    entry_less = World()
    entry_less.controller.on_change = changed.append
    await entry_less.see(FAKE)
    entry = entry_less.view.stores[KEY]
    entry_less.view.stores[KEY] = stores.StoreEntry(entry.meta, "SecretStore", None, invalid="x")
    await entry_less.controller.validate(KEY)  # the verdict flips
    assert changed == [KEY, KEY, KEY]


async def test_a_store_of_another_controller_class_is_left_alone() -> None:
    world = World(controller_class="mine")
    await world.see({**FAKE, "controller": "theirs"})
    assert world.kube.calls == [] and KEY not in world.view.store_verdicts


async def test_status_only_changes_do_not_revalidate() -> None:
    world = World()
    validated: list[stores.StoreKey] = []

    async def record(key: stores.StoreKey) -> None:
        validated.append(key)

    world.controller.validate = record  # type: ignore[method-assign]
    async with anyio.create_task_group() as tasks:
        await tasks.start(world.controller.run)
        await anyio.sleep(0.01)
        assert validated == []  # nothing known yet
        world.controller.on_event("ADDED", (NS, "s"), raw(FAKE))
        await anyio.sleep(0.01)
        world.view.store_verdicts[KEY] = stores.Verdict(1, True)
        world.controller.on_event("MODIFIED", (NS, "s"), raw(FAKE))  # same generation
        world.controller.on_event("MODIFIED", (NS, "s"), raw(FAKE, generation=2))
        await anyio.sleep(0.01)
        tasks.cancel_scope.cancel()
    assert validated == [KEY, KEY]


@pytest.mark.parametrize(
    ("auth", "kind", "field"),
    [
        (
            {"jwt": {"serviceAccountRef": {"name": "../../victim/serviceaccounts/irsa"}}},
            "SecretStore",
            "jwt.serviceAccountRef.name",
        ),
        (
            {
                "secretRef": {
                    "accessKeyIDSecretRef": {"name": "../../victim/secrets/x", "key": "k"},
                    "secretAccessKeySecretRef": {"name": "creds", "key": "k"},
                }
            },
            "SecretStore",
            "secretRef.accessKeyIDSecretRef.name",
        ),
    ],
)
async def test_store_names_that_leave_the_namespace_are_refused(
    auth: dict[str, Any], kind: str, field: str
) -> None:
    world = World()
    spec = {"provider": {"aws": {"service": "SecretsManager", "region": "x", "auth": auth}}}
    await world.see(spec)
    assert [c[0] for c in world.kube.calls] == ["patch_status"]  # nothing read, no token
    ready = world.ready()
    assert ready is not None and ready[:2] == ("False", stores.REASON_INVALID_PROVIDER)
    assert ready[2].startswith(f"spec.provider.aws.auth.{field}: ")
    assert world.kube.tokens == []
