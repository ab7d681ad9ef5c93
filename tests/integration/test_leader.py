"""Leader election on a real Lease in the real kube-apiserver, with short timings.

Each elector gets its own kr8s client (its own connection pool), as separate processes would.
Timings: lease 3 s, renew deadline 2 s, retry 0.5 s; the bounds asserted below follow from the
client-go rules described in `asyncso.leader`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import kr8s.asyncio
import pytest

from asyncso import leader
from devenv import bench as devbench

pytestmark = pytest.mark.integration

LEASE = 3.0
RENEW = 2.0
RETRY = 0.5
SLACK = 1.0  # scheduling and apiserver latency on a busy 2-core machine
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class FlakyApi:
    """Delegates to a real client until `broken`, then every request fails like a dead network."""

    def __init__(self, api: kr8s.asyncio.Api) -> None:
        self.api = api
        self.broken = False

    def call_api(self, *args: Any, **kwargs: Any) -> Any:
        if self.broken:
            raise httpx.ConnectError("test: apiserver unreachable")
        return self.api.call_api(*args, **kwargs)


class Candidate:
    """One elector running as a task, with a log of when it started and stopped leading."""

    def __init__(self, api: Any, *, namespace: str, lease: str, identity: str) -> None:
        self.started: list[float] = []
        self.stopped: list[float] = []
        self.elector = leader.LeaderElector(
            api,
            name=lease,
            namespace=namespace,
            identity=identity,
            lease_duration=LEASE,
            renew_deadline=RENEW,
            retry_period=RETRY,
            on_started_leading=lambda: self.started.append(time.monotonic()),
            on_lost=lambda: self.stopped.append(time.monotonic()),
        )
        self.task = asyncio.create_task(self.elector.run(), name=f"elector-{identity}")

    async def stop(self) -> None:
        """Cancel the campaign without releasing (a crash, as far as the Lease can tell)."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def _until(
    predicate: Callable[[], bool], *, within: float, what: str, step: float = 0.05
) -> float:
    """Wait for `predicate`; return the monotonic time it became true."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(step)
    return time.monotonic()


async def _lease(kube: kr8s.asyncio.Api, namespace: str, name: str) -> dict[str, Any]:
    async with kube.call_api(
        "GET",
        version="",
        base="/apis/coordination.k8s.io/v1",
        namespace=namespace,
        url=f"leases/{name}",
    ) as resp:
        body: dict[str, Any] = resp.json()
        return body


@pytest.fixture
async def clients(bench: devbench.BenchInfo) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """A factory of private kr8s clients, closed afterwards."""
    made: list[kr8s.asyncio.Api] = []

    async def make() -> kr8s.asyncio.Api:
        api: kr8s.asyncio.Api = await kr8s.asyncio.Api(
            kubeconfig=str(bench.kubeconfig), bypass_factory=True
        )
        made.append(api)
        return api

    yield make
    for api in made:
        if api._session is not None:
            await api._session.aclose()


@pytest.fixture
async def pair(
    clients: Callable[[], Awaitable[Any]], namespace: str
) -> AsyncIterator[tuple[Candidate, Candidate]]:
    lease = f"lease-{uuid.uuid4().hex[:8]}"
    a = Candidate(await clients(), namespace=namespace, lease=lease, identity="replica-a")
    b = Candidate(await clients(), namespace=namespace, lease=lease, identity="replica-b")
    yield a, b
    await a.stop()
    await b.stop()


def _split(pair: tuple[Candidate, Candidate]) -> tuple[Candidate, Candidate]:
    a, b = pair
    return (a, b) if a.elector.is_leader else (b, a)


async def _one_leads(pair: tuple[Candidate, Candidate]) -> tuple[Candidate, Candidate]:
    a, b = pair
    await _until(
        lambda: a.elector.is_leader or b.elector.is_leader, within=LEASE + 5, what="a leader"
    )
    return _split(pair)


async def test_exactly_one_leads_and_the_lease_says_who(
    pair: tuple[Candidate, Candidate], kube: kr8s.asyncio.Api, namespace: str
) -> None:
    head, standby = await _one_leads(pair)
    for _ in range(int(2 * LEASE / 0.1)):  # several lease periods, sampled often
        assert head.elector.is_leader
        assert not standby.elector.is_leader
        await asyncio.sleep(0.1)
    assert standby.started == []
    assert standby.elector.holder == head.elector.identity

    lease = await _lease(kube, namespace, head.elector.name)
    spec = lease["spec"]
    assert spec["holderIdentity"] == head.elector.identity
    assert spec["leaseDurationSeconds"] == int(LEASE)
    assert spec["leaseTransitions"] == 0
    assert MICRO_TIME.match(spec["acquireTime"])
    assert MICRO_TIME.match(spec["renewTime"])
    assert spec["renewTime"] > spec["acquireTime"]  # renewed since acquired


async def test_standby_takes_over_after_the_lease_expires_when_leader_dies(
    pair: tuple[Candidate, Candidate], kube: kr8s.asyncio.Api, namespace: str
) -> None:
    head, standby = await _one_leads(pair)
    await asyncio.sleep(1.0)
    died = time.monotonic()
    await head.stop()  # no release: the Lease still names the dead leader
    took = await _until(
        lambda: standby.elector.is_leader, within=LEASE + RETRY + SLACK + 2, what="takeover"
    )
    waited = took - died
    # Never before the lease could have expired (last renewal ≤ one retry before death,
    # standby notices it ≤ one retry later), never much after lease + retry.
    assert waited >= LEASE - 2 * RETRY - 0.2, waited
    assert waited <= LEASE + RETRY + SLACK, waited
    lease = await _lease(kube, namespace, head.elector.name)
    assert lease["spec"]["holderIdentity"] == standby.elector.identity
    assert lease["spec"]["leaseTransitions"] == 1


async def test_release_hands_over_within_a_retry_period(
    pair: tuple[Candidate, Candidate], kube: kr8s.asyncio.Api, namespace: str
) -> None:
    head, standby = await _one_leads(pair)
    await head.stop()
    released_at = time.monotonic()
    assert await head.elector.release()
    assert not head.elector.is_leader
    took = await _until(
        lambda: standby.elector.is_leader, within=RETRY + SLACK + 2, what="takeover"
    )
    assert took - released_at <= RETRY + SLACK, took - released_at
    lease = await _lease(kube, namespace, head.elector.name)
    assert lease["spec"]["holderIdentity"] == standby.elector.identity
    # A second release by the old leader must not clobber the new one.
    assert not await head.elector.release()
    lease = await _lease(kube, namespace, head.elector.name)
    assert lease["spec"]["holderIdentity"] == standby.elector.identity


async def test_stolen_lease_is_reported_lost_promptly(
    clients: Callable[[], Awaitable[Any]], kube: kr8s.asyncio.Api, namespace: str
) -> None:
    name = f"lease-{uuid.uuid4().hex[:8]}"
    solo = Candidate(await clients(), namespace=namespace, lease=name, identity="replica-a")
    try:
        await _until(lambda: solo.elector.is_leader, within=5, what="leadership")
        lease = await _lease(kube, namespace, name)
        lease["spec"]["holderIdentity"] = "thief"
        lease["spec"]["renewTime"] = leader.micro_time()
        async with kube.call_api(
            "PUT",
            version="",
            base="/apis/coordination.k8s.io/v1",
            namespace=namespace,
            url=f"leases/{name}",
            content=json.dumps(lease),
        ):
            pass
        stolen = time.monotonic()
        await _until(lambda: solo.elector.lost.is_set(), within=RETRY + SLACK + 1, what="lost")
        assert solo.stopped and solo.stopped[0] - stolen <= RETRY + SLACK
        assert not solo.elector.is_leader
        assert not solo.elector.leading.is_set()
        # The thief never renews: a full lease after the theft, the old leader takes it back.
        await _until(lambda: solo.elector.is_leader, within=LEASE + RETRY + SLACK + 2, what="back")
        assert not solo.elector.lost.is_set()
        assert (await _lease(kube, namespace, name))["spec"]["leaseTransitions"] == 1
    finally:
        await solo.stop()


async def test_leader_steps_down_within_the_renew_deadline_when_cut_off(
    clients: Callable[[], Awaitable[Any]], namespace: str
) -> None:
    flaky = FlakyApi(await clients())
    solo = Candidate(
        flaky, namespace=namespace, lease=f"lease-{uuid.uuid4().hex[:8]}", identity="replica-a"
    )
    try:
        await _until(lambda: solo.elector.is_leader, within=5, what="leadership")
        flaky.broken = True
        cut = time.monotonic()
        lost = await _until(lambda: bool(solo.stopped), within=RENEW + SLACK + 1, what="lost")
        # The deadline counts from the last successful renewal, which preceded the cut.
        assert lost - cut <= RENEW + 0.3, lost - cut
        assert not solo.elector.is_leader
        await asyncio.sleep(RETRY * 2)
        assert not solo.elector.is_leader  # keeps campaigning, without success
        flaky.broken = False
        # The Lease still names it and nobody changed it: like client-go, it renews at once.
        await _until(lambda: solo.elector.is_leader, within=RETRY + SLACK, what="back")
    finally:
        await solo.stop()


async def test_is_leader_turns_false_at_the_deadline_even_when_the_loop_was_blocked(
    clients: Callable[[], Awaitable[Any]], namespace: str
) -> None:
    solo = Candidate(
        await clients(),
        namespace=namespace,
        lease=f"lease-{uuid.uuid4().hex[:8]}",
        identity="replica-a",
    )
    try:
        await _until(lambda: solo.elector.is_leader, within=5, what="leadership")
        time.sleep(RENEW + 0.1)  # noqa: ASYNC251 - deliberately starve the election task
        assert not solo.elector.is_leader  # before the election task had any chance to run
        await _until(lambda: bool(solo.stopped), within=1, what="step down")
    finally:
        await solo.stop()


async def test_bad_timings_are_refused(kube: kr8s.asyncio.Api) -> None:
    with pytest.raises(ValueError, match="lease_duration > renew_deadline > retry_period"):
        leader.LeaderElector(
            kube,
            namespace="default",
            identity="x",
            lease_duration=10,
            renew_deadline=15,
            retry_period=2,
        )
