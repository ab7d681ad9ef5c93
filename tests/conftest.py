"""Session fixtures: the real test bench (etcd + kube-apiserver + LocalStack), started once.

Unit tests never request these fixtures, so `pytest tests/unit` opens no socket.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import kr8s
import kr8s.asyncio
import pytest

from devenv import bench as devbench


@pytest.fixture(scope="session")
def bench() -> Iterator[devbench.BenchInfo]:
    """The running bench; its environment is exported so clients find it."""
    try:
        runner = devbench.Bench()
        info = runner.start()
    except devbench.BenchError as err:
        pytest.fail(f"test bench could not start: {err}", pytrace=False)
    saved = {k: os.environ.get(k) for k in info.environ()}
    os.environ.update(info.environ())
    try:
        yield info
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        runner.stop()


@pytest.fixture(scope="session")
async def kube(bench: devbench.BenchInfo) -> AsyncIterator[kr8s.asyncio.Api]:
    """A kr8s client for the bench's apiserver, as cluster admin."""
    api = await kr8s.asyncio.api(kubeconfig=str(bench.kubeconfig))
    yield api
    # kr8s has no public close; its httpx session would otherwise leak a socket.
    if api._session is not None:
        await api._session.aclose()


@pytest.fixture
async def namespace(kube: kr8s.asyncio.Api) -> AsyncIterator[str]:
    """A fresh namespace per test (deleted afterwards; the bench has no namespace controller,
    so it stays Terminating, which keeps tests isolated by name)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    ns = await kr8s.asyncio.objects.Namespace({"metadata": {"name": name}}, api=kube)
    await ns.create()
    yield name
    with contextlib.suppress(kr8s.NotFoundError):
        await ns.delete()


@pytest.fixture(scope="session")
def aws_endpoint(bench: devbench.BenchInfo) -> str:
    return bench.aws_endpoint_url
