"""ESO's `fake` provider: values listed in the store spec. For tests, demos and benchmarks.

Why: it lets the whole operator run end to end (watchers, scheduler, reconcile, status) with no
cloud, exactly like ESO's own fake provider, and makes provider failures easy to stage
(`spec.provider.fake.data` with a key that is absent → remote secret not found).
"""

from __future__ import annotations

from asyncso import errors, keymapping, model


class FakeSecretsProvider:
    """Reads from a snapshot of a store's `spec.provider.fake.data`."""

    def __init__(self, data: list[model.FakeProviderData]) -> None:
        self._entries = {(entry.key, entry.version): entry.value for entry in data}

    async def read(self, ref: model.RemoteRef) -> bytes:
        found = self._entries.get((ref.key, ref.version))
        if found is None:
            raise errors.RemoteSecretNotFoundError(ref.key)
        return found.encode()

    async def find(self, find: model.Find) -> dict[str, bytes]:
        pattern = keymapping.find_pattern(find)
        out: dict[str, bytes] = {}
        for (key, version), value in self._entries.items():
            if version:
                continue
            if find.path and not key.startswith(find.path):
                continue
            if pattern is not None and not pattern.search(key):
                continue
            out[key] = value.encode()
        return out


class FakeProviderFactory:
    """Builds a `FakeSecretsProvider` per call: cheap, and store edits apply at once."""

    def handles(self, store: model.SecretStore) -> bool:
        return store.spec.provider.fake is not None

    async def validate(self, store: model.SecretStore) -> None:
        fake = store.spec.provider.fake
        if fake is None:
            raise errors.StoreConfigError("spec.provider.fake: missing")
        seen: set[tuple[str, str]] = set()
        for index, entry in enumerate(fake.data):
            if not entry.key:
                raise errors.StoreConfigError(f"spec.provider.fake.data[{index}].key: empty")
            if (entry.key, entry.version) in seen:
                raise errors.StoreConfigError(
                    f"spec.provider.fake.data[{index}]: duplicate key {entry.key!r}"
                )
            seen.add((entry.key, entry.version))

    async def provider_for(
        self, store: model.SecretStore, *, namespace: str
    ) -> FakeSecretsProvider:
        fake = store.spec.provider.fake
        return FakeSecretsProvider(fake.data if fake is not None else [])

    async def close(self) -> None:
        return None
