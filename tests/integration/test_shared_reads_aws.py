"""The shared read path on the real wire (kube-apiserver + LocalStack): two tenants with the same
secret name under different AWS identities never see each other's values; routine refreshes
cost sweeps, not reads per ExternalSecret; a change in AWS reaches every reader; change
detection by ListSecrets reads only what changed.

LocalStack without IAM takes a 12-digit access key id as the account id, so two stores with
different keys are two AWS accounts holding different secrets under one name: the identity of
each read is checked by the value it returns.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import kr8s.asyncio
import pytest
from aiobotocore.session import get_session
from kube_support import create, decoded, eventually, get

from asyncso import app, model, settings
from asyncso import kube as kube_adapter
from asyncso.providers import aws_secretsmanager
from devenv import bench as devbench

ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@contextlib.asynccontextmanager
async def secrets_manager(bench: devbench.BenchInfo, account: str) -> AsyncIterator[Any]:
    async with get_session().create_client(
        "secretsmanager",
        endpoint_url=bench.aws_endpoint_url,
        region_name=bench.aws_region,
        aws_access_key_id=account,
        aws_secret_access_key="test",
    ) as client:
        yield client


async def make_store(
    kube: kr8s.asyncio.Api,
    namespace: str,
    name: str,
    *,
    account: str,
    controller: str = "",
    annotations: dict[str, str] | None = None,
) -> None:
    await create(
        kube,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{name}-creds", "namespace": namespace},
            "data": {"id": _b64(account), "key": _b64("test")},
        },
    )
    spec: dict[str, Any] = {
        "provider": {
            "aws": {
                "service": "SecretsManager",
                "region": "us-east-1",
                "auth": {
                    "secretRef": {
                        "accessKeyIDSecretRef": {"name": f"{name}-creds", "key": "id"},
                        "secretAccessKeySecretRef": {"name": f"{name}-creds", "key": "key"},
                    }
                },
            }
        }
    }
    if controller:
        spec["controller"] = controller
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "SecretStore",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
            "spec": spec,
        },
    )


async def make_es(
    kube: kr8s.asyncio.Api, namespace: str, name: str, *, store: str, key: str, interval: str
) -> None:
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "refreshInterval": interval,
                "secretStoreRef": {"name": store, "kind": "SecretStore"},
                "data": [{"secretKey": "pw", "remoteRef": {"key": key, "property": "pw"}}],
            },
        },
    )


def secret_holds(kube: kr8s.asyncio.Api, namespace: str, name: str, value: str) -> Any:
    async def check() -> bool:
        found = await get(kube, f"/api/v1/namespaces/{namespace}/secrets/{name}")
        return found is not None and decoded(found) == {"pw": value}

    return check


@contextlib.asynccontextmanager
async def own_operator(
    bench: devbench.BenchInfo, namespace: str, controller: str
) -> AsyncIterator[app.Operator]:
    """An operator of its own (its stores carry `controller`), so its AWS calls are its own."""
    config = settings.Settings(
        kubeconfig=str(bench.kubeconfig),
        namespace=namespace,
        controller_class=controller,
        min_refresh_interval=0.0,  # the 2 s intervals here are meant
    )
    client = await kube_adapter.Kube.connect(config.kubeconfig, max_in_flight=config.concurrent)
    registry = app.default_registry(client, config)
    op = app.Operator(config, client, registry)
    task = asyncio.create_task(op.run())
    try:
        await asyncio.wait_for(op.ready.wait(), timeout=30)
        yield op
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await registry.close()
        await client.close()


async def reader_of(op: app.Operator, namespace: str, store: str) -> Any:
    """The provider (one credential identity) the operator reads `store` through."""
    entry = op.view.stores[("SecretStore", namespace, store)]
    assert entry.store is not None
    factory = op.registry.factory_for(entry.store)
    return await factory.provider_for(entry.store, namespace=namespace)


async def test_two_tenants_reading_one_name_each_get_their_own_identity_s_value(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, namespace: str, crds: None
) -> None:
    controller = f"tenants-{uuid.uuid4().hex[:6]}"
    key = f"{namespace}/db"
    async with secrets_manager(bench, ACCOUNT_A) as a, secrets_manager(bench, ACCOUNT_B) as b:
        await a.create_secret(Name=key, SecretString='{"pw":"of-tenant-a"}')
        await b.create_secret(Name=key, SecretString='{"pw":"of-tenant-b"}')
        got_b = await b.get_secret_value(SecretId=key)
        if "of-tenant-b" not in got_b["SecretString"]:
            pytest.skip("this LocalStack does not keep accounts apart by access key id")
        await make_store(kube, namespace, "store-a", account=ACCOUNT_A, controller=controller)
        await make_store(kube, namespace, "store-b", account=ACCOUNT_B, controller=controller)
        async with own_operator(bench, namespace, controller) as op:
            await make_es(kube, namespace, "es-a", store="store-a", key=key, interval="2s")
            await eventually(
                secret_holds(kube, namespace, "es-a", "of-tenant-a"), within=60, what="es-a"
            )
            # Tenant A's value is cached now; tenant B asks for the same name with its store.
            await make_es(kube, namespace, "es-b", store="store-b", key=key, interval="2s")
            await eventually(
                secret_holds(kube, namespace, "es-b", "of-tenant-b"), within=60, what="es-b"
            )
            reader_a = await reader_of(op, namespace, "store-a")
            reader_b = await reader_of(op, namespace, "store-b")
            assert reader_a is not reader_b and reader_a.shared is not reader_b.shared
            # A change in account A reaches A's reader and never B's.
            await a.put_secret_value(SecretId=key, SecretString='{"pw":"a-changed"}')
            await eventually(
                secret_holds(kube, namespace, "es-a", "a-changed"), within=60, what="es-a new"
            )
            await asyncio.sleep(3)  # more than one of es-b's refreshes
            assert await secret_holds(kube, namespace, "es-b", "of-tenant-b")()


async def test_refreshes_cost_sweeps_and_a_change_reaches_every_reader(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, namespace: str, crds: None
) -> None:
    controller = f"shared-{uuid.uuid4().hex[:6]}"
    keys = [f"{namespace}/db-{j}" for j in range(3)]
    async with secrets_manager(bench, ACCOUNT_A) as sm:
        for j, key in enumerate(keys):
            await sm.create_secret(Name=key, SecretString=f'{{"pw":"v1-{j}"}}')
        await make_store(kube, namespace, "aws", account=ACCOUNT_A, controller=controller)
        for i in range(12):
            await make_es(kube, namespace, f"es-{i}", store="aws", key=keys[i % 3], interval="2s")
        async with own_operator(bench, namespace, controller) as op:
            for i in range(12):
                await eventually(
                    secret_holds(kube, namespace, f"es-{i}", f"v1-{i % 3}"),
                    within=60,
                    what=f"es-{i} synced",
                )
            reader = await reader_of(op, namespace, "aws")
            before = reader.shared.calls, reader.shared.hits
            await asyncio.sleep(6)  # about three refreshes of each of the 12
            calls = reader.shared.calls - before[0]
            hits = reader.shared.hits - before[1]
            # Per ExternalSecret reads would be 12 per cycle; sweeps make one call per cycle
            # (3 ids, one batch), and the refreshes are answered from the cache.
            assert hits >= 12, (calls, hits)
            assert calls <= hits / 3, (calls, hits)
            await sm.put_secret_value(SecretId=keys[1], SecretString='{"pw":"v2-1"}')
            for i in range(1, 12, 3):
                await eventually(
                    secret_holds(kube, namespace, f"es-{i}", "v2-1"),
                    within=30,
                    what=f"es-{i} has the new value",
                )


async def test_change_detection_lists_and_reads_only_what_changed(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, namespace: str, crds: None
) -> None:
    controller = f"detect-{uuid.uuid4().hex[:6]}"
    account = f"3{uuid.uuid4().int % 10**11:011d}"  # an account of its own: a short listing
    keys = [f"{namespace}/db-{j}" for j in range(5)]
    async with secrets_manager(bench, account) as sm:
        for j, key in enumerate(keys):
            await sm.create_secret(Name=key, SecretString=f'{{"pw":"v1-{j}"}}')
        annotations = {aws_secretsmanager.ANNOTATION_CHANGE_DETECTION: "ListSecrets"}
        await make_store(
            kube, namespace, "aws", account=account, controller=controller, annotations=annotations
        )
        for j in range(5):
            await make_es(kube, namespace, f"es-{j}", store="aws", key=keys[j], interval="2s")
        async with own_operator(bench, namespace, controller) as op:
            for j in range(5):
                await eventually(
                    secret_holds(kube, namespace, f"es-{j}", f"v1-{j}"),
                    within=60,
                    what=f"es-{j} synced",
                )
            reader = await reader_of(op, namespace, "aws")
            assert reader.shared.verify is not None
            fetched: list[list[str]] = []
            fetch = reader.shared._fetch_many

            async def recording(ids: list[str]) -> Any:
                fetched.append(list(ids))
                return await fetch(ids)

            reader.shared._fetch_many = recording
            before = reader.shared.calls
            await asyncio.sleep(5)  # two sweeps or more: listings only
            assert reader.shared.calls - before >= 1
            assert fetched == []
            await sm.put_secret_value(SecretId=keys[3], SecretString='{"pw":"v2-3"}')
            await eventually(
                secret_holds(kube, namespace, "es-3", "v2-3"), within=30, what="es-3 updated"
            )
            assert [keys[3]] in fetched
            assert all(ids == [keys[3]] for ids in fetched)
