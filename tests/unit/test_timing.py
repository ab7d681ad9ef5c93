from __future__ import annotations

import pytest
from core_fixtures import es

from asyncso import errors, model, timing

T0 = 1_700_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("15s", 15.0),
        ("1h0m0s", 3600.0),
        ("1h", 3600.0),
        ("2h45m", 9900.0),
        ("1.5h", 5400.0),
        ("300ms", 0.3),
        ("1m30s", 90.0),
        ("10m", 600.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert timing.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1d", "abc", "15", "s", "1h 2m", "-5s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(errors.InvalidSpecError, match=r"spec\.refreshInterval"):
        timing.parse_duration(text)


def _synced_es(
    *,
    policy: str | None = None,
    interval: str = "1h",
    age: float = 10.0,
    generation: int = 1,
    changed: bool = False,
) -> model.ExternalSecret:
    first = es(refresh_interval=interval, refresh_policy=policy, generation=generation)
    rv = timing.synced_resource_version(first)
    status = {"refreshTime": timing.format_time(T0 - age), "syncedResourceVersion": rv}
    return es(
        refresh_interval=interval,
        refresh_policy=policy,
        status=status,
        generation=generation + (1 if changed else 0),
    )


@pytest.mark.parametrize(
    ("policy", "interval", "age", "changed", "due"),
    [
        (None, "1h", 10, False, False),  # periodic, within interval
        (None, "1h", 3601, False, True),  # periodic, interval passed
        (None, "1h", 10, True, True),  # spec changed
        (None, "0", 99999, False, False),  # interval 0: only on change
        (None, "0", 10, True, True),
        ("Periodic", "15s", 16, False, True),
        ("CreatedOnce", "1h", 99999, False, False),
        ("CreatedOnce", "1h", 10, True, False),  # never again, even on change
        ("OnChange", "1h", 99999, False, False),
        ("OnChange", "1h", 10, True, True),
    ],
)
def test_is_due(policy: str | None, interval: str, age: float, changed: bool, due: bool) -> None:
    item = _synced_es(policy=policy, interval=interval, age=age, changed=changed)
    assert timing.is_due(item, now=T0) is due


def test_never_synced_is_due_under_every_policy() -> None:
    for policy in (None, "CreatedOnce", "OnChange", "Periodic"):
        assert timing.is_due(es(refresh_policy=policy), now=T0)


def test_label_or_annotation_change_makes_due() -> None:
    item = _synced_es()
    bumped = es(
        annotations={"force-sync": "1"},
        status={
            "refreshTime": item.status.refresh_time,
            "syncedResourceVersion": item.status.synced_resource_version,
        },
    )
    assert not timing.is_due(item, now=T0)
    assert timing.is_due(bumped, now=T0)


def test_next_refresh_spreads_with_jitter() -> None:
    item = _synced_es(interval="1h", age=0)
    low = timing.next_refresh(item, now=T0, jitter=0.1, rand=0.0)
    high = timing.next_refresh(item, now=T0, jitter=0.1, rand=0.999)
    assert low == pytest.approx(T0 + 3600)
    assert high == pytest.approx(T0 + 3600 + 359.64)
    assert timing.next_refresh(_synced_es(policy="CreatedOnce"), now=T0, jitter=0.1, rand=0) is None
    assert timing.next_refresh(_synced_es(interval="0"), now=T0, jitter=0.1, rand=0) is None


def test_next_refresh_never_in_the_past() -> None:
    item = _synced_es(interval="1m", age=3600)
    assert timing.next_refresh(item, now=T0, jitter=0.0, rand=0.0) == T0


@pytest.mark.parametrize(
    ("attempt", "low", "high"), [(1, 0.5, 1), (2, 1, 2), (5, 8, 16), (20, 150, 300)]
)
def test_backoff_grows_and_caps(attempt: int, low: float, high: float) -> None:
    assert timing.backoff(attempt, rand=0.0) == pytest.approx(low)
    assert timing.backoff(attempt, rand=1.0) == pytest.approx(high)


def test_format_and_parse_time_roundtrip() -> None:
    assert timing.format_time(0) == "1970-01-01T00:00:00Z"
    assert timing.parse_time(timing.format_time(T0)) == T0
    assert timing.parse_time(None) is None
    assert timing.parse_time("garbage") is None


def test_a_store_change_makes_its_readers_due() -> None:
    item = _synced_es()
    rv = timing.synced_resource_version(item, store_version="uid-1:1")
    synced = es(status={"refreshTime": item.status.refresh_time, "syncedResourceVersion": rv})
    assert not timing.is_due(synced, now=T0, store_version="uid-1:1")
    assert timing.is_due(synced, now=T0, store_version="uid-1:2")  # store edited
    assert timing.is_due(synced, now=T0, store_version="uid-2:1")  # store recreated


def test_short_durations_are_parsed_once_and_long_ones_each_time() -> None:
    timing._go_nanos_held.cache_clear()
    for _ in range(3):
        assert timing.parse_duration("1h0m0s") == 3600.0
        assert timing.parse_duration("1.5h") == 5400.0
    info = timing._go_nanos_held.cache_info()
    assert (info.misses, info.hits) == (2, 4)
    long = "0" * 40 + "1s"
    assert timing.parse_duration(long) == 1.0
    assert timing._go_nanos_held.cache_info().currsize == 2
    with pytest.raises(errors.InvalidSpecError):  # refusals come from the held result too
        timing.parse_duration("5x")
    with pytest.raises(errors.InvalidSpecError):
        timing.parse_duration("5x")
