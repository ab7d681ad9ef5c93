"""ESO's `fake` provider: values listed in the store spec. For tests, demos and benchmarks.

Why: it lets the whole operator run end to end (watchers, scheduler, reconcile, status) with no
cloud, exactly like ESO's own fake provider, and makes provider failures easy to stage
(`spec.provider.fake.data` with a key that is absent → remote secret not found;
`validationResult` → a store whose validation fails or is unknown).

A port of ESO's `providers/v1/fake`: `find` works by `name` only (ESO's "unsupported find
operator" otherwise; `path` and `tags` are not looked at), and returns each matching key's
latest version (versions compare as strings, an unversioned entry first). As in ESO, what a
PushSecret pushed to a fake store is read back from it (`pushed`, the pushers' remote; an entry
of the store's spec wins over a pushed one of the same key). Unlike ESO, whose pushed values are
shared by every fake store of the same name, they belong to one store (kind, namespace, name).
"""

from __future__ import annotations

from collections.abc import Mapping

from asyncso import errors, keymapping, model
from asyncso.providers import fake_push

#: ESO's `ValidationResult` values.
VALIDATION_READY, VALIDATION_UNKNOWN, VALIDATION_ERROR = 0, 1, 2
MSG_FIND_BY_NAME = "unsupported find operator: the fake provider finds by name only (find.name)"
MSG_UNABLE_TO_VALIDATE = "unable to validate store"


class FakeSecretsProvider:
    """Reads from a snapshot of a store's `spec.provider.fake.data` (a later entry with the
    same key and version wins, as in ESO's map) and of the values pushed to it (unversioned)."""

    def __init__(
        self, data: list[model.FakeProviderData], pushed: Mapping[str, bytes] | None = None
    ) -> None:
        self._entries: dict[tuple[str, str], bytes] = {
            (key, ""): value for key, value in (pushed or {}).items()
        }
        self._entries.update({(entry.key, entry.version): entry.value.encode() for entry in data})

    async def read(self, ref: model.RemoteRef) -> bytes:
        found = self._entries.get((ref.key, ref.version))
        if found is None:
            raise errors.RemoteSecretNotFoundError(ref.key)
        return found

    async def find(self, find: model.Find) -> dict[str, bytes]:
        if find.name is None:
            raise errors.InvalidSpecError(MSG_FIND_BY_NAME)
        pattern = keymapping.find_pattern(model.Find(name=find.name))
        latest: dict[str, tuple[str, bytes]] = {}
        for (key, version), value in self._entries.items():
            if pattern is not None and not pattern.search(key):
                continue
            if key not in latest or latest[key][0] < version:
                latest[key] = (version, value)
        return {key: value for key, (_, value) in latest.items()}


class FakeProviderFactory:
    """Builds a `FakeSecretsProvider` per call: cheap, and store edits apply at once.
    `pushed`: the PushSecrets' fake remote, read back as ESO's fake does (None: spec only)."""

    def __init__(self, pushed: fake_push.FakePusherFactory | None = None) -> None:
        self.pushed = pushed

    def handles(self, store: model.SecretStore) -> bool:
        return store.spec.provider.fake is not None

    async def validate(self, store: model.SecretStore) -> None:
        """ESO's `ValidateStore` (every entry has a key and a value), then `Validate`
        (`validationResult`: 1 Unknown keeps the store usable, anything else but 0 fails)."""
        fake = store.spec.provider.fake
        if fake is None:
            raise errors.StoreConfigError("spec.provider.fake: missing")
        for index, entry in enumerate(fake.data):
            if not entry.key:
                raise errors.StoreConfigError(f"spec.provider.fake.data[{index}].key: empty")
            if not entry.value:
                raise errors.StoreConfigError(
                    f"spec.provider.fake.data[{index}].value: at least one value must be set"
                )
        result = fake.validation_result
        if result is None or result == VALIDATION_READY:
            return
        if result == VALIDATION_UNKNOWN:
            raise errors.ValidationUnknownError(MSG_UNABLE_TO_VALIDATE)
        raise errors.StoreConfigError(MSG_UNABLE_TO_VALIDATE)

    async def provider_for(
        self, store: model.SecretStore, *, namespace: str
    ) -> FakeSecretsProvider:
        fake = store.spec.provider.fake
        pushed = self.pushed.pushed_to(store) if self.pushed is not None else {}
        return FakeSecretsProvider(fake.data if fake is not None else [], pushed)

    async def close(self) -> None:
        return None
