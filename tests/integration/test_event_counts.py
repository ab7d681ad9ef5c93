"""`Kube.emit_event` on the real apiserver: repeats are counted on one Event (client-go's way),
not recorded as new Events (issue 10's Event storms)."""

from __future__ import annotations

import kr8s.asyncio
import pytest

from asyncso import kube as kube_adapter
from asyncso import model
from devenv import bench as devbench
from integration.kube_support import request

pytestmark = pytest.mark.integration


async def _events(api: kr8s.asyncio.Api, namespace: str) -> list[dict[str, object]]:
    status, listing = await request(api, "GET", f"/api/v1/namespaces/{namespace}/events")
    assert status == 200, listing
    return list(listing["items"])


async def test_repeated_events_are_counted_on_one_event(
    kube: kr8s.asyncio.Api, namespace: str, bench: devbench.BenchInfo
) -> None:
    client = await kube_adapter.Kube.connect(str(bench.kubeconfig))
    try:
        meta = model.ObjectMeta(name="es1", namespace=namespace, uid="uid-1")
        for _ in range(3):
            await client.emit_event(
                meta, kind="ExternalSecret", type_="Warning", reason="UpdateFailed", message="m1"
            )
        await client.emit_event(
            meta, kind="ExternalSecret", type_="Warning", reason="UpdateFailed", message="m2"
        )
        found = await _events(kube, namespace)
        counts = sorted((e["message"], e["count"]) for e in found)  # type: ignore[type-var]
        assert counts == [("m1", 3), ("m2", 1)]
        # The Event is gone (expired, or deleted): the next repeat records a new one.
        first = next(e for e in found if e["message"] == "m1")
        name = first["metadata"]["name"]  # type: ignore[index]
        status, _ = await request(kube, "DELETE", f"/api/v1/namespaces/{namespace}/events/{name}")
        assert status == 200
        await client.emit_event(
            meta, kind="ExternalSecret", type_="Warning", reason="UpdateFailed", message="m1"
        )
        again = [e for e in await _events(kube, namespace) if e["message"] == "m1"]
        assert [e["count"] for e in again] == [1]
    finally:
        await client.close()
