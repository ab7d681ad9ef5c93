"""The PushSecret controller on `FakeKube` and the fake provider's pusher: ESO's statuses,
deletion policy, source-deleted cleanup, finalizer, refusals, templates, no writes when
unchanged, and no value in status or Events."""

from __future__ import annotations

from typing import Any

import msgspec

from asyncso import (
    model,
    model_generators,
    model_push,
    push_report,
    pushsecret_controller,
    settings,
    stores,
    view,
)
from asyncso.fake_kube import FakeKube
from asyncso.generators import fake, registry, state_controller, state_rules
from asyncso.providers import fake_push, push_registry
from asyncso.templates import engines

KEY = ("team", "push")
STORE = msgspec.convert(
    {
        "metadata": {"name": "fake", "namespace": "team", "generation": 1},
        "spec": {"provider": {"fake": {"data": [{"key": "taken", "value": "theirs"}]}}},
    },
    model.SecretStore,
)


class Harness:
    def __init__(self, **spec: Any) -> None:
        self.kube = FakeKube()
        self.state = view.View()
        key = stores.store_key("SecretStore", "team", "fake")
        self.state.stores[key] = stores.StoreEntry(STORE.metadata, "SecretStore", STORE)
        self.factory = fake_push.FakePusherFactory()
        self.leader = True
        self.controller = pushsecret_controller.PushSecretController(
            state=self.state,
            kube_client=self.kube,
            pushers=push_registry.PusherRegistry([self.factory]),
            config=settings.Settings(),
            may_write=lambda: self.leader,
        )
        self.body: dict[str, Any] = {
            "apiVersion": "external-secrets.io/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": "push", "namespace": "team", "generation": 1, "uid": "u"},
            "spec": {
                "secretStoreRefs": [{"name": "fake"}],
                "selector": {"secret": {"name": "src"}},
                "data": [{"match": {"secretKey": "pw", "remoteRef": {"remoteKey": "db-pw"}}}],
                **spec,
            },
        }
        self.source({"pw": b"hunter2", "user": b"alice"})

    def source(self, data: dict[str, bytes], name: str = "src", **labels: str) -> None:
        meta = model.ObjectMeta(name=name, namespace="team", labels=labels)
        self.kube.put_secret(model.Secret(metadata=meta, data=data))

    @property
    def remote(self) -> fake_push.FakePusher:
        return self.factory.pushers[("SecretStore", "team", "fake")]

    async def sync(self) -> Any:
        """One sync of the object as the watch would show it now (status as last written)."""
        self.body["status"] = self.kube.statuses.get(("PushSecret", *KEY), {})
        finalizers = self.kube.finalizers.get(("PushSecret", *KEY))
        if finalizers is not None:
            self.body["metadata"]["finalizers"] = finalizers
        self.controller.on_event("MODIFIED", KEY, msgspec.Raw(msgspec.json.encode(self.body)))
        return await self.controller.sync(KEY)

    @property
    def status(self) -> dict[str, Any]:
        return self.kube.statuses[("PushSecret", *KEY)]

    def ready(self) -> tuple[str, str, str] | None:
        return self.kube.ready("PushSecret", *KEY)


async def test_push_then_nothing_while_unchanged() -> None:
    h = Harness()
    result = await h.sync()
    assert result.ok and result.next_at is not None
    assert h.remote.remote["db-pw"].value == b"hunter2"
    assert h.ready() == ("True", "Synced", push_report.MSG_SYNCED)
    assert h.status["syncedPushSecrets"] == {
        "SecretStore/fake": {
            "db-pw": {"match": {"remoteRef": {"remoteKey": "db-pw"}, "secretKey": "pw"}}
        }
    }
    assert h.status["syncedResourceVersion"].startswith("1-")
    assert [e.reason for e in h.kube.events] == ["Synced"]
    h.remote.writes.clear()
    h.kube.events.clear()
    assert (await h.sync()).ok
    assert h.remote.writes == [] and h.kube.events == []
    assert "hunter2" not in repr(h.kube.statuses) + repr(h.kube.events)


async def test_refusal_of_a_remote_we_do_not_manage_keeps_the_record() -> None:
    h = Harness()
    await h.sync()
    h.body["spec"]["data"].append(
        {"match": {"secretKey": "user", "remoteRef": {"remoteKey": "taken"}}}
    )
    h.body["metadata"]["generation"] = 2
    result = await h.sync()
    assert result.retry
    status, reason, message = h.ready() or ("", "", "")
    assert (status, reason) == ("False", "Errored")
    assert message == (
        "set secret failed: could not write remote ref user to target secretstore fake: "
        "secret not managed by external-secrets"
    )
    assert h.remote.remote["taken"].value == b"theirs"
    assert set(h.status["syncedPushSecrets"]["SecretStore/fake"]) == {"db-pw"}
    assert h.kube.events[-1].type == "Warning"


async def test_deletion_policy_delete_removes_dropped_entries_and_cleans_up_on_delete() -> None:
    h = Harness(deletionPolicy="Delete")
    await h.sync()
    assert h.kube.finalizers[("PushSecret", *KEY)] == [model_push.FINALIZER]
    h.body["spec"]["data"] = [{"match": {"secretKey": "user", "remoteRef": {"remoteKey": "u"}}}]
    h.body["metadata"]["generation"] = 2
    await h.sync()
    assert set(h.remote.remote) == {"taken", "u"}  # db-pw deleted, theirs kept
    assert list(h.status["syncedPushSecrets"]["SecretStore/fake"]) == ["u"]
    h.body["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert (await h.sync()).ok
    assert set(h.remote.remote) == {"taken"}
    assert h.kube.finalizers[("PushSecret", *KEY)] == []


async def test_deletion_policy_none_leaves_what_was_pushed() -> None:
    h = Harness()
    await h.sync()
    h.body["spec"]["data"] = []
    h.body["metadata"]["generation"] = 2
    await h.sync()
    assert "db-pw" in h.remote.remote


async def test_source_deleted_with_delete_policy_cleans_the_provider() -> None:
    h = Harness(deletionPolicy="Delete")
    await h.sync()
    del h.kube.secrets[("team", "src")]
    result = await h.sync()
    assert result.retry is False and result.next_at is None  # nothing left to do
    assert h.ready() == ("False", "SourceDeleted", push_report.MSG_SOURCE_DELETED)
    assert "db-pw" not in h.remote.remote
    assert "syncedPushSecrets" not in h.status


async def test_a_missing_source_without_delete_policy_is_an_error() -> None:
    h = Harness()
    del h.kube.secrets[("team", "src")]
    assert (await h.sync()).retry
    assert h.ready() == ("False", "Errored", "could not get source secret")


# --- selector.generatorRef --------------------------------------------------------------------


class Counting(fake.FakeGenerator):
    """`Fake` whose every run gives a new value (`n`) and keeps state, as a stateful kind."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    async def generate(self, spec: Any, *, namespace: str, name: str) -> model_generators.Output:
        self.runs += 1
        return model_generators.Output(
            values={"pw": f"generated-{self.runs}".encode()}, state={"run": self.runs}
        )


class GeneratorHarness(Harness):
    """A PushSecret whose `selector.generatorRef` names the `Fake` generator `gen`, on a
    registry with the GeneratorState controller, and a clock the test moves."""

    def __init__(self, **spec: Any) -> None:
        spec.setdefault("selector", {"generatorRef": {"kind": "Fake", "name": "gen"}})
        super().__init__(refreshInterval="1h", **spec)
        self.now = NOW
        self.counting = Counting()
        self.generators = registry.GeneratorRegistry(self.kube, [self.counting])
        self.states = state_controller.StateController(
            kube_client=self.kube, generators=self.generators, clock=lambda: self.now
        )
        self.generators.states = self.states
        self.kube.put_generator(
            {
                "apiVersion": model_generators.API_VERSION,
                "kind": "Fake",
                "metadata": {"name": "gen", "namespace": "team"},
                "spec": {"data": {}},
            }
        )
        self.controller.generators = self.generators
        self.controller.clock = lambda: self.now
        self.controller.rand = lambda: 0.0

    def watch_states(self) -> list[dict[str, Any]]:
        """Feed the GeneratorStates made so far to the state controller, as its watch would."""
        for key, body in self.kube.generator_states.items():
            self.states.on_event("ADDED", key, msgspec.Raw(msgspec.json.encode(body)))
        return list(self.kube.generator_states.values())


NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


async def test_a_generators_values_are_pushed_and_kept_until_the_refresh() -> None:
    h = GeneratorHarness()
    result = await h.sync()
    assert result.ok and result.next_at == NOW + 3600
    assert h.remote.remote["db-pw"].value == b"generated-1"
    assert h.ready() == ("True", "Synced", push_report.MSG_SYNCED)
    # Syncs between refreshes (a store changed, a label edit...) push the same value again.
    h.now += 600
    h.remote.writes.clear()
    assert (await h.sync()).ok
    assert h.counting.runs == 1 and h.remote.writes == []
    h.body["metadata"]["labels"] = {"team": "a"}  # ESO's resource version includes labels
    assert (await h.sync()).ok
    assert h.counting.runs == 2 and h.remote.remote["db-pw"].value == b"generated-2"
    # ESO rotates at each refresh.
    h.now += 3600
    assert (await h.sync()).ok
    assert h.remote.remote["db-pw"].value == b"generated-3"
    assert "generated-" not in repr(h.kube.statuses) + repr(h.kube.events)


async def test_a_generator_under_refresh_interval_zero_runs_once_per_spec() -> None:
    h = GeneratorHarness()
    h.body["spec"]["refreshInterval"] = "0s"
    result = await h.sync()
    assert result.ok and result.next_at is None
    h.now += 86400 * 30
    await h.sync()
    assert h.counting.runs == 1
    h.body["metadata"]["generation"] = 2
    await h.sync()
    assert h.counting.runs == 2 and h.remote.remote["db-pw"].value == b"generated-2"


async def test_after_a_restart_a_generator_waits_for_its_refresh() -> None:
    h = GeneratorHarness()
    await h.sync()
    restarted = pushsecret_controller.PushSecretController(
        state=h.state,
        kube_client=h.kube,
        pushers=push_registry.PusherRegistry([h.factory]),
        config=settings.Settings(),
        clock=lambda: h.now,
        rand=lambda: 0.0,
        generators=h.generators,
    )
    h.controller = restarted
    h.now += 60
    result = await h.sync()
    assert result.ok and result.next_at == NOW + 3600
    assert h.counting.runs == 1 and h.remote.remote["db-pw"].value == b"generated-1"


async def test_a_generators_state_is_kept_as_eso_keeps_it() -> None:
    """ESO's statemanager for a PushSecret: each run's state is the latest under the owner key of
    "PushSecret-<ns>-<name>-__pushsecret", owned by the PushSecret; the next run flags it for
    collection; a Secret selected by name instead flags the latest too."""
    h = GeneratorHarness()
    await h.sync()
    (first,) = h.watch_states()
    owner_key = state_rules.owner_key("PushSecret", "team", "push", "__pushsecret")
    assert first["metadata"]["labels"] == {model_generators.LABEL_OWNER_KEY: owner_key}
    assert first["metadata"]["ownerReferences"] == [
        {"apiVersion": model_push.API_VERSION, "kind": "PushSecret", "name": "push", "uid": "u"}
    ]
    assert first["spec"]["state"] == {"run": 1}
    assert "garbageCollectionDeadline" not in first["spec"]
    h.now += 3600
    await h.sync()
    states = sorted(h.watch_states(), key=lambda b: str(b["spec"]["state"]))
    assert [b["spec"]["state"] for b in states] == [{"run": 1}, {"run": 2}]
    assert states[0]["spec"]["garbageCollectionDeadline"] == "2026-01-01T01:02:00Z"
    assert "garbageCollectionDeadline" not in states[1]["spec"]
    h.body["spec"]["selector"] = {"secret": {"name": "src"}}
    h.body["metadata"]["generation"] = 2
    await h.sync()
    assert h.remote.remote["db-pw"].value == b"hunter2"
    assert all("garbageCollectionDeadline" in b["spec"] for b in h.watch_states())


async def test_generator_failures_are_reported_with_the_field() -> None:
    h = GeneratorHarness(selector={"generatorRef": {"kind": "Password", "name": "missing"}})
    assert (await h.sync()).retry
    assert h.ready() == (
        "False",
        "Errored",
        "could not get source secret: spec.selector.generatorRef: "
        "Password 'missing' not found in namespace 'team'",
    )
    assert h.factory.pushers == {}  # no store was asked to write


async def test_without_generators_a_generator_ref_is_refused_clearly() -> None:
    h = Harness(selector={"generatorRef": {"name": "g", "kind": "Password"}})
    await h.sync()
    assert h.ready() == ("False", "Errored", pushsecret_controller.MSG_NO_GENERATORS)


async def test_template_renders_over_the_source_keys() -> None:
    h = Harness(
        template={"engineVersion": "jinja", "data": {"dsn": "{{ user }}:{{ pw }}@db"}},
        data=[
            {"match": {"secretKey": "dsn", "remoteRef": {"remoteKey": "dsn"}}},
            {"match": {"secretKey": "pw", "remoteRef": {"remoteKey": "db-pw"}}},
        ],
    )
    await h.sync()
    assert h.remote.remote["dsn"].value == b"alice:hunter2@db"
    assert h.remote.remote["db-pw"].value == b"hunter2"  # untemplated keys stay (ESO)


async def test_template_is_a_go_template_by_default_with_the_operators_delimiters() -> None:
    """ESO's PushSecret template is a Go template; the engine and delimiters are chosen as for
    an ExternalSecret."""
    data = [{"match": {"secretKey": "dsn", "remoteRef": {"remoteKey": "dsn"}}}]
    h = Harness(template={"data": {"dsn": "{{ .user }}:{{ .pw | upper }}@db"}}, data=data)
    await h.sync()
    assert h.remote.remote["dsn"].value == b"alice:HUNTER2@db"
    custom = Harness(template={"data": {"dsn": "[[ .user ]]@{{ db }}"}}, data=data)
    custom.controller.settings = settings.Settings(
        template_left_delimiter="[[", template_right_delimiter="]]"
    )
    await custom.sync()
    assert custom.remote.remote["dsn"].value == b"alice@{{ db }}"


async def test_label_selected_sources_and_data_to_bundle() -> None:
    h = Harness(
        selector={"secret": {"selector": {"matchLabels": {"push": "yes"}}}},
        data=[],
        dataTo=[{"storeRef": {"name": "fake"}, "remoteKey": "bundle", "match": {"regexp": "^k"}}],
    )
    h.source({"k1": b"a", "other": b"x"}, name="one", push="yes")
    await h.sync()
    assert h.remote.remote["bundle"].value == b'{"k1":"a"}'


async def test_if_not_exists_keeps_the_remote() -> None:
    h = Harness(
        updatePolicy="IfNotExists",
        data=[{"match": {"secretKey": "pw", "remoteRef": {"remoteKey": "taken"}}}],
    )
    await h.sync()
    assert h.remote.remote["taken"].value == b"theirs"
    assert h.ready() == ("True", "Synced", push_report.MSG_SYNCED_IF_NOT_EXISTS)


async def test_a_replica_that_is_not_leader_writes_nothing() -> None:
    h = Harness()
    h.leader = False
    assert (await h.sync()).retry
    assert h.kube.writes() == [] and h.factory.pushers == {}


async def test_a_jinja_template_under_go_names_the_pushsecrets_engine_field() -> None:
    """ESO's PushSecret says its engine at `spec.template.engineVersion`, not at the
    ExternalSecret's `spec.target.template.engineVersion`."""
    h = Harness(template={"data": {"dsn": "{{ user ~ pw }}"}})
    await h.sync()
    status, reason, message = h.ready() or ("", "", "")
    assert (status, reason) == ("False", "Errored")
    assert message.endswith(engines.jinja_hint(engines.ENGINE_FIELD_PUSHSECRET))
    assert "set spec.template.engineVersion: jinja" in message
    assert "spec.target.template" not in message and "hunter2" not in message


async def test_a_jinja_rewrite_transform_names_the_pushsecrets_engine_field() -> None:
    rewrite = {"transform": {"template": "{{ value ~ '-x' }}"}}
    h = Harness(data=[], dataTo=[{"storeRef": {"name": "fake"}, "rewrite": [rewrite]}])
    await h.sync()
    status, _, message = h.ready() or ("", "", "")
    assert status == "False"
    assert message.endswith(engines.jinja_hint(engines.ENGINE_FIELD_PUSHSECRET)), message


async def test_a_store_change_wakes_the_pushsecrets_that_use_it() -> None:
    h = Harness()
    h.controller.on_event("ADDED", KEY, msgspec.Raw(msgspec.json.encode(h.body)))
    other = {**h.body, "metadata": {**h.body["metadata"], "name": "other"}}
    other["spec"] = {**other["spec"], "secretStoreRefs": [{"name": "elsewhere"}]}
    h.controller.on_event("ADDED", ("team", "other"), msgspec.Raw(msgspec.json.encode(other)))
    woken: list[model.Key] = []
    h.controller.scheduler.wake = lambda key, urgent=False: woken.append(key)  # type: ignore[method-assign]
    h.controller.on_store(("SecretStore", "team", "fake"))
    assert woken == []  # not started: every PushSecret syncs at start anyway
    h.controller._started = True
    h.controller.on_store(("SecretStore", "team", "fake"))
    h.controller.on_store(("SecretStore", "elsewhere-ns", "elsewhere"))
    assert woken == [KEY]
