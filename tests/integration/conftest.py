"""An asyncso operator running in-process against the bench (fake and AWS providers)."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
from collections.abc import AsyncIterator

import kr8s.asyncio
import pytest

from asyncso import app, crdgen, kube, settings
from devenv import bench as devbench


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder needs the bench: mark them all `integration`, so that
    `-m "not integration"` selects what runs without servers."""
    here = pathlib.Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
async def crds(kube: kr8s.asyncio.Api) -> None:
    await crdgen.install_crds(kube)


@pytest.fixture(scope="session")
async def operator(bench: devbench.BenchInfo, crds: None) -> AsyncIterator[app.Operator]:
    config = settings.Settings(
        kubeconfig=str(bench.kubeconfig),
        concurrent=8,
        refresh_jitter=0.05,
        store_requeue_interval=30,
        # Tests use refresh intervals of a few seconds (the default floor is 10s).
        min_refresh_interval=1.0,
    )
    client = await kube.Kube.connect(config.kubeconfig, max_in_flight=config.concurrent)
    registry = app.default_registry(client, config)
    op = app.Operator(config, client, registry)
    task = asyncio.create_task(op.run(), name="operator-under-test")
    await asyncio.wait_for(op.ready.wait(), timeout=30)
    yield op
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await registry.close()
    await client.close()
