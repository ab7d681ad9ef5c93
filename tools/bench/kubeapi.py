"""The benchmark's own apiserver access: an admin httpx client and the few calls it makes.

Why not the operator's `asyncso.kube`: the benchmark must not share code paths with what it
measures (the bare writer in particular is the "no operator code" baseline), and it needs only
create, merge-patch and a raw GET.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import msgspec

from devenv import bench as devbench

_encoder = msgspec.json.Encoder()


class KubeApiError(RuntimeError):
    """An apiserver request the benchmark needs failed; the message names it."""


def admin_client(info: devbench.BenchInfo, *, connections: int = 64) -> httpx.AsyncClient:
    """An HTTP/1.1 client as the bench's cluster admin, `connections` sockets at most."""
    context = ssl.create_default_context(cafile=str(info.ca_file))
    return httpx.AsyncClient(
        base_url=info.apiserver_url,
        headers={"Authorization": f"Bearer {info.admin_token}"},
        verify=context,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=httpx.Timeout(60.0),
    )


def collection_path(manifest: dict[str, Any]) -> str:
    """The POST path of a manifest (core or external-secrets kinds the benchmark uses)."""
    plural = {
        "Namespace": "namespaces",
        "Secret": "secrets",
        "Event": "events",
        "SecretStore": "secretstores",
        "ClusterSecretStore": "clustersecretstores",
        "ExternalSecret": "externalsecrets",
    }[manifest["kind"]]
    version = manifest["apiVersion"]
    base = "/api/v1" if version == "v1" else f"/apis/{version}"
    namespace = manifest.get("metadata", {}).get("namespace")
    if namespace and plural != "namespaces":
        return f"{base}/namespaces/{namespace}/{plural}"
    return f"{base}/{plural}"


async def create(
    client: httpx.AsyncClient, manifest: dict[str, Any], *, exist_ok: bool = False
) -> dict[str, Any]:
    """POST the manifest; return the created object (or `{}` if it existed and `exist_ok`)."""
    response = await client.post(
        collection_path(manifest),
        content=_encoder.encode(manifest),
        headers={"Content-Type": "application/json"},
    )
    if response.status_code == 409 and exist_ok:
        return {}
    if response.status_code != 201:
        name = manifest.get("metadata", {}).get("name", "?")
        raise KubeApiError(
            f"create {manifest['kind']} {name}: HTTP {response.status_code} {response.text[:300]}"
        )
    created: dict[str, Any] = msgspec.json.decode(response.content)
    return created


async def merge_patch(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    response = await client.patch(
        path,
        content=_encoder.encode(body),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    if response.status_code != 200:
        raise KubeApiError(f"patch {path}: HTTP {response.status_code} {response.text[:300]}")


async def get_text(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    if response.status_code != 200:
        raise KubeApiError(f"GET {path}: HTTP {response.status_code}")
    return response.text
