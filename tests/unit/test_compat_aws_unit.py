"""AWS semantics without a network: the Parameter Store batch answer as AWS gives it (LocalStack
is checked on the bench), and the STS role chain with its session tags."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from asyncso import errors, fake_kube, model
from asyncso.providers import aws_auth, aws_parameterstore


class AwsLikeSsm:
    """GetParameters as AWS answers it: a versioned selector's entry carries `Selector`."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def get_parameters(self, **params: Any) -> dict[str, Any]:
        names: list[str] = params["Names"]
        self.calls.append(names)
        answers = []
        for name in names:
            if name.endswith(":1"):
                answers.append({"Name": "/p", "Value": "v1", "Version": 1, "Selector": ":1"})
            else:
                answers.append({"Name": "/p", "Value": "v2", "Version": 2})
        return {"Parameters": answers, "InvalidParameters": []}


async def test_current_and_versioned_in_one_call_keep_their_own_values() -> None:
    client = AwsLikeSsm()
    reader = aws_parameterstore.ParameterStore(client, batch_window=0.01)  # type: ignore[arg-type]
    for order in (["", "1"], ["1", ""]):
        got = await asyncio.gather(
            *(reader.read(model.RemoteRef(key="/p", version=v)) for v in order)
        )
        assert dict(zip(order, got, strict=True)) == {"": b"v2", "1": b"v1"}
    assert [sorted(c) for c in client.calls] == [["/p", "/p:1"], ["/p", "/p:1"]]


# --- the role chain and its session tags (ESO's createConfiguration / buildSessionTags) ---------


EXPIRY = "2030-01-01T00:00:00+00:00"


class RecordingSts:
    def __init__(self, calls: list[dict[str, Any]]) -> None:
        self.calls = calls

    async def assume_role(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        creds = {"AccessKeyId": "a", "SecretAccessKey": "s", "SessionToken": "t"}
        return {"Credentials": {**creds, "Expiration": EXPIRY}}


class RecordingChain(aws_auth.CredentialChain):
    """The chain with its STS client and base credentials replaced, to see each AssumeRole."""

    calls: list[dict[str, Any]]

    async def _base(self) -> dict[str, Any]:
        return {"access_key": "k", "secret_key": "s", "token": None, "expiry_time": EXPIRY}

    @contextlib.asynccontextmanager
    async def _sts(self, creds: Any, *, signed: bool = True) -> AsyncIterator[RecordingSts]:  # type: ignore[override]
        yield RecordingSts(self.calls)


def aws_store(kind: str = "SecretStore", **aws: Any) -> model.SecretStore:
    body = {
        "kind": kind,
        "metadata": {"name": "st", "namespace": "" if kind != "SecretStore" else "team"},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1", **aws}}},
    }
    return msgspec.convert(body, model.SecretStore)


async def assumed(store: model.SecretStore, *, es_namespace: str = "team") -> list[dict[str, Any]]:
    identity = aws_auth.identity_of(store, es_namespace=es_namespace)
    chain = RecordingChain(identity, kube=fake_kube.FakeKube())
    chain.calls = []
    await chain._refresh()
    return [{k: v for k, v in c.items() if k != "RoleSessionName"} for c in chain.calls]


async def test_additional_roles_first_then_role_with_its_options() -> None:
    store = aws_store(
        role="arn:role/final",
        additionalRoles=["arn:role/a", "arn:role/b"],
        externalID="ext",
        sessionTags=[{"key": "team", "value": "x"}],
        transitiveTagKeys=["team"],
    )
    assert await assumed(store) == [
        {"RoleArn": "arn:role/a"},
        {"RoleArn": "arn:role/b"},
        {
            "RoleArn": "arn:role/final",
            "ExternalId": "ext",
            "Tags": [{"Key": "team", "Value": "x"}],
            "TransitiveTagKeys": ["team"],
        },
    ]


async def test_additional_roles_alone_carry_no_options() -> None:
    store = aws_store(additionalRoles=["arn:role/a"], externalID="ext")
    assert await assumed(store) == [{"RoleArn": "arn:role/a"}]


@pytest.mark.parametrize(
    ("policy", "custom", "tags"),
    [
        ("None", {}, [{"Key": "explicit", "Value": "1"}]),
        (
            "Simple",
            {"ignored": "x"},
            [
                {"Key": "esoNamespace", "Value": "apps"},
                {"Key": "esoStoreKind", "Value": "ClusterSecretStore"},
                {"Key": "esoStoreName", "Value": "st"},
            ],
        ),
        (
            "Custom",
            {"cost": "42", "empty": ""},
            [
                {"Key": "cost", "Value": "42"},
                {"Key": "esoNamespace", "Value": "apps"},
                {"Key": "esoStoreKind", "Value": "ClusterSecretStore"},
                {"Key": "esoStoreName", "Value": "st"},
            ],
        ),
    ],
)
async def test_session_tags_policy(
    policy: str, custom: dict[str, str], tags: list[dict[str, str]]
) -> None:
    store = aws_store(
        "ClusterSecretStore",
        role="arn:role/r",
        sessionTags=[{"key": "explicit", "value": "1"}],
        sessionTagsPolicy=policy,
        customSessionTags=custom,
    )
    (call,) = await assumed(store, es_namespace="apps")
    assert call["Tags"] == tags


def test_tags_with_the_namespace_make_one_identity_per_namespace() -> None:
    store = aws_store("ClusterSecretStore", role="arn:role/r", sessionTagsPolicy="Simple")
    one = aws_auth.identity_of(store, es_namespace="a")
    assert one != aws_auth.identity_of(store, es_namespace="b")
    assert one == aws_auth.identity_of(store, es_namespace="a")


def test_reserved_custom_tags_are_refused() -> None:
    store = aws_store(
        role="arn:role/r", sessionTagsPolicy="Custom", customSessionTags={"esoNamespace": "x"}
    )
    with pytest.raises(errors.InvalidSpecError) as caught:
        aws_auth.identity_of(store, es_namespace="team")
    assert str(caught.value) == aws_auth.MSG_RESERVED_TAGS
