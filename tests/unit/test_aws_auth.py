"""`aws_auth.identity_of`: who reads for a store, and which names it may point at (pure)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from asyncso import errors, model
from asyncso.providers import aws_auth

AUTH = "spec.provider.aws.auth"


def store(auth: dict[str, Any], *, kind: str = "SecretStore", **aws: Any) -> model.SecretStore:
    body = {
        "kind": kind,
        "metadata": {"name": "s", "namespace": "" if kind == "ClusterSecretStore" else "team-a"},
        "spec": {
            "provider": {
                "aws": {"service": "SecretsManager", "region": "eu-west-1", "auth": auth, **aws}
            }
        },
    }
    return msgspec.convert(body, model.SecretStore)


def keys(name: str = "creds", namespace: str | None = None) -> dict[str, Any]:
    def ref(key: str) -> dict[str, Any]:
        out = {"name": name, "key": key}
        if namespace is not None:
            out["namespace"] = namespace
        return out

    return {
        "secretRef": {
            "accessKeyIDSecretRef": ref("id"),
            "secretAccessKeySecretRef": ref("secret"),
        }
    }


def jwt(name: str = "irsa", namespace: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": name}
    if namespace is not None:
        ref["namespace"] = namespace
    return {"jwt": {"serviceAccountRef": ref}}


def test_static_keys_identity() -> None:
    identity = aws_auth.identity_of(store(keys()), es_namespace="ignored")
    assert [(k.credential, k.namespace, k.name, k.key) for k in identity.keys] == [
        ("access_key_id", "team-a", "creds", "id"),
        ("secret_access_key", "team-a", "creds", "secret"),
    ]
    assert identity.keys[0].field == f"{AUTH}.secretRef.accessKeyIDSecretRef"
    assert identity.service_account is None and not identity.uses_default_chain


def test_cluster_store_refs_default_to_the_externalsecrets_namespace() -> None:
    css = store(keys(), kind="ClusterSecretStore")
    assert {k.namespace for k in aws_auth.identity_of(css, es_namespace="team-b").keys} == {
        "team-b"
    }
    pinned = store(jwt(namespace="infra"), kind="ClusterSecretStore")
    sa = aws_auth.identity_of(pinned, es_namespace="team-b").service_account
    assert sa is not None and (sa.namespace, sa.name) == ("infra", "irsa")


def test_identities_differ_by_source_and_roles() -> None:
    a = aws_auth.identity_of(store(keys()), es_namespace="x")
    b = aws_auth.identity_of(store(keys(name="other")), es_namespace="x")
    c = aws_auth.identity_of(store(keys(), role="arn:aws:iam::1:role/r"), es_namespace="x")
    assert len({a, b, c}) == 3
    assert aws_auth.identity_of(store({}), es_namespace="x").uses_default_chain


@pytest.mark.parametrize(
    ("auth", "kind", "field"),
    [
        (keys(name="../../b/secrets/x"), "SecretStore", "secretRef.accessKeyIDSecretRef.name"),
        (keys(name="a/b"), "ClusterSecretStore", "secretRef.accessKeyIDSecretRef.name"),
        (
            keys(namespace="../b"),
            "ClusterSecretStore",
            "secretRef.accessKeyIDSecretRef.namespace",
        ),
        (jwt(name="../../b/serviceaccounts/irsa"), "SecretStore", "jwt.serviceAccountRef.name"),
        (jwt(name="%2e%2e"), "ClusterSecretStore", "jwt.serviceAccountRef.name"),
        (jwt(namespace="B"), "ClusterSecretStore", "jwt.serviceAccountRef.namespace"),
    ],
)
def test_traversal_names_are_refused_naming_the_field(
    auth: dict[str, Any], kind: str, field: str
) -> None:
    with pytest.raises(errors.InvalidNameError, match=rf"^{AUTH}\.{field}: "):
        aws_auth.identity_of(store(auth, kind=kind), es_namespace="team-a")


@pytest.mark.parametrize("auth", [keys(namespace="team-b"), jwt(namespace="team-b")])
def test_a_secretstore_may_not_point_at_another_namespace(auth: dict[str, Any]) -> None:
    with pytest.raises(errors.InvalidSpecError, match=r"\.namespace: a SecretStore may only use"):
        aws_auth.identity_of(store(auth), es_namespace="team-a")


def test_missing_parts_are_named() -> None:
    with pytest.raises(errors.InvalidSpecError, match=r"serviceAccountRef\.name: required"):
        aws_auth.identity_of(store({"jwt": {}}), es_namespace="x")
    half = {"secretRef": {"accessKeyIDSecretRef": {"name": "a", "key": "k"}}}
    with pytest.raises(errors.InvalidSpecError, match=r"secretAccessKeySecretRef: required"):
        aws_auth.identity_of(store(half), es_namespace="x")


ENDPOINT_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_ECR",
    "AWS_ECR_ENDPOINT",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_SECRETSMANAGER_ENDPOINT",
)


@pytest.mark.parametrize(
    ("env", "service", "expected"),
    [
        ({}, "ecr", None),
        ({"AWS_ENDPOINT_URL": "http://all"}, "ecr", "http://all"),
        # botocore's per-service variable wins over the general one (an explicit endpoint_url
        # from AWS_ENDPOINT_URL would otherwise hide it from botocore).
        (
            {"AWS_ENDPOINT_URL": "http://all", "AWS_ENDPOINT_URL_ECR": "http://ecr"},
            "ecr",
            "http://ecr",
        ),
        (
            {"AWS_ENDPOINT_URL": "http://all", "AWS_ENDPOINT_URL_ECR": "http://ecr"},
            "sts",
            "http://all",
        ),
        # ESO's own variable first.
        (
            {"AWS_ENDPOINT_URL_ECR": "http://ecr", "AWS_ECR_ENDPOINT": "http://eso"},
            "ecr",
            "http://eso",
        ),
        ({"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://sm"}, "secretsmanager", "http://sm"),
        ({"AWS_ENDPOINT_URL_ECR": "http://ecr"}, "ecr-public", None),
    ],
)
def test_endpoint_for_honours_eso_then_botocore_then_the_general_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], service: str, expected: str | None
) -> None:
    for name in ENDPOINT_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert aws_auth.endpoint_for(service) == expected
