"""Pure PushSecret reporting: what `syncedPushSecrets` becomes and what to delete, when a
PushSecret is due, and the status merge patch, with ESO's reasons and messages.

Why apart from `push_plan` (what to push where): these are the bookkeeping rules that make
deletion safe — only what `syncedPushSecrets` records was pushed by this PushSecret, a failed
push keeps the old record, a shrinking map is written as a merge patch with nulls — and ESO's
`shouldRefresh` timing. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

import msgspec

from asyncso import errors, model, model_push, status, timing

REASON_SYNCED = "Synced"
REASON_ERRORED = "Errored"
REASON_SOURCE_DELETED = "SourceDeleted"
MSG_SYNCED = "PushSecret synced successfully"
MSG_SYNCED_IF_NOT_EXISTS = f"{MSG_SYNCED}. Existing secrets in providers unchanged."
MSG_GET_SOURCE = "could not get source secret"
MSG_SOURCE_DELETED = "source secret deleted; provider secrets cleaned up"
MSG_INVALID = "invalid PushSecret"


# --- synced state and deletions ------------------------------------------------------------------


def merge_synced(
    new: model_push.SyncedPushSecrets, old: model_push.SyncedPushSecrets
) -> model_push.SyncedPushSecrets:
    """ESO's `mergeSecretState`: `new`, plus what `old` had that `new` lacks."""
    out = {store: dict(items) for store, items in new.items()}
    for store, items in old.items():
        out.setdefault(store, {})
        for key, value in items.items():
            out[store].setdefault(key, value)
    return out


def to_delete(
    old: model_push.SyncedPushSecrets, new: model_push.SyncedPushSecrets
) -> dict[str, dict[str, model_push.RemoteLocation]]:
    """By store key: the remote locations pushed before and no longer pushed now."""
    out: dict[str, dict[str, model_push.RemoteLocation]] = {}
    for store, items in old.items():
        keep = new.get(store, {})
        gone = {
            key: model_push.RemoteLocation(
                item.match.remote_ref.remote_key, item.match.remote_ref.property
            )
            for key, item in items.items()
            if key not in keep
        }
        if gone:
            out[store] = gone
    return out


def store_of_key(store_key: str) -> model.StoreRef:
    kind, _, name = store_key.partition("/")
    if name and kind == "SecretStore":
        return model.StoreRef(name=name, kind="SecretStore")
    if name and kind == "ClusterSecretStore":
        return model.StoreRef(name=name, kind="ClusterSecretStore")
    raise errors.InvalidSpecError(f"status.syncedPushSecrets: bad store key {store_key!r}")


# --- timing and status ---------------------------------------------------------------------------


def synced_version(ps: model_push.PushSecret) -> str:
    """ESO's `GetResourceVersion`: generation and a hash of labels and annotations."""
    meta = ps.metadata
    text = repr((sorted(meta.labels.items()), sorted(meta.annotations.items())))
    return f"{meta.generation}-{hashlib.sha3_224(text.encode()).hexdigest()}"


def is_due(ps: model_push.PushSecret, *, now: float) -> bool:
    """ESO's `shouldRefresh`: a new spec/metadata, never synced, or the interval passed
    (`refreshInterval: 0` pushes once per spec)."""
    state = ps.status
    if state.synced_resource_version != synced_version(ps):
        return True
    interval = timing.parse_duration(ps.spec.refresh_interval, field="spec.refreshInterval")
    if interval <= 0:
        return False
    last = timing.parse_time(state.refresh_time)
    return last is None or now >= last + interval


def generates(ps: model_push.PushSecret, *, now: float, kept_for: str | None) -> bool:
    """Does this sync run the `selector.generatorRef` generator again? ESO runs it on each
    refresh (`shouldRefresh`: a new spec or metadata, never synced, the interval passed): the
    pushed values rotate every `refreshInterval`, and once per spec under `0`. A sync between
    refreshes (a store changed, a retry once the interval has not passed) pushes the values
    generated last for the same spec (`kept_for`: the `synced_version` they were made for)."""
    return kept_for != synced_version(ps) or is_due(ps, now=now)


def next_refresh(
    ps: model_push.PushSecret, *, synced_at: float, now: float, jitter: float, rand: float
) -> float | None:
    interval = timing.parse_duration(ps.spec.refresh_interval, field="spec.refreshInterval")
    if interval <= 0:
        return None
    return max(now, synced_at + interval + interval * jitter * rand)


def due_at_start(
    ps: model_push.PushSecret, *, now: float, jitter: float, rand: float
) -> tuple[bool, float | None]:
    """A restart costs no provider call: a PushSecret refreshed recently with an unchanged spec
    sleeps until its next refresh."""
    try:
        if is_due(ps, now=now):
            return True, None
        last = timing.parse_time(ps.status.refresh_time)
        synced_at = now if last is None else last
        return False, next_refresh(ps, synced_at=synced_at, now=now, jitter=jitter, rand=rand)
    except errors.InvalidSpecError:
        return True, None


def synced_builtins(synced: model_push.SyncedPushSecrets) -> dict[str, Any]:
    encoded: dict[str, Any] = msgspec.to_builtins(synced)
    return encoded


def merge_patch(old: Any, new: Any) -> Any:
    """The RFC 7386 merge patch that turns `old` into `new` (None for "no change" at the top):
    keys `old` has and `new` lacks become null, so maps such as `syncedPushSecrets` shrink."""
    if isinstance(old, dict) and isinstance(new, dict):
        patch: dict[str, Any] = {}
        for key in old.keys() - new.keys():
            patch[key] = None
        for key, value in new.items():
            if key not in old:
                patch[key] = value
            elif old[key] != value:
                patch[key] = merge_patch(old[key], value) if isinstance(value, dict) else value
        return patch
    return new


# --- the report of one sync ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Report:
    """How a sync ended. `synced` None leaves `syncedPushSecrets` as it was; `wrote` says a
    remote secret was created, changed or deleted (worth an Event)."""

    ready: bool
    reason: str
    message: str
    synced: model_push.SyncedPushSecrets | None = None
    wrote: bool = False


def failed(message: str, synced: model_push.SyncedPushSecrets | None = None) -> Report:
    return Report(False, REASON_ERRORED, message, synced)


def push_failure(
    failures: Sequence[tuple[model_push.PushSecretData, str, errors.AsyncsoError]],
) -> str:
    """ESO's message for the first failed entry (`errFailedSetSecret`/`errSetSecretFailed`),
    and how many more failed."""
    data, store, exc = failures[0]
    detail = errors.redact(str(exc))
    if isinstance(exc, errors.InvalidSpecError):
        message = f"set secret failed: {detail}"
    else:
        message = (
            f"set secret failed: could not write remote ref {data.match.secret_key} "
            f"to target secretstore {store}: {detail}"
        )
    if len(failures) > 1:
        message += f" (and {len(failures) - 1} more)"
    return message


def status_patch(
    ps: model_push.PushSecret, report: Report, *, now: float, started: float
) -> dict[str, Any] | None:
    """The merge patch for the PushSecret's status, or None when a failure repeats one
    already reported with nothing else changed."""
    condition = status.ready(report.ready, report.reason, report.message)
    old_synced = synced_builtins(ps.status.synced_push_secrets)
    new_synced = old_synced if report.synced is None else synced_builtins(report.synced)
    if (
        not report.ready
        and status.same(status.find(ps.status.conditions), condition)
        and new_synced == old_synced
    ):
        return None
    conditions = status.set_condition(ps.status.conditions, condition, now=now)
    patch: dict[str, Any] = {"conditions": msgspec.to_builtins(conditions)}
    if new_synced != old_synced:
        patch["syncedPushSecrets"] = merge_patch(old_synced, new_synced) if new_synced else None
    if report.ready:
        patch["refreshTime"] = timing.format_time(started)
        patch["syncedResourceVersion"] = synced_version(ps)
    return patch
