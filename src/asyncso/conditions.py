"""Status conditions: set one, keeping `lastTransitionTime` only moving on a real transition.

Why: `kubectl wait --for=condition=Ready`, ESO's dashboards (`*_status_condition` gauges) and
users read these; a transition time that changed on every refresh would be noise.
"""

from __future__ import annotations

from asyncso import model, timing

READY = "Ready"


def set_condition(
    conditions: list[model.Condition], new: model.Condition, *, now: float
) -> list[model.Condition]:
    """A new list with `new` replacing the condition of the same type."""
    out: list[model.Condition] = []
    transition = timing.format_time(now)
    for existing in conditions:
        if existing.type == new.type:
            if existing.status == new.status and existing.last_transition_time:
                transition = existing.last_transition_time
            continue
        out.append(existing)
    out.append(
        model.Condition(
            type=new.type,
            status=new.status,
            reason=new.reason,
            message=new.message,
            last_transition_time=transition,
        )
    )
    return out


def ready(status: bool, reason: str, message: str) -> model.Condition:
    return model.Condition(
        type=READY, status="True" if status else "False", reason=reason, message=message
    )


def find(conditions: list[model.Condition], type_: str = READY) -> model.Condition | None:
    for condition in conditions:
        if condition.type == type_:
            return condition
    return None


def same(a: model.Condition | None, b: model.Condition) -> bool:
    """Equal apart from the transition time (so an unchanged status is not re-written)."""
    return a is not None and (a.status, a.reason, a.message) == (b.status, b.reason, b.message)
