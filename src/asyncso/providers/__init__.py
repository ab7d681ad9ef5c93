"""Provider factories behind `ports.ProviderFactory`, chosen by the store's `spec.provider`.

Why a registry: the reconciler asks "who serves this store?" and never imports a backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from asyncso import errors, model, ports

T = TypeVar("T")


class ProviderRegistry:
    """The factories this operator was built with, in order of preference."""

    def __init__(self, factories: Sequence[ports.ProviderFactory]) -> None:
        self._factories = list(factories)
        #: Where provider notices go (the store controller sets it while it runs).
        self.on_note: Callable[[tuple[str, str, str], str], None] | None = None
        #: Who hears that a store's provider was throttled (the operator's provider health).
        self.on_throttled: Callable[[tuple[str, str, str]], None] | None = None
        #: Where the readers of remote values that changed go (the operator wakes them).
        self.on_change: Callable[[set[model.Key]], None] | None = None

    def add(self, factory: ports.ProviderFactory) -> None:
        self._factories.append(factory)

    def first(self, kind: type[T]) -> T | None:
        """The first factory of class `kind` (e.g. the AWS factory, whose client cache the AWS
        generators share)."""
        for factory in self._factories:
            if isinstance(factory, kind):
                return factory
        return None

    def note(self, store: tuple[str, str, str], message: str) -> None:
        """A provider fact worth saying once on the store (kind, namespace, name)."""
        if self.on_note is not None:
            self.on_note(store, message)

    def throttled(self, store: tuple[str, str, str]) -> None:
        """The provider of a store (kind, namespace, name) was told to slow down, perhaps
        inside a call it retries: a sync waiting on it may have to say so."""
        if self.on_throttled is not None:
            self.on_throttled(store)

    def changed(self, readers: set[model.Key]) -> None:
        """These ExternalSecrets read a remote value that changed: sync them now."""
        if self.on_change is not None:
            self.on_change(readers)

    def factory_for(self, store: model.SecretStore) -> ports.ProviderFactory:
        for factory in self._factories:
            if factory.handles(store):
                return factory
        raise errors.InvalidSpecError(
            "spec.provider: no supported provider is configured (asyncso supports aws and fake)"
        )

    async def close(self) -> None:
        for factory in self._factories:
            await factory.close()
