"""The shared cache's bookkeeping (pure, time passed in): freshness, leases, due order and
fill-up, version changes, the memory budget."""

from __future__ import annotations

import math

import pytest

from asyncso.providers import value_cache

A, B, C = ("ns", "a"), ("ns", "b"), ("other", "c")


def cache(max_bytes: int = 1 << 20) -> value_cache.ValueCache[tuple[str, bytes]]:
    return value_cache.ValueCache(
        version_of=lambda v: v[0],
        size_of=lambda v: len(v[1]),
        max_bytes=max_bytes,
        first_spread=0.0,  # see test_values_first_read_together_are_re_read_spread_out
    )


def test_a_value_is_served_only_to_reads_that_accept_its_age() -> None:
    c = cache()
    c.lease("x", A, interval=60, now=100)
    c.put("x", ("v1", b"one"), fetched_at=100, now=100.1)
    assert c.lookup("x", not_before=100) == ("v1", b"one")
    assert c.lookup("x", not_before=40) == ("v1", b"one")  # a routine refresh at 100 + 60
    assert c.lookup("x", not_before=100.5) is None  # a new reader seen after the fetch
    assert c.lookup("y", not_before=0) is None


def test_an_entry_is_due_once_its_readers_shortest_interval_is_nearly_over() -> None:
    c = cache()
    c.lease("x", A, interval=60, now=0)
    c.lease("x", B, interval=30, now=0)
    c.put("x", ("v1", b"1"), fetched_at=10, now=10)
    assert c.next_due() == 10 + value_cache.period(30)
    assert value_cache.period(30) == 29.0  # 1 s of margin for the call and the syncs
    assert value_cache.period(10) == 9.5  # at most 5 % of short intervals
    assert c.due(38.9) == []
    assert c.due(39.0) == ["x"]
    assert c.next_due() is None  # taken: a call is reading it


def test_a_shorter_interval_brings_the_next_read_forward() -> None:
    c = cache()
    c.lease("x", A, interval=600, now=0)
    c.put("x", ("v1", b"1"), fetched_at=0, now=0)
    assert c.next_due() == value_cache.period(600)
    c.lease("x", B, interval=20, now=5)
    assert c.next_due() == value_cache.period(20)


def test_entries_whose_readers_are_gone_are_dropped_when_due_not_read() -> None:
    c = cache()
    c.lease("x", A, interval=10, now=0)
    c.put("x", ("v1", b"1"), fetched_at=0, now=0)
    lease_end = 10 * value_cache.LEASE_INTERVALS + 10  # the grace: at most one interval
    assert c.due(lease_end - 1) == ["x"]  # still leased: read again
    c.put("x", ("v1", b"1"), fetched_at=lease_end - 1, now=lease_end - 1)
    assert c.due(lease_end + 20) == []  # nobody renewed the lease
    assert "x" not in c
    assert c.bytes == 0


def test_unleased_values_are_not_kept_for_long() -> None:
    c = cache()
    c.put("x", ("v1", b"1"), fetched_at=0, now=0)  # read outside any sync
    assert c.next_due() == 0
    assert c.due(0) == []
    assert len(c) == 0


def test_fillers_are_the_entries_due_soonest() -> None:
    c = cache()
    for i in range(30):
        c.lease(f"s{i}", A, interval=60, now=0)
        c.put(f"s{i}", ("v1", b"x"), fetched_at=float(i), now=float(i))
    taken = c.soonest(5, now=30)
    assert taken == ["s0", "s1", "s2", "s3", "s4"]
    assert c.soonest(2, now=30) == ["s5", "s6"]  # taken ones are busy, not offered twice
    c.claim("s7")  # asked for by a read: in its own call already
    assert c.soonest(1, now=30) == ["s8"]


def test_a_new_version_names_the_live_readers_to_wake() -> None:
    c = cache()
    c.lease("x", A, interval=60, now=0)
    c.lease("x", B, interval=60, now=0)
    assert c.put("x", ("v1", b"1"), fetched_at=0, now=0) == set()  # first sight: nobody
    assert c.put("x", ("v1", b"1"), fetched_at=59, now=59) == set()  # same version
    assert c.put("x", ("v2", b"2"), fetched_at=118, now=118) == {A, B}
    assert c.lookup("x", not_before=118) == ("v2", b"2")
    lease_end = 59 + 60 * value_cache.LEASE_INTERVALS + value_cache.LEASE_GRACE  # 30 < 60
    c.lease("x", A, interval=60, now=lease_end - 10)
    assert c.put("x", ("v3", b"3"), fetched_at=lease_end + 1, now=lease_end + 1) == {A}


def test_an_older_answer_arriving_late_does_not_replace_a_newer_one() -> None:
    c = cache()
    c.lease("x", A, interval=60, now=0)
    c.put("x", ("v2", b"new"), fetched_at=10, now=11)
    assert c.put("x", ("v1", b"old"), fetched_at=5, now=12) == set()
    assert c.lookup("x", not_before=0) == ("v2", b"new")


def test_a_deleted_remote_secret_wakes_its_readers_and_leaves_the_cache() -> None:
    c = cache()
    c.lease("x", A, interval=60, now=0)
    assert c.gone("x", now=0) == set()  # never seen: nothing to report
    c.lease("x", A, interval=60, now=0)
    c.put("x", ("v1", b"1"), fetched_at=0, now=0)
    assert c.gone("x", now=59) == {A}
    assert "x" not in c


def test_a_failed_read_is_retried_later_and_a_never_read_entry_forgotten() -> None:
    c = cache()
    c.lease("x", A, interval=60, now=0)
    c.claim("x")
    c.failed("x", now=0)
    assert "x" not in c  # its readers' next reads start over
    c.lease("y", A, interval=60, now=0)
    c.put("y", ("v1", b"1"), fetched_at=0, now=0)
    assert c.due(59) == ["y"]
    c.failed("y", now=59, backoff=2.0)  # the whole call failed: soon again
    assert c.next_due() == 61
    assert c.due(61) == ["y"]
    c.failed("y", now=61)  # AWS refused this id: once a period, readers see the error
    assert c.next_due() == 61 + value_cache.period(60)
    assert c.lookup("y", not_before=0) == ("v1", b"1")  # the value held is not thrown away


def test_a_listing_confirms_unchanged_versions_without_reading_them() -> None:
    c = cache()
    for name in ("x", "y"):
        c.lease(name, A, interval=60, now=0)
        c.put(name, ("v1", b"1"), fetched_at=0, now=0)
    taken = c.take_all(59)
    assert sorted(taken) == ["x", "y"]
    assert c.confirm("x", "v1", fetched_at=59, now=60)
    assert not c.confirm("y", "v2", fetched_at=59, now=60)  # to be read again
    assert c.lookup("x", not_before=59) == ("v1", b"1")
    assert c.next_due() == 59 + value_cache.period(60)


def test_the_memory_budget_bounds_the_values_held_not_the_versions() -> None:
    c = cache(max_bytes=10)
    for i in range(5):
        c.lease(f"s{i}", A, interval=60, now=0)
        c.put(f"s{i}", (f"v{i}", b"abcd"), fetched_at=0, now=0)
    assert c.bytes == 8  # two values of 4 bytes fit, the rest are not kept
    held = [i for i in range(5) if c.lookup(f"s{i}", not_before=0) is not None]
    assert held == [0, 1]
    # A value not held is still tracked: a new version is noticed and its readers woken.
    assert c.put("s4", ("changed", b"abcd"), fetched_at=1, now=1) == {A}
    c.gone("s0", now=2)
    assert c.bytes == 4
    c.put("s3", ("v3", b"abcd"), fetched_at=3, now=3)
    assert c.lookup("s3", not_before=0) is not None  # room again
    assert c.bytes <= c.max_bytes


@pytest.mark.parametrize("interval", [0.0, -1.0])
def test_readers_without_an_interval_take_no_lease(interval: float) -> None:
    c = cache()
    c.lease("x", C, interval=interval, now=0)
    assert "x" not in c
    entry_due = c.next_due()
    assert entry_due is None or entry_due < math.inf


def test_chunks() -> None:
    assert value_cache.chunks([str(i) for i in range(45)], 20)[-1] == [
        str(i) for i in range(40, 45)
    ]
    assert value_cache.chunks([], 20) == []


def test_values_first_read_together_are_re_read_spread_out() -> None:
    c: value_cache.ValueCache[tuple[str, bytes]] = value_cache.ValueCache(
        version_of=lambda v: v[0], size_of=lambda v: len(v[1]), max_bytes=1 << 20
    )
    for i in range(200):
        c.lease(f"s{i}", A, interval=60, now=0)
        c.put(f"s{i}", ("v1", b"x"), fetched_at=0, now=0)
    first = sorted(c.entry(f"s{i}").due for i in range(200))  # type: ignore[union-attr]
    full = value_cache.period(60)
    assert full * (1 - value_cache.FIRST_SPREAD) <= first[0] and first[-1] <= full
    assert first[-1] - first[0] > full * value_cache.FIRST_SPREAD * 0.8  # spread, not a burst
    taken = c.due(first[100])
    for ident in taken:  # re-read: from now on one period after each read
        c.put(ident, ("v1", b"x"), fetched_at=first[100], now=first[100])
        assert c.entry(ident).due == first[100] + full  # type: ignore[union-attr]
