"""`asyncso run` as a real process: syncs, and exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

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
        "0",
        "--live-addr",
        "0",
        "--log-format",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        await synced_secret(kube, namespace, "proc", expect={"password": "from-process"})
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
