"""Manifests and bench actions the security scenarios share: stores, ExternalSecrets, Secrets,
LocalStack values, forced syncs, waiting on conditions, and a recorder of Secret histories.

Why here: the corpus, fault, leak and defect scenarios set up the same tenant objects; written
once, each scenario reads as its story (seed, fault, observe) rather than as manifests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import kr8s.asyncio
import run_artifacts
from aiobotocore.session import get_session
from corpus import collection_path

from devenv import bench as devbench
from integration.kube_support import GROUP_PATH, merge_patch, request

ES_API = "external-secrets.io/v1"


def secret(namespace: str, name: str, data: dict[str, str], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "stringData": data,
    }


def fake_store(
    namespace: str, name: str, data: dict[str, str], *, controller: str
) -> dict[str, Any]:
    return {
        "apiVersion": ES_API,
        "kind": "SecretStore",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "controller": controller,
            "provider": {"fake": {"data": [{"key": k, "value": v} for k, v in data.items()]}},
        },
    }


def aws_store(
    namespace: str,
    name: str,
    *,
    controller: str,
    creds: str,
    service: str = "SecretsManager",
) -> dict[str, Any]:
    """An AWS store with static keys from Secret `creds` (keys `id` and `secret`)."""
    return {
        "apiVersion": ES_API,
        "kind": "SecretStore",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "controller": controller,
            "provider": {
                "aws": {
                    "service": service,
                    "region": devbench.AWS_REGION,
                    "auth": {
                        "secretRef": {
                            "accessKeyIDSecretRef": {"name": creds, "key": "id"},
                            "secretAccessKeySecretRef": {"name": creds, "key": "secret"},
                        }
                    },
                }
            },
        },
    }


def external_secret(
    namespace: str,
    name: str,
    *,
    store: str,
    data: list[dict[str, Any]] | None = None,
    refresh: str = "1h",
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": ES_API,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": refresh,
            "secretStoreRef": {"name": store, "kind": "SecretStore"},
            **spec,
        },
    }
    if data is not None:
        body["spec"]["data"] = data
    return body


def entry(key: str, remote: str, prop: str = "") -> dict[str, Any]:
    """One `data[]` item."""
    ref: dict[str, Any] = {"key": remote}
    if prop:
        ref["property"] = prop
    return {"secretKey": key, "remoteRef": ref}


async def create(api: kr8s.asyncio.Api, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = await request(api, "POST", collection_path(body), body)
    assert status == 201, answer
    return answer  # type: ignore[no-any-return]


async def create_all(api: kr8s.asyncio.Api, bodies: Iterable[dict[str, Any]]) -> None:
    await asyncio.gather(*(create(api, b) for b in bodies))


@contextlib.asynccontextmanager
async def secretsmanager(endpoint: str) -> AsyncIterator[Any]:
    """A Secrets Manager client straight to LocalStack (never through a fault proxy)."""
    async with get_session().create_client(
        "secretsmanager",
        region_name=devbench.AWS_REGION,
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as client:
        yield client


async def put_remote(endpoint: str, name: str, value: str) -> None:
    """Create the remote secret, or give it a new current value."""
    async with secretsmanager(endpoint) as client:
        try:
            await client.create_secret(Name=name, SecretString=value)
        except client.exceptions.ResourceExistsException:
            await client.put_secret_value(SecretId=name, SecretString=value)


def es_path(namespace: str, name: str) -> str:
    return f"{GROUP_PATH}/namespaces/{namespace}/externalsecrets/{name}"


async def force_sync(api: kr8s.asyncio.Api, namespace: str, name: str) -> None:
    """ESO's way to ask for a sync now: change the `force-sync` annotation."""
    stamp = f"{time.time():.6f}"
    await merge_patch(
        api, es_path(namespace, name), {"metadata": {"annotations": {"force-sync": stamp}}}
    )


async def ready_of(
    api: kr8s.asyncio.Api, namespace: str, names: Iterable[str]
) -> dict[str, tuple[str, str, str] | None]:
    found = await run_artifacts.externalsecrets(api, namespace)
    return {name: run_artifacts.ready(found.get(name)) for name in names}


async def wait_until(
    probe: Callable[[], Any], *, within: float, every: float = 0.25, what: str = "condition"
) -> float:
    """Await `probe()` until truthy; returns the seconds it took (AssertionError on timeout)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    last: Any = None
    while loop.time() - start < within:
        last = await probe()
        if last:
            return loop.time() - start
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {within}s waiting for {what}; last: {last!r}")


async def all_ready(
    api: kr8s.asyncio.Api, namespace: str, names: Iterable[str], status: str = "True"
) -> bool:
    conditions = await ready_of(api, namespace, list(names))
    return all(c is not None and c[0] == status for c in conditions.values())


class SecretHistory:
    """Polls Secrets and keeps each one's distinct successive data (None: absent).

    The fault tests' safety rule reads from it: once a Secret existed it never vanished, never
    went empty, and its values only moved forward through the versions the test wrote.
    """

    def __init__(self, api: kr8s.asyncio.Api, namespace: str, names: Iterable[str]) -> None:
        self.api = api
        self.namespace = namespace
        self.names = list(names)
        self.seen: dict[str, list[dict[str, str] | None]] = {n: [] for n in self.names}
        self._task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        while True:
            found = await run_artifacts.secrets(self.api, self.namespace)
            for name in self.names:
                data = run_artifacts.decoded(found[name]) if name in found else None
                history = self.seen[name]
                if not history or history[-1] != data:
                    history.append(data)
            await asyncio.sleep(0.2)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def violations(self, versions: list[dict[str, str]]) -> list[str]:
        """Secrets that vanished, went empty, or went back to an older version."""
        bad = []
        for name, history in self.seen.items():
            first = next((i for i, h in enumerate(history) if h is not None), len(history))
            seen = history[first:]
            if None in seen:
                bad.append(f"{name} vanished: {history}")
            if any(h == {} for h in seen):
                bad.append(f"{name} was emptied: {history}")
            order = [versions.index(h) if h in versions else -1 for h in seen if h is not None]
            if -1 in order or order != sorted(order):
                bad.append(f"{name} regressed or held unknown data: {history}")
        return bad
