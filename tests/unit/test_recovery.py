"""Issue 10: after an outage, the backed-off readers of a store whose provider answers again are
woken (with jitter, never twice); while a provider throttles, a sync waiting longer than its
refresh interval says so."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_reconciler import KEY, NS, World
from test_scheduler import FakeClock, Result, running, settle

from asyncso import errors, model, plan, provider_health, scheduler, settings

STORE = ("SecretStore", NS, "store")


# --- ProviderHealth and the Observed wrapper -----------------------------------------------------


class Scripted:
    """A provider answering from a script: a value, or an error to raise."""

    def __init__(self, *answers: bytes | errors.AsyncsoError) -> None:
        self.answers = list(answers)
        self.gate: asyncio.Event | None = None

    async def read(self, ref: model.RemoteRef) -> bytes:
        if self.gate is not None:
            await self.gate.wait()
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, errors.AsyncsoError):
            raise answer
        return answer

    async def find(self, find: model.Find) -> dict[str, bytes]:
        return {}


class ScriptedFactory:
    def __init__(self, provider: Scripted) -> None:
        self.provider = provider

    def handles(self, store: model.SecretStore) -> bool:
        return True

    async def validate(self, store: model.SecretStore) -> None:
        return None

    async def provider_for(self, store: model.SecretStore, *, namespace: str) -> Scripted:
        return self.provider

    async def close(self) -> None:
        return None


@pytest.mark.parametrize(
    ("failure", "recovers"),
    [
        (errors.AccessDeniedError("denied"), True),
        (errors.ProviderUnavailableError("refused"), True),
        (errors.ThrottledError("throttled"), False),  # throttling is not an outage
        (errors.PermanentError("odd answer"), False),
    ],
)
async def test_an_answer_after_failures_is_a_recovery(
    failure: errors.AsyncsoError, recovers: bool
) -> None:
    recovered: list[Any] = []
    health = provider_health.ProviderHealth(on_recovered=recovered.append)
    provider = provider_health.Observed(
        Scripted(failure, failure, b"v"), store=STORE, health=health, clock=lambda: 1.0
    )
    ref = model.RemoteRef(key="k")
    for _ in range(2):
        with pytest.raises(type(failure)):
            await provider.read(ref)
    assert await provider.read(ref) == b"v"
    await provider.read(ref)
    assert recovered == ([STORE] if recovers else [])
    assert not health.failing(STORE)


async def test_remote_secret_not_found_is_an_answer() -> None:
    recovered: list[Any] = []
    health = provider_health.ProviderHealth(on_recovered=recovered.append)
    provider = provider_health.Observed(
        Scripted(errors.ProviderUnavailableError("5xx"), errors.RemoteSecretNotFoundError("k")),
        store=STORE,
        health=health,
        clock=lambda: 1.0,
    )
    for expected in (errors.ProviderUnavailableError, errors.RemoteSecretNotFoundError):
        with pytest.raises(expected):
            await provider.read(model.RemoteRef(key="k"))
    assert recovered == [STORE]


def test_throttled_until_answered() -> None:
    health = provider_health.ProviderHealth()
    health.throttled(STORE, now=5.0)
    health.failed(STORE, errors.ThrottledError("again"), now=7.0)
    assert health.throttled_at(STORE) == 7.0
    health.answered(STORE)
    assert health.throttled_at(STORE) is None


# --- the scheduler: recovery wake-ups and probes -----------------------------------------------


def _scheduler(
    calls: list[Any], outcomes: list[Result], clock: FakeClock, **kwargs: Any
) -> scheduler.Scheduler:
    script = iter(outcomes)

    async def sync(key: tuple[str, str]) -> Result:
        calls.append(key)
        return next(script)

    return scheduler.Scheduler(
        sync,  # type: ignore[arg-type]
        is_due=lambda key: (True, None),
        concurrency=4,
        clock=clock,
        rand=lambda: 1.0,  # backoffs at their ceiling (1, 2, 4 s...), recovery delay 2 s
        **kwargs,
    )


async def test_recover_wakes_a_backed_off_reader_after_the_jitter_once() -> None:
    calls: list[Any] = []
    clock = FakeClock()
    failed = Result(False, None, retry=True)
    sched = _scheduler(calls, [failed, failed, failed, Result(True, None)], clock)
    key = ("ns", "a")
    async with running(sched):
        sched.ensure(key)
        await settle()
        clock.advance(1)
        await settle()
        clock.advance(2)
        await settle()
        assert len(calls) == 3  # now backing off for 4 s
        sched.recover(key)
        sched.recover(key)  # a second recovery while one is pending changes nothing
        await settle()
        clock.advance(1.9)
        await settle()
        assert len(calls) == 3
        clock.advance(0.1)  # the recovery delay (2 s), well before the backoff's 4 s
        await settle()
        assert len(calls) == 4
        sched.recover(key)  # synced fine: nothing to recover
        clock.advance(10)
        await settle()
        assert len(calls) == 4


async def test_recover_leaves_a_sync_in_flight_alone() -> None:
    calls: list[Any] = []
    gate = asyncio.Event()

    async def sync(key: tuple[str, str]) -> Result:
        calls.append(key)
        await gate.wait()
        return Result(False, None, retry=True)

    clock = FakeClock()
    sched = scheduler.Scheduler(
        sync,  # type: ignore[arg-type]
        is_due=lambda key: (True, None),
        concurrency=4,
        clock=clock,
        rand=lambda: 1.0,
    )
    async with running(sched):
        sched.ensure(("ns", "a"))
        await settle()
        sched._workers[("ns", "a")].attempt = 3  # failing before, syncing now
        sched.recover(("ns", "a"))
        clock.advance(2)
        gate.set()
        await settle()
        assert len(calls) == 1  # no second sync on the heels of the first


async def test_probes_let_one_reader_of_a_failing_store_through() -> None:
    calls: list[Any] = []
    clock = FakeClock()
    failed = Result(False, None, retry=True)
    groups: list[set[tuple[str, str]]] = []
    sched = _scheduler(calls, [failed] * 10, clock, probes=lambda: groups, probe_interval=4.0)
    keys = [("ns", "a"), ("ns", "b")]
    async with running(sched):
        for key in keys:
            sched.ensure(key)
        await settle()
        for _ in range(3):  # backoffs 1, 2, 4 s: both now wait 8 s
            clock.advance(4)
            await settle()
        before = len(calls)
        groups.append(set(keys))
        clock.advance(4)
        await settle()
        assert calls[before:] == [("ns", "a")]  # one of them, not both
        assert not sched.probe(set())


# --- the reconciler: recovery reported, throttling said ------------------------------------------


def _world(provider: Scripted, **config: Any) -> tuple[World, list[float]]:
    world = World()
    world.reconciler.registry._factories = [ScriptedFactory(provider)]
    world.reconciler.settings = settings.Settings(**config)
    now = [1_700_000_000.0]
    world.reconciler.clock = lambda: now[0]
    return world, now


async def test_a_sync_that_answers_after_an_outage_reports_the_recovery() -> None:
    recovered: list[Any] = []
    provider = Scripted(errors.AccessDeniedError("denied"), b'{"pw":"p"}')
    world, _ = _world(provider)
    world.reconciler.health.on_recovered = recovered.append
    assert not (await world.sync()).ok
    assert (await world.sync()).ok
    assert recovered == [STORE]


async def test_throttled_longer_than_the_interval_says_so() -> None:
    throttled = errors.ThrottledError("secretsmanager:GetSecretValue: throttled by AWS")
    world, now = _world(Scripted(throttled, throttled, b'{"pw":"p"}'), min_refresh_interval=0)
    assert not (await world.sync(refresh_interval="2s")).ok
    first = world.ready()
    assert first is not None and "throttled by AWS" in first[2]
    now[0] += 5
    assert not (await world.sync(refresh_interval="2s")).ok
    assert world.ready() == (
        "False",
        plan.REASON_ERROR,
        "could not get secret data from provider: waiting on provider throttling for 5s "
        "(refreshInterval 2s); the Secret keeps its last synced values",
    )
    assert "for 5s" not in world.kube.events[-1].message  # repeats aggregate into one Event
    assert (await world.sync(refresh_interval="2s")).ok
    assert world.ready() == ("True", plan.REASON_SYNCED, plan.MSG_SYNCED)


async def test_a_sync_held_by_throttling_says_so_while_it_waits() -> None:
    provider = Scripted(b'{"pw":"p"}')
    provider.gate = asyncio.Event()
    world, now = _world(provider, min_refresh_interval=0)
    sync = asyncio.create_task(world.sync(refresh_interval="200ms"))
    await asyncio.sleep(0.05)
    world.reconciler.health.throttled(STORE, now=now[0])  # botocore retried a throttled answer
    now[0] += 1
    await asyncio.sleep(0.3)  # the interval passed while the call is held
    held = world.ready()
    assert held is not None and held[0] == "False"
    assert "waiting on provider throttling for 1s (refreshInterval 200ms)" in held[2]
    assert world.kube.secrets == {}  # the Secret is not touched meanwhile
    provider.gate.set()
    assert (await sync).ok
    assert world.ready() == ("True", plan.REASON_SYNCED, plan.MSG_SYNCED)


async def test_a_slow_sync_without_throttling_says_nothing_early() -> None:
    provider = Scripted(b'{"pw":"p"}')
    provider.gate = asyncio.Event()
    world, _ = _world(provider, min_refresh_interval=0)
    sync = asyncio.create_task(world.sync(refresh_interval="100ms"))
    await asyncio.sleep(0.3)
    assert world.ready() is None
    provider.gate.set()
    assert (await sync).ok


def test_probes_come_every_four_seconds_then_thin_out_as_the_outage_lasts() -> None:
    assert provider_health.probe_interval(0) == 4.0
    assert provider_health.probe_interval(119) == 4.0
    assert provider_health.probe_interval(600) == 20.0
    assert provider_health.probe_interval(86_400) == provider_health.PROBE_CAP
    health = provider_health.ProviderHealth()
    assert health.due_probes(now=0.0) == []
    health.failed(STORE, errors.AccessDeniedError("denied"), now=0.0)
    due = [t for t in range(0, 121, 4) if health.due_probes(now=float(t))]
    assert due == list(range(4, 121, 4))  # every tick of the first two minutes
    later = [t for t in range(600, 1200, 4) if health.due_probes(now=float(t))]
    assert 18 <= len(later) <= 25  # every 20 to 40 s between ten and twenty minutes
    health.answered(STORE)
    assert health.due_probes(now=2000.0) == []


async def test_records_of_a_deleted_externalsecret_are_dropped() -> None:
    """What the reconciler notes about an ExternalSecret between syncs (throttled since when,
    the floor logged) goes with it: a deletion clears it, also when it lands mid-sync."""
    throttled = errors.ThrottledError("secretsmanager:GetSecretValue: throttled by AWS")
    world, _ = _world(Scripted(throttled, b'{"pw":"p"}', throttled), min_refresh_interval=10)
    rec = world.reconciler
    assert not (await world.sync(refresh_interval="1s")).ok
    assert (await world.sync(refresh_interval="1s")).ok
    assert not (await world.sync(refresh_interval="1s")).ok
    assert KEY in rec._throttled_since and KEY in rec._floored
    rec.forget(KEY)  # the watch's DELETED
    assert KEY not in rec._throttled_since and KEY not in rec._floored

    provider = Scripted(throttled)
    provider.gate = asyncio.Event()
    world, _ = _world(provider)
    rec = world.reconciler
    sync = asyncio.create_task(world.sync())
    await asyncio.sleep(0.05)
    world.view.drop_externalsecret(KEY)  # deleted while the sync waits on the provider
    rec.forget(KEY)
    provider.gate.set()
    assert not (await sync).ok
    assert KEY not in rec._throttled_since and rec._floored == {} and rec._regenerate_at == {}


class Held(Scripted):
    """A provider holding one value (`ports.CachedReading`)."""

    def read_cached(self, ref: model.RemoteRef) -> bytes | None:
        return b"held" if ref.key == "held" else None


async def test_a_value_held_is_an_answer_and_a_miss_is_none() -> None:
    recovered: list[Any] = []
    health = provider_health.ProviderHealth(on_recovered=recovered.append)
    provider = provider_health.Observed(
        Held(errors.ProviderUnavailableError("5xx")), store=STORE, health=health, clock=lambda: 1.0
    )
    with pytest.raises(errors.ProviderUnavailableError):
        await provider.read(model.RemoteRef(key="k"))
    assert provider.read_cached(model.RemoteRef(key="other")) is None
    assert health.failing(STORE)
    assert provider.read_cached(model.RemoteRef(key="held")) == b"held"
    assert recovered == [STORE] and not health.failing(STORE)
    plain = provider_health.Observed(Scripted(b"v"), store=STORE, health=health, clock=lambda: 1.0)
    assert plain.read_cached(model.RemoteRef(key="held")) is None
