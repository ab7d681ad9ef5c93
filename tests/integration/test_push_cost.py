"""What one refresh of 100 unchanged PushSecrets costs in AWS calls (Secrets Manager on
LocalStack), counted with the operator's provider-call metric.

100 PushSecrets push one key each to their own secret. A first operator creates them; it stops;
their `refreshTime` is set two hours back, so a second operator finds all 100 due when it starts
(as after a restart, or when their refreshes come due together). That refresh must write
nothing, and its comparisons share batched reads. The store belongs to controller class
"pushcost", so the suite's shared operator leaves these PushSecrets alone.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import kr8s.asyncio
from kube_support import create, eventually, merge_patch, request
from metrics_support import provider_calls

from asyncso import app, model, settings, timing
from asyncso import kube as kube_adapter
from devenv import bench as devbench

SM = "AWS/SecretsManager"
READS = ("BatchGetSecretValue", "GetSecretValue")
WRITES = (
    "CreateSecret",
    "PutSecretValue",
    "DescribeSecret",
    "TagResource",
    "UntagResource",
    "DeleteResourcePolicy",
    "PutResourcePolicy",
    "DeleteSecret",
)
COUNT = 100
PUSH = "/apis/external-secrets.io/v1alpha1"


def calls(names: tuple[str, ...]) -> dict[str, float]:
    return {name: provider_calls(provider=SM, call=name) for name in names}


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, int]:
    return {k: int(after[k] - before[k]) for k in after if after[k] != before[k]}


async def _objects(kube: kr8s.asyncio.Api, namespace: str) -> list[dict[str, Any]]:
    _, listing = await request(kube, "GET", f"{PUSH}/namespaces/{namespace}/pushsecrets")
    return listing["items"]  # type: ignore[no-any-return]


async def run_operator_until(bench: devbench.BenchInfo, namespace: str, done: Any) -> None:
    config = settings.Settings(
        kubeconfig=str(bench.kubeconfig),
        namespace=namespace,
        controller_class="pushcost",
        refresh_jitter=0.0,
        enable_cluster_external_secret_reconciler=False,
        enable_cluster_push_secret_reconciler=False,
    )
    client = await kube_adapter.Kube.connect(config.kubeconfig, max_in_flight=config.concurrent)
    registry = app.default_registry(client, config)
    op = app.Operator(config, client, registry)
    task = asyncio.create_task(op.run())
    try:
        await eventually(done, within=120, what="PushSecrets synced")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await registry.close()
        await client.close()


async def test_one_refresh_of_100_unchanged_pushsecrets(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, namespace: str, crds: None
) -> None:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    await create(
        kube,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "aws", "namespace": namespace},
            "data": {"id": b64("test"), "key": b64("test")},
        },
    )
    await create(
        kube,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "src", "namespace": namespace},
            "data": {"pw": b64("unchanging")},
        },
    )
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "SecretStore",
            "metadata": {"name": "aws", "namespace": namespace},
            "spec": {
                "controller": "pushcost",
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
                },
            },
        },
    )
    string = {
        "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
        "kind": "PushSecretMetadata",
        "spec": {"secretPushFormat": "string"},  # LocalStack's batch read chokes on binary
    }

    async def make(i: int) -> None:
        await create(
            kube,
            {
                "apiVersion": "external-secrets.io/v1alpha1",
                "kind": "PushSecret",
                "metadata": {"name": f"ps-{i}", "namespace": namespace},
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRefs": [{"name": "aws"}],
                    "selector": {"secret": {"name": "src"}},
                    "data": [
                        {
                            "match": {"secretKey": "pw", "remoteRef": {"remoteKey": f"ps-{i}"}},
                            "metadata": string,
                        }
                    ],
                },
            },
        )

    await asyncio.gather(*(make(i) for i in range(COUNT)))

    async def all_synced_after(moment: str) -> bool:
        items = await _objects(kube, namespace)
        return len(items) == COUNT and all(
            (item.get("status") or {}).get("refreshTime", "") > moment
            and item["status"]["conditions"][0]["reason"] == "Synced"
            for item in items
        )

    before = calls(READS + WRITES)
    await run_operator_until(bench, namespace, lambda: all_synced_after(""))
    first = delta(calls(READS + WRITES), before)
    assert first.get("CreateSecret") == COUNT

    aged = timing.format_time(time.time() - 7200)
    for i in range(COUNT):
        path = f"{PUSH}/namespaces/{namespace}/pushsecrets/ps-{i}/status"
        await merge_patch(kube, path, {"status": {"refreshTime": aged}})

    before = calls(READS + WRITES)
    await run_operator_until(bench, namespace, lambda: all_synced_after(aged))
    refresh = delta(calls(READS + WRITES), before)
    print(f"\nfirst push of {COUNT} PushSecrets: {first}")
    print(f"one refresh of {COUNT} unchanged PushSecrets: {refresh}")
    assert not set(refresh) & set(WRITES), refresh  # nothing written, not even a describe
    assert 0 < sum(refresh.values()) < COUNT  # comparisons rode on batched reads
