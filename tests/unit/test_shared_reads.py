"""Shared current-value reads on a fake backend and a fake clock: the freshness bound, full
batch calls (fill-up), invalidation on a new version, identities kept apart, the memory bound,
and change detection by listing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from asyncso import errors, freshness
from asyncso.providers import shared_reads, value_cache

A, B, C = ("team-a", "es-1"), ("team-a", "es-2"), ("team-a", "es-3")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Backend:
    """Remote secrets by id: (version, value); records the ids of every call."""

    def __init__(self, values: dict[str, tuple[str, str]]) -> None:
        self.values = values
        self.calls: list[list[str]] = []
        self.listings = 0

    async def fetch(self, ids: list[str]) -> Mapping[str, tuple[str, str] | BaseException]:
        self.calls.append(list(ids))
        return {
            i: self.values[i] if i in self.values else errors.RemoteSecretNotFoundError(i)
            for i in ids
        }

    async def versions(self, ids: list[str]) -> Mapping[str, str]:
        self.listings += 1
        return {i: v for i, (v, _) in self.values.items()}


def reads(
    backend: Backend, clock: Clock, *, woken: list[set[tuple[str, str]]] | None = None, **kw: int
) -> shared_reads.SharedReads[tuple[str, str]]:
    return shared_reads.SharedReads(
        backend.fetch,
        max_batch=kw.get("max_batch", 20),
        window=0.001,
        version_of=lambda v: v[0],
        size_of=lambda v: len(v[1]),
        max_bytes=kw.get("max_bytes", 1 << 20),
        on_change=None if woken is None else woken.append,
        clock=clock,
    )


def no_spread(shared: shared_reads.SharedReads[tuple[str, str]]) -> None:
    shared.cache.first_spread = 0.0


async def read_as(
    shared: shared_reads.SharedReads[tuple[str, str]],
    ident: str,
    reader: tuple[str, str],
    *,
    interval: float,
    not_before: float,
) -> tuple[str, str]:
    with freshness.wanting(freshness.Want(reader=reader, interval=interval, not_before=not_before)):
        return await shared.get(ident)


async def settle() -> None:
    """Let the calls started so far finish (the fake backend answers at once)."""
    for _ in range(5):
        await asyncio.sleep(0.005)


async def test_routine_refreshes_are_answered_from_values_kept_fresh_by_sweeps() -> None:
    clock, backend = Clock(), Backend({"db": ("v1", "one")})
    shared = reads(backend, clock)
    no_spread(shared)
    start = clock.now
    assert await read_as(shared, "db", A, interval=60, not_before=start) == ("v1", "one")
    assert len(backend.calls) == 1
    # Every other reader within the interval, and A's next routine refresh: no call.
    clock.now += 30
    assert await read_as(shared, "db", B, interval=60, not_before=clock.now - 60) == ("v1", "one")
    clock.now += 30
    assert await read_as(shared, "db", A, interval=60, not_before=clock.now - 60) == ("v1", "one")
    assert len(backend.calls) == 1
    # The value is re-read once per interval (less the margin) by the sweep, not by readers.
    assert shared.cache.next_due() == start + value_cache.period(60)
    shared.sweep()
    await settle()
    assert len(backend.calls) == 2
    await shared.close()


async def test_a_change_in_aws_reaches_every_reader_within_its_interval() -> None:
    """The freshness bound: whenever the value changes, the next sweep (at most one period
    after the previous read) sees it and wakes every reader holding a lease."""
    clock, backend = Clock(), Backend({"db": ("v1", "one")})
    woken: list[set[tuple[str, str]]] = []
    shared = reads(backend, clock, woken=woken)
    for reader in (A, B):
        await read_as(shared, "db", reader, interval=60, not_before=clock.now)
    fetched = clock.now
    clock.now += 1
    backend.values["db"] = ("v2", "two")  # changed in AWS right after the read
    due = shared.cache.next_due()
    assert due is not None and due - fetched <= 60  # seen within the interval (+1 s promise)
    clock.now = due
    shared.sweep()
    await settle()
    assert woken == [{A, B}]
    # The woken readers' syncs take the new value from the cache, without a call.
    calls = len(backend.calls)
    got = await read_as(shared, "db", A, interval=60, not_before=clock.now - 60)
    assert got == ("v2", "two") and len(backend.calls) == calls
    await shared.close()


async def test_new_or_changed_readers_and_reads_outside_a_sync_read_afresh() -> None:
    clock, backend = Clock(), Backend({"db": ("v1", "one")})
    shared = reads(backend, clock)
    await read_as(shared, "db", A, interval=60, not_before=clock.now)
    clock.now += 5
    # A new ExternalSecret (or force-sync) seen after the fetch wants a value read after that.
    await read_as(shared, "db", C, interval=60, not_before=clock.now - 1)
    assert len(backend.calls) == 2
    await shared.get("db")  # no Want: `asyncso render`, pushes: never the value held
    assert len(backend.calls) == 3
    await asyncio.gather(shared.get("db"), shared.get("db"))  # but calls in flight are shared
    assert len(backend.calls) == 4
    await shared.close()


async def test_reads_of_a_value_in_flight_share_the_call() -> None:
    clock, backend = Clock(), Backend({"db": ("v1", "one")})
    shared = reads(backend, clock)
    got = await asyncio.gather(
        *(
            read_as(shared, "db", ("ns", f"es-{i}"), interval=60, not_before=clock.now)
            for i in range(6)
        )
    )
    assert got == [("v1", "one")] * 6
    assert backend.calls == [["db"]]
    await shared.close()


async def test_a_partial_batch_is_filled_with_the_entries_due_soonest() -> None:
    clock, backend = Clock(), Backend({f"s{i:02d}": ("v1", "x") for i in range(60)})
    shared = reads(backend, clock)
    no_spread(shared)
    for group in (range(20), range(20, 40)):  # two full calls, 10 s apart
        await asyncio.gather(
            *(read_as(shared, f"s{i:02d}", A, interval=60, not_before=clock.now) for i in group)
        )
        clock.now += 10
    assert [len(call) for call in backend.calls] == [20, 20]
    backend.calls.clear()
    # One new reader needs one value now: its call carries 19 more, those due soonest.
    await read_as(shared, "s50", B, interval=60, not_before=clock.now)
    assert backend.calls == [["s50", *(f"s{i:02d}" for i in range(19))]]
    await shared.close()


async def test_sweeps_make_full_calls_and_settle_into_groups() -> None:
    clock, backend = Clock(), Backend({f"s{i:02d}": ("v1", "x") for i in range(60)})
    shared = reads(backend, clock)
    for i in range(60):  # read one by one, spread over a minute: 60 calls of one id
        await read_as(shared, f"s{i:02d}", A, interval=60, not_before=clock.now)
        clock.now += 1
    backend.calls.clear()
    for _ in range(3):  # three more cycles, driven by the sweep timer's moments
        end = clock.now + 60
        while (due := shared.cache.next_due()) is not None and due <= end:
            clock.now = max(clock.now, due)
            shared.sweep()
            await settle()
        clock.now = end
    assert all(len(call) == 20 for call in backend.calls)
    assert len(backend.calls) <= 3 * 3 + 1  # ceil(60 / 20) per cycle (+ the margin's drift)
    await shared.close()


async def test_a_deleted_remote_secret_wakes_its_readers() -> None:
    clock, backend = Clock(), Backend({"db": ("v1", "one")})
    woken: list[set[tuple[str, str]]] = []
    shared = reads(backend, clock, woken=woken)
    await read_as(shared, "db", A, interval=60, not_before=clock.now)
    del backend.values["db"]
    clock.now = shared.cache.next_due() or 0
    shared.sweep()
    await settle()
    assert woken == [{A}]
    with pytest.raises(errors.RemoteSecretNotFoundError):
        await read_as(shared, "db", A, interval=60, not_before=clock.now - 60)
    await shared.close()


async def test_values_of_one_identity_are_never_served_by_another() -> None:
    """One `SharedReads` per credential identity (provider): the same remote name read with
    two tenants' credentials gives each its own value, however warm the other cache is."""
    clock = Clock()
    tenant_a, tenant_b = Backend({"db": ("a1", "secret-of-a")}), Backend({"db": ("b1", "of-b")})
    shared_a, shared_b = reads(tenant_a, clock), reads(tenant_b, clock)
    assert await read_as(shared_a, "db", A, interval=60, not_before=0) == ("a1", "secret-of-a")
    got = await read_as(shared_b, "db", ("team-b", "es-1"), interval=60, not_before=0)
    assert got == ("b1", "of-b")
    assert len(tenant_b.calls) == 1
    await shared_a.close()
    await shared_b.close()


async def test_values_beyond_the_memory_budget_are_read_each_time_yet_stay_fresh() -> None:
    clock, backend = Clock(), Backend({f"s{i}": ("v1", "x" * 100) for i in range(10)})
    woken: list[set[tuple[str, str]]] = []
    shared = reads(backend, clock, woken=woken, max_bytes=300)
    for i in range(10):
        got = await read_as(shared, f"s{i}", A, interval=60, not_before=clock.now)
        assert got == ("v1", "x" * 100)
    assert shared.cache.bytes <= 300
    calls = len(backend.calls)
    await read_as(shared, "s9", B, interval=60, not_before=clock.now - 60)  # not held
    assert len(backend.calls) == calls + 1
    backend.values["s9"] = ("v2", "y" * 100)
    clock.now = shared.cache.next_due() or 0
    shared.sweep()
    await settle()
    assert {A, B} <= set().union(*woken)  # the version was tracked all the same
    await shared.close()


async def test_change_detection_reads_only_what_the_listing_says_changed() -> None:
    clock, backend = Clock(), Backend({f"s{i:02d}": ("v1", "x") for i in range(50)})
    woken: list[set[tuple[str, str]]] = []
    shared = reads(backend, clock, woken=woken)
    shared.verify = backend.versions
    await asyncio.gather(
        *(read_as(shared, f"s{i:02d}", A, interval=60, not_before=clock.now) for i in range(50))
    )
    backend.calls.clear()
    backend.values["s07"] = ("v2", "changed")
    clock.now = shared.cache.next_due() or 0
    shared.sweep()
    await settle()
    assert backend.listings == 1
    assert backend.calls == [["s07"]]  # one read for the one changed value, none for the rest
    assert woken == [{A}]
    got = await read_as(shared, "s07", B, interval=60, not_before=clock.now - 60)
    assert got == ("v2", "changed")
    await shared.close()


async def test_a_failed_sweep_call_keeps_the_values_and_tries_again() -> None:
    clock, backend = Clock(), Backend({"db": ("v1", "one")})
    shared = reads(backend, clock)
    await read_as(shared, "db", A, interval=60, not_before=clock.now)

    async def broken(ids: list[str]) -> Mapping[str, tuple[str, str] | BaseException]:
        raise errors.ProviderUnavailableError("down")

    shared._fetch_many = broken
    clock.now = shared.cache.next_due() or 0
    shared.sweep()
    await settle()
    assert shared.cache.next_due() == clock.now + 1.0  # backing off
    assert shared.cache.lookup("db", not_before=0) == ("v1", "one")
    await shared.close()


# --- peek: a value held, answered without a call or a wait ------------------------------------


def peek_as(
    shared: shared_reads.SharedReads[tuple[str, str]],
    ident: str,
    reader: tuple[str, str],
    *,
    interval: float,
    not_before: float,
) -> tuple[str, str] | None:
    with freshness.wanting(freshness.Want(reader=reader, interval=interval, not_before=not_before)):
        return shared.peek(ident)


async def test_peek_answers_only_from_a_value_held_fresh_enough() -> None:
    clock, backend = Clock(), Backend({"s": ("v1", "one")})
    shared = reads(backend, clock)
    assert peek_as(shared, "s", A, interval=60, not_before=0) is None
    await settle()
    assert backend.calls == []  # a miss sends nothing
    assert await read_as(shared, "s", A, interval=60, not_before=0) == ("v1", "one")
    hits = shared.hits
    clock.now += 10
    assert peek_as(shared, "s", B, interval=30, not_before=clock.now - 30) == ("v1", "one")
    assert shared.hits == hits + 1
    # Fetched before what this sync needs (e.g. its spec changed since): not held for it.
    assert peek_as(shared, "s", C, interval=60, not_before=clock.now) is None
    await settle()
    assert backend.calls == [["s"]]
    assert shared.hits == hits + 1
    await shared.close()


async def test_peek_renews_the_readers_lease_like_a_read() -> None:
    clock, backend = Clock(), Backend({"s": ("v1", "one")})
    shared = reads(backend, clock)
    await read_as(shared, "s", A, interval=60, not_before=0)
    clock.now += 5
    assert peek_as(shared, "s", B, interval=20, not_before=0) == ("v1", "one")
    entry = shared.cache.entry("s")
    assert entry is not None and set(entry.leases) == {A, B}
    assert entry.leases[B][0] == 20
    # The shorter interval brings the re-read forward, as a read would.
    assert entry.due <= 1000.0 + value_cache.period(20)
    await shared.close()


async def test_peek_outside_a_sync_answers_nothing() -> None:
    clock, backend = Clock(), Backend({"s": ("v1", "one")})
    shared = reads(backend, clock)
    await read_as(shared, "s", A, interval=60, not_before=0)
    assert shared.peek("s") is None
    await shared.close()
