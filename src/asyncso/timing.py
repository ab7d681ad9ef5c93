"""Pure timing decisions: Go durations, whether an ExternalSecret is due, backoff and jitter.

Why pure: refresh rules (ESO's `shouldRefresh`) and backoff are easy to get subtly wrong and
must be table-tested without a clock. Time (`now`, epoch seconds) and randomness (`rand`, a
float in [0, 1)) are passed in.
"""

from __future__ import annotations

import datetime
import hashlib
import re

from asyncso import errors, model

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}

BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0


def parse_duration(text: str, *, field: str = "spec.refreshInterval") -> float:
    """A Go `time.Duration` string (`1h0m0s`, `15s`, `1.5h`, `0`) in seconds."""
    value = text.strip()
    if value in {"0", "+0", "-0", ""}:
        return 0.0
    sign = 1.0
    if value[0] in "+-":
        sign = -1.0 if value[0] == "-" else 1.0
        value = value[1:]
    total = 0.0
    pos = 0
    for match in _DURATION.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(value) or pos == 0:
        raise errors.InvalidSpecError(f"{field}: invalid duration {text!r} (e.g. 1h0m0s, 15s, 0)")
    if sign < 0:
        raise errors.InvalidSpecError(f"{field}: duration {text!r} must not be negative")
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


def format_time(epoch: float) -> str:
    """RFC 3339 in UTC, seconds precision, as Kubernetes `metav1.Time`."""
    moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
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


def refresh_interval(es: model.ExternalSecret) -> float:
    return parse_duration(es.spec.refresh_interval)


def is_due(es: model.ExternalSecret, *, now: float, store_version: str = "") -> bool:
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
    interval = refresh_interval(es)
    if interval <= 0:
        return False
    return now >= last + interval


def next_refresh(
    es: model.ExternalSecret, *, now: float, jitter: float, rand: float
) -> float | None:
    """When the next periodic refresh is due (epoch seconds), or None for never.

    The jitter (a fraction of the interval, drawn from `rand`) spreads refreshes so that many
    ExternalSecrets created or restarted together do not all come due in the same second.
    """
    if effective_policy(es) != "Periodic":
        return None
    interval = refresh_interval(es)
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
) -> tuple[bool, float | None]:
    """Whether a worker that starts (first sight, or an operator restart) syncs at once, and
    when its next refresh falls otherwise. Not due means: refreshed recently, spec and store
    unchanged, and its target Secret present and matching its data hash (`target_valid`; not
    asked of `creationPolicy: None`, whose target is not ours to check). So a restart costs no
    provider calls. An unusable spec is due at once, so that its worker reports it."""
    try:
        due = is_due(es, now=now, store_version=store_version)
        if not due and es.spec.target.creation_policy != "None":
            due = not target_valid
        return due, next_refresh(es, now=now, jitter=jitter, rand=rand)
    except errors.InvalidSpecError:
        return True, None


def backoff(attempt: int, *, rand: float) -> float:
    """Delay before retry number `attempt` (1-based): 1 s doubling to 5 min, with full jitter
    in the upper half so failing ExternalSecrets do not retry in lock-step."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempt - 1)))
    return float(ceiling * (0.5 + 0.5 * rand))
