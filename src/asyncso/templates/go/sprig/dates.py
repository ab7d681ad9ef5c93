"""Go's time.Time for templates, and sprig's date functions (date.go).

Why a port: date layouts are Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`), not
strftime; `toDate` parses with Go's rules and errors (`parsing time "x" as "2006": cannot parse
"x" as "2006"`); durations print as Go's `1h2m3s`. The process's local zone is UTC, as in
ESO's container images (no /etc/localtime), so "Local" means UTC.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import time
import zoneinfo
from typing import Any, ClassVar

from asyncso.templates.go import gotypes, strconv
from asyncso.templates.go.functions import ANY, INT, STRING, GoError, Registry
from asyncso.templates.go.gotypes import GoObject, GoType, Kind, Method

registry = Registry()

TIME = GoType(Kind.STRUCT, "time.Time")
DURATION = GoType(Kind.INT64, "time.Duration")
MONTH = GoType(Kind.INT, "time.Month")
WEEKDAY = GoType(Kind.INT, "time.Weekday")

SECOND = 1_000_000_000
_PROCESS_START = time.monotonic_ns()

LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
SHORT_DAYS = [d[:3] for d in LONG_DAYS]
LONG_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
SHORT_MONTHS = [m[:3] for m in LONG_MONTHS]


# --- locations ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Location:
    """A time zone: fixed (name, offset) or an IANA zone."""

    name: str
    offset: int = 0
    zone: zoneinfo.ZoneInfo | None = None

    def lookup(self, unix: int) -> tuple[str, int]:
        """(abbreviation, offset in seconds) in effect at a Unix time."""
        if self.zone is None:
            return self.name, self.offset
        try:
            moment = datetime.datetime.fromtimestamp(unix, tz=self.zone)
        except (OverflowError, OSError, ValueError):
            moment = datetime.datetime.fromtimestamp(0, tz=self.zone)
        delta = moment.utcoffset()
        return moment.tzname() or "", int(delta.total_seconds()) if delta else 0


UTC = Location("UTC")
LOCAL = UTC


@functools.lru_cache(maxsize=128)
def load_location(name: str) -> Location | None:
    """time.LoadLocation; None when unknown."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return LOCAL
    if ".." in name or name.startswith("/") or "\\" in name:
        return None
    try:
        return Location(name, zone=zoneinfo.ZoneInfo(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


# --- civil dates --------------------------------------------------------------------------


def _days_from_civil(year: int, month: int, day: int) -> int:
    y = year - (month <= 2)
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = (days if days >= 0 else days - 146096) // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# --- Time ---------------------------------------------------------------------------------


class GoMonth(GoObject):
    gotype = MONTH

    def __init__(self, value: int) -> None:
        self.value = value

    def __int__(self) -> int:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoMonth) and other.value == self.value

    def __hash__(self) -> int:
        return self.value

    def go_string(self) -> str:
        if 1 <= self.value <= 12:
            return LONG_MONTHS[self.value - 1]
        return f"%!Month({self.value})"


class GoWeekday(GoMonth):
    gotype = WEEKDAY

    def go_string(self) -> str:
        if 0 <= self.value <= 6:
            return LONG_DAYS[self.value]
        return f"%!Weekday({self.value})"


class GoDuration(GoObject):
    gotype = DURATION

    def __init__(self, nanos: int) -> None:
        self.value = gotypes.wrap_int(nanos, Kind.INT64)

    def __int__(self) -> int:
        return int(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoDuration) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def go_string(self) -> str:
        return duration_string(int(self.value))


class GoTime(GoObject):
    """A time.Time: Unix seconds + nanoseconds, a location, maybe a monotonic reading."""

    gotype: ClassVar[GoType] = TIME
    go_field_names: ClassVar[frozenset[str]] = frozenset({"wall", "ext", "loc"})

    def __init__(
        self, unix: int, nsec: int, loc: Location, *, mono: int | None = None, zero: bool = False
    ) -> None:
        self.unix = unix
        self.nsec = nsec
        self.loc = loc
        self.mono = mono
        self.zero = zero

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, GoTime)
            and other.unix == self.unix
            and other.nsec == self.nsec
            and other.loc == self.loc
            and other.mono == self.mono
        )

    def __hash__(self) -> int:
        return hash((self.unix, self.nsec))

    def zone(self) -> tuple[str, int]:
        return self.loc.lookup(self.unix)

    def abs_parts(self) -> tuple[int, int, int, int, int, int, int, int]:
        """(year, month, day, yday, hour, min, sec, weekday) in the time's zone."""
        _, offset = self.zone()
        local = self.unix + offset
        days, secs = divmod(local, 86400)
        year, month, day = _civil_from_days(days)
        yday = days - _days_from_civil(year, 1, 1) + 1
        weekday = (days + 4) % 7
        return year, month, day, yday, secs // 3600, secs // 60 % 60, secs % 60, weekday

    def format(self, layout: str) -> str:
        return format_time(self, layout)

    def go_string(self) -> str:
        text = self.format("2006-01-02 15:04:05.999999999 -0700 MST")
        if self.mono is not None:
            mono = self.mono
            sign = "+" if mono >= 0 else "-"
            mono = abs(mono)
            seconds, nanos = divmod(mono, SECOND)
            text += f" m={sign}{seconds}.{nanos:09d}"
        return text

    def go_fields(self) -> list[Any]:
        return []

    def marshal_json(self) -> str:
        year = self.abs_parts()[0]
        if not 0 <= year <= 9999:
            raise GoError(
                "json: error calling MarshalJSON for type time.Time: "
                "Time.MarshalJSON: year outside of range [0,9999]"
            )
        return '"' + self.format("2006-01-02T15:04:05.999999999Z07:00") + '"'

    def add(self, nanos: int) -> GoTime:
        total = self.nsec + nanos
        unix = self.unix + total // SECOND
        mono = self.mono + nanos if self.mono is not None else None
        return GoTime(unix, total % SECOND, self.loc, mono=mono)

    def in_location(self, loc: Location) -> GoTime:
        return GoTime(self.unix, self.nsec, loc, mono=self.mono)


def from_unix(seconds: int, nanos: int = 0, loc: Location = LOCAL) -> GoTime:
    """time.Unix."""
    seconds += nanos // SECOND
    return GoTime(seconds, nanos % SECOND, loc)


def now() -> GoTime:
    """time.Now in the local zone (UTC), with a monotonic reading."""
    stamp = time.time_ns()
    mono = time.monotonic_ns() - _PROCESS_START + 1
    return GoTime(stamp // SECOND, stamp % SECOND, LOCAL, mono=mono)


ZERO_TIME = GoTime(_days_from_civil(1, 1, 1) * 86400, 0, UTC, zero=True)


def date(
    year: int, month: int, day: int, hour: int, minute: int, sec: int, nsec: int, loc: Location
) -> GoTime:
    """time.Date (normalising out-of-range fields), resolving the zone offset."""
    extra, nsec = divmod(nsec, SECOND)
    sec += extra
    extra, month0 = divmod(month - 1, 12)
    year += extra
    days = _days_from_civil(year, month0 + 1, 1) + day - 1
    local = days * 86400 + hour * 3600 + minute * 60 + sec
    _, offset = loc.lookup(local)
    unix = local - offset
    _, offset2 = loc.lookup(unix)
    if offset2 != offset:
        unix = local - offset2
    return GoTime(unix, nsec, loc)


# --- formatting ---------------------------------------------------------------------------

(
    STD_LONG_MONTH,
    STD_MONTH,
    STD_NUM_MONTH,
    STD_ZERO_MONTH,
    STD_LONG_WEEKDAY,
    STD_WEEKDAY,
    STD_DAY,
    STD_UNDER_DAY,
    STD_ZERO_DAY,
    STD_UNDER_YEARDAY,
    STD_ZERO_YEARDAY,
    STD_HOUR,
    STD_HOUR12,
    STD_ZERO_HOUR12,
    STD_MINUTE,
    STD_ZERO_MINUTE,
    STD_SECOND,
    STD_ZERO_SECOND,
    STD_LONG_YEAR,
    STD_YEAR,
    STD_PM,
    STD_pm,
    STD_TZ,
    STD_ISO8601_TZ,
    STD_ISO8601_SECONDS_TZ,
    STD_ISO8601_SHORT_TZ,
    STD_ISO8601_COLON_TZ,
    STD_ISO8601_COLON_SECONDS_TZ,
    STD_NUM_TZ,
    STD_NUM_SECONDS_TZ,
    STD_NUM_SHORT_TZ,
    STD_NUM_COLON_TZ,
    STD_NUM_COLON_SECONDS_TZ,
    STD_FRAC0,
    STD_FRAC9,
) = range(1, 36)

_STD0X = [STD_ZERO_MONTH, STD_ZERO_DAY, STD_ZERO_HOUR12, STD_ZERO_MINUTE, STD_ZERO_SECOND, STD_YEAR]
_ISO_TZ = {
    STD_ISO8601_TZ,
    STD_ISO8601_COLON_TZ,
    STD_ISO8601_SECONDS_TZ,
    STD_ISO8601_SHORT_TZ,
    STD_ISO8601_COLON_SECONDS_TZ,
}
_NUM_TZ = {
    STD_NUM_TZ,
    STD_NUM_COLON_TZ,
    STD_NUM_SECONDS_TZ,
    STD_NUM_SHORT_TZ,
    STD_NUM_COLON_SECONDS_TZ,
}
_NEED_DATE = {
    STD_LONG_MONTH,
    STD_MONTH,
    STD_NUM_MONTH,
    STD_ZERO_MONTH,
    STD_DAY,
    STD_UNDER_DAY,
    STD_ZERO_DAY,
    STD_UNDER_YEARDAY,
    STD_ZERO_YEARDAY,
    STD_LONG_YEAR,
    STD_YEAR,
}


@dataclasses.dataclass(frozen=True)
class Std:
    code: int
    digits: int = 0
    separator: str = "."


def _lower_start(text: str) -> bool:
    return bool(text) and "a" <= text[0] <= "z"


def next_std_chunk(layout: str) -> tuple[str, Std | None, str]:
    """time.nextStdChunk: (prefix, element or None, suffix)."""
    n = len(layout)
    for i in range(n):
        c = layout[i]
        rest = layout[i:]
        if c == "J":
            if rest.startswith("Jan"):
                if rest.startswith("January"):
                    return layout[:i], Std(STD_LONG_MONTH), layout[i + 7 :]
                if not _lower_start(layout[i + 3 :]):
                    return layout[:i], Std(STD_MONTH), layout[i + 3 :]
        elif c == "M":
            if len(rest) >= 3:
                if rest.startswith("Mon"):
                    if rest.startswith("Monday"):
                        return layout[:i], Std(STD_LONG_WEEKDAY), layout[i + 6 :]
                    if not _lower_start(layout[i + 3 :]):
                        return layout[:i], Std(STD_WEEKDAY), layout[i + 3 :]
                if rest.startswith("MST"):
                    return layout[:i], Std(STD_TZ), layout[i + 3 :]
        elif c == "0":
            if len(rest) >= 2 and "1" <= rest[1] <= "6":
                return layout[:i], Std(_STD0X[ord(rest[1]) - ord("1")]), layout[i + 2 :]
            if rest.startswith("002"):
                return layout[:i], Std(STD_ZERO_YEARDAY), layout[i + 3 :]
        elif c == "1":
            if len(rest) >= 2 and rest[1] == "5":
                return layout[:i], Std(STD_HOUR), layout[i + 2 :]
            return layout[:i], Std(STD_NUM_MONTH), layout[i + 1 :]
        elif c == "2":
            if rest.startswith("2006"):
                return layout[:i], Std(STD_LONG_YEAR), layout[i + 4 :]
            return layout[:i], Std(STD_DAY), layout[i + 1 :]
        elif c == "_":
            if len(rest) >= 2 and rest[1] == "2":
                if rest[1:5] == "2006":
                    return layout[: i + 1], Std(STD_LONG_YEAR), layout[i + 5 :]
                return layout[:i], Std(STD_UNDER_DAY), layout[i + 2 :]
            if rest.startswith("__2"):
                return layout[:i], Std(STD_UNDER_YEARDAY), layout[i + 3 :]
        elif c == "3":
            return layout[:i], Std(STD_HOUR12), layout[i + 1 :]
        elif c == "4":
            return layout[:i], Std(STD_MINUTE), layout[i + 1 :]
        elif c == "5":
            return layout[:i], Std(STD_SECOND), layout[i + 1 :]
        elif c == "P":
            if len(rest) >= 2 and rest[1] == "M":
                return layout[:i], Std(STD_PM), layout[i + 2 :]
        elif c == "p":
            if len(rest) >= 2 and rest[1] == "m":
                return layout[:i], Std(STD_pm), layout[i + 2 :]
        elif c == "-":
            for token, code in (
                ("-070000", STD_NUM_SECONDS_TZ),
                ("-07:00:00", STD_NUM_COLON_SECONDS_TZ),
                ("-0700", STD_NUM_TZ),
                ("-07:00", STD_NUM_COLON_TZ),
                ("-07", STD_NUM_SHORT_TZ),
            ):
                if rest.startswith(token):
                    return layout[:i], Std(code), layout[i + len(token) :]
        elif c == "Z":
            for token, code in (
                ("Z070000", STD_ISO8601_SECONDS_TZ),
                ("Z07:00:00", STD_ISO8601_COLON_SECONDS_TZ),
                ("Z0700", STD_ISO8601_TZ),
                ("Z07:00", STD_ISO8601_COLON_TZ),
                ("Z07", STD_ISO8601_SHORT_TZ),
            ):
                if rest.startswith(token):
                    return layout[:i], Std(code), layout[i + len(token) :]
        elif c in ".," and i + 1 < n and layout[i + 1] in "09":
            ch = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == ch:
                j += 1
            if not (j < n and "0" <= layout[j] <= "9"):
                code = STD_FRAC0 if ch == "0" else STD_FRAC9
                return layout[:i], Std(code, (j - (i + 1)) & 0xFFF, c), layout[j:]
    return layout, None, ""


def _int(value: int, width: int) -> str:
    if value < 0:
        return "-" + str(-value).rjust(width, "0")
    return str(value).rjust(width, "0")


def _nano(nsec: int, std: Std) -> str:
    trim = std.code == STD_FRAC9
    if trim and (std.digits == 0 or nsec == 0):
        return ""
    text = std.separator + f"{nsec:09d}"
    if std.digits < 9:
        text = text[: len(text) - 9 + std.digits]
    if trim:
        text = text.rstrip("0")
        if text.endswith(std.separator):
            text = text[:-1]
    return text


def format_time(t: GoTime, layout: str) -> str:
    """Time.Format."""
    name, offset = t.zone()
    year, month, day, yday, hour, minute, sec, weekday = t.abs_parts()
    out: list[str] = []
    while layout:
        prefix, std, suffix = next_std_chunk(layout)
        out.append(prefix)
        if std is None:
            break
        layout = suffix
        code = std.code
        if code == STD_YEAR:
            out.append(_int(abs(year) % 100, 2))
        elif code == STD_LONG_YEAR:
            out.append(_int(year, 4))
        elif code == STD_MONTH:
            out.append(SHORT_MONTHS[month - 1])
        elif code == STD_LONG_MONTH:
            out.append(LONG_MONTHS[month - 1])
        elif code == STD_NUM_MONTH:
            out.append(str(month))
        elif code == STD_ZERO_MONTH:
            out.append(_int(month, 2))
        elif code == STD_WEEKDAY:
            out.append(SHORT_DAYS[weekday])
        elif code == STD_LONG_WEEKDAY:
            out.append(LONG_DAYS[weekday])
        elif code == STD_DAY:
            out.append(str(day))
        elif code == STD_UNDER_DAY:
            out.append((" " if day < 10 else "") + str(day))
        elif code == STD_ZERO_DAY:
            out.append(_int(day, 2))
        elif code == STD_UNDER_YEARDAY:
            out.append(str(yday).rjust(3, " "))
        elif code == STD_ZERO_YEARDAY:
            out.append(_int(yday, 3))
        elif code == STD_HOUR:
            out.append(_int(hour, 2))
        elif code in (STD_HOUR12, STD_ZERO_HOUR12):
            hr = hour % 12 or 12
            out.append(_int(hr, 2 if code == STD_ZERO_HOUR12 else 0))
        elif code == STD_MINUTE:
            out.append(str(minute))
        elif code == STD_ZERO_MINUTE:
            out.append(_int(minute, 2))
        elif code == STD_SECOND:
            out.append(str(sec))
        elif code == STD_ZERO_SECOND:
            out.append(_int(sec, 2))
        elif code == STD_PM:
            out.append("PM" if hour >= 12 else "AM")
        elif code == STD_pm:
            out.append("pm" if hour >= 12 else "am")
        elif code in _ISO_TZ or code in _NUM_TZ:
            if offset == 0 and code in _ISO_TZ:
                out.append("Z")
                continue
            zone = int(offset / 60)
            absoffset = offset
            if zone < 0:
                out.append("-")
                zone, absoffset = -zone, -absoffset
            else:
                out.append("+")
            out.append(_int(zone // 60, 2))
            if code in (
                STD_ISO8601_COLON_TZ,
                STD_NUM_COLON_TZ,
                STD_ISO8601_COLON_SECONDS_TZ,
                STD_NUM_COLON_SECONDS_TZ,
            ):
                out.append(":")
            if code not in (STD_NUM_SHORT_TZ, STD_ISO8601_SHORT_TZ):
                out.append(_int(zone % 60, 2))
            if code in (
                STD_ISO8601_SECONDS_TZ,
                STD_NUM_SECONDS_TZ,
                STD_NUM_COLON_SECONDS_TZ,
                STD_ISO8601_COLON_SECONDS_TZ,
            ):
                if code in (STD_NUM_COLON_SECONDS_TZ, STD_ISO8601_COLON_SECONDS_TZ):
                    out.append(":")
                out.append(_int(absoffset % 60, 2))
        elif code == STD_TZ:
            if name:
                out.append(name)
            else:
                zone = int(offset / 60)
                out.append("-" if zone < 0 else "+")
                zone = abs(zone)
                out.append(_int(zone // 60, 2) + _int(zone % 60, 2))
        elif code in (STD_FRAC0, STD_FRAC9):
            out.append(_nano(t.nsec, std))
    return "".join(out)


# --- parsing ------------------------------------------------------------------------------


class _Bad(Exception):
    pass


def _time_quote(text: str) -> str:
    """time's quote(): non-ASCII and control bytes as \\x escapes."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if code >= 0x80 or code < 0x20:
            for byte in gotypes.to_bytes(ch):
                out.append(f"\\x{byte:02x}")
        else:
            if ch in '"\\':
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


class ParseError(GoError):
    def __init__(
        self, layout: str, value: str, layout_elem: str, value_elem: str, message: str
    ) -> None:
        if message == "":
            text = (
                f"parsing time {_time_quote(value)} as {_time_quote(layout)}: cannot parse "
                f"{_time_quote(value_elem)} as {_time_quote(layout_elem)}"
            )
        else:
            text = f"parsing time {_time_quote(value)}{message}"
        super().__init__(text)


def _is_digit(text: str, i: int) -> bool:
    return i < len(text) and "0" <= text[i] <= "9"


def _getnum(text: str, fixed: bool) -> tuple[int, str]:
    if not _is_digit(text, 0):
        raise _Bad
    if not _is_digit(text, 1):
        if fixed:
            raise _Bad
        return int(text[0]), text[1:]
    return int(text[:2]), text[2:]


def _getnum3(text: str, fixed: bool) -> tuple[int, str]:
    i = 0
    number = 0
    while i < 3 and _is_digit(text, i):
        number = number * 10 + int(text[i])
        i += 1
    if i == 0 or (fixed and i != 3):
        raise _Bad
    return number, text[i:]


def _cutspace(text: str) -> str:
    return text.lstrip(" ")


def _skip(value: str, prefix: str) -> str:
    while prefix:
        if prefix[0] == " ":
            if value and value[0] != " ":
                raise _Bad
            prefix = _cutspace(prefix)
            value = _cutspace(value)
            continue
        if not value or value[0] != prefix[0]:
            raise _Bad
        prefix, value = prefix[1:], value[1:]
    return value


def _lookup(table: list[str], value: str) -> tuple[int, str]:
    for index, name in enumerate(table):
        if (
            len(value) >= len(name)
            and value[: len(name)].lower() == name.lower()
            and all(
                a == b or (a.lower() == b.lower() and "a" <= a.lower() <= "z")
                for a, b in zip(value[: len(name)], name, strict=True)
            )
        ):
            return index, value[len(name) :]
    raise _Bad


def _atoi(text: str) -> int:
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isdigit() or not body.isascii():
        raise _Bad
    return int(text)


def _parse_nanos(value: str, count: int) -> tuple[int, str]:
    if value[0] not in ".,":
        raise _Bad
    if count > 10:
        value, count = value[:10], 10
    nanos = _atoi(value[1:count])
    if nanos < 0:
        return 0, "fractional second"
    return nanos * 10 ** (10 - count), ""


def _leading_int(text: str) -> tuple[int, str]:
    i = 0
    while i < len(text) and "0" <= text[i] <= "9":
        i += 1
    if i == 0:
        raise _Bad
    return int(text[:i]), text[i:]


def _parse_signed_offset(value: str) -> int:
    if value[0] not in "+-":
        return 0
    try:
        number, rest = _leading_int(value[1:])
    except _Bad:
        return 0
    if number > 23:
        return 0
    return len(value) - len(rest)


def _parse_timezone(value: str) -> int:
    if len(value) < 3:
        return 0
    if value[:4] in ("ChST", "MeST"):
        return 4
    if value[:3] == "GMT":
        return 3 + (_parse_signed_offset(value[3:]) if len(value) > 3 else 0)
    if value[0] in "+-":
        return _parse_signed_offset(value)
    upper = 0
    while upper < 6 and upper < len(value) and "A" <= value[upper] <= "Z":
        upper += 1
    if upper in (0, 1, 2, 6):
        return 0
    if upper == 5:
        return 5 if value[4] == "T" else 0
    if upper == 4:
        return 4 if value[3] == "T" or value[:4] == "WITA" else 0
    return 3


def parse_time(layout: str, value: str, default: Location = LOCAL) -> GoTime:
    """time.ParseInLocation; raises ParseError with Go's message."""
    alayout, avalue = layout, value
    range_error = ""
    am_set = pm_set = False
    year, month, day, yday = 0, -1, -1, -1
    hour = minute = sec = nsec = 0
    zone_loc: Location | None = None
    zone_offset = -1
    zone_name = ""
    while True:
        prefix, std, suffix = next_std_chunk(layout)
        stdstr = layout[len(prefix) : len(layout) - len(suffix)]
        try:
            value = _skip(value, prefix)
        except _Bad:
            raise ParseError(alayout, avalue, prefix, value, "") from None
        if std is None:
            if value:
                raise ParseError(alayout, avalue, "", value, ": extra text: " + _time_quote(value))
            break
        layout = suffix
        hold = value
        code = std.code
        try:
            if code == STD_YEAR:
                if len(value) < 2:
                    raise _Bad
                year, value = _atoi(value[:2]), value[2:]
                year += 1900 if year >= 69 else 2000
            elif code == STD_LONG_YEAR:
                if len(value) < 4 or not _is_digit(value, 0):
                    raise _Bad
                year, value = _atoi(value[:4]), value[4:]
            elif code == STD_MONTH:
                month, value = _lookup(SHORT_MONTHS, value)
                month += 1
            elif code == STD_LONG_MONTH:
                month, value = _lookup(LONG_MONTHS, value)
                month += 1
            elif code in (STD_NUM_MONTH, STD_ZERO_MONTH):
                month, value = _getnum(value, code == STD_ZERO_MONTH)
                if month <= 0 or month > 12:
                    range_error = "month"
            elif code == STD_WEEKDAY:
                _, value = _lookup(SHORT_DAYS, value)
            elif code == STD_LONG_WEEKDAY:
                _, value = _lookup(LONG_DAYS, value)
            elif code in (STD_DAY, STD_UNDER_DAY, STD_ZERO_DAY):
                if code == STD_UNDER_DAY and value[:1] == " ":
                    value = value[1:]
                day, value = _getnum(value, code == STD_ZERO_DAY)
            elif code in (STD_UNDER_YEARDAY, STD_ZERO_YEARDAY):
                for _ in range(2):
                    if code == STD_UNDER_YEARDAY and value[:1] == " ":
                        value = value[1:]
                yday, value = _getnum3(value, code == STD_ZERO_YEARDAY)
            elif code == STD_HOUR:
                hour, value = _getnum(value, False)
                if hour < 0 or hour >= 24:
                    range_error = "hour"
            elif code in (STD_HOUR12, STD_ZERO_HOUR12):
                hour, value = _getnum(value, code == STD_ZERO_HOUR12)
                if hour < 0 or hour > 12:
                    range_error = "hour"
            elif code in (STD_MINUTE, STD_ZERO_MINUTE):
                minute, value = _getnum(value, code == STD_ZERO_MINUTE)
                if minute < 0 or minute >= 60:
                    range_error = "minute"
            elif code in (STD_SECOND, STD_ZERO_SECOND):
                sec, value = _getnum(value, code == STD_ZERO_SECOND)
                if sec < 0 or sec >= 60:
                    range_error = "second"
                elif len(value) >= 2 and value[0] in ".," and _is_digit(value, 1):
                    _, following, _ = next_std_chunk(layout)
                    if following is None or following.code not in (STD_FRAC0, STD_FRAC9):
                        n = 2
                        while n < len(value) and _is_digit(value, n):
                            n += 1
                        nsec, range_error = _parse_nanos(value, n)
                        value = value[n:]
            elif code in (STD_PM, STD_pm):
                if len(value) < 2:
                    raise _Bad
                marker, value = value[:2], value[2:]
                pm, am = ("PM", "AM") if code == STD_PM else ("pm", "am")
                if marker == pm:
                    pm_set = True
                elif marker == am:
                    am_set = True
                else:
                    raise _Bad
            elif code in _ISO_TZ and value[:1] == "Z":
                value = value[1:]
                zone_loc = UTC
            elif code in _ISO_TZ or code in _NUM_TZ:
                if code in (STD_ISO8601_COLON_TZ, STD_NUM_COLON_TZ):
                    if len(value) < 6 or value[3] != ":":
                        raise _Bad
                    sign, hh, mm, ss, value = value[0], value[1:3], value[4:6], "00", value[6:]
                elif code in (STD_NUM_SHORT_TZ, STD_ISO8601_SHORT_TZ):
                    if len(value) < 3:
                        raise _Bad
                    sign, hh, mm, ss, value = value[0], value[1:3], "00", "00", value[3:]
                elif code in (STD_ISO8601_COLON_SECONDS_TZ, STD_NUM_COLON_SECONDS_TZ):
                    if len(value) < 9 or value[3] != ":" or value[6] != ":":
                        raise _Bad
                    sign, hh, mm, ss, value = (
                        value[0],
                        value[1:3],
                        value[4:6],
                        value[7:9],
                        value[9:],
                    )
                elif code in (STD_ISO8601_SECONDS_TZ, STD_NUM_SECONDS_TZ):
                    if len(value) < 7:
                        raise _Bad
                    sign, hh, mm, ss, value = (
                        value[0],
                        value[1:3],
                        value[3:5],
                        value[5:7],
                        value[7:],
                    )
                else:
                    if len(value) < 5:
                        raise _Bad
                    sign, hh, mm, ss, value = value[0], value[1:3], value[3:5], "00", value[5:]
                hr, _ = _getnum(hh, True)
                mi, _ = _getnum(mm, True)
                se, _ = _getnum(ss, True)
                if hr > 24:
                    range_error = "time zone offset hour"
                if mi > 60:
                    range_error = "time zone offset minute"
                if se > 60:
                    range_error = "time zone offset second"
                zone_offset = (hr * 60 + mi) * 60 + se
                if sign == "-":
                    zone_offset = -zone_offset
                elif sign != "+":
                    raise _Bad
            elif code == STD_TZ:
                if value[:3] == "UTC":
                    zone_loc = UTC
                    value = value[3:]
                else:
                    length = _parse_timezone(value)
                    if length == 0:
                        raise _Bad
                    zone_name, value = value[:length], value[length:]
            elif code == STD_FRAC0:
                ndigit = 1 + std.digits
                if len(value) < ndigit:
                    raise _Bad
                nsec, range_error = _parse_nanos(value, ndigit)
                value = value[ndigit:]
            elif code == STD_FRAC9 and len(value) >= 2 and value[0] in ".," and value[1].isdigit():
                i = 0
                while i + 1 < len(value) and "0" <= value[i + 1] <= "9":
                    i += 1
                nsec, range_error = _parse_nanos(value, 1 + i)
                value = value[1 + i :]
        except _Bad:
            if range_error:
                raise ParseError(
                    alayout, avalue, stdstr, value, f": {range_error} out of range"
                ) from None
            raise ParseError(alayout, avalue, stdstr, hold, "") from None
        if range_error:
            raise ParseError(alayout, avalue, stdstr, value, f": {range_error} out of range")
    if pm_set and hour < 12:
        hour += 12
    elif am_set and hour == 12:
        hour = 0
    if yday >= 0:
        d = m = 0
        if is_leap(year):
            if yday == 31 + 29:
                m, d = 2, 29
            elif yday > 31 + 29:
                yday -= 1
        if yday < 1 or yday > 365:
            raise ParseError(alayout, avalue, "", value, ": day-of-year out of range")
        if m == 0:
            before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]
            m = (yday - 1) // 31 + 1
            if before[m] < yday:
                m += 1
            d = yday - before[m - 1]
        if month >= 0 and month != m:
            raise ParseError(alayout, avalue, "", value, ": day-of-year does not match month")
        month = m
        if day >= 0 and day != d:
            raise ParseError(alayout, avalue, "", value, ": day-of-year does not match day")
        day = d
    else:
        if month < 0:
            month = 1
        if day < 0:
            day = 1
    if day < 1 or day > days_in(month, year):
        raise ParseError(alayout, avalue, "", value, ": day out of range")
    if zone_loc is not None:
        return date(year, month, day, hour, minute, sec, nsec, zone_loc)
    if zone_offset != -1:
        t = date(year, month, day, hour, minute, sec, nsec, UTC)
        t = GoTime(t.unix - zone_offset, t.nsec, UTC)
        name, offset = LOCAL.lookup(t.unix)
        if offset == zone_offset and (zone_name == "" or name == zone_name):
            return t.in_location(LOCAL)
        return t.in_location(Location(zone_name, zone_offset))
    if zone_name:
        t = date(year, month, day, hour, minute, sec, nsec, UTC)
        local_name, local_offset = LOCAL.lookup(t.unix)
        if local_name == zone_name:
            return GoTime(t.unix - local_offset, t.nsec, LOCAL)
        offset = 0
        if len(zone_name) > 3 and zone_name[:3] == "GMT":
            offset = int(zone_name[3:]) * 3600
        return t.in_location(Location(zone_name, offset))
    return date(year, month, day, hour, minute, sec, nsec, default)


# --- durations ----------------------------------------------------------------------------


def _frac(value: int, prec: int) -> tuple[str, int]:
    digits = []
    printed = False
    for _ in range(prec):
        digit = value % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        value //= 10
    text = "".join(reversed(digits))
    return ("." + text if printed else ""), value


def duration_string(nanos: int) -> str:
    """time.Duration.String."""
    if nanos == 0:
        return "0s"
    negative = nanos < 0
    u = -nanos if negative else nanos
    if u < SECOND:
        if u < 1000:
            text = f"{u}ns"
        elif u < 1_000_000:
            frac, whole = _frac(u, 3)
            text = f"{whole}{frac}µs"
        else:
            frac, whole = _frac(u, 6)
            text = f"{whole}{frac}ms"
    else:
        frac, whole = _frac(u, 9)
        seconds = whole % 60
        whole //= 60
        text = f"{seconds}{frac}s"
        if whole > 0:
            minutes = whole % 60
            whole //= 60
            text = f"{minutes}m" + text
            if whole > 0:
                text = f"{whole}h" + text
    return ("-" if negative else "") + text


_UNITS = {
    "ns": 1,
    "us": 1000,
    "µs": 1000,
    "μs": 1000,
    "ms": 1_000_000,
    "s": SECOND,
    "m": 60 * SECOND,
    "h": 3600 * SECOND,
}


def parse_duration(text: str) -> int:
    """time.ParseDuration; raises GoError with Go's message."""
    orig = text
    quoted = strconv.quote(orig)
    negative = False
    if text[:1] in "+-":
        negative = text[0] == "-"
        text = text[1:]
    if text == "0":
        return 0
    if text == "":
        raise GoError(f"time: invalid duration {quoted}")
    total = 0
    max_int64 = (1 << 63) - 1
    while text:
        if not (text[0] == "." or "0" <= text[0] <= "9"):
            raise GoError(f"time: invalid duration {quoted}")
        i = 0
        while i < len(text) and "0" <= text[i] <= "9":
            i += 1
        whole_text, text = text[:i], text[i:]
        pre = i > 0
        whole = int(whole_text) if whole_text else 0
        if whole > max_int64:
            raise GoError(f"time: invalid duration {quoted}")
        frac, scale = 0, 1
        post = False
        if text[:1] == ".":
            text = text[1:]
            i = 0
            while i < len(text) and "0" <= text[i] <= "9":
                i += 1
            digits, text = text[:i], text[i:]
            post = i > 0
            for digit in digits:
                if scale < 10**18:
                    frac = frac * 10 + int(digit)
                    scale *= 10
        if not pre and not post:
            raise GoError(f"time: invalid duration {quoted}")
        i = 0
        while i < len(text) and text[i] != "." and not ("0" <= text[i] <= "9"):
            i += 1
        if i == 0:
            raise GoError(f"time: missing unit in duration {quoted}")
        unit_text, text = text[:i], text[i:]
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise GoError(f"time: unknown unit {strconv.quote(unit_text)} in duration {quoted}")
        if whole > max_int64 // unit:
            raise GoError(f"time: invalid duration {quoted}")
        value = whole * unit
        if frac > 0:
            value += int(frac * (unit / scale))
            if value > max_int64:
                raise GoError(f"time: invalid duration {quoted}")
        total += value
        if total > max_int64 + (1 if negative else 0):
            raise GoError(f"time: invalid duration {quoted}")
    return -total if negative else total


# --- methods of time.Time that templates can call -------------------------------------------


def _methods() -> dict[str, Method]:
    def m(impl: Any, *params: GoType) -> Method:
        return Method(tuple(params), impl)

    def refused(name: str, count: int, second: str = "") -> Method:
        reason = (
            f"function {name} has {count} return values; should be 1 or 2"
            if not second
            else f"invalid function signature for {name}: second return value should be "
            f"error; is {second}"
        )
        return Method((), lambda t: None, refused=reason)

    return {
        "Year": m(lambda t: t.abs_parts()[0]),
        "Month": m(lambda t: GoMonth(t.abs_parts()[1])),
        "Day": m(lambda t: t.abs_parts()[2]),
        "YearDay": m(lambda t: t.abs_parts()[3]),
        "Hour": m(lambda t: t.abs_parts()[4]),
        "Minute": m(lambda t: t.abs_parts()[5]),
        "Second": m(lambda t: t.abs_parts()[6]),
        "Weekday": m(lambda t: GoWeekday(t.abs_parts()[7])),
        "Nanosecond": m(lambda t: t.nsec),
        "Unix": m(lambda t: gotypes.Int64(t.unix)),
        "UnixMilli": m(lambda t: gotypes.Int64(t.unix * 1000 + t.nsec // 1_000_000)),
        "UnixMicro": m(lambda t: gotypes.Int64(t.unix * 1_000_000 + t.nsec // 1000)),
        "UnixNano": m(lambda t: gotypes.wrap_int(t.unix * SECOND + t.nsec, Kind.INT64)),
        "Format": m(lambda t, layout: t.format(layout), STRING),
        "String": m(lambda t: t.go_string()),
        "UTC": m(lambda t: GoTime(t.unix, t.nsec, UTC)),
        "Local": m(lambda t: GoTime(t.unix, t.nsec, LOCAL)),
        "IsZero": m(lambda t: t.zero or (t.unix == ZERO_TIME.unix and t.nsec == 0)),
        "Add": m(lambda t, d: t.add(int(d)), DURATION),
        "AddDate": m(lambda t, y, mo, d: _add_date(t, y, mo, d), INT, INT, INT),
        "Before": m(lambda t, u: (t.unix, t.nsec) < (u.unix, u.nsec), TIME),
        "After": m(lambda t, u: (t.unix, t.nsec) > (u.unix, u.nsec), TIME),
        "Equal": m(lambda t, u: (t.unix, t.nsec) == (u.unix, u.nsec), TIME),
        "Sub": m(lambda t, u: GoDuration((t.unix - u.unix) * SECOND + t.nsec - u.nsec), TIME),
        "Truncate": m(lambda t, d: _truncate(t, int(d), rounding=False), DURATION),
        "Round": m(lambda t, d: _truncate(t, int(d), rounding=True), DURATION),
        "Compare": m(lambda t, u: _compare((t.unix, t.nsec), (u.unix, u.nsec)), TIME),
        "IsDST": m(_is_dst),
        "MarshalJSON": m(lambda t: _marshal(t, "MarshalJSON", quote=True)),
        "MarshalText": m(lambda t: _marshal(t, "MarshalText", quote=False)),
        "Date": refused("Date", 3),
        "Clock": refused("Clock", 3),
        "Zone": refused("Zone", 2, "int"),
        "ISOWeek": refused("ISOWeek", 2, "int"),
    }


#: Seconds from Go's zero time (January 1, year 1, UTC) to the Unix epoch.
_ZERO_TO_UNIX = 62135596800


def _truncate(t: GoTime, d: int, *, rounding: bool) -> GoTime:
    """Time.Truncate / Time.Round: to a multiple of `d` since the zero time (no monotonic)."""
    stripped = GoTime(t.unix, t.nsec, t.loc)
    if d <= 0:
        return stripped
    remainder = ((t.unix + _ZERO_TO_UNIX) * SECOND + t.nsec) % d
    if rounding and remainder + remainder >= d:
        return stripped.add(d - remainder)
    return stripped.add(-remainder)


def _compare(a: tuple[int, int], b: tuple[int, int]) -> int:
    return (a > b) - (a < b)


def _is_dst(t: GoTime) -> bool:
    if t.loc.zone is None:
        return False
    try:
        moment = datetime.datetime.fromtimestamp(t.unix, tz=t.loc.zone)
    except (OverflowError, OSError, ValueError):
        return False
    return bool(moment.dst())


def _marshal(t: GoTime, name: str, *, quote: bool) -> gotypes.GoSlice:
    """Time.MarshalJSON / MarshalText: RFC 3339 with nanoseconds, as []byte."""
    year = t.abs_parts()[0]
    if not 0 <= year <= 9999:
        raise GoError(f"Time.{name}: year outside of range [0,9999]")
    _, offset = t.zone()
    if abs(offset) >= 24 * 3600:
        raise GoError(f"Time.{name}: timezone hour outside of range [0,23]")
    text = t.format("2006-01-02T15:04:05.999999999Z07:00")
    data = ('"' + text + '"' if quote else text).encode()
    return gotypes.ByteSlice(gotypes.Uint8(b) for b in data)


def _add_date(t: GoTime, years: int, months: int, days: int) -> GoTime:
    year, month, day, _, hour, minute, sec, _ = t.abs_parts()
    return date(year + years, month + months, day + days, hour, minute, sec, t.nsec, t.loc)


GoTime.go_methods = _methods()


# --- sprig's functions ----------------------------------------------------------------------


def _as_time(value: Any) -> GoTime:
    if isinstance(value, GoTime):
        return value
    if type(value) in (int, gotypes.Int64, gotypes.Int32):
        return from_unix(int(value))
    return now()


def date_in_zone(layout: str, value: Any, zone: str) -> str:
    moment = _as_time(value)
    loc = load_location(zone) or UTC
    return moment.in_location(loc).format(layout)


registry.add("date", lambda layout, value: date_in_zone(layout, value, "Local"), STRING, ANY)
registry.add("htmlDate", lambda value: date_in_zone("2006-01-02", value, "Local"), ANY)
registry.add(
    "htmlDateInZone", lambda value, zone: date_in_zone("2006-01-02", value, zone), ANY, STRING
)
for _name in ("dateInZone", "date_in_zone"):
    registry.add(_name, date_in_zone, STRING, ANY, STRING)


def _date_modify(spec: str, moment: GoTime) -> GoTime:
    try:
        return moment.add(parse_duration(spec))
    except GoError:
        return moment


def _must_date_modify(spec: str, moment: GoTime) -> GoTime:
    return moment.add(parse_duration(spec))


for _name in ("dateModify", "date_modify"):
    registry.add(_name, _date_modify, STRING, TIME)
for _name in ("mustDateModify", "must_date_modify"):
    registry.add(_name, _must_date_modify, STRING, TIME)


@registry.func("ago", params=(ANY,))
def ago(value: Any) -> str:
    if isinstance(value, GoTime):
        moment = value
    elif type(value) in (int, gotypes.Int64):
        moment = from_unix(int(value))
    else:
        moment = now()
    current = now()
    elapsed = (current.unix - moment.unix) * SECOND + current.nsec - moment.nsec
    return duration_string(_round(elapsed, SECOND))


def _round(nanos: int, unit: int) -> int:
    """Duration.Round: halfway values round away from zero."""
    remainder = abs(nanos) % unit
    magnitude = abs(nanos) - remainder
    if remainder + remainder >= unit:
        magnitude += unit
    return magnitude if nanos >= 0 else -magnitude


@registry.func("duration", params=(ANY,))
def duration(value: Any) -> str:
    seconds = 0
    if type(value) is str:
        try:
            seconds = strconv.parse_int(value, 10, 64)
        except ValueError:
            seconds = 0
    elif type(value) is gotypes.Int64:
        seconds = int(value)
    return duration_string(gotypes.wrap_int(seconds * SECOND, Kind.INT64))


@registry.func("durationRound", params=(ANY,))
def duration_round(value: Any) -> str:
    nanos = 0
    if type(value) is str:
        try:
            nanos = parse_duration(value)
        except GoError:
            nanos = 0
    elif type(value) is gotypes.Int64:
        nanos = int(value)
    elif isinstance(value, GoTime):
        current = now()
        nanos = (current.unix - value.unix) * SECOND + current.nsec - value.nsec
    u = abs(nanos)
    hour = 3600 * SECOND
    for unit, suffix in (
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60 * SECOND, "m"),
        (SECOND, "s"),
    ):
        if u > unit:
            return f"{u // unit}{suffix}"
    return "0s"


registry.add("now", now)


@registry.func("toDate", params=(STRING, STRING))
def to_date(layout: str, value: str) -> GoTime:
    try:
        return parse_time(layout, value)
    except GoError:
        return ZERO_TIME


@registry.func("mustToDate", params=(STRING, STRING))
def must_to_date(layout: str, value: str) -> GoTime:
    return parse_time(layout, value)


@registry.func("unixEpoch", params=(TIME,))
def unix_epoch(moment: GoTime) -> str:
    return str(moment.unix)
