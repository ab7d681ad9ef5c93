"""Pure: ESO's GeneratorState rules — whose state is it, which is latest, which are superseded.

A port of ESO's `runtime/statemanager` decisions. A GeneratorState is labelled with an owner key,
ESO's hash of "<owner kind>-<namespace>-<name>-<state key>" (an ExternalSecret's dataFrom index,
or `__pushsecret` for a PushSecret's `selector.generatorRef`), so that states written by ESO are
recognised here (and back) after a migration. Of one owner key's states, the newest without
a garbage-collection deadline is the latest; on each fetch the others get a deadline (now plus a
grace period), after which the state controller runs the generator's cleanup and deletes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from asyncso import model, model_generators, timing

OWNER_KIND = "ExternalSecret"
#: ESO's state key of a PushSecret (`defaultGeneratorStateKey`).
PUSHSECRET_KEY = "__pushsecret"
GC_GRACE = 120.0
"""ESO's `--generator-gc-grace-period` default (2 minutes)."""
_PREFIX_MAX = 57
"""generateName before the apiserver's random suffix (it keeps at most 58 characters)."""


def owner_key(kind: str, namespace: str, name: str, key: str) -> str:
    """ESO's `ownerKey`: `ObjectHash` (sha3-224 of Go's `%+v`, here of a plain string)."""
    return hashlib.sha3_224(f"{kind}-{namespace}-{name}-{key}".encode()).hexdigest()


def external_secret(es: model.ExternalSecret) -> model_generators.StateOwner:
    meta = es.metadata
    return model_generators.StateOwner(
        kind=OWNER_KIND,
        api_version=es.api_version,
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
    )


def state_key(owner: model_generators.StateOwner, key: str) -> str:
    """The owner-key label of `owner`'s states under `key`."""
    return owner_key(owner.kind, owner.namespace, owner.name, key)


def key_of(owner: model.ExternalSecret, index: int) -> str:
    return state_key(external_secret(owner), str(index))


def _created(state: model_generators.GeneratorState) -> float:
    return timing.parse_time(state.metadata.creation_timestamp) or 0.0


def latest(
    states: Iterable[model_generators.GeneratorState],
) -> model_generators.GeneratorState | None:
    """The newest state not flagged for garbage collection (the first of equals, as ESO)."""
    best: model_generators.GeneratorState | None = None
    for state in states:
        if state.spec.garbage_collection_deadline is not None:
            continue
        if best is None or _created(state) > _created(best):
            best = state
    return best


def superseded(
    states: Iterable[model_generators.GeneratorState],
) -> list[model_generators.GeneratorState]:
    """ESO's `disposeState`: every state of one owner key without a deadline but the latest."""
    listed = list(states)
    keep = latest(listed)
    return [
        s
        for s in listed
        if s.spec.garbage_collection_deadline is None
        and (keep is None or s.metadata.name != keep.metadata.name)
    ]


def unflagged(
    states: Iterable[model_generators.GeneratorState],
) -> list[model_generators.GeneratorState]:
    """ESO's `EnqueueMoveStateToGC` / `EnqueueFlagLatestStateForGC` (a PushSecret's): every
    state of one owner key without a deadline, the latest included."""
    return [s for s in states if s.spec.garbage_collection_deadline is None]


def deadline(*, now: float, grace: float = GC_GRACE) -> str:
    return timing.format_time(now + grace)


def gc_due_at(state: model_generators.GeneratorState) -> float | None:
    """When the state is to be deleted (epoch seconds), or None when it is kept."""
    return timing.parse_time(state.spec.garbage_collection_deadline)


def new_state(
    owner: model_generators.StateOwner,
    *,
    key: str,
    generated: model_generators.Generated,
    gc_deadline: str | None = None,
) -> dict[str, Any]:
    """The GeneratorState ESO creates for a generator run that returned state: named from the
    owner, labelled with its owner key, owned by it (so it goes with its owner)."""
    prefix = f"gen-{owner.kind.lower()}-{owner.name}"[:_PREFIX_MAX].rstrip(".-")
    spec: dict[str, Any] = {"resource": generated.resource, "state": generated.output.state}
    if gc_deadline is not None:
        spec["garbageCollectionDeadline"] = gc_deadline
    return {
        "apiVersion": model_generators.API_VERSION,
        "kind": "GeneratorState",
        "metadata": {
            "generateName": f"{prefix}-",
            "namespace": owner.namespace,
            "labels": {model_generators.LABEL_OWNER_KEY: state_key(owner, key)},
            "ownerReferences": [
                {
                    "apiVersion": owner.api_version,
                    "kind": owner.kind,
                    "name": owner.name,
                    "uid": owner.uid,
                }
            ],
        },
        "spec": spec,
    }
