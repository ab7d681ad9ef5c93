"""`FakeKube`: an in-memory `ports.KubeClient` with the apiserver's rules that syncs rely on.

Why beside the port: the reconciler and the store controller are table-tested without a cluster
(conflicts, finalizers, ownership, policies, "same failure, no status write"), and those tests
must see what a real apiserver would do: resourceVersions that move on every write, 409 on a
stale PUT or an existing POST, absent objects as 404, and names checked by the same path builder
(`apiserver.path`) as the real adapter, so a name such as `../x` is refused the same way.
Integration tests still prove `kube.Kube` on the real wire.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import msgspec

from asyncso import apiserver, errors, model


@dataclasses.dataclass(frozen=True)
class Event:
    kind: str
    namespace: str
    name: str
    type: str
    reason: str
    message: str


class FakeKube:
    """Objects by (namespace, name); every call is recorded in `calls` as (verb, ns, name)."""

    def __init__(self) -> None:
        self.secrets: dict[model.Key, model.Secret] = {}
        self.config_maps: dict[model.Key, model.ConfigMap] = {}
        self.service_accounts: dict[model.Key, dict[str, str]] = {}
        self.statuses: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.finalizers: dict[tuple[str, str, str], list[str]] = {}
        self.events: list[Event] = []
        self.tokens: list[model.Key] = []
        self.calls: list[tuple[str, str, str]] = []
        #: Raise this on the next call of that verb (e.g. {"patch_status": ApiUnavailableError}).
        self.fail_next: dict[str, errors.AsyncsoError] = {}
        self._versions = itertools.count(100)

    def _enter(
        self, verb: str, resource: apiserver.Resource, ns: str, name: str, field: str
    ) -> None:
        apiserver.path(resource, namespace=ns, name=name, field=field)
        self.calls.append((verb, ns, name))
        failure = self.fail_next.pop(verb, None)
        if failure is not None:
            raise failure

    def _stored(self, secret: model.Secret) -> model.Secret:
        meta = msgspec.structs.replace(
            secret.metadata,
            resource_version=str(next(self._versions)),
            uid=secret.metadata.uid or f"uid-{secret.metadata.name}",
        )
        stored = msgspec.structs.replace(secret, metadata=meta)
        self.secrets[(meta.namespace, meta.name)] = stored
        return stored

    # --- seeding (tests) -----------------------------------------------------------------------

    def put_secret(self, secret: model.Secret) -> model.Secret:
        """Store a Secret as if someone else had created it."""
        return self._stored(secret)

    # --- ports.KubeReader ----------------------------------------------------------------------

    async def get_secret(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.Secret | None:
        self._enter("get_secret", apiserver.SECRETS, namespace, name, field)
        return self.secrets.get((namespace, name))

    async def get_config_map(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.ConfigMap | None:
        self._enter("get_config_map", apiserver.CONFIGMAPS, namespace, name, field)
        return self.config_maps.get((namespace, name))

    async def get_service_account_annotations(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> dict[str, str]:
        self._enter("get_service_account", apiserver.SERVICEACCOUNTS, namespace, name, field)
        found = self.service_accounts.get((namespace, name))
        if found is None:
            raise errors.service_account_not_found(field=field, namespace=namespace, name=name)
        return dict(found)

    async def create_token(
        self,
        namespace: str,
        name: str,
        *,
        audiences: list[str],
        expiration_seconds: int = 3600,
        field: str = "metadata",
    ) -> str:
        self._enter("create_token", apiserver.SERVICEACCOUNTS, namespace, name, field)
        if (namespace, name) not in self.service_accounts:
            raise errors.service_account_not_found(field=field, namespace=namespace, name=name)
        self.tokens.append((namespace, name))
        return f"token-for-{namespace}-{name}"

    # --- ports.KubeWriter ----------------------------------------------------------------------

    async def create_secret(self, secret: model.Secret, *, field: str = "metadata") -> model.Secret:
        meta = secret.metadata
        self._enter("create_secret", apiserver.SECRETS, meta.namespace, meta.name, field)
        if (meta.namespace, meta.name) in self.secrets:
            raise errors.api_error(409, f'secrets "{meta.name}" already exists', reason="Conflict")
        return self._stored(secret)

    async def replace_secret(
        self, secret: model.Secret, *, field: str = "metadata"
    ) -> model.Secret:
        meta = secret.metadata
        self._enter("replace_secret", apiserver.SECRETS, meta.namespace, meta.name, field)
        current = self.secrets.get((meta.namespace, meta.name))
        if current is None:
            raise errors.api_error(404, f'secrets "{meta.name}" not found', reason="NotFound")
        stale = meta.resource_version and meta.resource_version != current.metadata.resource_version
        if stale:
            raise errors.api_error(409, "the object has been modified", reason="Conflict")
        return self._stored(secret)

    async def delete_secret(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        self._enter("delete_secret", apiserver.SECRETS, namespace, name, field)
        current = self.secrets.get((namespace, name))
        if current is None:
            return
        if resource_version and resource_version != current.metadata.resource_version:
            raise errors.api_error(409, "precondition failed", reason="Conflict")
        del self.secrets[(namespace, name)]

    async def patch_status(self, kind: str, namespace: str, name: str, status: Any) -> None:
        self._enter("patch_status", apiserver.BY_KIND[kind], namespace, name, "metadata")
        key = (kind, namespace, name)
        self.statuses[key] = {**self.statuses.get(key, {}), **status}

    async def set_finalizers(
        self, kind: str, namespace: str, name: str, *, finalizers: list[str], resource_version: str
    ) -> None:
        self._enter("set_finalizers", apiserver.BY_KIND[kind], namespace, name, "metadata")
        self.finalizers[(kind, namespace, name)] = list(finalizers)

    async def emit_event(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        self.calls.append(("emit_event", involved.namespace, involved.name))
        self.events.append(Event(kind, involved.namespace, involved.name, type_, reason, message))

    # --- reading back (tests) ------------------------------------------------------------------

    def ready(self, kind: str, namespace: str, name: str) -> tuple[str, str, str] | None:
        """(status, reason, message) of the Ready condition last written, if any."""
        for condition in self.statuses.get((kind, namespace, name), {}).get("conditions", []):
            if condition.get("type") == "Ready":
                return (
                    condition["status"],
                    condition.get("reason", ""),
                    condition.get("message", ""),
                )
        return None

    def writes(self) -> list[tuple[str, str, str]]:
        """The calls that changed something (no reads, no events)."""
        return [c for c in self.calls if not c[0].startswith("get_") and c[0] != "emit_event"]
