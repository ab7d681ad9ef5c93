"""What the operator reports: conditions, the status of our objects, condition gauges, Events.

Why one module: `kubectl wait --for=condition=Ready`, ESO's dashboards (`*_status_condition`
gauges) and users read these, for ExternalSecrets and stores alike; building them in one place
keeps ESO's shapes and the rules ("a transition time moves only on a real transition", "the same
failure again is not re-written") the same everywhere. Pure apart from the gauges.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec

from asyncso import metrics, model, plan, timing

READY = "Ready"
MSG_INVALID_EXTERNALSECRET = "invalid ExternalSecret"


# --- conditions --------------------------------------------------------------------------------


def ready(ok: bool, reason: str, message: str) -> model.Condition:
    return model.Condition(
        type=READY, status="True" if ok else "False", reason=reason, message=message
    )


def set_condition(
    conditions: list[model.Condition], new: model.Condition, *, now: float
) -> list[model.Condition]:
    """A new list with `new` replacing the condition of the same type; its transition time is
    kept when the status did not change."""
    out: list[model.Condition] = []
    transition = timing.format_time(now)
    for existing in conditions:
        if existing.type == new.type:
            if existing.status == new.status and existing.last_transition_time:
                transition = existing.last_transition_time
            continue
        out.append(existing)
    out.append(msgspec.structs.replace(new, last_transition_time=transition))
    return out


def find(conditions: list[model.Condition], type_: str = READY) -> model.Condition | None:
    for condition in conditions:
        if condition.type == type_:
            return condition
    return None


def same(a: model.Condition | None, b: model.Condition) -> bool:
    """Equal apart from the transition time (so an unchanged status is not re-written)."""
    return a is not None and (a.status, a.reason, a.message) == (b.status, b.reason, b.message)


# --- status bodies -----------------------------------------------------------------------------


def externalsecret_status(
    es: model.ExternalSecret,
    report: plan.Report,
    *,
    now: float,
    synced: tuple[str, str] | None,
    binding: str,
) -> dict[str, Any] | None:
    """The ExternalSecret's new status, or None when a failure repeats one already reported.
    `synced` is (refreshTime, syncedResourceVersion) after a successful sync."""
    condition = ready(report.ready, report.reason, report.message)
    if not report.ready and same(find(es.status.conditions), condition):
        return None  # same failure again: do not rewrite status on every retry
    new = msgspec.structs.replace(
        es.status, conditions=set_condition(es.status.conditions, condition, now=now)
    )
    if synced is not None:
        new = msgspec.structs.replace(
            new, refresh_time=synced[0], synced_resource_version=synced[1]
        )
    if binding:
        new = msgspec.structs.replace(new, binding=model.Binding(name=binding))
    body: dict[str, Any] = msgspec.to_builtins(new)
    return body


def invalid_status(error: str, *, now: float) -> dict[str, Any]:
    """The status of an ExternalSecret whose spec does not decode."""
    condition = ready(False, plan.REASON_ERROR, f"{MSG_INVALID_EXTERNALSECRET}: {error}")
    return {"conditions": msgspec.to_builtins(set_condition([], condition, now=now))}


def store_status(
    store: model.SecretStore | None, condition: model.Condition, *, now: float
) -> dict[str, Any] | None:
    """A store's new status, or None when its Ready condition already says this."""
    old = store.status.conditions if store is not None else []
    if same(find(old), condition):
        return None
    return {"conditions": msgspec.to_builtins(set_condition(old, condition, now=now))}


# --- gauges and events -------------------------------------------------------------------------


def set_condition_metric(kind: str, meta: model.ObjectMeta, condition: model.Condition) -> None:
    """ESO's `{externalsecret,secretstore,clustersecretstore}_status_condition` gauges: 1 for
    the condition's status, 0 for the other."""
    for value in ("True", "False"):
        gauge = 1.0 if condition.status == value else 0.0
        if kind == "ClusterSecretStore":
            metrics.CLUSTERSECRETSTORE_STATUS_CONDITION.labels(
                name=meta.name, condition=condition.type, status=value
            ).set(gauge)
            continue
        family = (
            metrics.SECRETSTORE_STATUS_CONDITION
            if kind == "SecretStore"
            else metrics.EXTERNALSECRET_STATUS_CONDITION
        )
        family.labels(
            name=meta.name, namespace=meta.namespace, condition=condition.type, status=value
        ).set(gauge)


@dataclasses.dataclass(frozen=True)
class Event:
    type: str  # Normal, Warning
    reason: str
    message: str


def event_for(report: plan.Report) -> Event | None:
    """The Event a sync's report asks for (never with values), if any."""
    if not report.event_reason:
        return None
    type_ = report.event_type or ("Normal" if report.ready else "Warning")
    return Event(type_, report.event_reason, report.event_message)
