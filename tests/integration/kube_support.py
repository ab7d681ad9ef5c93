"""Small raw-API helpers for integration tests (create/get/patch/delete any object by path)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import kr8s.asyncio

T = TypeVar("T")

GROUP_PATH = "/apis/external-secrets.io/v1"


def path_of(body: dict[str, Any]) -> str:
    """Collection path for a manifest (core Secrets/ConfigMaps/Namespaces and our kinds)."""
    kind = body["kind"]
    ns = body["metadata"].get("namespace", "")
    plural = {
        "Secret": "secrets",
        "ConfigMap": "configmaps",
        "Namespace": "namespaces",
        "ServiceAccount": "serviceaccounts",
        "ExternalSecret": "externalsecrets",
        "SecretStore": "secretstores",
        "ClusterSecretStore": "clustersecretstores",
        "ClusterExternalSecret": "clusterexternalsecrets",
        "PushSecret": "pushsecrets",
        "ClusterPushSecret": "clusterpushsecrets",
    }[kind]
    base = "/api/v1" if body["apiVersion"] == "v1" else f"/apis/{body['apiVersion']}"
    if kind in ("Namespace", "ClusterSecretStore", "ClusterExternalSecret", "ClusterPushSecret"):
        return f"{base}/{plural}"
    return f"{base}/namespaces/{ns}/{plural}"


async def request(
    api: kr8s.asyncio.Api,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs["content"] = json.dumps(body)
        kwargs["headers"] = {"Content-Type": content_type}
    async with api.call_api(
        method, version="", base=path, url="", raise_for_status=False, **kwargs
    ) as resp:
        try:
            payload = resp.json()
        except ValueError:
            payload = resp.text
        return resp.status_code, payload


async def create(api: kr8s.asyncio.Api, body: dict[str, Any]) -> dict[str, Any]:
    status, payload = await request(api, "POST", path_of(body), body)
    assert status == 201, payload
    return payload  # type: ignore[no-any-return]


async def get(api: kr8s.asyncio.Api, path: str) -> dict[str, Any] | None:
    status, payload = await request(api, "GET", path)
    if status == 404:
        return None
    assert status == 200, payload
    return payload  # type: ignore[no-any-return]


async def merge_patch(api: kr8s.asyncio.Api, path: str, patch: dict[str, Any]) -> dict[str, Any]:
    status, payload = await request(
        api, "PATCH", path, patch, content_type="application/merge-patch+json"
    )
    assert status == 200, payload
    return payload  # type: ignore[no-any-return]


async def delete(api: kr8s.asyncio.Api, path: str) -> None:
    status, payload = await request(api, "DELETE", path)
    assert status in (200, 202, 404), payload


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = 15.0, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def ready(obj: dict[str, Any] | None) -> tuple[str, str, str] | None:
    """(status, reason, message) of the Ready condition."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond["type"] == "Ready":
            return cond["status"], cond.get("reason", ""), cond.get("message", "")
    return None
