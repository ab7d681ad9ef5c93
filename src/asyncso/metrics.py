"""Prometheus metrics with ESO's names and labels, so ESO's dashboards and alerts keep working.

Why one module of definitions: the reconciler, the providers and the HTTP server all touch the
same collectors; defining them once keeps names and label sets in one place. Labels are only
object names, namespaces, provider/call names and condition types: never values, never keys of
remote secrets (high cardinality and possibly sensitive).

A private `CollectorRegistry` (not the process-global one) so tests and several operator
instances in one process do not collide.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)


class ObjectSeries(Collector):
    """Series per object (the ExternalSecret counters and gauges): floats in a dict, made into
    samples when scraped, with prometheus_client's `labels(...).inc()/.set()` and `remove`.

    Why not prometheus_client's labelled children: each child is an object with its own lock,
    about 600 bytes, and ESO's ExternalSecret metrics make five per ExternalSecret (20 MiB at
    10,000 of them); a float in a dict is about 100 bytes. No `_created` series (ESO has none).
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        kind: Literal["counter", "gauge"],
        registry: CollectorRegistry,
    ) -> None:
        self._name = name.removesuffix("_total") if kind == "counter" else name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._kind = kind
        self._values: dict[tuple[str, ...], float] = {}
        registry.register(self)

    def labels(self, **labels: str) -> _Series:
        return _Series(self._values, tuple(labels[n] for n in self._labelnames))

    def remove(self, *values: str) -> None:
        """Drop one series (KeyError when absent, as prometheus_client)."""
        del self._values[tuple(values)]

    def _family(self) -> CounterMetricFamily | GaugeMetricFamily:
        if self._kind == "counter":
            return CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        return GaugeMetricFamily(self._name, self._documentation, labels=self._labelnames)

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for key, value in list(self._values.items()):
            family.add_metric(list(key), value)
        yield family


class _Series:
    """One series of an `ObjectSeries`."""

    __slots__ = ("_key", "_values")

    def __init__(self, values: dict[tuple[str, ...], float], key: tuple[str, ...]) -> None:
        self._values = values
        self._key = key

    def inc(self, amount: float = 1.0) -> None:
        self._values[self._key] = self._values.get(self._key, 0.0) + amount

    def set(self, value: float) -> None:
        self._values[self._key] = value


# --- ESO's names -------------------------------------------------------------------------------
SYNC_CALLS_TOTAL = ObjectSeries(
    "externalsecret_sync_calls_total",
    "Total number of ExternalSecret reconciles",
    ["name", "namespace"],
    kind="counter",
    registry=REGISTRY,
)
SYNC_CALLS_ERROR = ObjectSeries(
    "externalsecret_sync_calls_error",
    "Total number of ExternalSecret reconcile errors",
    ["name", "namespace"],
    kind="counter",
    registry=REGISTRY,
)
EXTERNALSECRET_STATUS_CONDITION = ObjectSeries(
    "externalsecret_status_condition",
    "The status condition of a specific ExternalSecret",
    ["name", "namespace", "condition", "status"],
    kind="gauge",
    registry=REGISTRY,
)
EXTERNALSECRET_RECONCILE_DURATION = ObjectSeries(
    "externalsecret_reconcile_duration",
    "The duration time to reconcile the ExternalSecret (milliseconds)",
    ["name", "namespace"],
    kind="gauge",
    registry=REGISTRY,
)
PROVIDER_API_CALLS = Counter(
    "externalsecret_provider_api_calls_count",
    "Number of API calls towards the secret provider",
    ["provider", "call", "status"],
    registry=REGISTRY,
)
SECRETSTORE_STATUS_CONDITION = Gauge(
    "secretstore_status_condition",
    "The status condition of a specific SecretStore",
    ["name", "namespace", "condition", "status"],
    registry=REGISTRY,
)
CLUSTERSECRETSTORE_STATUS_CONDITION = Gauge(
    "clustersecretstore_status_condition",
    "The status condition of a specific ClusterSecretStore",
    ["name", "condition", "status"],
    registry=REGISTRY,
)

# --- ESO's names for the fan-out and push controllers (durations in nanoseconds, as ESO's
# `float64(time.Since(start))`) ------------------------------------------------------------------
_CONDITION_LABELS = ["name", "namespace", "condition", "status"]
CLUSTEREXTERNALSECRET_STATUS_CONDITION = Gauge(
    "clusterexternalsecret_status_condition",
    "The status condition of a specific Cluster External Secret",
    _CONDITION_LABELS,
    registry=REGISTRY,
)
CLUSTEREXTERNALSECRET_RECONCILE_DURATION = Gauge(
    "clusterexternalsecret_reconcile_duration",
    "The duration time to reconcile the Cluster External Secret",
    ["name", "namespace"],
    registry=REGISTRY,
)
PUSHSECRET_STATUS_CONDITION = Gauge(
    "pushsecret_status_condition",
    "The status condition of a specific Push Secret",
    _CONDITION_LABELS,
    registry=REGISTRY,
)
PUSHSECRET_RECONCILE_DURATION = Gauge(
    "pushsecret_reconcile_duration",
    "The duration time to reconcile the Push Secret",
    ["name", "namespace"],
    registry=REGISTRY,
)
CLUSTERPUSHSECRET_STATUS_CONDITION = Gauge(
    "clusterpushsecret_status_condition",
    "The status condition of a specific Cluster Push Secret",
    _CONDITION_LABELS,
    registry=REGISTRY,
)
CLUSTERPUSHSECRET_RECONCILE_DURATION = Gauge(
    "clusterpushsecret_reconcile_duration",
    "The duration time to reconcile the Cluster Push Secret",
    ["name", "namespace"],
    registry=REGISTRY,
)


def set_ready(
    condition: Gauge, duration: Gauge, *, name: str, namespace: str, ready: bool, seconds: float
) -> None:
    """A Ready condition pair (1 for the current status, 0 for the other) and the duration of
    the reconcile that found it, for one of the fan-out or push kinds."""
    for status in ("True", "False"):
        value = 1.0 if (status == "True") == ready else 0.0
        condition.labels(name=name, namespace=namespace, condition="Ready", status=status).set(
            value
        )
    duration.labels(name=name, namespace=namespace).set(seconds * 1e9)


def forget(condition: Gauge, duration: Gauge, *, name: str, namespace: str) -> None:
    """Drop the series of an object that is gone."""
    for status in ("True", "False"):
        with contextlib.suppress(KeyError):
            condition.remove(name, namespace, "Ready", status)
    with contextlib.suppress(KeyError):
        duration.remove(name, namespace)


# --- ours --------------------------------------------------------------------------------------
RECONCILE_SECONDS = Histogram(
    "asyncso_reconcile_duration_seconds",
    "Time of one ExternalSecret sync, from wake-up to status written",
    ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
EXTERNALSECRETS_BY_STATE = Gauge(
    "asyncso_externalsecrets",
    "ExternalSecrets known to this replica, by state (synced, error, pending)",
    ["state"],
    registry=REGISTRY,
)


def count_provider_call(*, provider: str, call: str, ok: bool) -> None:
    """Count one provider API call; ESO's status label values are `success` and `error`."""
    PROVIDER_API_CALLS.labels(
        provider=provider, call=call, status="success" if ok else "error"
    ).inc()
