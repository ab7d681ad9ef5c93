"""ESO's AWS semantics that asyncso once read differently, against the real LocalStack."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import kr8s.asyncio
from aiobotocore.session import get_session
from test_secretsmanager import aws, credentials_secret, factory, ref, store, value

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
