"""ESO's AWS semantics that asyncso once read differently, against the real LocalStack."""

from __future__ import annotations

import asyncio
from typing import Any

import kr8s.asyncio
from test_secretsmanager import aws, credentials_secret, factory, ref, store, value

from asyncso.providers import aws_factory

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
