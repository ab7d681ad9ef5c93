"""`asyncso run` as a real process: syncs, and exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import httpx
import kr8s.asyncio
import pytest
from kube_support import create, get
from test_operator import external_secret, fake_store, synced_secret

from devenv import bench as devbench


@pytest.mark.usefixtures("crds")
async def test_run_syncs_and_stops_on_sigterm(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, namespace: str
) -> None:
    # Its own controller class: the in-process test operator (class "default") leaves it alone,
    # so only the subprocess can make this test pass.
    await create(
        kube, fake_store(namespace, {"db": '{"pw":"from-process"}'}, controller="proc-class")
    )
    await create(kube, external_secret(namespace, "proc", target={"name": "proc"}))
    metrics_port, live_port = devbench.free_port(), devbench.free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncso.cli",
        "run",
        "--kubeconfig",
        str(bench.kubeconfig),
        "--namespace",
        namespace,
        "--controller-class",
        "proc-class",
        "--metrics-addr",
        f"127.0.0.1:{metrics_port}",
        "--live-addr",
        f"127.0.0.1:{live_port}",
        "--log-format",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        await synced_secret(kube, namespace, "proc", expect={"password": "from-process"})
        async with httpx.AsyncClient() as http:
            ready = await http.get(f"http://127.0.0.1:{live_port}/readyz")
            alive = await http.get(f"http://127.0.0.1:{live_port}/healthz")
            metrics = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        assert (ready.status_code, alive.status_code) == (200, 200)
        assert f'externalsecret_sync_calls_total{{name="proc",namespace="{namespace}"}} 1.0' in (
            metrics
        )
        assert 'asyncso_externalsecrets{state="synced"} 1.0' in metrics
        assert "externalsecret_status_condition{" in metrics
        assert "from-process" not in metrics
    except AssertionError:
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
        pytest.fail(f"not synced; operator output:\n{output.decode()[-3000:]}")
    proc.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, output.decode()[-2000:]
    assert b"from-process" not in output  # values never reach the logs
    es = await get(
        kube, f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets/proc"
    )
    assert es is not None and es["status"]["conditions"][0]["reason"] == "SecretSynced"
