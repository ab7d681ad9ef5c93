"""Benchmark: how long the operator takes to sync N ExternalSecrets on the test bench.

    PYTHONPATH=tools .venv/bin/python tools/benchmarks/sync_many.py --count 1000 [--runs 3]

Starts the bench (etcd + kube-apiserver + LocalStack), installs the CRDs, creates one fake
SecretStore holding N values and N ExternalSecrets (before the operator starts, as after a
restart or a mass apply), then starts the operator in-process and measures the wall time until
every target Secret exists with the right data and every ExternalSecret is Ready. Prints the
figure of each run and the median. Also reports the operator's peak RSS growth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time
import uuid
from typing import Any

import kr8s.asyncio

from asyncso import app, crdgen, kube, model, settings
from devenv import bench as devbench


async def _post(api: kr8s.asyncio.Api, path: str, body: dict[str, Any]) -> None:
    async with api.call_api(
        "POST",
        version="",
        base=path,
        url="",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    ) as resp:
        assert resp.status_code == 201, resp.text


async def _count(api: kr8s.asyncio.Api, namespace: str) -> tuple[int, int]:
    """(managed Secrets, Ready ExternalSecrets) in the namespace."""
    async with api.call_api(
        "GET",
        version="",
        base=f"/api/v1/namespaces/{namespace}/secrets",
        url="",
        params={"labelSelector": f"{model.LABEL_MANAGED}=true"},
    ) as resp:
        secrets = len(resp.json()["items"])
    async with api.call_api(
        "GET",
        version="",
        base=f"/apis/{model.API_VERSION}/namespaces/{namespace}/externalsecrets",
        url="",
    ) as resp:
        ready = 0
        for item in resp.json()["items"]:
            for cond in (item.get("status") or {}).get("conditions") or []:
                if cond["type"] == "Ready" and cond["status"] == "True":
                    ready += 1
    return secrets, ready


async def one_run(info: devbench.BenchInfo, count: int, concurrent: int) -> float:
    api = await kr8s.asyncio.api(kubeconfig=str(info.kubeconfig))
    await crdgen.install_crds(api)
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    await _post(
        api,
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )
    data = [{"key": f"key-{i}", "value": json.dumps({"pw": f"value-{i}"})} for i in range(count)]
    await _post(
        api,
        f"/apis/{model.API_VERSION}/namespaces/{namespace}/secretstores",
        {
            "apiVersion": model.API_VERSION,
            "kind": "SecretStore",
            "metadata": {"name": "fake", "namespace": namespace},
            "spec": {"provider": {"fake": {"data": data}}},
        },
    )
    sem = asyncio.Semaphore(32)

    async def make(i: int) -> None:
        async with sem:
            await _post(
                api,
                f"/apis/{model.API_VERSION}/namespaces/{namespace}/externalsecrets",
                {
                    "apiVersion": model.API_VERSION,
                    "kind": "ExternalSecret",
                    "metadata": {"name": f"es-{i}", "namespace": namespace},
                    "spec": {
                        "refreshInterval": "1h",
                        "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                        "data": [
                            {
                                "secretKey": "password",
                                "remoteRef": {"key": f"key-{i}", "property": "pw"},
                            }
                        ],
                    },
                },
            )

    await asyncio.gather(*(make(i) for i in range(count)))
    config = settings.Settings(
        kubeconfig=str(info.kubeconfig), namespace=namespace, concurrent=concurrent
    )
    client = await kube.Kube.connect(config.kubeconfig, max_in_flight=config.concurrent)
    registry = app.default_registry(client, config)
    operator = app.Operator(config, client, registry)
    started = time.perf_counter()
    task = asyncio.create_task(operator.run())
    try:
        while True:
            await asyncio.sleep(0.5)
            secrets, ready = await _count(api, namespace)
            if secrets >= count and ready >= count:
                break
        return time.perf_counter() - started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await registry.close()
        await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=16)
    args = parser.parse_args()
    with devbench.Bench() as info:
        figures = []
        for run in range(args.runs):
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            seconds = await one_run(info, args.count, args.concurrent)
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            figures.append(seconds)
            print(
                f"run {run + 1}: {args.count} ExternalSecrets synced in {seconds:.1f} s "
                f"({args.count / seconds:.0f}/s); peak RSS {rss_after / 1024:.0f} MiB "
                f"(+{(rss_after - rss_before) / 1024:.0f})",
                flush=True,
            )
        print(
            f"median: {statistics.median(figures):.1f} s for {args.count} ExternalSecrets "
            f"(concurrent={args.concurrent})"
        )


if __name__ == "__main__":
    asyncio.run(main())
