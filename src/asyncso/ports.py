"""The seams between the reconcile core and the outside world: Protocols only.

Why: the core (`reconciler`, `scheduler`) is written against these roles, so providers (fake,
AWS Secrets Manager, Parameter Store, later others) and the Kubernetes adapter plug in without
the core knowing them, and unit tests can pass in-memory doubles.
"""

from __future__ import annotations

from typing import Any, Protocol

from asyncso import model, model_generators


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

    async def create_secret(self, secret: model.Secret, *, field: str = "metadata") -> model.Secret:
        """POST; an existing Secret is an `errors.ApiConflictError`."""
        ...

    async def replace_secret(
        self, secret: model.Secret, *, field: str = "metadata"
    ) -> model.Secret:
        """PUT with the observed resourceVersion: a concurrent change is `ApiConflictError`."""
        ...

    async def delete_secret(
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
