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


@pytest.mark.parametrize(
    ("kind", "api_version"),
    [
        ("PushSecret", "external-secrets.io/v1alpha1"),
        ("ClusterSecretStore", model.API_VERSION),
        ("SecretStore", model.API_VERSION),
    ],
)
async def test_every_kind_that_reports_counts_its_repeats(
    kube: kr8s.asyncio.Api,
    namespace: str,
    bench: devbench.BenchInfo,
    kind: str,
    api_version: str,
) -> None:
    """PushSecrets and stores emit Events too: each kind's repeats are counted on one Event that
    names the kind's own apiVersion, and the same reason on another kind is another Event."""
    client = await kube_adapter.Kube.connect(str(bench.kubeconfig))
    try:
        meta = model.ObjectMeta(name="obj", namespace=namespace, uid=f"uid-{kind}")
        for _ in range(2):
            await client.emit_event(meta, kind=kind, type_="Warning", reason="Errored", message="m")
        await client.emit_event(
            meta, kind="ExternalSecret", type_="Warning", reason="Errored", message="m"
        )
        found = await _events(kube, namespace)
        by_kind = sorted(
            (e["involvedObject"]["kind"], e["involvedObject"]["apiVersion"], e["count"])  # type: ignore[index]
            for e in found
        )
        assert by_kind == sorted([(kind, api_version, 2), ("ExternalSecret", model.API_VERSION, 1)])
    finally:
        await client.close()
