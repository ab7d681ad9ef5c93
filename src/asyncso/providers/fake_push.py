"""ESO's `fake` provider accepts pushes: an in-memory remote per store, for fast controller tests
and the demo.

Why like ESO's fake: entries listed in the store's `spec.provider.fake.data` were not pushed by
us, so a push onto one is refused (ESO's fake says "key already exists"), exactly as a real
provider refuses a remote secret without the managed-by mark; what a PushSecret pushed can be
pushed again, and deleted. Unlike ESO's fake, deletes really delete, and `property` merges into
a JSON value, so deletion policies and property merges have fast tests too. Reads through the
fake `SecretsProvider` see pushed values, as in ESO (`FakePusherFactory.pushed_to`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from asyncso import errors, json_property, model, model_push, push_value

MSG_NOT_MANAGED = "secret not managed by external-secrets"


@dataclasses.dataclass
class FakeRemote:
    value: bytes
    managed: bool


class FakePusher:
    """One store's remote secrets; `writes` records (verb, key) of every change made."""

    def __init__(self) -> None:
        self.remote: dict[str, FakeRemote] = {}
        self.writes: list[tuple[str, str]] = []
        #: Make the next write of this key fail with this error (tests).
        self.fail: dict[str, errors.AsyncsoError] = {}

    def seed(self, data: Sequence[model.FakeProviderData]) -> None:
        """The store's own entries (current versions): present, not ours."""
        for key in [k for k, r in self.remote.items() if not r.managed]:
            del self.remote[key]
        for entry in data:
            if not entry.version and entry.key not in self.remote:
                self.remote[entry.key] = FakeRemote(entry.value.encode(), managed=False)

    def _write(self, verb: str, key: str) -> None:
        failure = self.fail.pop(key, None)
        if failure is not None:
            raise failure
        self.writes.append((verb, key))

    async def push(
        self,
        entries: Sequence[model_push.PushEntry],
        *,
        update_policy: model_push.UpdatePolicy,
        verify: bool,
    ) -> list[model_push.PushResult | errors.AsyncsoError]:
        by_key: dict[str, list[model_push.PushEntry]] = {}
        for entry in entries:
            by_key.setdefault(entry.remote_key, []).append(entry)
        outcome: dict[str, model_push.PushResult | errors.AsyncsoError] = {}
        for key, group in by_key.items():
            try:
                outcome[key] = self._push_key(key, group, update_policy=update_policy)
            except errors.AsyncsoError as exc:
                outcome[key] = exc
        return [outcome[entry.remote_key] for entry in entries]

    def _push_key(
        self,
        key: str,
        entries: Sequence[model_push.PushEntry],
        *,
        update_policy: model_push.UpdatePolicy,
    ) -> model_push.PushResult:
        current = self.remote.get(key)
        if current is not None and update_policy == "IfNotExists":
            return "exists"
        if current is not None and not current.managed:
            raise errors.PermanentError(MSG_NOT_MANAGED)
        value = push_value.desired(
            current.value if current else None, entries, whole=push_value.whole_as_text
        )
        if current is not None and current.value == value:
            return "unchanged"
        self._write("update" if current else "create", key)
        self.remote[key] = FakeRemote(value, managed=True)
        return "updated" if current else "created"

    async def delete(
        self, locations: Sequence[model_push.RemoteLocation]
    ) -> list[errors.AsyncsoError | None]:
        out: list[errors.AsyncsoError | None] = []
        for location in locations:
            current = self.remote.get(location.remote_key)
            try:
                if current is None or not current.managed:
                    out.append(None)
                    continue
                rest = (
                    json_property.remove(current.value, location.property)
                    if location.property
                    else None
                )
                self._write("delete" if rest is None else "update", location.remote_key)
                if rest is None:
                    del self.remote[location.remote_key]
                else:
                    current.value = rest
                out.append(None)
            except errors.AsyncsoError as exc:
                out.append(exc)
        return out


class FakePusherFactory:
    """One `FakePusher` per store, kept for the life of the operator (the remote lives here)."""

    def __init__(self) -> None:
        self.pushers: dict[tuple[str, str, str], FakePusher] = {}

    def handles(self, store: model.SecretStore) -> bool:
        return store.spec.provider.fake is not None

    def pushed_to(self, store: model.SecretStore) -> dict[str, bytes]:
        """What PushSecrets pushed to `store` and still hold (for the fake reader)."""
        pusher = self.pushers.get(_key_of(store))
        if pusher is None:
            return {}
        return {key: r.value for key, r in pusher.remote.items() if r.managed}

    async def pusher_for(self, store: model.SecretStore, *, namespace: str) -> FakePusher:
        key = _key_of(store)
        pusher = self.pushers.setdefault(key, FakePusher())
        fake = store.spec.provider.fake
        pusher.seed(fake.data if fake is not None else [])
        return pusher


def _key_of(store: model.SecretStore) -> tuple[str, str, str]:
    return (store.kind, store.metadata.namespace, store.metadata.name)
