"""Targets known to be right: the plan of a refresh that would only read the Secret to find it
already as wanted.

Why: a routine refresh whose remote values did not change plans "nothing to write" from the
target Secret it reads; at 10,000 ExternalSecrets that GET is half of the apiserver requests of a
steady cycle, and ESO does not make it either (it reads from its informer cache). The watch of
managed Secrets keeps each target's resourceVersion in the view. `Settled` remembers, per
ExternalSecret, the plan "none" made at one resourceVersion of its target for one fingerprint of
(the ExternalSecret's uid, generation, labels and annotations; the desired content); while the
view still shows that resourceVersion and the fingerprint is the same, `plan.plan_sync` would
decide the same, so the GET is skipped. Pure.
"""

from __future__ import annotations

import hashlib

import msgspec

from asyncso import model, plan

_encoder = msgspec.json.Encoder()


def fingerprint(es: model.ExternalSecret, desired: model.SecretContent) -> bytes:
    """Everything `plan.plan_sync` reads besides the observed Secret, hashed."""
    meta = es.metadata
    text = _encoder.encode(
        (
            meta.namespace,
            meta.name,
            meta.uid,
            meta.generation,
            meta.labels,
            meta.annotations,
            desired.data,
            desired.labels,
            desired.annotations,
            desired.type,
        )
    )
    return hashlib.blake2b(text, digest_size=16).digest()


class Settled:
    """ExternalSecret → (fingerprint, target resourceVersion, the plan "none" made there)."""

    def __init__(self) -> None:
        self._known: dict[model.Key, tuple[bytes, str, plan.Plan]] = {}

    def __len__(self) -> int:
        return len(self._known)

    def recall(self, key: model.Key, mark: bytes, resource_version: str) -> plan.Plan | None:
        """The plan remembered for this fingerprint at this resourceVersion, if any."""
        known = self._known.get(key)
        if known is None or not resource_version:
            return None
        if known[0] != mark or known[1] != resource_version:
            return None
        return known[2]

    def remember(
        self, key: model.Key, mark: bytes, observed: model.Secret | None, the_plan: plan.Plan
    ) -> None:
        """Keep a plan that writes nothing and reports success for the Secret it saw; forget
        anything else."""
        version = observed.metadata.resource_version if observed is not None else ""
        if the_plan.action != "none" or not the_plan.report.ready or not version:
            self._known.pop(key, None)
            return
        self._known[key] = (mark, version, the_plan)

    def forget(self, key: model.Key) -> None:
        self._known.pop(key, None)
