"""ClusterExternalSecret on the real apiserver: fan-out to matching namespaces, a namespace label
flip adding and removing one, a new namespace, a namespace being deleted, a same-named
ExternalSecret it does not own left alone, and deletion cleanup."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import kr8s.asyncio
import pytest
from kube_support import GROUP_PATH, create, delete, eventually, get, merge_patch, ready

from asyncso import app, model

pytestmark = pytest.mark.usefixtures("operator")

CES_PATH = f"{GROUP_PATH}/clusterexternalsecrets"


def es_path(namespace: str, name: str) -> str:
    return f"{GROUP_PATH}/namespaces/{namespace}/externalsecrets/{name}"


@pytest.fixture
async def namespaces(kube: kr8s.asyncio.Api) -> AsyncIterator[list[str]]:
    """Names for namespaces a test creates; all deleted afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        with contextlib.suppress(AssertionError):
            await delete(kube, f"/api/v1/namespaces/{name}")


async def make_namespace(kube: kr8s.asyncio.Api, made: list[str], **labels: str) -> str:
    name = f"ces-{uuid.uuid4().hex[:8]}"
    await create(
        kube,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}},
    )
    made.append(name)
    return name


def ces(name: str, label: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": model.API_VERSION,
        "kind": "ClusterExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "externalSecretName": "db",
            "externalSecretMetadata": {"labels": {"made-by": "ces"}},
            "namespaceSelectors": [{"matchLabels": {label: "yes"}}],
            "refreshTime": "1h",
            "externalSecretSpec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": "fake", "kind": "ClusterSecretStore"},
                "data": [{"secretKey": "pw", "remoteRef": {"key": "db"}}],
            },
            **spec,
        },
    }


async def status_of(kube: kr8s.asyncio.Api, name: str) -> dict[str, Any]:
    found = await get(kube, f"{CES_PATH}/{name}")
    return (found or {}).get("status") or {}


async def test_fan_out_follows_namespaces_and_cleans_up(
    kube: kr8s.asyncio.Api, namespaces: list[str], operator: app.Operator
) -> None:
    label = f"ces-{uuid.uuid4().hex[:6]}"
    name = f"ces-{uuid.uuid4().hex[:6]}"
    a = await make_namespace(kube, namespaces, **{label: "yes"})
    b = await make_namespace(kube, namespaces, **{label: "yes"})
    other = await make_namespace(kube, namespaces, **{label: "no"})
    taken = await make_namespace(kube, namespaces, **{label: "yes"})
    foreign = {
        "apiVersion": model.API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": "db", "namespace": taken},
        "spec": {"refreshInterval": "7m", "secretStoreRef": {"name": "mine"}},
    }
    await create(kube, foreign)
    await create(kube, ces(name, label))

    async def provisioned() -> list[str] | None:
        status = await status_of(kube, name)
        return status.get("provisionedNamespaces") if status.get("failedNamespaces") else None

    assert await eventually(provisioned, what="fan-out") == sorted([a, b])
    status = await status_of(kube, name)
    assert status["externalSecretName"] == "db"
    assert status["failedNamespaces"] == [
        {"namespace": taken, "reason": "external secret already exists in namespace"}
    ]
    assert status["conditions"] == [
        {"type": "Ready", "status": "False", "message": "one or more namespaces failed"}
    ]
    child = await get(kube, es_path(a, "db"))
    assert child is not None
    assert child["metadata"]["labels"] == {"made-by": "ces"}
    assert child["metadata"]["ownerReferences"][0]["kind"] == "ClusterExternalSecret"
    assert child["spec"]["data"] == [{"secretKey": "pw", "remoteRef": {"key": "db"}}]
    assert await get(kube, es_path(other, "db")) is None
    untouched = await get(kube, es_path(taken, "db"))
    assert untouched is not None and untouched["spec"]["refreshInterval"] == "7m"
    assert "ownerReferences" not in untouched["metadata"]

    # A label flip removes one namespace and adds another; a new namespace joins.
    await merge_patch(kube, f"/api/v1/namespaces/{a}", {"metadata": {"labels": {label: "no"}}})
    await merge_patch(kube, f"/api/v1/namespaces/{other}", {"metadata": {"labels": {label: "yes"}}})
    late = await make_namespace(kube, namespaces, **{label: "yes"})

    async def moved() -> bool:
        gone = await get(kube, es_path(a, "db")) is None
        here = all([await get(kube, es_path(n, "db")) for n in (b, other, late)])
        return gone and here

    await eventually(moved, what="label flip and new namespace")

    # A namespace being deleted is no target any more (the bench has no namespace controller,
    # so it stays Terminating; the operator removes its ExternalSecret itself).
    await delete(kube, f"/api/v1/namespaces/{b}")

    async def left_b() -> bool:
        status = await status_of(kube, name)
        return b not in (status.get("provisionedNamespaces") or [b])

    await eventually(left_b, what="terminating namespace dropped")
    assert await get(kube, es_path(b, "db")) is None

    # Someone deletes a child: it is put back.
    await delete(kube, es_path(late, "db"))
    await eventually(lambda: get(kube, es_path(late, "db")), what="child recreated")

    # Deleting the ClusterExternalSecret removes what it created, and only that.
    await delete(kube, f"{CES_PATH}/{name}")

    async def cleaned() -> bool:
        children = [await get(kube, es_path(n, "db")) for n in (other, late)]
        return not any(children) and await get(kube, f"{CES_PATH}/{name}") is None

    await eventually(cleaned, what="cleanup on delete")
    assert await get(kube, es_path(taken, "db")) is not None


async def test_a_child_edited_by_hand_is_put_back_and_ready_when_all_is_well(
    kube: kr8s.asyncio.Api, namespaces: list[str]
) -> None:
    label = f"ces-{uuid.uuid4().hex[:6]}"
    name = f"ces-{uuid.uuid4().hex[:6]}"
    ns = await make_namespace(kube, namespaces, **{label: "yes"})
    await create(kube, ces(name, label))
    await eventually(lambda: get(kube, es_path(ns, "db")), what="child")

    async def is_ready() -> bool:
        return (await status_of(kube, name)).get("conditions") == [
            {"type": "Ready", "status": "True"}
        ]

    await eventually(is_ready, what="Ready")
    await merge_patch(kube, es_path(ns, "db"), {"spec": {"refreshInterval": "5s"}})

    async def restored() -> bool:
        child = await get(kube, es_path(ns, "db"))
        return child is not None and child["spec"]["refreshInterval"] == "1h"

    await eventually(restored, what="spec restored")
    found = await get(kube, f"{CES_PATH}/{name}")
    assert ready(found) is not None
    await delete(kube, f"{CES_PATH}/{name}")
    await eventually(lambda: _absent(kube, es_path(ns, "db")), what="child deleted with its parent")


async def _absent(kube: kr8s.asyncio.Api, path: str) -> bool:
    return await get(kube, path) is None
