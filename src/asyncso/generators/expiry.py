"""Pure: when values that expire (ECR tokens, STS sessions) are generated again.

Why: ESO regenerates only on the ExternalSecret's refresh interval, so a 12 h ECR token under a
24 h interval is dead for half the time. asyncso refreshes before expiry instead: at the
earlier of the periodic refresh and `expires_at` minus a margin (a tenth of the lifetime, at
least a minute), never sooner than a floor after now, so a token that is nearly expired (or a
clock that disagrees) cannot make a tight loop.

Values that come back already expired (an emulator's fixed date — moto's ECR says 2015 — or a
clock off by more than the lifetime) do not move the refresh at all: generating again at once
would only bring another expired token, once per floor, forever. The periodic refresh
(`refreshInterval`) applies to them as to values that do not expire.
"""

from __future__ import annotations

MIN_MARGIN = 60.0
"""Seconds before `expires_at` that a refresh is due, at least."""
MARGIN_FRACTION = 0.1
"""...or this fraction of the values' lifetime, when larger."""
FLOOR = 10.0
"""Seconds after now before which no expiry-driven refresh is scheduled."""


def refresh_at(expires_at: float | None, *, now: float) -> float | None:
    """When to generate again so that values expiring at `expires_at` are never used expired
    (epoch seconds); None when they do not expire, or had expired when generated (`now`)."""
    if expires_at is None or expires_at <= now:
        return None
    lifetime = max(0.0, expires_at - now)
    margin = max(MIN_MARGIN, MARGIN_FRACTION * lifetime)
    return max(now + FLOOR, expires_at - margin)


def sooner(first: float | None, second: float | None) -> float | None:
    """The earlier of two optional deadlines (None: no deadline)."""
    if first is None:
        return second
    if second is None:
        return first
    return min(first, second)
