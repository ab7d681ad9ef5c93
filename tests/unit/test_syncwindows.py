"""`spec.syncWindows` and the robfig/cron schedules behind them, table-tested (UTC)."""

from __future__ import annotations

import datetime
from typing import Any

import msgspec
import pytest
from core_fixtures import es as make_es

from asyncso import model, syncwindows, timing

UTC = datetime.UTC


def at(text: str) -> float:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S %a")


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("0 22 * * 1-5", "2024-01-01 12:00:00", "2024-01-01 22:00:00 Mon"),
        ("0 22 * * 1-5", "2024-01-05 22:00:00", "2024-01-08 22:00:00 Mon"),  # strictly after
        ("*/15 * * * *", "2024-01-01 10:07:30", "2024-01-01 10:15:00 Mon"),
        ("5/20 * * * *", "2024-01-01 10:46:00", "2024-01-01 11:05:00 Mon"),
        ("0 0 13 * 5", "2024-01-01 00:00:00", "2024-01-05 00:00:00 Fri"),  # dom OR dow
        ("0 0 * * 0", "2024-01-01 00:00:00", "2024-01-07 00:00:00 Sun"),  # dom * : AND
        ("0 9 * FEB,mar mon", "2024-01-15 00:00:00", "2024-02-05 09:00:00 Mon"),
        ("0 0 29 2 *", "2024-03-01 00:00:00", "2028-02-29 00:00:00 Tue"),
        ("@yearly", "2024-03-01 00:00:00", "2025-01-01 00:00:00 Wed"),
        ("@monthly", "2024-01-31 23:59:59", "2024-02-01 00:00:00 Thu"),
        ("@weekly", "2024-01-01 00:00:00", "2024-01-07 00:00:00 Sun"),
        ("@daily", "2024-01-01 00:00:00", "2024-01-02 00:00:00 Tue"),
        ("@hourly", "2024-01-01 10:30:00", "2024-01-01 11:00:00 Mon"),
        ("@every 90m", "2024-01-01 10:00:00", "2024-01-01 11:30:00 Mon"),
        ("0 0 30 2 *", "2024-01-01 00:00:00", None),  # never: robfig gives up after 5 years
    ],
)
def test_next_time_as_robfig(schedule: str, after: str, expected: str | None) -> None:
    assert iso(syncwindows.next_time(syncwindows.parse(schedule), at(after))) == expected


@pytest.mark.parametrize(
    "schedule", ["61 * * * *", "* * * *", "@often", "0 0 * * 7", "1-2-3 * * * *", "x * * * *"]
)
def test_bad_schedules_are_refused_by_the_parser(schedule: str) -> None:
    with pytest.raises(syncwindows.ScheduleError):
        syncwindows.parse(schedule)


def es(kind: str, *windows: tuple[str, str], **kw: Any) -> model.ExternalSecret:
    item = make_es(**kw)
    spec = {
        "kind": kind,
        "windows": [{"schedule": s, "duration": d} for s, d in windows],
    }
    return msgspec.structs.replace(
        item,
        spec=msgspec.structs.replace(
            item.spec, sync_windows=msgspec.convert(spec, model.SyncWindows)
        ),
    )


OFFICE = ("0 8 * * 1-5", "10h")  # weekdays 08:00-18:00


@pytest.mark.parametrize(
    ("kind", "moment", "allowed", "next_allowed"),
    [
        ("deny", "2024-01-01 09:00:00", False, "2024-01-01 18:00:01 Mon"),
        ("deny", "2024-01-01 18:00:00", False, "2024-01-01 18:00:01 Mon"),  # end inclusive
        ("deny", "2024-01-01 19:00:00", True, "2024-01-01 19:00:00 Mon"),
        ("deny", "2024-01-06 09:00:00", True, "2024-01-06 09:00:00 Sat"),
        ("allow", "2024-01-01 09:00:00", True, "2024-01-01 09:00:00 Mon"),
        ("allow", "2024-01-01 19:00:00", False, "2024-01-02 08:00:00 Tue"),
        ("allow", "2024-01-02 07:30:00", False, "2024-01-02 08:00:00 Tue"),
    ],
)
def test_windows(kind: str, moment: str, allowed: bool, next_allowed: str) -> None:
    item = es(kind, OFFICE)
    assert syncwindows.allows(item, at(moment)) is allowed
    assert iso(syncwindows.next_allowed(item, at(moment))) == next_allowed


def test_overlapping_deny_windows_are_stepped_past() -> None:
    item = es("deny", ("0 8 * * *", "2h"), ("30 9 * * *", "1h"))
    assert iso(syncwindows.next_allowed(item, at("2024-01-01 08:30:00"))) == (
        "2024-01-01 10:30:01 Mon"
    )


def test_unparseable_windows_are_skipped_as_eso_does() -> None:
    item = es("deny", ("99 * * * *", "1h"))
    assert syncwindows.allows(item, at("2024-01-01 09:00:00"))


def test_no_windows_allow_always() -> None:
    assert syncwindows.allows(make_es(), 0.0)


SYNCED = {"refreshTime": "2024-01-01T08:00:00Z"}


def synced(kind: str, **kw: Any) -> model.ExternalSecret:
    item = es(kind, OFFICE, **kw)
    version = timing.synced_resource_version(item)
    status = msgspec.structs.replace(
        item.status, refresh_time=SYNCED["refreshTime"], synced_resource_version=version
    )
    return msgspec.structs.replace(item, status=status)


def test_hold_only_a_periodic_refresh_of_a_valid_target() -> None:
    now = at("2024-01-01 09:00:00")
    held = syncwindows.hold(synced("deny"), now=now, store_version="", target_valid=True)
    assert iso(held) == "2024-01-01 18:00:01 Mon"
    # a drifted or missing target, a first sync, another policy: sync now
    assert syncwindows.hold(synced("deny"), now=now, store_version="", target_valid=False) is None
    assert (
        syncwindows.hold(es("deny", OFFICE), now=now, store_version="", target_valid=True) is None
    )
    once = synced("deny", refresh_policy="OnChange")
    assert syncwindows.hold(once, now=now, store_version="", target_valid=True) is None
    # a changed store (or spec, labels, annotations)
    assert syncwindows.hold(synced("deny"), now=now, store_version="x", target_valid=True) is None
