"""The Kubernetes adapter on kr8s: typed reads and writes the reconciler and providers need.

Why our own thin layer over kr8s's request API rather than its object classes: we decode with
msgspec into our Structs (fast, typed, validated), control exactly which verbs hit the
apiserver (one GET and at most one write per sync), and map HTTP failures onto our error tree
(`ConflictError` for 409, transient `KubeUnavailableError` for 5xx and timeouts).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import kr8s
import kr8s.asyncio
import msgspec

from asyncso import errors, model, timing

log = logging.getLogger("asyncso.kube")

EVENT_COMPONENT = "external-secrets"
_secret_decoder = msgspec.json.Decoder(model.Secret)
_configmap_decoder = msgspec.json.Decoder(model.ConfigMap)
_encoder = msgspec.json.Encoder()


class KubeUnavailableError(errors.TransientError):
    """The apiserver did not answer usefully (timeout, connection, 5xx, 429)."""


class KubeRequestError(errors.PermanentError):
    """The apiserver refused the request (400, 403, 422...); the message says why."""


class _Meta(msgspec.Struct):
    annotations: dict[str, str] = {}


class _Named(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


class _TokenStatus(msgspec.Struct):
    token: str


class _TokenRequest(msgspec.Struct):
    status: _TokenStatus


def _secret_body(secret: model.Secret) -> bytes:
    """msgspec omits defaults; the apiserver wants `apiVersion`/`kind` spelled out."""
    body = msgspec.to_builtins(secret)
    body["apiVersion"] = "v1"
    body["kind"] = "Secret"
    body["type"] = secret.type
    return _encoder.encode(body)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return errors.redact(body["message"])
    return f"HTTP {response.status_code}"


class Kube:
    """Typed apiserver access for one operator process (one kr8s client, one HTTP pool)."""

    def __init__(self, api: kr8s.asyncio.Api, *, max_in_flight: int = 16) -> None:
        self.api = api
        self._gate = asyncio.Semaphore(max(1, max_in_flight))

    @classmethod
    async def connect(cls, kubeconfig: str | None = None, *, max_in_flight: int = 16) -> Kube:
        """A private kr8s client (not kr8s's per-thread shared one), so closing it is safe."""
        api = await kr8s.asyncio.Api(kubeconfig=kubeconfig, bypass_factory=True)
        return cls(api, max_in_flight=max_in_flight)

    async def close(self) -> None:
        session = getattr(self.api, "_session", None)
        if session is not None:
            await session.aclose()

    @asynccontextmanager
    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> AsyncIterator[httpx.Response]:
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["content"] = body
            kwargs["headers"] = {"Content-Type": content_type}
        if params:
            kwargs["params"] = params
        try:
            async with (
                self._gate,
                self.api.call_api(
                    method, version="", base=path, url="", raise_for_status=False, **kwargs
                ) as response,
            ):
                if response.status_code >= 500 or response.status_code == 429:
                    raise KubeUnavailableError(f"{method} {path}: {_message(response)}")
                yield response
        except (httpx.TransportError, kr8s.APITimeoutError) as exc:
            raise KubeUnavailableError(f"{method} {path}: {type(exc).__name__}") from None

    @staticmethod
    def _check(response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 300:
            return
        if status == 409:
            raise errors.ConflictError(f"{what}: {_message(response)}")
        if status in (401, 403):
            raise errors.AccessDeniedError(f"{what}: {_message(response)}")
        raise KubeRequestError(f"{what}: {_message(response)}")

    # --- Secrets -------------------------------------------------------------------------------

    @staticmethod
    def _secret_path(namespace: str, name: str = "") -> str:
        base = f"/api/v1/namespaces/{namespace}/secrets"
        return f"{base}/{name}" if name else base

    async def get_secret(self, namespace: str, name: str) -> model.Secret | None:
        async with self._call("GET", self._secret_path(namespace, name)) as response:
            if response.status_code == 404:
                return None
            self._check(response, f"get Secret {namespace}/{name}")
            return _secret_decoder.decode(response.content)

    async def create_secret(self, secret: model.Secret) -> model.Secret:
        meta = secret.metadata
        body = _secret_body(secret)
        async with self._call("POST", self._secret_path(meta.namespace), body=body) as response:
            self._check(response, f"create Secret {meta.namespace}/{meta.name}")
            return _secret_decoder.decode(response.content)

    async def replace_secret(self, secret: model.Secret) -> model.Secret:
        """PUT with the observed resourceVersion: a concurrent change makes it a ConflictError."""
        meta = secret.metadata
        body = _secret_body(secret)
        path = self._secret_path(meta.namespace, meta.name)
        async with self._call("PUT", path, body=body) as response:
            self._check(response, f"update Secret {meta.namespace}/{meta.name}")
            return _secret_decoder.decode(response.content)

    async def delete_secret(self, namespace: str, name: str, *, resource_version: str = "") -> None:
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        body = json.dumps(options).encode()
        async with self._call("DELETE", self._secret_path(namespace, name), body=body) as response:
            if response.status_code == 404:
                return
            self._check(response, f"delete Secret {namespace}/{name}")

    # --- custom resources ----------------------------------------------------------------------

    @staticmethod
    def object_path(kind: str, namespace: str, name: str) -> str:
        plural = {
            "ExternalSecret": "externalsecrets",
            "SecretStore": "secretstores",
            "ClusterSecretStore": "clustersecretstores",
        }[kind]
        base = f"/apis/{model.GROUP}/{model.VERSION}"
        if kind == "ClusterSecretStore":
            return f"{base}/{plural}/{name}"
        return f"{base}/namespaces/{namespace}/{plural}/{name}"

    async def patch_status(self, kind: str, namespace: str, name: str, status: Any) -> None:
        """Merge-patch the status subresource (conditions are replaced as a whole list)."""
        body = _encoder.encode({"status": status})
        path = self.object_path(kind, namespace, name) + "/status"
        async with self._call(
            "PATCH", path, body=body, content_type="application/merge-patch+json"
        ) as response:
            if response.status_code == 404:
                return
            self._check(response, f"patch status of {kind} {namespace}/{name}")

    async def set_finalizers(
        self, kind: str, namespace: str, name: str, *, finalizers: list[str], resource_version: str
    ) -> None:
        body = _encoder.encode(
            {"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}}
        )
        path = self.object_path(kind, namespace, name)
        async with self._call(
            "PATCH", path, body=body, content_type="application/merge-patch+json"
        ) as response:
            if response.status_code == 404:
                return
            self._check(response, f"update finalizers of {kind} {namespace}/{name}")

    # --- events --------------------------------------------------------------------------------

    async def emit_event(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        """Record a core/v1 Event. Best effort: an event failure never fails a sync."""
        now = timing.format_time(time.time())
        namespace = involved.namespace or "default"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{involved.name}.{uuid.uuid4().hex[:16]}",
                "namespace": namespace,
            },
            "involvedObject": {
                "apiVersion": model.API_VERSION,
                "kind": kind,
                "name": involved.name,
                "namespace": involved.namespace,
                "uid": involved.uid,
                "resourceVersion": involved.resource_version,
            },
            "reason": reason,
            "message": message[:1024],
            "type": type_,
            "source": {"component": EVENT_COMPONENT},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            async with self._call(
                "POST", f"/api/v1/namespaces/{namespace}/events", body=_encoder.encode(event)
            ) as response:
                self._check(response, "create Event")
        except errors.AsyncsoError as exc:
            log.warning("could not record event", extra={"reason": reason, "error": str(exc)})

    # --- reads for templates and providers (ports.KubeReader) ----------------------------------

    async def get_config_map(self, namespace: str, name: str) -> model.ConfigMap | None:
        async with self._call("GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}") as resp:
            if resp.status_code == 404:
                return None
            self._check(resp, f"get ConfigMap {namespace}/{name}")
            return _configmap_decoder.decode(resp.content)

    async def read_secret(self, namespace: str, name: str) -> model.Secret | None:
        return await self.get_secret(namespace, name)

    async def read_service_account_annotations(self, namespace: str, name: str) -> dict[str, str]:
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}"
        async with self._call("GET", path) as response:
            if response.status_code == 404:
                raise errors.InvalidSpecError(f"ServiceAccount {namespace}/{name} not found")
            self._check(response, f"get ServiceAccount {namespace}/{name}")
            return msgspec.json.decode(response.content, type=_Named).metadata.annotations

    async def create_token(
        self, namespace: str, name: str, *, audiences: list[str], expiration_seconds: int = 3600
    ) -> str:
        body = _encoder.encode(
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"audiences": audiences, "expirationSeconds": expiration_seconds},
            }
        )
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
        async with self._call("POST", path, body=body) as response:
            if response.status_code == 404:
                raise errors.InvalidSpecError(f"ServiceAccount {namespace}/{name} not found")
            self._check(response, f"create token for ServiceAccount {namespace}/{name}")
            return msgspec.json.decode(response.content, type=_TokenRequest).status.token
