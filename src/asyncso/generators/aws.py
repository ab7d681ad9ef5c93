"""What the AWS generators (ECR, STS) share: their credential identity, and the client cache.

Why through the store providers' machinery: a generator's `region`, `auth` (`secretRef`, `jwt`)
and `role` mean what they mean on an AWS SecretStore, so they are presented to `aws_auth` as a
store of the generator's kind in the ExternalSecret's namespace (ESO resolves a generator's
credentials there too, ClusterGenerators included). Every name is checked and every credential
Secret must be in that namespace; clients and refreshing credentials come from the same cache as
the providers' (`AwsProviderFactory.client_for`), and calls are counted in the same metric.
"""

from __future__ import annotations

from typing import Any, Protocol

from asyncso import model, model_generators
from asyncso.providers import aws_auth

#: Where the AWS settings sit in a generator manifest, for messages.
AT = "spec"
#: The specs of the AWS generators: each has `region`, `auth` and `role`.
AwsSpec = model_generators.ECRAuthorizationTokenSpec | model_generators.STSSessionTokenSpec


class AwsClients(Protocol):
    """A cache of aiobotocore clients by credential identity (`AwsProviderFactory`)."""

    async def client_for(self, identity: aws_auth.Identity, service: str) -> Any: ...


class EcrClient(Protocol):
    async def get_authorization_token(self, **params: Any) -> dict[str, Any]: ...


class StsClient(Protocol):
    async def get_session_token(self, **params: Any) -> dict[str, Any]: ...


def identity(kind: str, spec: AwsSpec, *, name: str, namespace: str) -> aws_auth.Identity:
    """The credential identity of generator `kind`/`name` used from `namespace`."""
    aws = model.AwsProvider(
        service="SecretsManager", region=spec.region, auth=spec.auth, role=spec.role
    )
    store = model.SecretStore(
        metadata=model.ObjectMeta(name=name, namespace=namespace),
        spec=model.SecretStoreSpec(provider=model.Provider(aws=aws)),
        kind=kind,
    )
    return aws_auth.identity_of(store, es_namespace=namespace, at=AT)
