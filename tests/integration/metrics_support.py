"""Reading the operator's metrics back in tests."""

from __future__ import annotations

from asyncso import metrics


def provider_calls(*, provider: str, call: str, status: str = "success") -> float:
    """Current count of one (provider, call, status) series of ESO's provider-calls counter."""
    value = metrics.REGISTRY.get_sample_value(
        "externalsecret_provider_api_calls_count_total",
        {"provider": provider, "call": call, "status": status},
    )
    return value or 0.0


def sync_calls(*, name: str, namespace: str) -> float:
    """How many syncs the operator has started for one ExternalSecret."""
    value = metrics.REGISTRY.get_sample_value(
        "externalsecret_sync_calls_total", {"name": name, "namespace": namespace}
    )
    return value or 0.0
