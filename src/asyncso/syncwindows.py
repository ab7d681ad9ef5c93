"""Pure: ESO's `spec.syncWindows` — when periodic refreshes may run — and the cron schedules
they are written in.

Why: a user who writes `syncWindows: {kind: deny, windows: [{schedule: "0 8 * * 1-5",
duration: 10h}]}` expects no routine refresh during office hours, exactly as with ESO. A port of
ESO's `isPeriodicRefreshAllowedByWindows` / `isWithinSyncWindow` and of the parts of
robfig/cron v3 it uses (the standard 5-field parser with descriptors, `SpecSchedule.Next`,
`ConstantDelaySchedule` for `@every`), evaluated in UTC. As in ESO, a window whose schedule does
not parse is skipped (the CRD's pattern refuses malformed ones at admission); only periodic
refreshes are gated — a spec change, a first sync or a drifted Secret sync at once.

Times are epoch seconds (floats), as everywhere in the core.
"""

from __future__ import annotations

import dataclasses
import datetime
import math

from asyncso import errors, model, timing

UTC = datetime.UTC
#: The longest a held refresh waits before the windows are looked at again (seconds).
MAX_HOLD = 86400.0
_STAR = 1 << 63

_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_DAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}


@dataclasses.dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int] = dataclasses.field(default_factory=dict)


_MINUTE, _HOUR = _Bounds(0, 59), _Bounds(0, 23)
_DOM, _MONTH, _DOW = _Bounds(1, 31), _Bounds(1, 12, _MONTHS), _Bounds(0, 6, _DAYS)


@dataclasses.dataclass(frozen=True)
class Spec:
    """A 5-field schedule as bit sets (robfig's `SpecSchedule`, seconds always 0)."""

    minute: int
    hour: int
    dom: int
    month: int
    dow: int


@dataclasses.dataclass(frozen=True)
class Every:
    """`@every <duration>` (robfig's `ConstantDelaySchedule`): whole seconds, at least one."""

    delay: int


Schedule = Spec | Every


class ScheduleError(ValueError):
    """A schedule robfig's standard parser would refuse."""


def _all(bounds: _Bounds) -> int:
    return _bits(bounds.low, bounds.high, 1) | _STAR


def _bits(low: int, high: int, step: int) -> int:
    return sum(1 << i for i in range(low, high + 1, step))


def _number(text: str, bounds: _Bounds) -> int:
    if text.lower() in bounds.names:
        return bounds.names[text.lower()]
    if not text.isdigit():
        raise ScheduleError(f"failed to parse int from {text}")
    return int(text)


def _range(expr: str, bounds: _Bounds) -> int:
    range_and_step = expr.split("/")
    if len(range_and_step) > 2:
        raise ScheduleError(f"too many slashes: {expr}")
    low_and_high = range_and_step[0].split("-")
    if len(low_and_high) > 2:
        raise ScheduleError(f"too many hyphens: {expr}")
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = bounds.low, bounds.high, _STAR
    else:
        start = _number(low_and_high[0], bounds)
        end = _number(low_and_high[1], bounds) if len(low_and_high) == 2 else start
    step = 1
    if len(range_and_step) == 2:
        step = _number(range_and_step[1], _Bounds(0, 0))
        if len(low_and_high) == 1:
            end = bounds.high
        if step > 1:
            extra = 0
    if start < bounds.low:
        raise ScheduleError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise ScheduleError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ScheduleError(f"step of range should be a positive number: {expr}")
    return _bits(start, end, step) | extra


def _field(text: str, bounds: _Bounds) -> int:
    bits = 0
    for expr in text.split(","):
        bits |= _range(expr, bounds)
    return bits


_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def parse(text: str) -> Schedule:
    """robfig/cron v3's standard parser: `min hour dom month dow`, or a descriptor."""
    spec = text.strip()
    if spec.startswith("@every "):
        try:
            seconds = timing.parse_duration(spec.removeprefix("@every ").strip(), field="@every")
        except errors.InvalidSpecError as exc:
            raise ScheduleError(str(exc)) from None
        return Every(max(1, int(seconds)))
    if spec in _DESCRIPTORS:
        spec = _DESCRIPTORS[spec]
    elif spec.startswith("@"):
        raise ScheduleError(f"unrecognized descriptor: {spec}")
    fields = spec.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    minute, hour, dom, month, dow = (
        _field(f, b) for f, b in zip(fields, (_MINUTE, _HOUR, _DOM, _MONTH, _DOW), strict=True)
    )
    return Spec(minute=minute, hour=hour, dom=dom, month=month, dow=dow)


def _day_matches(spec: Spec, moment: datetime.datetime) -> bool:
    dom = bool(1 << moment.day & spec.dom)
    dow = bool(1 << (moment.isoweekday() % 7) & spec.dow)
    if spec.dom & _STAR or spec.dow & _STAR:
        return dom and dow
    return dom or dow


def next_time(schedule: Schedule, after: float) -> float | None:
    """The first firing strictly after `after` (robfig's `Next`), or None within 5 years."""
    if isinstance(schedule, Every):
        return math.floor(after) + schedule.delay
    moment = datetime.datetime.fromtimestamp(math.floor(after) + 1, tz=UTC)
    limit = moment.year + 5
    # Field by field as robfig does: month, day, hour, minute (seconds are always 0).
    while moment.year <= limit:
        if not 1 << moment.month & schedule.month:
            year, month = (
                (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
            )
            moment = datetime.datetime(year, month, 1, tzinfo=UTC)
            continue
        if not _day_matches(schedule, moment):
            moment = datetime.datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
            moment += datetime.timedelta(days=1)
            continue
        if not 1 << moment.hour & schedule.hour:
            moment = moment.replace(minute=0, second=0) + datetime.timedelta(hours=1)
            continue
        if not 1 << moment.minute & schedule.minute:
            moment = moment.replace(second=0) + datetime.timedelta(minutes=1)
            continue
        if moment.second != 0:
            moment = moment.replace(second=0) + datetime.timedelta(minutes=1)
            continue
        return moment.timestamp()
    return None


def within(schedule: Schedule, duration: float, at: float) -> bool:
    """ESO's `isWithinSyncWindow`: `at` falls in the window opened by the latest firing."""
    opened = next_time(schedule, at - duration - 1)
    return opened is not None and opened <= at <= opened + duration


def _windows(es: model.ExternalSecret) -> list[tuple[Schedule, float]]:
    windows = es.spec.sync_windows
    parsed = []
    for window in windows.windows if windows is not None else []:
        try:
            parsed.append((parse(window.schedule), _duration(window.duration)))
        except (ScheduleError, errors.InvalidSpecError):
            continue  # ESO skips a window it cannot parse
    return parsed


def _duration(text: str) -> float:
    return timing.parse_duration(text, field="spec.syncWindows.windows[].duration")


def check(es: model.ExternalSecret) -> None:
    """The durations must be Go durations (ESO cannot even decode the object otherwise)."""
    windows = es.spec.sync_windows
    for index, window in enumerate(windows.windows if windows is not None else []):
        timing.parse_duration(window.duration, field=f"spec.syncWindows.windows[{index}].duration")


def allows(es: model.ExternalSecret, at: float) -> bool:
    """ESO's `isPeriodicRefreshAllowedByWindows`: deny blocks while any window is open; allow
    permits only while one is; no windows permit always."""
    windows = es.spec.sync_windows
    if windows is None or not windows.windows:
        return True
    active = any(within(schedule, duration, at) for schedule, duration in _windows(es))
    return not active if windows.kind == "deny" else active


def hold(
    es: model.ExternalSecret, *, now: float, store_version: str, target_valid: bool
) -> float | None:
    """When the windows hold back a sync now: the time to look again; None to sync.

    ESO gates only what would be a periodic refresh (`shouldRefreshPeriodic`): never a first
    sync, a changed ExternalSecret (or store), another refresh policy, or a target Secret that
    is missing or drifted (`isSecretValid`)."""
    if es.spec.sync_windows is None or timing.effective_policy(es) != "Periodic":
        return None
    status = es.status
    if not status.synced_resource_version or timing.parse_time(status.refresh_time) is None:
        return None
    current = timing.synced_resource_version(es, store_version=store_version)
    if status.synced_resource_version != current or not target_valid:
        return None
    if allows(es, now):
        return None
    return next_allowed(es, now)


def next_allowed(es: model.ExternalSecret, now: float) -> float:
    """The first time from `now` at which the windows permit a periodic refresh (at most
    `MAX_HOLD` ahead: then they are looked at again)."""
    cap = now + MAX_HOLD
    if allows(es, now):
        return now
    windows = es.spec.sync_windows
    parsed = _windows(es)
    if windows is not None and windows.kind == "allow":
        opens = [t for s, _ in parsed if (t := next_time(s, now)) is not None]
        return min([*opens, cap])
    moment = now
    for _ in range(100):  # deny: step past the end of every open window
        ends = []
        for schedule, duration in parsed:
            opened = next_time(schedule, moment - duration - 1)
            if opened is not None and opened <= moment <= opened + duration:
                ends.append(opened + duration)
        if not ends:
            return min(moment, cap)
        moment = max(ends) + 1
        if moment >= cap:
            return cap
    return cap
