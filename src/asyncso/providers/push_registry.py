"""Pusher factories behind `ports.PusherFactory`, chosen by the store's `spec.provider`.

Why a registry apart from `ProviderRegistry`: not every provider that reads can write (ESO's
capabilities: ReadOnly / WriteOnly / ReadWrite), and the PushSecret controller asks only "who
pushes to this store?", never importing a backend.
"""

from __future__ import annotations

from collections.abc import Sequence

from asyncso import errors, model, ports

MSG_NO_PUSHER = (
    "spec.provider: this store cannot be pushed to (asyncso pushes to aws and fake stores)"
)


class PusherRegistry:
    def __init__(self, factories: Sequence[ports.PusherFactory] = ()) -> None:
        self._factories = list(factories)

    def add(self, factory: ports.PusherFactory) -> None:
        self._factories.append(factory)

    def factory_for(self, store: model.SecretStore) -> ports.PusherFactory:
        for factory in self._factories:
            if factory.handles(store):
                return factory
        raise errors.InvalidSpecError(MSG_NO_PUSHER)

    async def pusher_for(self, store: model.SecretStore, *, namespace: str) -> ports.SecretsPusher:
        return await self.factory_for(store).pusher_for(store, namespace=namespace)
