"""The operator with the AWS provider on LocalStack: the cost case of issue 4, end to end."""

from __future__ import annotations

import asyncio
import base64
import math

import kr8s.asyncio
from aiobotocore.session import get_session
from kube_support import GROUP_PATH, create, decoded, eventually, request
from metrics_support import provider_calls

from asyncso import app, model, settings
from asyncso import kube as kube_adapter
from devenv import bench as devbench

SM = "AWS/SecretsManager"
CALLS = ("BatchGetSecretValue", "GetSecretValue")


def sm_calls() -> float:
    return sum(provider_calls(provider=SM, call=c) for c in CALLS)


async def test_200_externalsecrets_over_60_secrets_cost_a_handful_of_calls(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, namespace: str, crds: None
) -> None:
    """As after a restart or a mass apply: the ExternalSecrets exist when the operator starts.
    The store belongs to controller class "cost", so the suite's shared operator ignores it."""
    session = get_session()
    async with session.create_client(
        "secretsmanager",
        endpoint_url=bench.aws_endpoint_url,
        region_name=bench.aws_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as sm:
        for i in range(60):
            await sm.create_secret(Name=f"{namespace}/db-{i}", SecretString=f'{{"pw":"p{i}"}}')
    await create(
        kube,
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
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "SecretStore",
            "metadata": {"name": "aws", "namespace": namespace},
            "spec": {
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": "us-east-1",
                        "prefix": f"{namespace}/",
                        "auth": {
                            "secretRef": {
                                "accessKeyIDSecretRef": {"name": "aws", "key": "id"},
                                "secretAccessKeySecretRef": {"name": "aws", "key": "key"},
                            }
                        },
                    }
                }
            },
        },
    )

    async def make(i: int) -> None:
        await create(
            kube,
            {
                "apiVersion": model.API_VERSION,
                "kind": "ExternalSecret",
                "metadata": {"name": f"es-{i}", "namespace": namespace},
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": {"name": "aws", "kind": "SecretStore"},
                    "data": [
                        {"secretKey": "pw", "remoteRef": {"key": f"db-{i % 60}", "property": "pw"}}
                    ],
                },
            },
        )

    await asyncio.gather(*(make(i) for i in range(200)))
    config = settings.Settings(
        kubeconfig=str(bench.kubeconfig), namespace=namespace, controller_class="cost"
    )
    client = await kube_adapter.Kube.connect(config.kubeconfig, max_in_flight=config.concurrent)
    registry = app.default_registry(client, config)
    op = app.Operator(config, client, registry)
    before = sm_calls()
    task = asyncio.create_task(op.run())

    async def all_synced() -> bool:
        _, listing = await request(
            kube,
            "GET",
            f"/api/v1/namespaces/{namespace}/secrets",
        )
        synced = {
            s["metadata"]["name"]: decoded(s)
            for s in listing["items"]
            if s["metadata"].get("labels", {}).get(model.LABEL_MANAGED) == "true"
        }
        return len(synced) == 200 and all(
            synced[f"es-{i}"] == {"pw": f"p{i % 60}"} for i in range(200)
        )

    async def all_ready() -> bool:
        _, listing = await request(
            kube, "GET", f"{GROUP_PATH}/namespaces/{namespace}/externalsecrets"
        )
        return all(
            ((item.get("status") or {}).get("conditions") or [{}])[0].get("reason")
            == "SecretSynced"
            for item in listing["items"]
        )

    try:
        await eventually(all_synced, within=90, what="200 Secrets synced")
        await eventually(all_ready, within=30, what="200 ExternalSecrets Ready")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await registry.close()
        await client.close()
    calls = sm_calls() - before
    # ESO: one GetSecretValue per entry per reconcile = 200. Batching: ceil(60/20) = 3, plus a
    # little slack for a batch window that closes before every read has arrived.
    print(f"\nSecrets Manager calls for 200 ExternalSecrets over 60 secrets: {calls:.0f}")
    assert calls <= math.ceil(60 / 20) + 3, f"{calls} calls"
