"""`GeneratorRegistry`: a `generatorRef` → the generator's manifest → its kind's generator → values.

Why one place: the ExternalSecret sync (`dataFrom[].sourceRef.generatorRef`) and PushSecret's
`selector.generatorRef` ask the same question, "generate values for this ref, as seen from this
namespace" (`generate`, the `ports.GeneratorSource` role). Here, as ESO's resolver does: the ref
is checked (`refs`), the manifest read from the apiserver in the ExternalSecret's namespace (a
ClusterGenerator by name, then treated as a namespaced generator of its `spec.kind` "in" that
namespace), decoded with the kind's Struct, and run by the kind's `ports.Generator`. Every
failure names the ref's field; a generator failure never means "remote secret not found", so a
generator can never shrink a target Secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from asyncso import errors, model, model_generators, ports
from asyncso.generators import expiry, refs, state_rules

MSG_NOT_FOUND = "{kind} {name!r} not found in namespace {namespace!r}"
MSG_CLUSTER_NOT_FOUND = "ClusterGenerator {name!r} not found"
MSG_SPEC_MISSING = "ClusterGenerator {name!r}: when kind is {kind}, {field} must be set"
MSG_USING = "error using generator"


class GeneratorRegistry:
    """The generator kinds this operator was built with, and the reads that resolve a ref."""

    def __init__(
        self,
        reader: ports.GeneratorReader,
        generators: Sequence[ports.Generator],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.reader = reader
        self.clock = clock
        self._by_kind = {g.kind: g for g in generators}
        #: ESO's GeneratorState bookkeeping (the state controller sets itself here while it
        #: runs); without it, `settle` does nothing.
        self.states: ports.GeneratorStates | None = None

    def implementation(self, kind: str) -> ports.Generator | None:
        return self._by_kind.get(kind)

    async def generate(
        self, ref: model.GeneratorRef, *, namespace: str, where: str
    ) -> model_generators.Generated:
        """Fresh values from the generator `ref` names, for a resource in `namespace`."""
        refs.check(ref, field=where)
        raw = await self.reader.get_generator(ref.kind, namespace, ref.name, field=where)
        if raw is None:
            message = (
                MSG_CLUSTER_NOT_FOUND.format(name=ref.name)
                if ref.kind == refs.CLUSTER_GENERATOR
                else MSG_NOT_FOUND.format(kind=ref.kind, name=ref.name, namespace=namespace)
            )
            raise errors.InvalidSpecError(f"{where}: {message}")
        kind, spec, resource = _resolve(ref, raw, where=where)
        generator = self._by_kind.get(kind)
        if generator is None:
            raise errors.InvalidSpecError(f"{where}: {refs.unsupported_kind(kind)}")
        try:
            output = await generator.generate(spec, namespace=namespace, name=ref.name)
        except errors.AsyncsoError as exc:
            raise _named(exc, f"{where}: {MSG_USING}") from None
        return model_generators.Generated(
            kind=kind,
            output=output,
            resource=resource,
            refresh_at=expiry.refresh_at(output.expires_at, now=self.clock()),
        )

    async def settle(
        self,
        owner: model.ExternalSecret,
        *,
        entries: int,
        generated: dict[int, model_generators.Generated],
        ok: bool,
    ) -> None:
        if self.states is not None:
            await self.states.settle(owner, entries=entries, generated=generated, ok=ok)

    async def settle_owner(
        self,
        owner: model_generators.StateOwner,
        *,
        keys: Sequence[str],
        generated: Mapping[str, model_generators.Generated],
        ok: bool,
        latest_too: bool = False,
    ) -> None:
        if self.states is not None:
            await self.states.settle_owner(
                owner, keys=keys, generated=generated, ok=ok, latest_too=latest_too
            )


async def values_for(
    source: ports.GeneratorSource,
    ref: model.GeneratorRef,
    *,
    namespace: str,
    where: str,
    owner: model_generators.StateOwner | None = None,
) -> dict[str, bytes]:
    """Generate values for `ref` as seen from `namespace` (`where`: the ref's field, named in
    refusals). The one call a PushSecret `selector.generatorRef` needs. With `owner`, ESO's
    commit follows: the run's state (if any) is kept as the owner's latest under
    `__pushsecret`, and the one before is flagged for collection."""
    generated = await source.generate(ref, namespace=namespace, where=where)
    if owner is not None:
        key = state_rules.PUSHSECRET_KEY
        await source.settle_owner(
            owner, keys=[key], generated={key: generated}, ok=True, latest_too=True
        )
    return generated.values


async def retire_push_state(
    source: ports.GeneratorSource, owner: model_generators.StateOwner
) -> None:
    """ESO: a PushSecret that selects a Secret by name flags its latest GeneratorState (from a
    `generatorRef` it had before) for collection."""
    await source.settle_owner(
        owner, keys=[state_rules.PUSHSECRET_KEY], generated={}, ok=True, latest_too=True
    )


def _resolve(ref: model.GeneratorRef, raw: bytes, *, where: str) -> tuple[str, Any, dict[str, Any]]:
    """(kind, decoded spec, the manifest as ESO keeps it in GeneratorState.spec.resource)."""
    try:
        if ref.kind != refs.CLUSTER_GENERATOR:
            found = msgspec.json.decode(raw, type=model_generators.OBJECT_TYPES[ref.kind])
            resource: dict[str, Any] = msgspec.json.decode(raw)
            return ref.kind, found.spec, resource
        cluster = msgspec.json.decode(raw, type=model_generators.ClusterGenerator)
    except msgspec.ValidationError as exc:
        raise errors.InvalidSpecError(f"{where}: {ref.kind} {ref.name!r}: {exc}") from None
    kind = cluster.spec.kind
    try:
        refs.check_cluster_kind(kind, name=ref.name)
    except errors.InvalidSpecError as exc:
        raise errors.InvalidSpecError(f"{where}: {exc}") from None
    field = model_generators.CLUSTER_SPEC_FIELDS[kind]
    spec = getattr(cluster.spec.generator, _attribute(field))
    if spec is None:
        message = MSG_SPEC_MISSING.format(name=ref.name, kind=kind, field=field)
        raise errors.InvalidSpecError(f"{where}: {message}")
    virtual = {
        "apiVersion": model_generators.API_VERSION,
        "kind": kind,
        "metadata": {},
        "spec": msgspec.to_builtins(spec),
    }
    return kind, spec, virtual


def _attribute(json_name: str) -> str:
    """`ecrAuthorizationTokenSpec` → `ecr_authorization_token_spec`."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in json_name)


def _named(exc: errors.AsyncsoError, prefix: str) -> errors.AsyncsoError:
    """The same kind of error, its message prefixed with the ref's field. A "not found" from a
    generator's backend is a plain permanent error: it must never shrink a target Secret."""
    message = f"{prefix}: {exc}"
    if isinstance(exc, errors.RemoteSecretNotFoundError):
        return errors.PermanentError(message)
    if isinstance(exc, errors.InvalidNameError):
        return exc
    try:
        return type(exc)(message)
    except TypeError:
        return (
            errors.PermanentError(message) if not exc.transient else errors.TransientError(message)
        )
