"""The baseline: a minimal async writer making the operator's cold-sync writes, nothing else.

Why: cold-sync time on a shared two-core bench is mostly the apiserver and etcd; the operator's
own overhead is the ratio between its cold sync and this writer's time for the same writes
(a Secret create and an ExternalSecret status patch per ExternalSecret, optionally the Event),
at the same concurrency (the operator's default `--concurrent`), against the same apiserver in
the same run. No operator code is used: plain httpx, no watch, no provider.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from bench import kubeapi
from bench.seeding import bounded
from bench.workload import GROUP_VERSION, Workload

LABEL_MANAGED = "reconcile.external-secrets.io/managed"
ANNOTATION_DATA_HASH = "reconcile.external-secrets.io/data-hash"
PREFIX = "bare-"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def secret_manifest(
    *, namespace: str, es_name: str, es_uid: str, data: Mapping[str, str]
) -> dict[str, Any]:
    """A Secret shaped like the operator's (labels, data hash, controller owner reference)."""
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    digest = hashlib.sha3_224(repr(sorted(encoded.items())).encode()).hexdigest()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": PREFIX + es_name,
            "namespace": namespace,
            "labels": {LABEL_MANAGED: "true"},
            "annotations": {ANNOTATION_DATA_HASH: digest},
            "ownerReferences": [
                {
                    "apiVersion": GROUP_VERSION,
                    "kind": "ExternalSecret",
                    "name": es_name,
                    "uid": es_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "data": encoded,
    }


def status_patch(*, es_name: str, secret_version: str) -> dict[str, Any]:
    """The success status the operator writes (ESO's Ready condition, refresh time, binding)."""
    now = _now()
    return {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "SecretSynced",
                    "message": "secret synced",
                    "lastTransitionTime": now,
                }
            ],
            "refreshTime": now,
            "syncedResourceVersion": f"1-{secret_version}",
            "binding": {"name": PREFIX + es_name},
        }
    }


def event_manifest(*, namespace: str, es_name: str, es_uid: str) -> dict[str, Any]:
    now = _now()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{es_name}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": GROUP_VERSION,
            "kind": "ExternalSecret",
            "name": es_name,
            "namespace": namespace,
            "uid": es_uid,
        },
        "reason": "Updated",
        "message": "secret synced",
        "type": "Normal",
        "source": {"component": "bench-bare-writer"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


async def run(
    client: httpx.AsyncClient,
    workload: Workload,
    uids: Mapping[tuple[str, str], str],
    *,
    concurrency: int,
    events: bool = False,
) -> tuple[float, int]:
    """Make the writes for all N ExternalSecrets; return (seconds, requests made)."""
    requests = 0

    def job(i: int) -> Callable[[], Awaitable[None]]:
        async def write() -> None:
            nonlocal requests
            namespace, name = workload.namespace_of(i), workload.es_name(i)
            uid = uids[(namespace, name)]
            secret = await kubeapi.create(
                client,
                secret_manifest(
                    namespace=namespace, es_name=name, es_uid=uid, data=workload.expected(i)
                ),
            )
            path = f"/apis/{GROUP_VERSION}/namespaces/{namespace}/externalsecrets/{name}/status"
            await kubeapi.merge_patch(
                client,
                path,
                status_patch(es_name=name, secret_version=secret["metadata"]["resourceVersion"]),
            )
            requests += 2
            if events:
                await kubeapi.create(
                    client, event_manifest(namespace=namespace, es_name=name, es_uid=uid)
                )
                requests += 1

        return write

    started = time.monotonic()
    await bounded(concurrency, (job(i) for i in range(workload.count)))
    return time.monotonic() - started, requests
