"""`Reconciler.sync` with `dataFrom[].sourceRef.generatorRef`, on `FakeKube` (no cluster).

Pins what ESO does with generators and what asyncso adds: values generated on every refresh
(`Periodic`), kept under `CreatedOnce` while the Secret is intact, refusals naming the field
and the kind, ESO's key handling for generated maps, the dockerconfigjson an ECR token makes
through a template, a refresh scheduled before an expiring token dies, and the GeneratorState
bookkeeping after each fetch.
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import msgspec
import pytest
from core_fixtures import es as make_es

from asyncso import (
    fake_kube,
    model,
    model_generators,
    plan,
    providers,
    reconciler,
    scheduler,
    settings,
    view,
)
from asyncso.generators import (
    aws_fake,
    ecr,
    expiry,
    password,
    registry,
    state_controller,
    state_rules,
    sts,
    uuids,
)
from asyncso.generators import fake as fake_generator

NS = "ns"
KEY = (NS, "es1")
NOW = aws_fake.T0.timestamp()
API = model_generators.API_VERSION


def gen_ref(kind: str, name: str = "gen") -> dict[str, Any]:
    return {"sourceRef": {"generatorRef": {"apiVersion": API, "kind": kind, "name": name}}}


class StatefulGenerator:
    """A generator that returns state (as ESO's Vault or GitLab generators do)."""

    kind = "Fake"
    spec_type: type[Any] = model_generators.FakeSpec

    def __init__(self) -> None:
        self.cleaned: list[Any] = []

    async def generate(self, spec: Any, *, namespace: str, name: str) -> model_generators.Output:
        return model_generators.Output(values={"token": b"t"}, state={"lease": "L1"})

    async def cleanup(self, spec: Any, state: Any, *, namespace: str) -> None:
        self.cleaned.append(state)


class World:
    def __init__(self, *, stateful: bool = False) -> None:
        self.kube = fake_kube.FakeKube()
        self.view = view.View()
        self.ecr = aws_fake.FakeEcrClient()
        clients = aws_fake.FakeAwsClients({"ecr": self.ecr, "sts": aws_fake.FakeStsClient()})
        self.stateful = StatefulGenerator()
        kinds: list[Any] = [
            password.PasswordGenerator(),
            uuids.UUIDGenerator(),
            self.stateful if stateful else fake_generator.FakeGenerator(),
            ecr.EcrAuthorizationTokenGenerator(clients),
            sts.StsSessionTokenGenerator(clients),
        ]
        self.generators = registry.GeneratorRegistry(self.kube, kinds, clock=lambda: NOW)
        self.states = state_controller.StateController(
            kube_client=self.kube, generators=self.generators, clock=lambda: NOW
        )
        self.generators.states = self.states
        self.reconciler = reconciler.Reconciler(
            state=self.view,
            kube_client=self.kube,
            registry=providers.ProviderRegistry([]),
            config=settings.Settings(),
            clock=lambda: NOW,
            rand=lambda: 0.0,
            generators=self.generators,
        )
        self.kube.put_generator(
            {"kind": "Password", "metadata": {"name": "gen", "namespace": NS}, "spec": {}}
        )

    def put_generator(self, kind: str, spec: dict[str, Any], name: str = "gen") -> None:
        self.kube.put_generator(
            {"kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec}
        )

    async def sync(self, generation: int = 1, **es: Any) -> scheduler.SyncResult:
        """Sync with the status last written and the Secrets as the watch would show them."""
        for (ns, name), secret in self.kube.secrets.items():
            if secret.metadata.labels.get(model.LABEL_MANAGED) == "true":
                record = view.SecretRecord(secret.metadata.resource_version, plan.is_valid(secret))
                self.view.secrets[(ns, name)] = record
        written = self.kube.statuses.get(("ExternalSecret", NS, "es1"))
        fields = {"data_from": [gen_ref("Password")], "status": written, **es}
        self.view.put_externalsecret(KEY, make_es(generation=generation, **fields))
        return await self.reconciler.sync(KEY)

    def data(self) -> dict[str, bytes]:
        return dict(self.kube.secrets[(NS, "es1")].data)

    def ready(self) -> tuple[str, str, str] | None:
        return self.kube.ready("ExternalSecret", NS, "es1")

    def generator_reads(self) -> int:
        return sum(1 for call in self.kube.calls if call[0] == "get_generator")


# --- Password: refresh semantics ---------------------------------------------------------------


async def test_a_password_generator_fills_the_secret() -> None:
    world = World()
    result = await world.sync()
    assert result.ok and result.next_at == NOW + 3600  # the periodic refresh, no expiry
    (value,) = world.data().values()
    assert list(world.data()) == ["password"] and len(value) == 24
    assert world.ready() == ("True", plan.REASON_SYNCED, plan.MSG_SYNCED)


async def test_periodic_refreshes_make_a_new_password() -> None:
    world = World()
    await world.sync()
    first = world.data()
    await world.sync()  # the refresh timer (or a wake) fires
    assert world.data()["password"] != first["password"]
    assert world.generator_reads() == 2


@pytest.mark.parametrize("wake", ["refresh", "label edit", "spec edit"])
async def test_created_once_keeps_the_first_password(wake: str) -> None:
    world = World()
    await world.sync(refresh_policy="CreatedOnce")
    first = world.data()
    changes: dict[str, Any] = {
        "refresh": {},
        "label edit": {"labels": {"force-sync": "1"}},
        "spec edit": {"generation": 2},
    }[wake]
    result = await world.sync(refresh_policy="CreatedOnce", **changes)
    assert result.ok and result.next_at is None
    assert world.data() == first
    assert world.generator_reads() == 1  # not even read again


async def test_created_once_generates_again_when_the_secret_is_gone() -> None:
    world = World()
    await world.sync(refresh_policy="CreatedOnce")
    first = world.data()
    del world.kube.secrets[KEY]
    world.view.secrets.pop(KEY, None)
    await world.sync(refresh_policy="CreatedOnce")
    assert world.data()["password"] != first["password"]


async def test_on_change_regenerates_only_on_a_change() -> None:
    world = World()
    await world.sync(refresh_policy="OnChange")
    first = world.data()
    await world.sync(refresh_policy="OnChange")
    assert world.data() == first
    await world.sync(refresh_policy="OnChange", generation=2)
    assert world.data() != first


async def test_two_generators_merge_in_dataFrom_order_with_rewrite() -> None:
    world = World()
    world.put_generator("UUID", {}, name="id")
    world.put_generator("Fake", {"data": {"password": "from-fake", "user": "app"}}, name="f")
    rewrite = {"rewrite": [{"regexp": {"source": "^(.*)$", "target": "db-$1"}}]}
    await world.sync(
        data_from=[gen_ref("Password"), gen_ref("UUID", "id"), {**gen_ref("Fake", "f"), **rewrite}]
    )
    assert sorted(world.data()) == ["db-password", "db-user", "password", "uuid"]
    assert world.data()["db-password"] == b"from-fake"


async def test_generated_keys_are_not_converted_but_validated() -> None:
    """ESO neither converts nor decodes a generator's keys; an invalid key fails the sync."""
    world = World()
    world.put_generator("Fake", {"data": {"a b": "x"}}, name="f")
    result = await world.sync(data_from=[gen_ref("Fake", "f")])
    assert not result.ok
    ready = world.ready()
    assert ready is not None and ready[0] == "False" and "spec.dataFrom[0]" in ready[2]
    assert "'a b'" in ready[2]
    assert KEY not in world.kube.secrets


# --- refusals ----------------------------------------------------------------------------------


async def test_an_unsupported_kind_is_refused_with_a_condition_naming_it() -> None:
    world = World()
    result = await world.sync(data_from=[gen_ref("VaultDynamicSecret", "v")])
    assert not result.ok
    ready = world.ready()
    assert ready is not None and ready[0] == "False"
    assert (
        'spec.dataFrom[0].sourceRef.generatorRef.kind: generator kind "VaultDynamicSecret"'
        in ready[2]
    )
    assert "is not supported by asyncso" in ready[2]
    assert world.generator_reads() == 0 and KEY not in world.kube.secrets


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"data": [{"secretKey": "k", "remoteRef": {"key": "x"}, **gen_ref("Password")}]},
            "spec.data[0].sourceRef.generatorRef is not supported by asyncso",
        ),
        (
            {"data_from": [{"extract": {"key": "x"}, **gen_ref("Password")}]},
            "spec.dataFrom[0]: sourceRef.generatorRef cannot be combined with extract",
        ),
        (
            {"data_from": [{"sourceRef": {"generatorRef": {"kind": "Password", "name": "../x"}}}]},
            'spec.dataFrom[0].sourceRef.generatorRef.name: "../x" is not a valid Password name',
        ),
    ],
)
async def test_misplaced_or_hostile_refs_are_refused(fields: dict[str, Any], message: str) -> None:
    world = World()
    result = await world.sync(**fields)
    assert not result.ok
    ready = world.ready()
    assert ready is not None and message in ready[2]
    assert world.generator_reads() == 0


async def test_without_generators_a_ref_says_so() -> None:
    world = World()
    world.reconciler.generators = None
    await world.sync()
    ready = world.ready()
    assert ready is not None and reconciler.MSG_NO_GENERATORS in ready[2]


# --- ECR: a working dockerconfigjson, refreshed before expiry ----------------------------------

ECR_SPEC = {"region": "eu-west-1"}
JINJA_DOCKERCONFIG = (
    '{"auths": {"{{ proxy_endpoint | replace("https://", "") }}": {'
    '"username": "{{ username }}", "password": "{{ password }}", '
    '"auth": "{{ (username ~ ":" ~ password) | b64enc }}"}}}'
)
#: ESO's own example (docs/snippets/generator-ecr-example.yaml).
GO_DOCKERCONFIG = (
    '{"auths": {"{{ .proxy_endpoint | replace "https://" "" }}": {'
    '"username": "{{ .username }}", "password": "{{ .password }}", '
    '"auth": "{{ printf "%s:%s" .username .password | b64enc }}"}}}'
)


def docker_target(engine: str, text: str) -> dict[str, Any]:
    return {
        "template": {
            "engineVersion": engine,
            "type": "kubernetes.io/dockerconfigjson",
            "metadata": {
                "annotations": {
                    "expiresAt": "{{ expires_at }}" if engine == "jinja" else "{{ .expires_at }}"
                }
            },
            "data": {".dockerconfigjson": text},
        }
    }


async def check_dockerconfig(engine: str, text: str) -> None:
    world = World()
    world.put_generator("ECRAuthorizationToken", ECR_SPEC, name="ecr-gen")
    result = await world.sync(
        data_from=[gen_ref("ECRAuthorizationToken", "ecr-gen")],
        target=docker_target(engine, text),
        refresh_interval="24h",
    )
    assert result.ok, world.ready()
    secret = world.kube.secrets[KEY]
    assert secret.type == "kubernetes.io/dockerconfigjson"
    config = json.loads(secret.data[".dockerconfigjson"])
    registry_entry = config["auths"]["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    assert registry_entry["username"] == "AWS" and registry_entry["password"] == "ecr-password-1"
    assert base64.b64decode(registry_entry["auth"]) == b"AWS:ecr-password-1"
    expires = NOW + 12 * 3600
    assert secret.metadata.annotations["expiresAt"] == str(int(expires))
    # 24 h interval, 12 h token: the next sync comes before the token dies, not after.
    assert result.next_at == expiry.refresh_at(expires, now=NOW) == expires - 0.1 * 12 * 3600


async def test_an_ecr_token_makes_a_working_dockerconfigjson_with_jinja() -> None:
    await check_dockerconfig("jinja", JINJA_DOCKERCONFIG)


async def test_an_ecr_token_makes_a_working_dockerconfigjson_with_go_templates() -> None:
    await check_dockerconfig("v2", GO_DOCKERCONFIG)


async def test_a_short_interval_still_wins_over_expiry() -> None:
    world = World()
    world.put_generator("ECRAuthorizationToken", ECR_SPEC, name="ecr-gen")
    result = await world.sync(data_from=[gen_ref("ECRAuthorizationToken", "ecr-gen")])
    assert result.next_at == NOW + 3600


async def test_a_token_expired_when_generated_does_not_bring_the_refresh_forward() -> None:
    """moto's ECR answers with a fixed expiry in 2015: regenerating at once (every few seconds,
    forever) would only bring the same expired token; the periodic refresh applies."""
    world = World()
    world.ecr.now = aws_fake.T0 - datetime.timedelta(days=4000)
    world.put_generator("ECRAuthorizationToken", ECR_SPEC, name="ecr-gen")
    result = await world.sync(
        data_from=[gen_ref("ECRAuthorizationToken", "ecr-gen")], refresh_interval="1h"
    )
    assert result.ok, world.ready()
    assert world.data()["username"] == b"AWS"
    assert result.next_at == NOW + 3600


async def test_created_once_does_not_refresh_by_expiry() -> None:
    """`CreatedOnce` means never again: the user chose it, even for a token."""
    world = World()
    world.put_generator("STSSessionToken", {"region": "eu-west-1"}, name="s")
    result = await world.sync(
        data_from=[gen_ref("STSSessionToken", "s")], refresh_policy="CreatedOnce"
    )
    assert result.ok and result.next_at is None


async def test_a_failed_ecr_call_leaves_the_secret_alone() -> None:
    from asyncso.providers import aws_fake as provider_fakes

    world = World()
    world.put_generator("ECRAuthorizationToken", ECR_SPEC, name="ecr-gen")
    fields = {
        "data_from": [gen_ref("ECRAuthorizationToken", "ecr-gen")],
        "target": docker_target("jinja", JINJA_DOCKERCONFIG),
    }
    await world.sync(**fields)
    before = world.kube.secrets[KEY]
    world.ecr.fail = provider_fakes.client_error("ThrottlingException")
    result = await world.sync(**fields)
    assert not result.ok and result.retry
    assert world.kube.secrets[KEY] == before
    ready = world.ready()
    assert ready is not None and "throttled by AWS" in ready[2]
    assert "ecr-password-1" not in json.dumps(world.kube.statuses[("ExternalSecret", NS, "es1")])


# --- GeneratorState bookkeeping ----------------------------------------------------------------


async def test_superseded_states_are_flagged_after_a_fetch() -> None:
    world = World()
    es = make_es(data_from=[gen_ref("Password")])
    label = {model_generators.LABEL_OWNER_KEY: state_rules.key_of(es, 0)}
    for name, created in (("gen-a", "2026-01-01T00:00:00Z"), ("gen-b", "2026-01-01T00:01:00Z")):
        body = {
            "metadata": {
                "name": name,
                "namespace": NS,
                "labels": label,
                "creationTimestamp": created,
            },
            "spec": {"resource": {"kind": "Password"}, "state": {"x": 1}},
        }
        world.states.on_event("ADDED", (NS, name), msgspec.Raw(msgspec.json.encode(body)))
        world.kube.generator_states[(NS, name)] = body
    await world.sync()
    deadline = state_rules.deadline(now=NOW)
    assert (
        world.kube.generator_states[(NS, "gen-a")]["spec"]["garbageCollectionDeadline"] == deadline
    )
    assert "garbageCollectionDeadline" not in world.kube.generator_states[(NS, "gen-b")]["spec"]


async def test_stateless_generators_make_no_generator_state() -> None:
    world = World()
    await world.sync()
    assert world.kube.generator_states == {}
    assert not [c for c in world.kube.calls if "generator_state" in c[0]]


async def test_a_stateful_generator_keeps_its_state_and_rolls_back_on_failure() -> None:
    world = World(stateful=True)
    world.put_generator("Fake", {}, name="f")
    await world.sync(data_from=[gen_ref("Fake", "f")])
    (body,) = world.kube.generator_states.values()
    es = make_es(data_from=[gen_ref("Fake", "f")])
    assert body["metadata"]["generateName"] == "gen-externalsecret-es1-"
    assert body["metadata"]["labels"] == {
        model_generators.LABEL_OWNER_KEY: state_rules.key_of(es, 0)
    }
    assert body["metadata"]["ownerReferences"][0]["kind"] == "ExternalSecret"
    assert body["spec"]["state"] == {"lease": "L1"} and body["spec"]["resource"]["kind"] == "Fake"
    # another entry fails: what this fetch generated is cleaned up at once
    await world.sync(data_from=[gen_ref("Fake", "f"), gen_ref("Password", "missing")])
    assert world.stateful.cleaned == [{"lease": "L1"}]
    assert len(world.kube.generator_states) == 1
