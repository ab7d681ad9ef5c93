"""Puts W(N) on the bench (AWS secrets, namespaces, stores, ExternalSecrets) and takes it off.

Why bounded pools: creating 10,000+ objects one by one would take longer than the benchmark;
firing them all at once would swamp the apiserver and LocalStack on two cores. A fixed number
of requests in flight keeps setup fast and its cost predictable.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
import kr8s.asyncio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from asyncso import crdgen
from bench import kubeapi
from bench.workload import Workload
from devenv import bench as devbench


async def bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run the jobs with at most `limit` in flight; the first error cancels the rest."""
    queue = list(jobs)
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(queue):
            job = queue[position]
            position += 1
            await job()

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, min(limit, len(queue)))):
            group.create_task(worker())


#: LocalStack's CreateSecret walks every secret it holds; with tens of thousands of them,
#: concurrent creates fail now and then with "dictionary changed size during iteration" (an
#: InternalError, which botocore's standard retries leave alone): tried again, shortly.
CREATE_ATTEMPTS = 20


def aws_client(info: devbench.BenchInfo, *, connections: int) -> Any:
    """A Secrets Manager client straight to LocalStack (not through the counting proxy)."""
    return get_session().create_client(
        "secretsmanager",
        endpoint_url=info.aws_endpoint_url,
        region_name=info.aws_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=AioConfig(max_pool_connections=connections),
    )


async def install_crds(info: devbench.BenchInfo) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Kubernetes version.*")  # the bench's 1.20
        api = await kr8s.asyncio.Api(kubeconfig=str(info.kubeconfig), bypass_factory=True)
    try:
        await crdgen.install_crds(api)
    finally:
        session = getattr(api, "_session", None)
        if session is not None:
            await session.aclose()


async def seed_remote(info: devbench.BenchInfo, workload: Workload, *, concurrency: int) -> None:
    """Create the U Secrets Manager secrets at version 1."""
    async with aws_client(info, connections=concurrency) as sm:

        def job(j: int) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                for attempt in range(1, CREATE_ATTEMPTS + 1):
                    try:
                        await sm.create_secret(
                            Name=workload.remote_name(j),
                            SecretString=json.dumps(workload.remote_value(j)),
                        )
                        return
                    except ClientError as exc:
                        code = exc.response.get("Error", {}).get("Code")
                        if code != "InternalError" or attempt == CREATE_ATTEMPTS:
                            raise
                        await asyncio.sleep(0.05 * attempt)

            return run

        await bounded(concurrency, (job(j) for j in range(workload.remote_count)))


async def put_remote(
    info: devbench.BenchInfo, workload: Workload, versions: dict[int, int]
) -> None:
    """Write new versions of some remote secrets (the freshness check's change in AWS)."""
    async with aws_client(info, connections=len(versions) or 1) as sm:
        await asyncio.gather(
            *(
                sm.put_secret_value(
                    SecretId=workload.remote_name(j),
                    SecretString=json.dumps(workload.remote_value(j, version)),
                )
                for j, version in versions.items()
            )
        )


async def create_objects(
    client: httpx.AsyncClient, workload: Workload, *, concurrency: int
) -> dict[tuple[str, str], str]:
    """Namespaces, credentials and stores, then the N ExternalSecrets; returns their uids."""
    for namespace in workload.namespace_names():
        await kubeapi.create(
            client,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            exist_ok=True,
        )
        await kubeapi.create(client, workload.credentials_secret(namespace))
    for store in workload.stores():
        await kubeapi.create(client, store)
    uids: dict[tuple[str, str], str] = {}

    def job(i: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            created = await kubeapi.create(client, workload.external_secret(i))
            meta = created["metadata"]
            uids[(meta["namespace"], meta["name"])] = meta["uid"]

        return run

    await bounded(concurrency, (job(i) for i in range(workload.count)))
    return uids


async def remove_remote(info: devbench.BenchInfo, workload: Workload, *, concurrency: int) -> None:
    async with aws_client(info, connections=concurrency) as sm:

        def job(j: int) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                await sm.delete_secret(
                    SecretId=workload.remote_name(j), ForceDeleteWithoutRecovery=True
                )

            return run

        await bounded(concurrency, (job(j) for j in range(workload.remote_count)))
