"""The seams between the reconcile core and the outside world: Protocols only.

Why: the core (`reconciler`, `scheduler`) is written against these roles, so providers (fake,
AWS Secrets Manager, Parameter Store, later others) and the Kubernetes adapter plug in without
the core knowing them, and unit tests can pass in-memory doubles.
"""

from __future__ import annotations

from typing import Protocol

from asyncso import model


class SecretsProvider(Protocol):
    """Reads remote secrets for one store and one credential identity.

    Every method raises `errors.RemoteSecretNotFoundError` for a missing secret (the only error
    that may shrink a target Secret), and other `errors.AsyncsoError` subclasses otherwise.
    Implementations may coalesce concurrent calls (batching) and share in-flight reads.
    """

    async def get_secret(self, ref: model.RemoteRef) -> bytes:
        """The value at `ref` (with `property`/`version`/`metadataPolicy` applied)."""
        ...

    async def get_secret_map(self, ref: model.RemoteRef) -> dict[str, bytes]:
        """`dataFrom.extract`: the value at `ref` parsed as a JSON object, one key per field."""
        ...

    async def get_all_secrets(self, find: model.Find) -> dict[str, bytes]:
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
    """The reads providers need from the cluster (credentials, service-account tokens)."""

    async def read_secret(self, namespace: str, name: str) -> model.Secret | None:
        """The Secret, or None when it does not exist."""
        ...

    async def read_service_account_annotations(self, namespace: str, name: str) -> dict[str, str]:
        """The service account's annotations (e.g. `eks.amazonaws.com/role-arn`)."""
        ...

    async def create_token(
        self, namespace: str, name: str, *, audiences: list[str], expiration_seconds: int = 3600
    ) -> str:
        """A service-account token minted through the TokenRequest API."""
        ...
