"""The AWS providers against a real LocalStack (and the real apiserver for credentials)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import kr8s.asyncio
import msgspec
import pytest
from aiobotocore.session import get_session
from kube_support import create
from metrics_support import provider_calls

from asyncso import errors, kube, model, ports, property_path, settings
from asyncso.providers import aws_factory
from devenv import bench as devbench

SM = "AWS/SecretsManager"


async def value(provider: ports.SecretsProvider, ref: model.RemoteRef) -> bytes:
    """What the reconciler makes of a `data[]` entry: the raw read, narrowed to `property`."""
    return property_path.value(await provider.read(ref), ref)


async def value_map(provider: ports.SecretsProvider, ref: model.RemoteRef) -> dict[str, bytes]:
    return property_path.value_map(await provider.read(ref), ref)


@pytest.fixture
async def factory(bench: devbench.BenchInfo) -> AsyncIterator[aws_factory.AwsProviderFactory]:
    client = await kube.Kube.connect(str(bench.kubeconfig))
    made = aws_factory.AwsProviderFactory(client, settings.Settings(provider_batch_window=0.05))
    yield made
    await made.close()
    await client.close()


@pytest.fixture
async def aws(bench: devbench.BenchInfo) -> AsyncIterator[dict[str, Any]]:
    session = get_session()
    kwargs = {
        "endpoint_url": bench.aws_endpoint_url,
        "region_name": bench.aws_region,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    async with (
        session.create_client("secretsmanager", **kwargs) as sm,
        session.create_client("ssm", **kwargs) as ssm,
        session.create_client("iam", **kwargs) as iam,
    ):
        yield {"sm": sm, "ssm": ssm, "iam": iam}


async def credentials_secret(api: kr8s.asyncio.Api, namespace: str) -> None:
    await create(
        api,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "aws", "namespace": namespace},
            "data": {
                "id": base64.b64encode(b"test").decode(),
                "key": base64.b64encode(b"test").decode(),
            },
        },
    )


def store(namespace: str, *, service: str = "SecretsManager", **aws: Any) -> model.SecretStore:
    body = {
        "kind": "SecretStore",
        "metadata": {"name": "aws", "namespace": namespace},
        "spec": {
            "provider": {
                "aws": {
                    "service": service,
                    "region": "us-east-1",
                    "auth": {
                        "secretRef": {
                            "accessKeyIDSecretRef": {"name": "aws", "key": "id"},
                            "secretAccessKeySecretRef": {"name": "aws", "key": "key"},
                        }
                    },
                    **aws,
                }
            }
        },
    }
    return msgspec.convert(body, model.SecretStore)


def ref(key: str, **kw: Any) -> model.RemoteRef:
    return model.RemoteRef(key=key, **kw)


async def test_secrets_manager_reads_like_eso(
    kube: kr8s.asyncio.Api,
    namespace: str,
    factory: aws_factory.AwsProviderFactory,
    aws: dict[str, Any],
) -> None:
    await credentials_secret(kube, namespace)
    sm = aws["sm"]
    p = f"{namespace}/"
    doc = {"user": "app", "db": {"host": "h", "ports": [5432, 5433]}, "a.b": "dotted"}
    await sm.create_secret(
        Name=p + "json", SecretString=json.dumps(doc), Tags=[{"Key": "team", "Value": "blue"}]
    )
    await sm.create_secret(Name=p + "bin", SecretBinary=b"\x00\x01\xff")
    first = await sm.put_secret_value(SecretId=p + "json", SecretString='{"user":"v2"}')
    provider = await factory.provider_for(store(namespace, prefix=p), namespace=namespace)
    assert await value(provider, ref("json", property="user")) == b"v2"
    assert await value(provider, ref("json", version="AWSPREVIOUS", property="db.host")) == b"h"
    assert (
        await value(provider, ref("json", version="AWSPREVIOUS", property="db.ports.1")) == b"5433"
    )
    assert await value(provider, ref("json", version="AWSPREVIOUS", property="a.b")) == b"dotted"
    assert (
        await value(provider, ref("json", version=f"uuid/{first['VersionId']}")) == b'{"user":"v2"}'
    )
    assert await value(provider, ref("bin")) == b"\x00\x01\xff"
    assert await value_map(provider, ref("json")) == {"user": b"v2"}
    tags = await value(provider, ref("json", metadata_policy="Fetch"))
    assert json.loads(tags) == {"team": "blue"}
    with pytest.raises(errors.RemoteSecretNotFoundError):
        await value(provider, ref("missing"))
    with pytest.raises(errors.PermanentError) as exc:
        await value(provider, ref("json", property="nope"))
    assert not isinstance(exc.value, errors.RemoteSecretNotFoundError)


async def test_find_by_name_path_and_tags(
    kube: kr8s.asyncio.Api,
    namespace: str,
    factory: aws_factory.AwsProviderFactory,
    aws: dict[str, Any],
) -> None:
    await credentials_secret(kube, namespace)
    sm = aws["sm"]
    for name, tag in (("app/one", "x"), ("app/two", "y"), ("other/three", "x")):
        await sm.create_secret(
            Name=f"{namespace}/{name}", SecretString=name, Tags=[{"Key": "grp", "Value": tag}]
        )
    provider = await factory.provider_for(store(namespace), namespace=namespace)
    by_name = await provider.find(model.Find(name=model.FindName(regexp=f"^{namespace}/app/")))
    assert by_name == {f"{namespace}/app/one": b"app/one", f"{namespace}/app/two": b"app/two"}
    by_tag = await provider.find(
        model.Find(tags={"grp": "x"}, name=model.FindName(regexp=f"^{namespace}/"))
    )
    assert set(by_tag) == {f"{namespace}/app/one", f"{namespace}/other/three"}
    by_path = await provider.find(model.Find(path=f"{namespace}/other"))
    assert by_path == {f"{namespace}/other/three": b"other/three"}


async def test_batching_200_reads_over_60_secrets(
    kube: kr8s.asyncio.Api,
    namespace: str,
    factory: aws_factory.AwsProviderFactory,
    aws: dict[str, Any],
) -> None:
    """Fails without batching: one-call-per-read would make 200 calls."""
    import asyncio

    await credentials_secret(kube, namespace)
    for i in range(60):
        await aws["sm"].create_secret(Name=f"{namespace}/s{i}", SecretString=f"v{i}")
    provider = await factory.provider_for(
        store(namespace, prefix=f"{namespace}/"), namespace=namespace
    )
    before = sum(
        provider_calls(provider=SM, call=c) for c in ("BatchGetSecretValue", "GetSecretValue")
    )
    values = await asyncio.gather(*(value(provider, ref(f"s{i % 60}")) for i in range(200)))
    after = sum(
        provider_calls(provider=SM, call=c) for c in ("BatchGetSecretValue", "GetSecretValue")
    )
    assert values == [f"v{i % 60}".encode() for i in range(200)]
    assert after - before <= 3 + 1, f"{after - before} Secrets Manager calls for 60 secrets"


async def test_parameter_store(
    kube: kr8s.asyncio.Api,
    namespace: str,
    factory: aws_factory.AwsProviderFactory,
    aws: dict[str, Any],
) -> None:
    await credentials_secret(kube, namespace)
    ssm = aws["ssm"]
    base = f"/{namespace}"
    await ssm.put_parameter(Name=f"{base}/app/user", Value="u1", Type="String")
    await ssm.put_parameter(Name=f"{base}/app/user", Value="u2", Type="String", Overwrite=True)
    await ssm.put_parameter(Name=f"{base}/app/pw", Value='{"pw":"s"}', Type="SecureString")
    await ssm.put_parameter(
        Name=f"{base}/other/x", Value="x", Type="String", Tags=[{"Key": "grp", "Value": "g"}]
    )
    provider = await factory.provider_for(
        store(namespace, service="ParameterStore"), namespace=namespace
    )
    assert await value(provider, ref(f"{base}/app/user")) == b"u2"
    assert await value(provider, ref(f"{base}/app/user", version="1")) == b"u1"
    assert await value(provider, ref(f"{base}/app/pw", property="pw")) == b"s"
    with pytest.raises(errors.RemoteSecretNotFoundError):
        await value(provider, ref(f"{base}/nope"))
    by_path = await provider.find(model.Find(path=f"{base}/app"))
    assert by_path == {f"{base}/app/user": b"u2", f"{base}/app/pw": b'{"pw":"s"}'}
    by_tag = await provider.find(model.Find(tags={"grp": "g"}))
    assert by_tag == {f"{base}/other/x": b"x"}


async def test_secret_store_may_not_read_other_namespaces(
    namespace: str, factory: aws_factory.AwsProviderFactory
) -> None:
    bad = store(namespace)
    assert (
        bad.spec.provider.aws
        and bad.spec.provider.aws.auth
        and bad.spec.provider.aws.auth.secret_ref
    )
    bad.spec.provider.aws.auth.secret_ref.access_key_id_secret_ref.namespace = "elsewhere"  # type: ignore[union-attr]
    with pytest.raises(errors.InvalidSpecError, match="own namespace"):
        await factory.provider_for(bad, namespace=namespace)


async def test_assume_role_and_web_identity(
    kube: kr8s.asyncio.Api,
    namespace: str,
    factory: aws_factory.AwsProviderFactory,
    aws: dict[str, Any],
) -> None:
    await credentials_secret(kube, namespace)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    role = (
        await aws["iam"].create_role(
            RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=trust
        )
    )["Role"]["Arn"]
    await aws["sm"].create_secret(Name=f"{namespace}/assumed", SecretString="via-role")
    before = provider_calls(provider="AWS/STS", call="AssumeRole")
    provider = await factory.provider_for(store(namespace, role=role), namespace=namespace)
    assert await value(provider, ref(f"{namespace}/assumed")) == b"via-role"
    assert await value(provider, ref(f"{namespace}/assumed")) == b"via-role"
    assert provider_calls(provider="AWS/STS", call="AssumeRole") - before == 1  # cached
    # a second identity (different external ID) gets its own provider, not the first one's
    other = await factory.provider_for(
        store(namespace, role=role, externalID="x"), namespace=namespace
    )
    assert other is not provider
    # IRSA: a token from the real TokenRequest API, exchanged with AssumeRoleWithWebIdentity
    await create(
        kube,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "irsa",
                "namespace": namespace,
                "annotations": {"eks.amazonaws.com/role-arn": role},
            },
        },
    )
    jwt_store = msgspec.convert(
        {
            "kind": "SecretStore",
            "metadata": {"name": "jwt", "namespace": namespace},
            "spec": {
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": "us-east-1",
                        "auth": {"jwt": {"serviceAccountRef": {"name": "irsa"}}},
                    }
                }
            },
        },
        model.SecretStore,
    )
    before = provider_calls(provider="AWS/STS", call="AssumeRoleWithWebIdentity")
    irsa = await factory.provider_for(jwt_store, namespace=namespace)
    assert await value(irsa, ref(f"{namespace}/assumed")) == b"via-role"
    assert provider_calls(provider="AWS/STS", call="AssumeRoleWithWebIdentity") - before == 1
