"""Provider factories behind `ports.ProviderFactory`, chosen by the store's `spec.provider`.

Why a registry: the reconciler asks "who serves this store?" and never imports a backend.
"""

from __future__ import annotations

from collections.abc import Sequence

from asyncso import errors, model, ports


class ProviderRegistry:
    """The factories this operator was built with, in order of preference."""

    def __init__(self, factories: Sequence[ports.ProviderFactory]) -> None:
        self._factories = list(factories)

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
