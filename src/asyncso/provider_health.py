"""How each store's provider has been answering: failing, throttled, or fine.

Why: two rules of issue 10 (docs/security.md, "Recovery and throttling") need to know it.
Recovery: when a store's provider answers again after failing (unreachable, 5xx, access
denied), the readers of that store that are backing off are woken (with jitter) instead of
sleeping out backoffs that grew during the outage. Throttling: a sync waiting on a throttled
provider for longer than its refresh interval says so in its condition, instead of leaving a
stale `Ready=True`. The state is fed from two sides: every read's outcome (`Observed`, a
`ports.SecretsProvider` wrapper the reconciler puts around each provider, so every backend
counts the same), and throttled answers a provider sees inside one call (botocore retries them
before the call returns), which providers report through `ProviderRegistry.throttled`.

No I/O here: time is passed in, and the wake-up is a callback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from asyncso import errors, model, ports, stores

#: A provider that fails like this is down for its store; its next answer is a recovery.
_DOWN = (errors.ProviderUnavailableError, errors.AccessDeniedError)

#: While a store's provider is down, one of its backed-off readers is let through (a probe) this
#: often, so that when it answers again someone is asking: all readers Ready within 10 s of the
#: recovery for an outage of up to `PROBE_STEADY` seconds.
PROBE_INTERVAL = 4.0
PROBE_STEADY = 120.0
#: Past `PROBE_STEADY`, probes come every thirtieth of the time the store has been down, at most
#: this far apart: a store whose credentials are simply refused must not cost a provider call
#: every few seconds forever (and recovery then takes ~3% of the outage).
PROBE_CAP = 300.0


def probe_interval(down_for: float) -> float:
    """Seconds between probes of a store that has been down for `down_for` seconds."""
    if down_for < PROBE_STEADY:
        return PROBE_INTERVAL
    return min(PROBE_CAP, max(PROBE_INTERVAL, down_for / 30))


class ProviderHealth:
    """Per store (`stores.StoreKey`): failing since when, last throttled when."""

    def __init__(self, *, on_recovered: Callable[[stores.StoreKey], None] | None = None) -> None:
        self.on_recovered = on_recovered
        self._failing: dict[stores.StoreKey, float] = {}
        self._probed: dict[stores.StoreKey, float] = {}
        self._throttled: dict[stores.StoreKey, float] = {}

    def failed(self, store: stores.StoreKey, error: errors.AsyncsoError, *, now: float) -> None:
        """A read through `store` failed with `error`."""
        if isinstance(error, errors.ThrottledError):
            self.throttled(store, now=now)
        elif isinstance(error, _DOWN):
            self._failing.setdefault(store, now)

    def throttled(self, store: stores.StoreKey, *, now: float) -> None:
        """The provider of `store` answered "slow down" (a final answer or a retried one)."""
        self._throttled[store] = now

    def answered(self, store: stores.StoreKey) -> None:
        """A read through `store` got an answer (a value, or "no such secret"): it is not
        throttled now, and if it was failing, its backed-off readers may try again."""
        self._throttled.pop(store, None)
        self._probed.pop(store, None)
        if self._failing.pop(store, None) is not None and self.on_recovered is not None:
            self.on_recovered(store)

    def failing(self, store: stores.StoreKey) -> bool:
        return store in self._failing

    def due_probes(self, *, now: float) -> list[stores.StoreKey]:
        """The failing stores whose next probe is due (checked every `PROBE_INTERVAL`, so half
        of it is tolerated); each is recorded as probed now."""
        due = []
        for store, since in self._failing.items():
            last = self._probed.get(store, since)
            if now - last >= probe_interval(now - since) - PROBE_INTERVAL / 2:
                due.append(store)
                self._probed[store] = now
        return due

    def throttled_at(self, store: stores.StoreKey) -> float | None:
        """When `store` was last throttled, unless it answered since."""
        return self._throttled.get(store)

    def forget(self, store: stores.StoreKey) -> None:
        """The store is gone."""
        self._failing.pop(store, None)
        self._probed.pop(store, None)
        self._throttled.pop(store, None)


class Observed:
    """A `ports.SecretsProvider` whose outcomes are recorded in a `ProviderHealth`."""

    def __init__(
        self,
        inner: ports.SecretsProvider,
        *,
        store: stores.StoreKey,
        health: ProviderHealth,
        clock: Callable[[], float],
    ) -> None:
        self.inner = inner
        #: `inner` when it can answer from values it holds (checked once: a runtime Protocol
        #: check is slow, and this is asked on every routine refresh).
        self._cached = inner if isinstance(inner, ports.CachedReading) else None
        self.store = store
        self.health = health
        self.clock = clock

    @contextlib.contextmanager
    def _observing(self) -> Iterator[None]:
        """A call that returns, or says "not found", is an answer from the store; any other
        failure of ours counts against it."""
        try:
            yield
        except errors.RemoteSecretNotFoundError:
            self.health.answered(self.store)
            raise
        except errors.AsyncsoError as exc:
            self.health.failed(self.store, exc, now=self.clock())
            raise
        self.health.answered(self.store)

    async def read(self, ref: model.RemoteRef) -> bytes:
        with self._observing():
            return await self.inner.read(ref)

    def read_cached(self, ref: model.RemoteRef) -> bytes | None:
        """`ports.CachedReading` when the provider is: a value held counts as an answer."""
        if self._cached is None:
            return None
        value = self._cached.read_cached(ref)
        if value is not None:
            self.health.answered(self.store)
        return value

    async def find(self, find: model.Find) -> dict[str, bytes]:
        with self._observing():
            return await self.inner.find(find)
