"""ESO's `fake` provider: values listed in the store spec. For tests, demos and benchmarks.

Why: it lets the whole operator run end to end (watchers, scheduler, reconcile, status) with no
cloud, exactly like ESO's own fake provider, and makes provider failures easy to stage
(`spec.provider.fake.data` with a key that is absent → remote secret not found).
"""

from __future__ import annotations

import re2

from asyncso import errors, model, property_path


class FakeSecretsProvider:
    """Reads from a snapshot of a store's `spec.provider.fake.data`."""

    def __init__(self, data: list[model.FakeProviderData]) -> None:
        self._entries = {(entry.key, entry.version): entry.value for entry in data}

    def _value(self, ref: model.RemoteRef) -> str:
        found = self._entries.get((ref.key, ref.version))
        if found is None:
            raise errors.RemoteSecretNotFoundError(ref.key)
        return found

    async def get_secret(self, ref: model.RemoteRef) -> bytes:
        value = self._value(ref).encode()
        if not ref.property:
            return value
        return property_path.select(value, ref.property, key=ref.key)

    async def get_secret_map(self, ref: model.RemoteRef) -> dict[str, bytes]:
        value = self._value(ref).encode()
        if ref.property:
            value = property_path.select(value, ref.property, key=ref.key)
        return property_path.as_map(value, key=ref.key)

    async def get_all_secrets(self, find: model.Find) -> dict[str, bytes]:
        pattern = find.name.regexp if find.name is not None else ""
        try:
            compiled = re2.compile(pattern) if pattern else None
        except re2.error as exc:
            raise errors.InvalidSpecError(f"find.name.regexp: {exc}") from None
        out: dict[str, bytes] = {}
        for (key, version), value in self._entries.items():
            if version:
                continue
            if find.path and not key.startswith(find.path):
                continue
            if compiled is not None and not compiled.search(key):
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
            raise errors.InvalidSpecError("spec.provider.fake: missing")
        seen: set[tuple[str, str]] = set()
        for index, entry in enumerate(fake.data):
            if not entry.key:
                raise errors.InvalidSpecError(f"spec.provider.fake.data[{index}].key: empty")
            if (entry.key, entry.version) in seen:
                raise errors.InvalidSpecError(
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
