"""Prometheus metrics with ESO's names and labels, so ESO's dashboards and alerts keep working.

Why one module of definitions: the reconciler, the providers and the HTTP server all touch the
same collectors; defining them once keeps names and label sets in one place. Labels are only
object names, namespaces, provider/call names and condition types: never values, never keys of
remote secrets (high cardinality and possibly sensitive).

A private `CollectorRegistry` (not the process-global one) so tests and several operator
instances in one process do not collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# --- ESO's names -------------------------------------------------------------------------------
SYNC_CALLS_TOTAL = Counter(
    "externalsecret_sync_calls_total",
    "Total number of ExternalSecret reconciles",
    ["name", "namespace"],
    registry=REGISTRY,
)
SYNC_CALLS_ERROR = Counter(
    "externalsecret_sync_calls_error",
    "Total number of ExternalSecret reconcile errors",
    ["name", "namespace"],
    registry=REGISTRY,
)
EXTERNALSECRET_STATUS_CONDITION = Gauge(
    "externalsecret_status_condition",
    "The status condition of a specific ExternalSecret",
    ["name", "namespace", "condition", "status"],
    registry=REGISTRY,
)
EXTERNALSECRET_RECONCILE_DURATION = Gauge(
    "externalsecret_reconcile_duration",
    "The duration time to reconcile the ExternalSecret (milliseconds)",
    ["name", "namespace"],
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
