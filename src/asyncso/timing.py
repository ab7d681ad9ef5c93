"""Pure timing decisions: Go durations, whether an ExternalSecret is due, backoff and jitter.

Why pure: refresh rules (ESO's `shouldRefresh`) and backoff are easy to get subtly wrong and
must be table-tested without a clock. Time (`now`, epoch seconds) and randomness (`rand`, a
float in [0, 1)) are passed in.
"""

from __future__ import annotations

import datetime
import functools
import hashlib

from asyncso import errors, model

#: Go's `unitMap`, in nanoseconds (both spellings of the micro sign, as Go accepts them).
_UNIT_NANOS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
#: Go's largest `time.Duration` (2562047h47m16.854775807s), in nanoseconds.
MAX_DURATION_NANOS = (1 << 63) - 1
_DIGITS = frozenset("0123456789")  # ASCII only: Python's `\d` also admits other scripts' digits

BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0


def parse_duration(text: str, *, field: str = "spec.refreshInterval") -> float:
    """A Go `time.Duration` string (`1h0m0s`, `15s`, `1.5h`, `0`) in seconds.

    A port of Go's `time.ParseDuration`, which ESO uses for this field: ASCII digits only,
    one optional sign in front, a unit on every number but a lone `0`, and nothing longer than
    Go's largest duration (`2562047h47m16s`). A negative duration is refused too (Go accepts it,
    ESO would refresh in a hot loop). An empty string is 0, as before.
    """
    value = text.strip()
    if value == "":
        return 0.0
    negative = value[0] == "-"
    body = value[1:] if value[0] in "+-" else value
    if body == "0":
        return 0.0
    shown = repr(text if len(text) <= 64 else text[:64] + "...")
    nanos = _go_nanos_held(body) if len(body) <= HELD_DURATION_TEXT else _go_nanos(body)
    if nanos is None:
        raise errors.InvalidSpecError(f"{field}: invalid duration {shown} (e.g. 1h0m0s, 15s, 0)")
    if nanos > MAX_DURATION_NANOS:
        raise errors.InvalidSpecError(
            f"{field}: invalid duration {shown}: longer than Go's largest duration (2562047h47m16s)"
        )
    if negative and nanos:
        raise errors.InvalidSpecError(f"{field}: duration {shown} must not be negative")
    return nanos / 1e9


#: Durations up to this long are parsed once (a few hundred distinct ones are held): every
#: refresh reads its interval several times, and a long text is someone's mistake or attack.
HELD_DURATION_TEXT = 32


@functools.lru_cache(maxsize=256)
def _go_nanos_held(text: str) -> int | None:
    return _go_nanos(text)


def _go_nanos(text: str) -> int | None:
    """The unsigned nanoseconds of `text` as Go reads them; None when Go refuses the text.
    (Python integers do not overflow: the caller compares the total with Go's maximum.)"""
    if not text:
        return None
    total = 0
    pos = 0
    while pos < len(text):
        start = pos
        while pos < len(text) and text[pos] in _DIGITS:
            pos += 1
        whole = text[start:pos]
        fraction = ""
        if pos < len(text) and text[pos] == ".":
            pos += 1
            begin = pos
            while pos < len(text) and text[pos] in _DIGITS:
                pos += 1
            fraction = text[begin:pos]
        if not whole and not fraction:
            return None
        begin = pos
        while pos < len(text) and text[pos] not in _DIGITS and text[pos] != ".":
            pos += 1
        unit = _UNIT_NANOS.get(text[begin:pos])
        if unit is None:
            return None
        if len(whole.lstrip("0")) > 19:
            return MAX_DURATION_NANOS + 1  # more than 2^63 of any unit
        total += int(whole or "0") * unit
        fraction = fraction[:18]  # Go stops reading digits that no longer fit
        if fraction:
            # Go converts the fraction through float64: the same rounding here.
            total += int(int(fraction) * (unit / 10 ** len(fraction)))
        if total > MAX_DURATION_NANOS + 1:
            return total  # already too long; Go stops here too
    return total


def store_refresh_interval(store: model.SecretStore, *, default: float) -> float:
    """How often a store is validated again: ESO's `GetRefreshInterval` — seconds (an integer)
    or a Go duration (`"5m"`); unset or 0 means the operator's `default`; negative or not a
    duration is an `InvalidSpecError`."""
    value = store.spec.refresh_interval
    field = "spec.refreshInterval"
    if value is None:
        return default
    if isinstance(value, int):
        if value < 0:
            raise errors.InvalidSpecError(f"{field}: {value} must not be negative")
        seconds = float(value)
    else:
        seconds = parse_duration(value, field=field)
    return seconds if seconds > 0 else default


def format_duration(seconds: float) -> str:
    """Go's `Duration.String()` for display: `10s`, `1m30s`, `1h0m0s`, `300ms`."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    if nanos < 1_000:
        return f"{nanos}ns"
    if nanos < 1_000_000:
        return f"{nanos / 1e3:g}\u00b5s"
    if nanos < 1_000_000_000:
        return f"{nanos / 1e6:g}ms"
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def format_time(epoch: float) -> str:
    """RFC 3339 in UTC, seconds precision, as Kubernetes `metav1.Time`."""
    return _format_second(int(epoch))


@functools.lru_cache(maxsize=128)
def _format_second(second: int) -> str:
    """Remembered: every sync of a second formats the same instant (twice), 167 a second at
    10,000 ExternalSecrets."""
    moment = datetime.datetime.fromtimestamp(second, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp()


def synced_resource_version(es: model.ExternalSecret, *, store_version: str = "") -> str:
    """ESO's `syncedResourceVersion`: generation plus a hash of labels and annotations — and,
    ours, of the store's uid and generation.

    A change of spec (generation), labels or annotations (e.g. `force-sync`) makes the
    ExternalSecret due at once; so does a change of its store, even one made while no operator
    was running (a restart then resyncs exactly the readers of changed stores).
    """
    meta = es.metadata
    text = repr((sorted(meta.labels.items()), sorted(meta.annotations.items())))
    if store_version:
        text += f"|store={store_version}"
    digest = hashlib.sha3_224(text.encode()).hexdigest()
    return f"{meta.generation}-{digest}"


def effective_policy(es: model.ExternalSecret) -> model.RefreshPolicy:
    if es.spec.refresh_policy is not None:
        return es.spec.refresh_policy
    return "Periodic"


def refresh_interval(es: model.ExternalSecret, *, floor: float = 0.0) -> float:
    """The ExternalSecret's `refreshInterval` in seconds, raised to `floor` (the operator's
    `--min-refresh-interval`) when it is shorter; 0 (never) stays 0."""
    interval = parse_duration(es.spec.refresh_interval)
    return max(interval, floor) if interval > 0 else interval


def floored(es: model.ExternalSecret, *, floor: float) -> bool:
    """Whether `floor` raises this ExternalSecret's interval (worth saying once)."""
    interval = parse_duration(es.spec.refresh_interval)
    return 0 < interval < floor


def is_due(
    es: model.ExternalSecret, *, now: float, store_version: str = "", floor: float = 0.0
) -> bool:
    """ESO's `shouldRefresh`: has the spec/metadata (or store) changed, or has the interval
    passed?"""
    status = es.status
    changed = status.synced_resource_version != synced_resource_version(
        es, store_version=store_version
    )
    last = parse_time(status.refresh_time)
    if last is None or not status.synced_resource_version:
        return True
    policy = effective_policy(es)
    if policy == "CreatedOnce":
        return False
    if policy == "OnChange":
        return changed
    if changed:
        return True
    interval = refresh_interval(es, floor=floor)
    if interval <= 0:
        return False
    return now >= last + interval


def next_refresh(
    es: model.ExternalSecret, *, now: float, jitter: float, rand: float, floor: float = 0.0
) -> float | None:
    """When the next periodic refresh is due (epoch seconds), or None for never.

    The jitter (a fraction of the interval, drawn from `rand`) spreads refreshes so that many
    ExternalSecrets created or restarted together do not all come due in the same second.
    """
    if effective_policy(es) != "Periodic":
        return None
    interval = refresh_interval(es, floor=floor)
    if interval <= 0:
        return None
    last = parse_time(es.status.refresh_time)
    base = now if last is None else last
    return max(now, base + interval + interval * jitter * rand)


def due_at_start(
    es: model.ExternalSecret,
    *,
    now: float,
    store_version: str,
    target_valid: bool,
    jitter: float,
    rand: float,
    floor: float = 0.0,
) -> tuple[bool, float | None]:
    """Whether a worker that starts (first sight, or an operator restart) syncs at once, and
    when its next refresh falls otherwise. Not due means: refreshed recently, spec and store
    unchanged, and its target Secret present and matching its data hash (`target_valid`; not
    asked of `creationPolicy: None`, whose target is not ours to check). So a restart costs no
    provider calls. An unusable spec is due at once, so that its worker reports it."""
    try:
        due = is_due(es, now=now, store_version=store_version, floor=floor)
        if not due and es.spec.target.creation_policy != "None":
            due = not target_valid
        return due, next_refresh(es, now=now, jitter=jitter, rand=rand, floor=floor)
    except errors.InvalidSpecError:
        return True, None


def backoff(attempt: int, *, rand: float) -> float:
    """Delay before retry number `attempt` (1-based): 1 s doubling to 5 min, with full jitter
    in the upper half so failing ExternalSecrets do not retry in lock-step."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempt - 1)))
    return float(ceiling * (0.5 + 0.5 * rand))
