"""Generators without a cluster: refs checked, manifests resolved (ClusterGenerator too), each
kind's output keys as ESO's, AWS credentials and calls through the providers' identity rules,
refusals naming the field and the kind, and the refresh-before-expiry rule."""

from __future__ import annotations

import base64
import datetime
import re
from typing import Any

import pytest

from asyncso import errors, fake_kube, metrics, model, model_generators
from asyncso.generators import aws_fake, ecr, expiry, fake, password, refs, registry, sts, uuids
from asyncso.providers import aws_fake as provider_fakes

NS = "team-a"
WHERE = "spec.dataFrom[0].sourceRef.generatorRef"
W = re.escape(WHERE)
NOW = aws_fake.T0.timestamp()


def ref(kind: str, name: str = "gen", api_version: str = "") -> model.GeneratorRef:
    return model.GeneratorRef(name=name, kind=kind, api_version=api_version)


def manifest(
    kind: str, spec: dict[str, Any], *, name: str = "gen", namespace: str = NS
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if kind != "ClusterGenerator":
        meta["namespace"] = namespace
    return {
        "apiVersion": model_generators.API_VERSION,
        "kind": kind,
        "metadata": meta,
        "spec": spec,
    }


KEYS = {
    "accessKeyIDSecretRef": {"name": "aws", "key": "id"},
    "secretAccessKeySecretRef": {"name": "aws", "key": "secret"},
}


class World:
    def __init__(self) -> None:
        self.kube = fake_kube.FakeKube()
        self.ecr = aws_fake.FakeEcrClient()
        self.ecr_public = aws_fake.FakeEcrClient(public=True)
        self.sts = aws_fake.FakeStsClient()
        self.clients = aws_fake.FakeAwsClients(
            {"ecr": self.ecr, "ecr-public": self.ecr_public, "sts": self.sts}
        )
        self.registry = registry.GeneratorRegistry(
            self.kube,
            [
                password.PasswordGenerator(),
                uuids.UUIDGenerator(),
                fake.FakeGenerator(controller_class=""),
                ecr.EcrAuthorizationTokenGenerator(self.clients),
                sts.StsSessionTokenGenerator(self.clients),
            ],
            clock=lambda: NOW,
        )

    async def generate(
        self, kind: str, spec: dict[str, Any], **ref_fields: Any
    ) -> model_generators.Generated:
        self.kube.put_generator(manifest(kind, spec, name=ref_fields.get("name", "gen")))
        return await self.registry.generate(ref(kind, **ref_fields), namespace=NS, where=WHERE)


# --- refs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["Password", "UUID", "Fake", "ECRAuthorizationToken", "STSSessionToken", "ClusterGenerator"],
)
def test_supported_kinds_pass(kind: str) -> None:
    refs.check(ref(kind, api_version="generators.external-secrets.io/v1alpha1"), field=WHERE)
    refs.check(ref(kind), field=WHERE)  # empty apiVersion: ESO's CRD default


@pytest.mark.parametrize(
    "kind", ["Webhook", "VaultDynamicSecret", "SSHKey", "GithubAccessToken", "NoSuchKind", ""]
)
def test_other_kinds_are_refused_naming_the_kind(kind: str) -> None:
    with pytest.raises(errors.InvalidSpecError) as info:
        refs.check(ref(kind), field=WHERE)
    assert str(info.value) == (
        f'{WHERE}.kind: generator kind "{kind}" is not supported by asyncso (supported: '
        "ClusterGenerator, ECRAuthorizationToken, Fake, Password, STSSessionToken, UUID)"
    )


@pytest.mark.parametrize(
    ("api_version", "message"),
    [
        (
            "external-secrets.io/v1",
            "may only reference the generators group, but got 'external-secrets.io'",
        ),
        ("g/v1", "but got 'g'"),
        ("generators.external-secrets.io/v1", "may only reference version v1alpha1, but got 'v1'"),
    ],
)
def test_other_groups_and_versions_are_refused(api_version: str, message: str) -> None:
    with pytest.raises(errors.InvalidSpecError, match=f"^{W}.apiVersion: ") as info:
        refs.check(ref("Password", api_version=api_version), field=WHERE)
    assert message in str(info.value)


@pytest.mark.parametrize("name", ["../x", "a/b", "", "UP"])
def test_hostile_names_are_refused_before_any_read(name: str) -> None:
    world = World()
    with pytest.raises(errors.InvalidNameError, match=f"^{W}.name: "):
        refs.check(ref("Password", name=name), field=WHERE)
    assert world.kube.calls == []


# --- resolution --------------------------------------------------------------------------------


async def test_password_uuid_and_fake_outputs() -> None:
    world = World()
    made = await world.generate("Password", {"length": 16})
    assert made.kind == "Password" and list(made.values) == ["password"]
    assert len(made.values["password"]) == 16 and made.refresh_at is None
    assert made.resource["metadata"]["name"] == "gen"  # the manifest, for GeneratorState
    made = await world.generate("UUID", {}, name="u")
    assert list(made.values) == ["uuid"] and len(made.values["uuid"]) == 36
    assert made.values["uuid"].decode()[14] == "4"  # a random (version 4) UUID
    made = await world.generate("Fake", {"data": {"a": "1", "b c": "2"}})
    assert made.values == {"a": b"1", "b c": b"2"}
    assert world.kube.calls[0] == ("get_generator", NS, "gen")


async def test_fake_of_another_controller_class_is_refused() -> None:
    world = World()
    with pytest.raises(
        errors.InvalidSpecError, match=f"^{W}: error using generator: spec.controller 'other'"
    ):
        await world.generate("Fake", {"controller": "other", "data": {"a": "1"}})


async def test_a_missing_generator_is_named() -> None:
    world = World()
    with pytest.raises(errors.InvalidSpecError) as info:
        await world.registry.generate(ref("Password", name="nope"), namespace=NS, where=WHERE)
    assert str(info.value) == f"{WHERE}: Password 'nope' not found in namespace '{NS}'"
    with pytest.raises(errors.InvalidSpecError, match="ClusterGenerator 'nope' not found"):
        await world.registry.generate(
            ref("ClusterGenerator", name="nope"), namespace=NS, where=WHERE
        )


async def test_a_generator_in_another_namespace_is_not_seen() -> None:
    world = World()
    world.kube.put_generator(manifest("Password", {}, namespace="team-b"))
    with pytest.raises(errors.InvalidSpecError, match="not found in namespace 'team-a'"):
        await world.registry.generate(ref("Password"), namespace=NS, where=WHERE)


async def test_a_cluster_generator_runs_its_kind_in_the_callers_namespace() -> None:
    world = World()
    body = manifest(
        "ClusterGenerator",
        {"kind": "Password", "generator": {"passwordSpec": {"length": 9, "secretKeys": ["pw"]}}},
    )
    world.kube.put_generator(body)
    made = await world.registry.generate(ref("ClusterGenerator"), namespace=NS, where=WHERE)
    assert made.kind == "Password" and len(made.values["pw"]) == 9
    assert made.resource == {
        "apiVersion": "generators.external-secrets.io/v1alpha1",
        "kind": "Password",
        "metadata": {},
        "spec": {"length": 9, "secretKeys": ["pw"]},
    }
    assert world.kube.calls == [("get_generator", "", "gen")]


async def test_a_cluster_generator_of_an_unsupported_kind_is_refused_naming_it() -> None:
    world = World()
    world.kube.put_generator(
        manifest(
            "ClusterGenerator", {"kind": "Webhook", "generator": {"webhookSpec": {"url": "x"}}}
        )
    )
    with pytest.raises(errors.InvalidSpecError) as info:
        await world.registry.generate(ref("ClusterGenerator"), namespace=NS, where=WHERE)
    assert str(info.value).startswith(
        f"{WHERE}: ClusterGenerator 'gen': generator kind \"Webhook\" is not supported"
    )


async def test_a_cluster_generator_without_its_spec_is_refused() -> None:
    world = World()
    world.kube.put_generator(
        manifest("ClusterGenerator", {"kind": "UUID", "generator": {"passwordSpec": {}}})
    )
    with pytest.raises(errors.InvalidSpecError, match="when kind is UUID, uuidSpec must be set"):
        await world.registry.generate(ref("ClusterGenerator"), namespace=NS, where=WHERE)


async def test_an_undecodable_manifest_names_the_field() -> None:
    world = World()
    with pytest.raises(
        errors.InvalidSpecError,
        match=r"Password 'gen': Expected `int`, got `str` - at `\$.spec.length`",
    ):
        await world.generate("Password", {"length": "long"})


# --- ECR and STS -------------------------------------------------------------------------------


async def test_ecr_private_token_keys_and_expiry() -> None:
    world = World()
    made = await world.generate(
        "ECRAuthorizationToken", {"region": "eu-west-1", "auth": {"secretRef": KEYS}}
    )
    expires = int((aws_fake.T0 + datetime.timedelta(hours=12)).timestamp())
    assert made.values == {
        "username": b"AWS",
        "password": b"ecr-password-1",
        "proxy_endpoint": b"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "expires_at": str(expires).encode(),
    }
    assert made.output.expires_at == expires
    assert made.refresh_at == expires - 0.1 * 12 * 3600  # a tenth of the lifetime before
    ((identity, service),) = world.clients.asked
    assert service == "ecr" and identity.region == "eu-west-1"
    assert identity.store == ("ECRAuthorizationToken", NS, "gen")
    assert {(k.namespace, k.name, k.key) for k in identity.keys} == {
        (NS, "aws", "id"),
        (NS, "aws", "secret"),
    }


async def test_ecr_public_scope() -> None:
    world = World()
    made = await world.generate("ECRAuthorizationToken", {"region": "us-east-1", "scope": "public"})
    assert sorted(made.values) == ["expires_at", "password", "username"]
    assert world.clients.asked[0][1] == "ecr-public" and world.ecr.calls == []
    assert world.clients.asked[0][0].uses_default_chain


async def test_ecr_role_and_jwt_go_into_the_identity() -> None:
    world = World()
    spec = {
        "region": "eu-west-1",
        "role": "arn:aws:iam::1:role/pull",
        "auth": {"jwt": {"serviceAccountRef": {"name": "puller"}}},
    }
    await world.generate("ECRAuthorizationToken", spec)
    identity = world.clients.asked[0][0]
    assert identity.roles == ("arn:aws:iam::1:role/pull",)
    assert identity.service_account is not None and identity.service_account.namespace == NS


async def test_aws_credentials_from_another_namespace_are_refused() -> None:
    world = World()
    keys = {**KEYS, "accessKeyIDSecretRef": {"name": "aws", "key": "id", "namespace": "team-b"}}
    with pytest.raises(errors.InvalidSpecError) as info:
        await world.generate(
            "ECRAuthorizationToken", {"region": "eu-west-1", "auth": {"secretRef": keys}}
        )
    assert str(info.value) == (
        f"{WHERE}: error using generator: spec.auth.secretRef.accessKeyIDSecretRef.namespace: "
        f"a ECRAuthorizationToken may only use Secrets in its own namespace ('{NS}'), not 'team-b'"
    )
    assert world.clients.asked == []


async def test_aws_errors_keep_their_kind_and_are_counted() -> None:
    world = World()
    world.ecr.fail = provider_fakes.client_error("AccessDeniedException", message="not allowed")
    before = metrics.PROVIDER_API_CALLS.labels(
        provider="AWS/ECR", call="GetAuthorizationToken", status="error"
    )._value.get()
    with pytest.raises(
        errors.AccessDeniedError,
        match=f"^{W}: error using generator: ecr:GetAuthorizationToken: ",
    ):
        await world.generate("ECRAuthorizationToken", {"region": "eu-west-1"})
    after = metrics.PROVIDER_API_CALLS.labels(
        provider="AWS/ECR", call="GetAuthorizationToken", status="error"
    )._value.get()
    assert after == before + 1
    world.ecr.fail = provider_fakes.client_error("ResourceNotFoundException")
    with pytest.raises(errors.AsyncsoError) as info:
        await world.generate("ECRAuthorizationToken", {"region": "eu-west-1"})
    assert not isinstance(info.value, errors.RemoteSecretNotFoundError)  # never shrinks a Secret
    world.ecr.fail = provider_fakes.client_error("ServiceUnavailable", status=503)
    with pytest.raises(errors.ProviderUnavailableError) as info:
        await world.generate("ECRAuthorizationToken", {"region": "eu-west-1"})
    assert info.value.transient


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            {"authorizationData": []},
            "unexpected number of authorization tokens. expected 1, found 0",
        ),
        (
            {
                "authorizationData": [
                    {"authorizationToken": "bm8tY29sb24=", "expiresAt": aws_fake.T0}
                ]
            },
            "unexpected token format",
        ),
        (
            {"authorizationData": [{"authorizationToken": "%%%", "expiresAt": aws_fake.T0}]},
            "unexpected token format",
        ),
    ],
)
def test_ecr_answers_that_make_no_credentials(answer: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.PermanentError) as info:
        ecr.private_output(answer)
    assert str(info.value) == message


async def test_sts_session_token_keys_parameters_and_expiry() -> None:
    world = World()
    spec = {
        "region": "eu-west-1",
        "auth": {"secretRef": KEYS},
        "requestParameters": {
            "sessionDuration": 900,
            "serialNumber": "arn:aws:iam::1:mfa/u",
            "tokenCode": "123456",
        },
    }
    made = await world.generate("STSSessionToken", spec)
    expires = int(NOW) + 900
    assert made.values == {
        "access_key_id": b"ASIAFAKE",
        "expiration": str(expires).encode(),
        "secret_access_key": b"fake-secret",
        "session_token": b"fake-session",
    }
    assert world.sts.calls == [
        {"DurationSeconds": 900, "SerialNumber": "arn:aws:iam::1:mfa/u", "TokenCode": "123456"}
    ]
    assert made.refresh_at == expires - 90  # a tenth of the lifetime before
    assert world.clients.asked[0][1] == "sts"


async def test_sts_refuses_jwt_auth_as_eso() -> None:
    world = World()
    spec = {"region": "eu-west-1", "auth": {"jwt": {"serviceAccountRef": {"name": "sa"}}}}
    with pytest.raises(errors.InvalidSpecError) as info:
        await world.generate("STSSessionToken", spec)
    assert str(info.value) == f"{WHERE}: error using generator: spec.auth.jwt: {sts.MSG_JWT}"


def test_sts_answer_without_credentials() -> None:
    with pytest.raises(errors.PermanentError, match=r"^no credentials found$"):
        sts.output({})


# --- expiry ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "refresh_in"),
    [
        (None, None),
        (12 * 3600, 12 * 3600 * 0.9),  # a tenth of the lifetime early
        (900, 810),  # a tenth of 15 min
        (300, 240),  # at least a minute early
        (30, expiry.FLOOR),  # nearly expired: not sooner than the floor
        (1, expiry.FLOOR),  # about to expire: the floor, no tight loop
        (0, None),  # expired when generated: regenerating at once would not help
        (-100, None),  # (an emulator's fixed date, a skewed clock): the periodic refresh rules
        (-10 * 365 * 86400, None),
    ],
)
def test_refresh_before_expiry(expires_in: float | None, refresh_in: float | None) -> None:
    now = 1_000_000.0
    expires_at = None if expires_in is None else now + expires_in
    at = expiry.refresh_at(expires_at, now=now)
    assert (at if at is None else at - now) == refresh_in


def test_sooner() -> None:
    assert expiry.sooner(None, None) is None
    assert expiry.sooner(5, None) == 5 and expiry.sooner(None, 3) == 3 and expiry.sooner(5, 3) == 3


def test_decoded_token_is_not_in_any_message() -> None:
    token = base64.b64encode(b"a:b:c").decode()
    with pytest.raises(errors.PermanentError) as info:
        ecr.private_output(
            {"authorizationData": [{"authorizationToken": token, "expiresAt": aws_fake.T0}]}
        )
    assert "a:b" not in str(info.value) and token not in str(info.value)


async def test_values_for_is_the_one_call_pushsecret_needs() -> None:
    world = World()
    world.kube.put_generator(manifest("Fake", {"data": {"k": "v"}}))
    where = "spec.selector.generatorRef"
    values = await registry.values_for(world.registry, ref("Fake"), namespace=NS, where=where)
    assert values == {"k": b"v"}
