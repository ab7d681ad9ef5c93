"""Two `asyncso run` processes with leader election: one writes; the standby takes over."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import kr8s.asyncio
import pytest
from kube_support import create, eventually, get, merge_patch
from test_operator import external_secret, fake_store, synced_secret

from devenv import bench as devbench

LEASE = ["--lease-duration", "4", "--renew-deadline", "3", "--retry-period", "0.5"]


async def start(bench: devbench.BenchInfo, namespace: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncso.cli",
        "run",
        "--kubeconfig",
        str(bench.kubeconfig),
        "--namespace",
        namespace,
        "--controller-class",
        "ha",
        "--metrics-addr",
        "0",
        "--live-addr",
        "0",
        "--enable-leader-election",
        "--leader-election-namespace",
        namespace,
        "--leader-election-id",
        "asyncso-test",
        *LEASE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def holder(kube: kr8s.asyncio.Api, namespace: str) -> str:
    lease = await get(
        kube, f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/asyncso-test"
    )
    return ((lease or {}).get("spec") or {}).get("holderIdentity") or ""


@pytest.mark.usefixtures("crds")
async def test_standby_takes_over_when_the_leader_dies(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, {"db": '{"pw":"one"}'}, controller="ha"))
    await create(kube, external_secret(namespace, "ha", target={"name": "ha"}))
    first = await start(bench, namespace)
    await synced_secret(kube, namespace, "ha", expect={"password": "one"})
    first_holder = await holder(kube, namespace)
    assert first_holder
    second = await start(bench, namespace)
    try:
        await asyncio.sleep(3)
        assert await holder(kube, namespace) == first_holder  # the standby waits
        first.kill()  # no release: the standby must wait out the lease
        await first.wait()
        killed_at = time.monotonic()

        async def taken_over() -> str | None:
            current = await holder(kube, namespace)
            return current if current and current != first_holder else None

        await eventually(taken_over, within=25, what="the standby to take the Lease")
        took = time.monotonic() - killed_at
        assert took < 20, f"standby took {took:.1f}s"
        # The new leader reconciles: a change now reaches the Secret.
        store = f"/apis/external-secrets.io/v1/namespaces/{namespace}/secretstores/fake"
        patch = {"spec": {"provider": {"fake": {"data": [{"key": "db", "value": '{"pw":"two"}'}]}}}}
        await merge_patch(kube, store, patch)
        try:
            await synced_secret(kube, namespace, "ha", expect={"password": "two"})
        except AssertionError:
            second.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(second.communicate(), timeout=30)
            pytest.fail(f"the new leader did not sync:\n{output.decode()[-4000:]}")
    finally:
        second.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(second.communicate(), timeout=30)
    assert second.returncode == 0, output.decode()[-2000:]
    assert await holder(kube, namespace) == ""  # released on graceful shutdown
