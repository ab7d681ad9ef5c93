"""ESO's AWS semantics that asyncso once read differently, against the real LocalStack."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import kr8s.asyncio
import pytest
from aiobotocore.session import get_session
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from metrics_support import provider_calls
from test_secretsmanager import aws, credentials_secret, factory, ref, store, value

from asyncso import errors
from asyncso import kube as kube_adapter
from asyncso.providers import aws_auth, aws_factory
from devenv import bench as devbench

__all__ = ["aws", "factory"]  # fixtures, shared with test_secretsmanager


async def test_current_and_versioned_parameter_in_one_batch(
    kube: kr8s.asyncio.Api,
    namespace: str,
    factory: aws_factory.AwsProviderFactory,
    aws: dict[str, Any],
) -> None:
    """One GetParameters call asks for `name` and `name:1`: each gets its own value (the
    versioned answer used to overwrite the current one)."""
    await credentials_secret(kube, namespace)
    ssm = aws["ssm"]
    name = f"/{namespace}/versioned"
    await ssm.put_parameter(Name=name, Value="v1", Type="String")
    await ssm.put_parameter(Name=name, Value="v2", Type="String", Overwrite=True)
    provider = await factory.provider_for(
        store(namespace, service="ParameterStore"), namespace=namespace
    )
    current, first = await asyncio.gather(
        value(provider, ref(name)), value(provider, ref(name, version="1"))
    )
    assert (current, first) == (b"v2", b"v1")
    again_first, again_current = await asyncio.gather(
        value(provider, ref(name, version="1")), value(provider, ref(name))
    )
    assert (again_current, again_first) == (b"v2", b"v1")


async def test_role_chain_ends_with_role_and_carries_session_tags(
    kube: kr8s.asyncio.Api,
    namespace: str,
    bench: devbench.BenchInfo,
    aws: dict[str, Any],
) -> None:
    """ESO assumes `additionalRoles` first and `role` last (with its external ID and the
    session tags of `sessionTagsPolicy`): the final identity is `role`'s."""
    await credentials_secret(kube, namespace)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    names = [f"chain-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    arns = [
        (await aws["iam"].create_role(RoleName=n, AssumeRolePolicyDocument=trust))["Role"]["Arn"]
        for n in names
    ]
    target = store(
        namespace,
        additionalRoles=[arns[0]],
        role=arns[1],
        externalID="ext-1",
        sessionTagsPolicy="Custom",
        customSessionTags={"cost": "42"},
    )
    client = await kube_adapter.Kube.connect(str(bench.kubeconfig))
    try:
        identity = aws_auth.identity_of(target, es_namespace=namespace)
        creds = await aws_auth.CredentialChain(identity, kube=client)._refresh()
    finally:
        await client.close()
    async with get_session().create_client(
        "sts",
        endpoint_url=bench.aws_endpoint_url,
        region_name=bench.aws_region,
        aws_access_key_id=creds["access_key"],
        aws_secret_access_key=creds["secret_key"],
        aws_session_token=creds["token"],
    ) as sts:
        caller = await sts.get_caller_identity()
    assert f":assumed-role/{names[1]}/" in caller["Arn"]


async def test_certificate_manager_reads_an_exportable_certificate_as_one_pem_bundle(
    kube: kr8s.asyncio.Api,
    namespace: str,
    bench: devbench.BenchInfo,
    factory: aws_factory.AwsProviderFactory,
) -> None:
    await credentials_secret(kube, namespace)
    async with get_session().create_client(
        "acm",
        endpoint_url=bench.aws_endpoint_url,
        region_name=bench.aws_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as acm:
        exportable = (
            await acm.request_certificate(
                DomainName=f"{namespace}.example.com", Options={"Export": "ENABLED"}
            )
        )["CertificateArn"]
        closed = (await acm.request_certificate(DomainName=f"c-{namespace}.example.com"))[
            "CertificateArn"
        ]
        expected = await acm.get_certificate(CertificateArn=exportable)
    provider = await factory.provider_for(
        store(namespace, service="CertificateManager"), namespace=namespace
    )
    before = provider_calls(provider="AWS/CertificateManager", call="ExportCertificate")
    bundle = (await provider.read(ref(exportable))).decode()
    blocks = [b for b in bundle.split("-----END ") if "-----BEGIN " in b]
    kinds = [b.split("-----BEGIN ", 1)[1].split("-----", 1)[0] for b in blocks]
    assert kinds[0] == "CERTIFICATE" and kinds[-1] == "PRIVATE KEY", kinds
    assert bundle.startswith(expected["Certificate"].rstrip("\n"))
    assert bundle.endswith("-----END PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(
        bundle[bundle.index("-----BEGIN PRIVATE KEY-----") :].encode(), password=None
    )
    cert = x509.load_pem_x509_certificate(expected["Certificate"].encode())
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    # unchanged certificate: no second (paid) export
    assert await provider.read(ref(exportable)) == bundle.encode()
    exports = provider_calls(provider="AWS/CertificateManager", call="ExportCertificate")
    assert exports - before == 1
    with pytest.raises(errors.PermanentError, match="is not exportable"):
        await provider.read(ref(closed))
    missing = exportable.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(errors.PermanentError, match="certificate not found") as caught:
        await provider.read(ref(missing))
    assert not isinstance(caught.value, errors.RemoteSecretNotFoundError)
