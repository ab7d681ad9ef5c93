"""Everything an operator run left behind, gathered for assertions: Events, statuses, Secrets,
metrics, logs, and the audit trail of its requests.

Why one module: the leak tests scan all of it for markers, the corpus and fault tests read
conditions and Events, and the tenancy tests read the audit log; each reads the same objects
the same way, from outside the operator.
"""

from __future__ import annotations

import base64
import json
import pathlib
import uuid
from collections.abc import Iterable
from typing import Any

import kr8s.asyncio

from integration.kube_support import GROUP_PATH, get, request

#: Resources whose reads and writes must stay inside the namespaces a test allows.
TENANCY_RESOURCES = frozenset({"secrets", "configmaps", "serviceaccounts"})


async def items(api: kr8s.asyncio.Api, path: str) -> list[dict[str, Any]]:
    status, body = await request(api, "GET", path)
    assert status == 200, body
    return list(body.get("items") or [])


async def new_namespace(api: kr8s.asyncio.Api, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    status, body = await request(
        api,
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert status == 201, body
    return name


async def events(api: kr8s.asyncio.Api, namespace: str) -> list[dict[str, Any]]:
    return await items(api, f"/api/v1/namespaces/{namespace}/events")


def events_of(
    all_events: Iterable[dict[str, Any]], *, kind: str, name: str
) -> list[dict[str, Any]]:
    return [
        e
        for e in all_events
        if e["involvedObject"].get("kind") == kind and e["involvedObject"].get("name") == name
    ]


async def externalsecrets(api: kr8s.asyncio.Api, namespace: str) -> dict[str, dict[str, Any]]:
    found = await items(api, f"{GROUP_PATH}/namespaces/{namespace}/externalsecrets")
    return {es["metadata"]["name"]: es for es in found}


async def secretstores(api: kr8s.asyncio.Api, namespace: str) -> dict[str, dict[str, Any]]:
    found = await items(api, f"{GROUP_PATH}/namespaces/{namespace}/secretstores")
    return {s["metadata"]["name"]: s for s in found}


async def clustersecretstores(api: kr8s.asyncio.Api) -> dict[str, dict[str, Any]]:
    found = await items(api, f"{GROUP_PATH}/clustersecretstores")
    return {s["metadata"]["name"]: s for s in found}


async def secrets(api: kr8s.asyncio.Api, namespace: str) -> dict[str, dict[str, Any]]:
    found = await items(api, f"/api/v1/namespaces/{namespace}/secrets")
    return {s["metadata"]["name"]: s for s in found}


async def secret(api: kr8s.asyncio.Api, namespace: str, name: str) -> dict[str, Any] | None:
    return await get(api, f"/api/v1/namespaces/{namespace}/secrets/{name}")


def decoded(obj: dict[str, Any] | None) -> dict[str, str]:
    """A Secret's data as text (undecodable bytes replaced)."""
    data = (obj or {}).get("data") or {}
    return {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}


def ready(obj: dict[str, Any] | None) -> tuple[str, str, str] | None:
    """(status, reason, message) of the Ready condition, or None."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond["status"], cond.get("reason", ""), cond.get("message", "")
    return None


async def collect(
    api: kr8s.asyncio.Api,
    *,
    namespaces: Iterable[str],
    logs: str,
    metrics: str,
) -> dict[str, str]:
    """Every text the run produced, by where it came from (for marker scans)."""
    found: dict[str, str] = {"logs": logs, "metrics": metrics}
    for ns in namespaces:
        for event in await events(api, ns):
            involved = event["involvedObject"]
            where = f"Event {ns}/{event['metadata']['name']} on {involved.get('kind')}"
            found[where] = json.dumps(
                {k: event.get(k) for k in ("reason", "message", "type", "note")}
            )
        for name, es in (await externalsecrets(api, ns)).items():
            found[f"ExternalSecret {ns}/{name} status"] = json.dumps(es.get("status") or {})
        for name, store in (await secretstores(api, ns)).items():
            found[f"SecretStore {ns}/{name} status"] = json.dumps(store.get("status") or {})
    for name, store in (await clustersecretstores(api)).items():
        found[f"ClusterSecretStore {name} status"] = json.dumps(store.get("status") or {})
    return found


def leaks(found: dict[str, str], markers: Iterable[str]) -> list[str]:
    """`marker in where` for every marker found in any collected text."""
    return [
        f"{marker!r} in {where}"
        for marker in markers
        for where, text in found.items()
        if marker in text
    ]


def audit_offset(audit_log: pathlib.Path) -> int:
    return audit_log.stat().st_size if audit_log.exists() else 0


def operator_requests(audit_log: pathlib.Path, *, since: int = 0) -> list[dict[str, Any]]:
    """Audit events (stage ResponseComplete) of the operator user's requests after `since`."""
    with audit_log.open("rb") as log:
        log.seek(since)
        lines = log.read().decode(errors="replace").splitlines()
    found = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("stage") == "ResponseComplete":
            found.append(event)
    return found


def outside(
    requests: Iterable[dict[str, Any]], *, forbidden_namespaces: Iterable[str]
) -> list[str]:
    """Requests for Secrets/ConfigMaps/ServiceAccounts in a forbidden namespace (the victim's:
    no object in it names it), or for one object named across namespaces; a cluster-wide
    list/watch is allowed only with the managed-label selector (the operator's Secret informer).

    Other namespaces are not forbidden: the operator serves every namespace, and the bench keeps
    the objects of earlier tests (it has no namespace controller), which it rightly reads."""
    forbidden = set(forbidden_namespaces)
    bad = []
    for event in requests:
        ref = event.get("objectRef") or {}
        if ref.get("resource") not in TENANCY_RESOURCES:
            continue
        namespace = ref.get("namespace", "")
        uri = event.get("requestURI", "")
        line = f"{event.get('verb')} {uri} -> {event.get('responseStatus', {}).get('code')}"
        if not namespace:
            if event.get("verb") in ("list", "watch") and "reconcile.external-secrets.io" in uri:
                continue
            bad.append(line)
        elif namespace in forbidden:
            bad.append(line)
    return bad
