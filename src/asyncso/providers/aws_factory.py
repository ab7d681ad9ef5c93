"""`AwsProviderFactory`: one provider (and one aiobotocore client) per credential identity.

Why cached per identity: clients, connection pools, assumed-role credentials and the batchers
are shared by every ExternalSecret that reads through the same principal, for the life of the
operator; they are never shared across identities (stores, role chains, external IDs, session
tags, source credentials), so one tenant cannot read through another's credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from asyncso import errors, model, ports, settings
from asyncso.providers import (
    aws_auth,
    aws_certificatemanager,
    aws_errors,
    aws_parameterstore,
    aws_secretsmanager,
)

log = logging.getLogger("asyncso.providers.aws")

Provider = (
    aws_secretsmanager.SecretsManager
    | aws_parameterstore.ParameterStore
    | aws_certificatemanager.CertificateManager
)
#: Identities remembered (per store version and namespace) before the memo starts over.
IDENTITIES_KEPT = 4096
#: The botocore client name for each `spec.provider.aws.service`.
SERVICES = {
    "SecretsManager": "secretsmanager",
    "ParameterStore": "ssm",
    "CertificateManager": "acm",
}


class AwsProviderFactory:
    def __init__(
        self,
        kube: ports.KubeReader,
        config: settings.Settings,
        *,
        on_note: Callable[[tuple[str, str, str], str], None] | None = None,
        on_throttled: Callable[[tuple[str, str, str]], None] | None = None,
        on_change: Callable[[set[model.Key]], None] | None = None,
    ) -> None:
        self.kube = kube
        self.on_note = on_note
        self.on_throttled = on_throttled
        #: Readers of remote values that changed (the operator wakes them).
        self.on_change = on_change
        self.settings = config
        self._providers: dict[tuple[aws_auth.Identity, str], Provider] = {}
        self._clients: dict[tuple[aws_auth.Identity, str], Any] = {}
        self._client_lock = asyncio.Lock()
        self._exits = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()
        self._noted: set[tuple[aws_auth.Identity, str]] = set()
        self._identities: dict[tuple[str, ...], aws_auth.Identity] = {}

    def handles(self, store: model.SecretStore) -> bool:
        return store.spec.provider.aws is not None

    async def validate(self, store: model.SecretStore) -> None:
        aws = store.spec.provider.aws
        if aws is None:
            raise errors.StoreConfigError("spec.provider.aws: missing")
        identity = aws_auth.identity_of(store, es_namespace=store.metadata.namespace or "default")
        if store.kind == "SecretStore":
            for ref in identity.keys:
                await aws_auth.read_key(self.kube, ref)

    async def provider_for(self, store: model.SecretStore, *, namespace: str) -> Provider:
        aws = store.spec.provider.aws
        if aws is None:
            raise errors.StoreConfigError("spec.provider.aws: missing")
        identity = self._identity_of(store, namespace)
        service = SERVICES[aws.service]
        key = (identity, service)
        provider = self._providers.get(key)
        if provider is None:
            async with self._lock:
                provider = self._providers.get(key)
                if provider is None:
                    provider = await self._build(identity, service, prefix=aws.prefix)
                    self._providers[key] = provider
        if isinstance(provider, aws_secretsmanager.SecretsManager):
            mode = store.metadata.annotations.get(aws_secretsmanager.ANNOTATION_CHANGE_DETECTION)
            note = provider.detect_changes(mode or "")
            if note is not None and note not in provider.notes:
                provider.notes.append(note)
                self._noted.discard(key)
        if provider.notes and key not in self._noted:
            self._noted.add(key)
            for note in provider.notes:
                log.warning(note, extra={"store": "/".join(identity.store[1:])})
                if self.on_note is not None:
                    self.on_note(identity.store, note)
        return provider

    async def client_for(self, identity: aws_auth.Identity, service: str) -> Any:
        """The aiobotocore client of `service` for `identity`, made once and kept (with its
        refreshing credentials) for the life of the factory. Generators (ECR, STS) take their
        clients here too, so they share this cache and its lifetime."""
        key = (identity, service)
        client = self._clients.get(key)
        if client is not None:
            return client
        async with self._client_lock:
            client = self._clients.get(key)
            if client is None:
                timeout = self.settings.provider_timeout
                chain = aws_auth.CredentialChain(identity, kube=self.kube, timeout=timeout)
                client = await self._exits.enter_async_context(
                    chain.session.create_client(
                        service,
                        region_name=identity.region,
                        endpoint_url=aws_auth.endpoint_for(service),
                        config=aws_auth.client_config(timeout),
                    )
                )
                self._clients[key] = client
        return client

    def _identity_of(self, store: model.SecretStore, namespace: str) -> aws_auth.Identity:
        """`aws_auth.identity_of`, remembered per store version and namespace: every sync asks,
        and building it (names checked, tags, role chain) was 4 % of the operator's CPU at
        10,000 ExternalSecrets."""
        meta = store.metadata
        if not meta.uid or not meta.resource_version:
            # Not from the apiserver (a test, `asyncso render`): no version tells specs apart.
            return aws_auth.identity_of(store, es_namespace=namespace)
        key = (store.kind, meta.namespace, meta.name, meta.uid, meta.resource_version, namespace)
        found = self._identities.get(key)
        if found is None:
            if len(self._identities) >= IDENTITIES_KEPT:
                self._identities.clear()
            found = self._identities[key] = aws_auth.identity_of(store, es_namespace=namespace)
        return found

    async def _build(self, identity: aws_auth.Identity, service: str, *, prefix: str) -> Provider:
        client = await self.client_for(identity, service)
        if self.on_throttled is not None:
            on_throttled, store = self.on_throttled, identity.store
            aws_errors.observe_throttling(client, lambda: on_throttled(store))
        window = self.settings.provider_batch_window
        rate = self.settings.provider_rate_limit
        shared: dict[str, Any] = {
            "cache_bytes": self.settings.provider_cache_max_bytes,
            "on_change": self._changed,
        }
        if service == "secretsmanager":
            return aws_secretsmanager.SecretsManager(
                client, prefix=prefix, batch_window=window, rate_limit=rate, **shared
            )
        if service == "acm":
            return aws_certificatemanager.CertificateManager(client, rate_limit=rate)
        return aws_parameterstore.ParameterStore(
            client, prefix=prefix, batch_window=window, rate_limit=rate, **shared
        )

    def _changed(self, readers: set[model.Key]) -> None:
        if self.on_change is not None:
            self.on_change(readers)

    async def close(self) -> None:
        for provider in self._providers.values():
            await provider.close()
        await self._exits.aclose()
        self._providers.clear()
        self._clients.clear()
