"""The seams between the reconcile core and the outside world: Protocols only.

Why: the core (`reconciler`, `scheduler`) is written against these roles, so providers (fake,
AWS Secrets Manager, Parameter Store, later others) and the Kubernetes adapter plug in without
the core knowing them, and unit tests can pass in-memory doubles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from asyncso import errors, model, model_generators, model_push


class SecretsProvider(Protocol):
    """Reads remote secrets for one store and one credential identity: raw values only.

    ESO's `property` and `extract` are pure steps applied afterwards (`property_path`), the same
    for every provider. Every method raises `errors.RemoteSecretNotFoundError` for a missing
    secret (the only error that may shrink a target Secret), and other `errors.AsyncsoError`
    subclasses otherwise. Implementations may coalesce concurrent calls and share reads.
    """

    async def read(self, ref: model.RemoteRef) -> bytes:
        """The value of `ref.key` at `ref.version` (its metadata with `metadataPolicy: Fetch`)."""
        ...

    async def find(self, find: model.Find) -> dict[str, bytes]:
        """`dataFrom.find`: every remote secret matching `find`, keyed by its remote name."""
        ...


@runtime_checkable
class Prefetching(Protocol):
    """A provider that can start a read before a sync asks for it (`Reconciler.prefetch`)."""

    def prefetch(self, ref: model.RemoteRef) -> None:
        """Start reading `ref` under the current `freshness.Want`, without waiting; errors are
        left for the sync's own read to meet."""
        ...


@runtime_checkable
class CachedReading(Protocol):
    """A provider that can answer a read at once from a value it holds (`Reconciler._fetch`:
    a sync whose every value is held needs no task and no wait)."""

    def read_cached(self, ref: model.RemoteRef) -> bytes | None:
        """What `read` would return, if a value held is fresh enough for the current
        `freshness.Want` (and the read is renewed as `read` would); None when `read` must be
        awaited (not held, not fresh enough, not a kind of read that is held, or an error)."""
        ...


class ProviderFactory(Protocol):
    """Builds (and caches) the provider for a store, as seen from an ExternalSecret's namespace."""

    def handles(self, store: model.SecretStore) -> bool:
        """True when this factory serves the store's `spec.provider`."""
        ...

    async def validate(self, store: model.SecretStore) -> None:
        """Raise `errors.InvalidSpecError` (naming the field) for a store that cannot work."""
        ...

    async def provider_for(self, store: model.SecretStore, *, namespace: str) -> SecretsProvider:
        """The provider for `store` used by an ExternalSecret in `namespace`.

        `namespace` matters for ClusterSecretStores whose credential references omit a namespace
        (ESO then uses the ExternalSecret's namespace).
        """
        ...

    async def close(self) -> None:
        """Release clients and connections."""
        ...


class KubeReader(Protocol):
    """The reads templates and providers need from the cluster, and service-account tokens.

    `field` is where the name came from in the spec (`spec.target`,
    `spec.provider.aws.auth.jwt.serviceAccountRef`): an invalid name or namespace raises
    `errors.InvalidNameError` naming `<field>.name` / `<field>.namespace`, before any request.
    """

    async def get_secret(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.Secret | None:
        """The Secret, or None when it does not exist."""
        ...

    async def get_config_map(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.ConfigMap | None:
        """The ConfigMap, or None when it does not exist."""
        ...

    async def get_service_account_annotations(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> dict[str, str]:
        """The service account's annotations (e.g. `eks.amazonaws.com/role-arn`)."""
        ...

    async def create_token(
        self,
        namespace: str,
        name: str,
        *,
        audiences: list[str],
        expiration_seconds: int = 3600,
        field: str = "metadata",
    ) -> str:
        """A service-account token minted through the TokenRequest API."""
        ...


class KubeWriter(Protocol):
    """The writes a sync and the store controller make. Names are checked as `KubeReader`'s."""

    async def create_secret(
        self, secret: model.Secret, *, field: str = "metadata", field_manager: str = ""
    ) -> model.Secret:
        """POST; an existing Secret is an `errors.ApiConflictError`. `field_manager` is recorded
        by the apiserver as the owner of the fields set (`fieldowners`)."""
        ...

    async def replace_secret(
        self, secret: model.Secret, *, field: str = "metadata", field_manager: str = ""
    ) -> model.Secret:
        """PUT with the observed resourceVersion: a concurrent change is `ApiConflictError`.
        `field_manager` becomes the owner of the fields this write changes."""
        ...

    async def delete_secret(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        """DELETE (with a resourceVersion precondition when given); absent is fine."""
        ...

    async def create_config_map(
        self, config_map: model.ConfigMap, *, field: str = "metadata", field_manager: str = ""
    ) -> model.ConfigMap:
        """POST a ConfigMap (`target.manifest`); an existing one is `ApiConflictError`."""
        ...

    async def replace_config_map(
        self, config_map: model.ConfigMap, *, field: str = "metadata", field_manager: str = ""
    ) -> model.ConfigMap:
        """PUT with the observed resourceVersion: a concurrent change is `ApiConflictError`."""
        ...

    async def delete_config_map(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        """DELETE (with a resourceVersion precondition when given); absent is fine."""
        ...

    async def patch_status(self, kind: str, namespace: str, name: str, status: Any) -> None:
        """Merge-patch the status subresource of one of our objects; absent is fine."""
        ...

    async def set_finalizers(
        self, kind: str, namespace: str, name: str, *, finalizers: list[str], resource_version: str
    ) -> None:
        """Replace the finalizers of one of our objects; absent is fine."""
        ...

    async def emit_event(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        """Record an Event about one of our objects; best effort, never raises."""
        ...


class KubeClient(KubeReader, KubeWriter, Protocol):
    """Everything the reconciler and the store controller do on the cluster (`kube.Kube`, and
    `fake_kube.FakeKube` in tests)."""


# --- generators (generators.external-secrets.io) ----------------------------------------------


class Generator(Protocol):
    """One generator kind (`Password`, `ECRAuthorizationToken`...): makes values from its spec.

    `spec` is an instance of `spec_type` (the kind's spec Struct, decoded by the caller).
    Failures are `errors.AsyncsoError`s; a generator never raises `RemoteSecretNotFoundError`.
    """

    kind: str
    spec_type: type[Any]

    async def generate(self, spec: Any, *, namespace: str, name: str) -> model_generators.Output:
        """Fresh values for a generator named `name`, used from `namespace` (whose Secrets and
        service accounts its credentials come from, also for a ClusterGenerator)."""
        ...

    async def cleanup(self, spec: Any, state: Any, *, namespace: str) -> None:
        """Undo what `generate` made, given the state it returned; idempotent."""
        ...


class GeneratorStates(Protocol):
    """ESO's GeneratorState bookkeeping after a fetch."""

    async def settle(
        self,
        owner: model.ExternalSecret,
        *,
        entries: int,
        generated: dict[int, model_generators.Generated],
        ok: bool,
    ) -> None:
        """Keep (`ok`) or undo the states that generators returned in one fetch of `owner`,
        and flag the states of its `entries` dataFrom entries that are superseded."""
        ...

    async def settle_owner(
        self,
        owner: model_generators.StateOwner,
        *,
        keys: Sequence[str],
        generated: Mapping[str, model_generators.Generated],
        ok: bool,
        latest_too: bool = False,
    ) -> None:
        """The same for any owner (a PushSecret: the one key `__pushsecret`, whose latest
        state is retired too: `latest_too`)."""
        ...


class GeneratorSource(GeneratorStates, Protocol):
    """What a sync (and PushSecret) asks of generators: `generatorRef` → values."""

    async def generate(
        self, ref: model.GeneratorRef, *, namespace: str, where: str
    ) -> model_generators.Generated:
        """Run the generator `ref` names, as seen from `namespace`; `where` is the field of the
        ref (`spec.dataFrom[0].sourceRef.generatorRef`), named in every refusal."""
        ...


class GeneratorReader(Protocol):
    """Reads generator manifests (names checked as `KubeReader`'s)."""

    async def get_generator(
        self, kind: str, namespace: str, name: str, *, field: str = "metadata"
    ) -> bytes | None:
        """The generator's JSON (`namespace` ignored for a ClusterGenerator), or None."""
        ...


class GeneratorStateWriter(Protocol):
    """Creates, changes and deletes GeneratorStates (names checked as `KubeReader`'s)."""

    async def create_generator_state(self, namespace: str, body: dict[str, Any]) -> None:
        """POST (the body carries `metadata.generateName`)."""
        ...

    async def patch_generator_state(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """Merge-patch (finalizers, `spec.garbageCollectionDeadline`); absent is fine."""
        ...

    async def delete_generator_state(self, namespace: str, name: str) -> None:
        """DELETE; absent is fine."""
        ...


# --- fan-out and push (ClusterExternalSecret, PushSecret, ClusterPushSecret) -------------------


class KubeObjects(Protocol):
    """Our custom objects as JSON (the children a ClusterExternalSecret or ClusterPushSecret
    creates) and the Secrets a PushSecret selects. `kind` is one of `apiserver.BY_KIND`; names
    are checked as `KubeReader`'s."""

    async def get_object(
        self, kind: str, namespace: str, name: str, *, field: str = "metadata"
    ) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        ...

    async def create_object(
        self, kind: str, body: dict[str, Any], *, field: str = "metadata"
    ) -> dict[str, Any]:
        """POST; an existing object is an `errors.ApiConflictError`."""
        ...

    async def replace_object(
        self, kind: str, body: dict[str, Any], *, field: str = "metadata"
    ) -> dict[str, Any]:
        """PUT with the body's resourceVersion: a concurrent change is `ApiConflictError`."""
        ...

    async def delete_object(
        self, kind: str, namespace: str, name: str, *, uid: str = "", field: str = "metadata"
    ) -> None:
        """DELETE (only that incarnation when `uid` is given); absent is fine."""
        ...

    async def list_secrets(
        self, namespace: str, *, selector: model.LabelSelector, field: str = "metadata"
    ) -> list[model.Secret]:
        """The Secrets of `namespace` that `selector` selects."""
        ...


class FanoutKube(KubeObjects, KubeWriter, Protocol):
    """What the fan-out controller does on the cluster (`kube.Kube`, `FakeKube`)."""


class PushKube(KubeObjects, KubeClient, Protocol):
    """What the PushSecret controller does on the cluster (`kube.Kube`, `FakeKube`)."""


class SecretsPusher(Protocol):
    """Writes to one store as one credential identity (the write side of `SecretsProvider`).

    Safety, for every implementation: a remote secret that does not carry ESO's managed-by mark
    is never overwritten (the push fails, saying so) nor deleted (the delete is a no-op); a push
    that fails leaves that remote secret as it was; nothing is written when the remote value is
    already the one to push. Errors are `errors.AsyncsoError`s without values.
    """

    async def push(
        self,
        entries: Sequence[model_push.PushEntry],
        *,
        update_policy: model_push.UpdatePolicy,
        verify: bool,
    ) -> list[model_push.PushResult | errors.AsyncsoError]:
        """Push every entry (entries with the same remote key land in one write); one result
        or error per entry, in order. `verify`: also check ownership and metadata (tags,
        description, policy) of remote secrets whose value is unchanged (a new spec)."""
        ...

    async def delete(
        self, locations: Sequence[model_push.RemoteLocation]
    ) -> list[errors.AsyncsoError | None]:
        """Delete what we pushed (a `property` removes that key only); one error or None per
        location. Absent or unmanaged remote secrets are left alone (ESO's semantics)."""
        ...


class PusherFactory(Protocol):
    """Builds (and caches) the pusher for a store, as seen from a PushSecret's namespace."""

    def handles(self, store: model.SecretStore) -> bool:
        """True when this factory can push to the store's `spec.provider`."""
        ...

    async def pusher_for(self, store: model.SecretStore, *, namespace: str) -> SecretsPusher:
        """The pusher for `store` used by a PushSecret in `namespace`."""
        ...
