"""Issue 10: `refreshInterval` read as Go reads it, and the refresh floor
(`--min-refresh-interval`) that keeps `1ns` from being a hot loop of provider calls."""

from __future__ import annotations

import logging

import pytest
from core_fixtures import es
from test_reconciler import World

from asyncso import cli, errors, settings, timing

T0 = 1_700_000_000.0


# --- Go's time.ParseDuration ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2562047h47m16s", 9_223_372_036.0),  # Go's largest duration, whole seconds
        ("2562047h47m16.854775807s", 9_223_372_036.854775807),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("+5s", 5.0),
        ("-0", 0.0),
        ("3\u00b5s", 3e-6),  # both micro signs, as Go
        ("3\u03bcs", 3e-6),
        ("1h1m1.5s", 3661.5),
        ("1." + "0" * 5000 + "1s", 1.0),  # Go stops reading digits that no longer fit
    ],
)
def test_durations_go_accepts(text: str, seconds: float) -> None:
    assert timing.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "2562047h47m16.854775808s",  # one nanosecond past Go's maximum
        "9999999999h",
        "1" + "0" * 5000 + "h",  # longer than Python's int() takes: refused all the same
        "\uff11h",  # a fullwidth digit: Python's \d accepts it, Go does not
        "\u0661s",  # an Arabic-Indic digit
        "1e3s",
        "5",
        "\u00b5s",
        ".s",
    ],
)
def test_durations_go_refuses(text: str) -> None:
    with pytest.raises(errors.InvalidSpecError, match=r"spec\.refreshInterval: invalid duration"):
        timing.parse_duration(text)


def test_a_refused_duration_is_not_quoted_in_full() -> None:
    with pytest.raises(errors.InvalidSpecError) as info:
        timing.parse_duration("9" * 5000 + "h")
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1e-9, "1ns"),
        (3e-6, "3\u00b5s"),
        (0.3, "300ms"),
        (10, "10s"),
        (90, "1m30s"),
        (3600, "1h0m0s"),
        (3661.25, "1h1m1.25s"),
    ],
)
def test_format_duration_as_go_prints_it(seconds: float, text: str) -> None:
    assert timing.format_duration(seconds) == text


# --- the floor -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "floor", "expected"),
    [
        ("1ns", 10.0, 10.0),
        ("5s", 10.0, 10.0),
        ("1h", 10.0, 3600.0),
        ("0", 10.0, 0.0),
        ("1ns", 0.0, 1e-9),
    ],
)
def test_refresh_interval_is_raised_to_the_floor(
    interval: str, floor: float, expected: float
) -> None:
    assert timing.refresh_interval(es(refresh_interval=interval), floor=floor) == pytest.approx(
        expected
    )


def test_next_refresh_and_due_use_the_floor() -> None:
    status = {"refreshTime": timing.format_time(T0), "syncedResourceVersion": "x"}
    item = es(refresh_interval="1ns", status=status)
    assert timing.next_refresh(item, now=T0, jitter=0.0, rand=0.0, floor=10.0) == T0 + 10.0
    rv = timing.synced_resource_version(item)
    item = es(refresh_interval="1ns", status={**status, "syncedResourceVersion": rv})
    assert not timing.is_due(item, now=T0 + 5, floor=10.0)
    assert timing.is_due(item, now=T0 + 10, floor=10.0)


def test_the_flag_takes_a_go_duration_and_defaults_to_ten_seconds() -> None:
    parse = cli.build_parser().parse_args
    assert cli.settings_from(parse(["run"])).min_refresh_interval == 10.0
    assert settings.Settings().min_refresh_interval == 10.0
    assert cli.settings_from(parse(["run", "--min-refresh-interval=1m"])).min_refresh_interval == 60
    assert (
        cli.settings_from(parse(["run", "--min-refresh-interval", "0"])).min_refresh_interval == 0
    )
    with pytest.raises(SystemExit):
        parse(["run", "--min-refresh-interval", "10"])  # Go wants a unit


async def test_a_floored_sync_comes_back_after_the_floor_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World()
    with caplog.at_level(logging.INFO, logger="asyncso.reconciler"):
        first = await world.sync(refresh_interval="1ns")
        second = await world.sync(refresh_interval="1ns")
    assert first.ok and first.next_at is not None
    assert first.next_at >= 1_700_000_000.0 + 10.0  # not at once: the floor
    assert world.ready() is not None and world.ready()[0] == "True"  # type: ignore[index]
    assert second.ok
    floored = [r for r in caplog.records if "min-refresh-interval" in r.getMessage()]
    assert len(floored) == 1
