"""`AwsPusherFactory`: the Secrets Manager / Parameter Store pusher for a store, built on the
reader the read side already keeps for the same identity.

Why on the readers: the reader of an identity (from `AwsProviderFactory`) owns its client,
credentials, prefix and read batcher; a pusher built on it shares all of them, so reads that
compare before writing batch with every other read of that identity, and no second set of
credentials is fetched. Per-secret locks and the comparison batcher (`aws_writer.Shared`) are
kept per reader, for the life of the operator.
"""

from __future__ import annotations

from asyncso import errors, model, ports, providers
from asyncso.providers import (
    aws_parameterstore,
    aws_parameterstore_push,
    aws_secretsmanager,
    aws_secretsmanager_push,
    aws_writer,
    push_registry,
)

Pusher = aws_secretsmanager_push.SecretsManagerPusher | aws_parameterstore_push.ParameterStorePusher


class AwsPusherFactory:
    def __init__(self, readers: providers.ProviderRegistry, kube: ports.KubeReader) -> None:
        self.readers = readers
        self.kube = kube
        self._shared: dict[int, tuple[object, aws_writer.Shared]] = {}

    def handles(self, store: model.SecretStore) -> bool:
        return store.spec.provider.aws is not None

    async def pusher_for(self, store: model.SecretStore, *, namespace: str) -> Pusher:
        reader = await self.readers.factory_for(store).provider_for(store, namespace=namespace)
        aws = store.spec.provider.aws
        if isinstance(reader, aws_secretsmanager.SecretsManager):
            return aws_secretsmanager_push.SecretsManagerPusher(
                reader,
                shared=self._shared_of(reader),
                kube=self.kube,
                namespace=namespace,
                options=aws.secrets_manager if aws is not None else None,
            )
        if isinstance(reader, aws_parameterstore.ParameterStore):
            return aws_parameterstore_push.ParameterStorePusher(
                reader, shared=self._shared_of(reader), kube=self.kube, namespace=namespace
            )
        raise errors.InvalidSpecError(push_registry.MSG_NO_PUSHER)

    def _shared_of(self, reader: aws_writer.Reader) -> aws_writer.Shared:
        _, shared = self._shared.setdefault(id(reader), (reader, aws_writer.Shared(reader)))
        return shared
