"""The Kubernetes adapter on kr8s: typed reads and writes the reconciler and providers need.

Why our own thin layer over kr8s's request API rather than its object classes: we decode with
msgspec into our Structs (fast, typed, validated) and control exactly which verbs hit the
apiserver (one GET and at most one write per sync). Paths and errors come from `apiserver`: every
name is checked there, and the methods take the `field` a name came from (`spec.target`), so a
refused name is reported against the field the user wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import kr8s.asyncio
import msgspec

from asyncso import apiserver, errors, event_queue, events, model, selectors, timing

log = logging.getLogger("asyncso.kube")

EVENT_COMPONENT = "external-secrets"
_EVENT_PREFIX = 253 - 17  # name + "." + 16 hex digits fits a DNS subdomain
_secret_decoder = msgspec.json.Decoder(model.Secret)
_configmap_decoder = msgspec.json.Decoder(model.ConfigMap)
_encoder = msgspec.json.Encoder()


class _Meta(msgspec.Struct):
    annotations: dict[str, str] = {}


class _Named(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


class _TokenStatus(msgspec.Struct):
    token: str


class _TokenRequest(msgspec.Struct):
    status: _TokenStatus


def _api_version(kind: str) -> str:
    """The apiVersion of one of our kinds (the push kinds are v1alpha1)."""
    resource = apiserver.BY_KIND.get(kind)
    if resource is None or not resource.group:
        return model.API_VERSION
    return f"{resource.group}/{resource.version}"


def _secret_body(secret: model.Secret) -> bytes:
    """msgspec omits defaults; the apiserver wants `apiVersion`/`kind` spelled out."""
    body = msgspec.to_builtins(secret)
    body["metadata"].pop("managedFields", None)  # the apiserver keeps its own record
    body["apiVersion"] = "v1"
    body["kind"] = "Secret"
    body["type"] = secret.type
    return _encoder.encode(body)


def _config_map_body(config_map: model.ConfigMap) -> bytes:
    body = msgspec.to_builtins(config_map)
    body["metadata"].pop("managedFields", None)
    body["apiVersion"] = "v1"
    body["kind"] = "ConfigMap"
    return _encoder.encode(body)


def _manager(field_manager: str) -> dict[str, str] | None:
    """The `fieldManager` query parameter: the apiserver records which fields it set."""
    return {"fieldManager": field_manager} if field_manager else None


class Kube:
    """Typed apiserver access for one operator process (one kr8s client, one HTTP pool)."""

    def __init__(self, api: kr8s.asyncio.Api, *, max_in_flight: int = 16) -> None:
        self.api = api
        self._slots = max(1, max_in_flight)
        self._gate = asyncio.Semaphore(self._slots)
        self._events = events.Correlator()
        #: While the operator runs, its `event_queue`: `emit_event` queues there and the queue
        #: sends through `record_event`, behind the syncs. None: `emit_event` records at once.
        self.event_queue: event_queue.EmitEvent | None = None

    def spare(self) -> bool:
        """Whether more than half of the request slots are free (the Event queue's extra
        senders take a slot only then, so the syncs' requests always find some)."""
        return self._gate._value * 2 > self._slots

    @classmethod
    async def connect(cls, kubeconfig: str | None = None, *, max_in_flight: int = 16) -> Kube:
        """A private kr8s client (not kr8s's per-thread shared one), so closing it is safe."""
        api = await kr8s.asyncio.Api(kubeconfig=kubeconfig, bypass_factory=True)
        apiserver.enable_fast_calls(api)
        return cls(api, max_in_flight=max_in_flight)

    async def close(self) -> None:
        await apiserver.close_fast_calls(self.api)
        session = getattr(self.api, "_session", None)
        if session is not None:
            await session.aclose()

    async def _call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        body: bytes | None = None,
        content_type: str = apiserver.JSON,
        params: dict[str, str] | None = None,
    ) -> bytes:
        async with self._gate:
            return await apiserver.call(
                self.api,
                method,
                url,
                body=body,
                content_type=content_type,
                params=params,
                what=what,
            )

    # --- Secrets -------------------------------------------------------------------------------

    async def _get(
        self, resource: apiserver.Resource, namespace: str, name: str, *, field: str
    ) -> bytes | None:
        """One object's JSON, or None when it does not exist."""
        url = apiserver.path(resource, namespace=namespace, name=name, field=field)
        try:
            return await self._call("GET", url, what=f"get {resource.kind} {namespace}/{name}")
        except errors.ApiNotFoundError:
            return None

    async def get_secret(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.Secret | None:
        found = await self._get(apiserver.SECRETS, namespace, name, field=field)
        return None if found is None else _secret_decoder.decode(found)

    async def create_secret(
        self, secret: model.Secret, *, field: str = "metadata", field_manager: str = ""
    ) -> model.Secret:
        meta = secret.metadata
        apiserver.path(apiserver.SECRETS, namespace=meta.namespace, name=meta.name, field=field)
        url = apiserver.path(apiserver.SECRETS, namespace=meta.namespace, field=field)
        what = f"create Secret {meta.namespace}/{meta.name}"
        return _secret_decoder.decode(
            await self._call(
                "POST",
                url,
                body=_secret_body(secret),
                what=what,
                params=_manager(field_manager),
            )
        )

    async def replace_secret(
        self, secret: model.Secret, *, field: str = "metadata", field_manager: str = ""
    ) -> model.Secret:
        """PUT with the observed resourceVersion: a concurrent change makes it a ConflictError."""
        meta = secret.metadata
        url = apiserver.path(
            apiserver.SECRETS, namespace=meta.namespace, name=meta.name, field=field
        )
        what = f"update Secret {meta.namespace}/{meta.name}"
        return _secret_decoder.decode(
            await self._call(
                "PUT",
                url,
                body=_secret_body(secret),
                what=what,
                params=_manager(field_manager),
            )
        )

    async def delete_secret(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        url = apiserver.path(apiserver.SECRETS, namespace=namespace, name=name, field=field)
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        with contextlib.suppress(errors.ApiNotFoundError):
            await self._call(
                "DELETE",
                url,
                body=_encoder.encode(options),
                what=f"delete Secret {namespace}/{name}",
            )

    # --- ConfigMap targets (`target.manifest`) --------------------------------------------------

    async def create_config_map(
        self, config_map: model.ConfigMap, *, field: str = "metadata", field_manager: str = ""
    ) -> model.ConfigMap:
        meta = config_map.metadata
        apiserver.path(apiserver.CONFIGMAPS, namespace=meta.namespace, name=meta.name, field=field)
        url = apiserver.path(apiserver.CONFIGMAPS, namespace=meta.namespace, field=field)
        answer = await self._call(
            "POST",
            url,
            body=_config_map_body(config_map),
            what=f"create ConfigMap {meta.namespace}/{meta.name}",
            params=_manager(field_manager),
        )
        return _configmap_decoder.decode(answer)

    async def replace_config_map(
        self, config_map: model.ConfigMap, *, field: str = "metadata", field_manager: str = ""
    ) -> model.ConfigMap:
        meta = config_map.metadata
        url = apiserver.path(
            apiserver.CONFIGMAPS, namespace=meta.namespace, name=meta.name, field=field
        )
        answer = await self._call(
            "PUT",
            url,
            body=_config_map_body(config_map),
            what=f"update ConfigMap {meta.namespace}/{meta.name}",
            params=_manager(field_manager),
        )
        return _configmap_decoder.decode(answer)

    async def delete_config_map(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        url = apiserver.path(apiserver.CONFIGMAPS, namespace=namespace, name=name, field=field)
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        with contextlib.suppress(errors.ApiNotFoundError):
            await self._call(
                "DELETE",
                url,
                body=_encoder.encode(options),
                what=f"delete ConfigMap {namespace}/{name}",
            )

    # --- our custom resources ------------------------------------------------------------------

    async def patch_status(self, kind: str, namespace: str, name: str, status: Any) -> None:
        """Merge-patch the status subresource (conditions are replaced as a whole list)."""
        url = apiserver.path(
            apiserver.BY_KIND[kind], namespace=namespace, name=name, subresource="status"
        )
        with contextlib.suppress(errors.ApiNotFoundError):
            await self._call(
                "PATCH",
                url,
                body=_encoder.encode({"status": status}),
                content_type=apiserver.MERGE_PATCH,
                what=f"patch status of {kind} {namespace}/{name}",
            )

    async def set_finalizers(
        self, kind: str, namespace: str, name: str, *, finalizers: list[str], resource_version: str
    ) -> None:
        url = apiserver.path(apiserver.BY_KIND[kind], namespace=namespace, name=name)
        body = {"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}}
        with contextlib.suppress(errors.ApiNotFoundError):
            await self._call(
                "PATCH",
                url,
                body=_encoder.encode(body),
                content_type=apiserver.MERGE_PATCH,
                what=f"update finalizers of {kind} {namespace}/{name}",
            )

    # --- events --------------------------------------------------------------------------------

    async def emit_event(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        """The one way every controller's Events go: into the operator's queue while it runs
        (client-go's broadcaster queue), else recorded at once (`record_event`)."""
        queue = self.event_queue  # (an empty queue is falsy: compare with None)
        send = self.record_event if queue is None else queue
        await send(involved, kind=kind, type_=type_, reason=reason, message=message)

    async def record_event(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        """Record a core/v1 Event, or count a repeat of one (`events.Correlator`: the same
        object, type, reason and message again PATCHes `count` and `lastTimestamp`, as
        client-go's recorder does). Best effort: an event failure never fails a sync."""
        now = time.time()
        stamp = timing.format_time(now)
        namespace = involved.namespace or "default"
        message = message[:1024]
        key = events.EventKey(
            namespace=namespace,
            kind=kind,
            name=involved.name,
            uid=involved.uid,
            type=type_,
            reason=reason,
            message=message,
            component=EVENT_COMPONENT,
        )
        # An Event name is a subdomain too: leave room for the suffix on a long object name.
        fresh = f"{involved.name[:_EVENT_PREFIX].rstrip('.-')}.{uuid.uuid4().hex[:16]}"
        seen = self._events.observe(key, now=now, timestamp=stamp, new_name=fresh)
        try:
            if seen.count > 1:
                try:
                    await self._count_event(namespace, seen.name, count=seen.count, stamp=stamp)
                    return
                except errors.ApiNotFoundError:  # expired (the apiserver's --event-ttl)
                    self._events.forget(key)
                    seen = self._events.observe(key, now=now, timestamp=stamp, new_name=fresh)
            event = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": seen.name, "namespace": namespace},
                "involvedObject": {
                    "apiVersion": _api_version(kind),
                    "kind": kind,
                    "name": involved.name,
                    "namespace": involved.namespace,
                    "uid": involved.uid,
                    "resourceVersion": involved.resource_version,
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "source": {"component": EVENT_COMPONENT},
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
                "count": 1,
            }
            url = apiserver.path(apiserver.EVENTS, namespace=namespace)
            await self._call("POST", url, body=_encoder.encode(event), what="create Event")
        except errors.AsyncsoError as exc:
            self._events.forget(key)
            log.warning("could not record event", extra={"reason": reason, "error": str(exc)})

    async def _count_event(self, namespace: str, name: str, *, count: int, stamp: str) -> None:
        url = apiserver.path(apiserver.EVENTS, namespace=namespace, name=name)
        await self._call(
            "PATCH",
            url,
            body=_encoder.encode({"count": count, "lastTimestamp": stamp}),
            content_type=apiserver.MERGE_PATCH,
            what="count a repeated Event",
        )

    # --- reads for templates and providers (ports.KubeReader) ----------------------------------

    async def get_config_map(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.ConfigMap | None:
        found = await self._get(apiserver.CONFIGMAPS, namespace, name, field=field)
        return None if found is None else _configmap_decoder.decode(found)

    async def get_service_account_annotations(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> dict[str, str]:
        found = await self._get(apiserver.SERVICEACCOUNTS, namespace, name, field=field)
        if found is None:
            raise errors.service_account_not_found(field=field, namespace=namespace, name=name)
        return msgspec.json.decode(found, type=_Named).metadata.annotations

    async def create_token(
        self,
        namespace: str,
        name: str,
        *,
        audiences: list[str],
        expiration_seconds: int = 3600,
        field: str = "metadata",
    ) -> str:
        url = apiserver.path(
            apiserver.SERVICEACCOUNTS,
            namespace=namespace,
            name=name,
            subresource="token",
            field=field,
        )
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": audiences, "expirationSeconds": expiration_seconds},
        }
        what = f"create token for ServiceAccount {namespace}/{name}"
        try:
            content = await self._call("POST", url, body=_encoder.encode(body), what=what)
        except errors.ApiNotFoundError:
            raise errors.service_account_not_found(
                field=field, namespace=namespace, name=name
            ) from None
        return msgspec.json.decode(content, type=_TokenRequest).status.token

    # --- generators (ports.GeneratorReader, ports.GeneratorStateWriter) ------------------------

    async def get_generator(
        self, kind: str, namespace: str, name: str, *, field: str = "metadata"
    ) -> bytes | None:
        resource = apiserver.GENERATORS.get(kind)
        if resource is None:
            raise errors.InvalidSpecError(f"{field}.kind: no generator kind {kind!r}")
        return await self._get(resource, namespace, name, field=field)

    async def create_generator_state(self, namespace: str, body: dict[str, Any]) -> None:
        url = apiserver.path(apiserver.GENERATORSTATES, namespace=namespace)
        what = f"create GeneratorState in {namespace}"
        await self._call("POST", url, body=_encoder.encode(body), what=what)

    async def patch_generator_state(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        url = apiserver.path(apiserver.GENERATORSTATES, namespace=namespace, name=name)
        with contextlib.suppress(errors.ApiNotFoundError):
            await self._call(
                "PATCH",
                url,
                body=_encoder.encode(patch),
                content_type=apiserver.MERGE_PATCH,
                what=f"patch GeneratorState {namespace}/{name}",
            )

    async def delete_generator_state(self, namespace: str, name: str) -> None:
        url = apiserver.path(apiserver.GENERATORSTATES, namespace=namespace, name=name)
        with contextlib.suppress(errors.ApiNotFoundError):
            await self._call("DELETE", url, what=f"delete GeneratorState {namespace}/{name}")

    # --- any of our objects, as JSON (fan-out children, push sources; ports.KubeObjects) -------

    async def get_object(
        self, kind: str, namespace: str, name: str, *, field: str = "metadata"
    ) -> dict[str, Any] | None:
        found = await self._get(apiserver.BY_KIND[kind], namespace, name, field=field)
        return None if found is None else _as_object(found)

    async def create_object(
        self, kind: str, body: dict[str, Any], *, field: str = "metadata"
    ) -> dict[str, Any]:
        resource = apiserver.BY_KIND[kind]
        meta = body["metadata"]
        namespace = meta.get("namespace", "")
        apiserver.path(resource, namespace=namespace, name=meta["name"], field=field)
        url = apiserver.path(resource, namespace=namespace, field=field)
        what = f"create {kind} {namespace}/{meta['name']}"
        return _as_object(await self._call("POST", url, body=_encoder.encode(body), what=what))

    async def replace_object(
        self, kind: str, body: dict[str, Any], *, field: str = "metadata"
    ) -> dict[str, Any]:
        meta = body["metadata"]
        namespace = meta.get("namespace", "")
        url = apiserver.path(
            apiserver.BY_KIND[kind], namespace=namespace, name=meta["name"], field=field
        )
        what = f"update {kind} {namespace}/{meta['name']}"
        return _as_object(await self._call("PUT", url, body=_encoder.encode(body), what=what))

    async def delete_object(
        self, kind: str, namespace: str, name: str, *, uid: str = "", field: str = "metadata"
    ) -> None:
        url = apiserver.path(apiserver.BY_KIND[kind], namespace=namespace, name=name, field=field)
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if uid:
            options["preconditions"] = {"uid": uid}
        with contextlib.suppress(errors.ApiNotFoundError):
            await self._call(
                "DELETE",
                url,
                body=_encoder.encode(options),
                what=f"delete {kind} {namespace}/{name}",
            )

    async def list_secrets(
        self, namespace: str, *, selector: model.LabelSelector, field: str = "metadata"
    ) -> list[model.Secret]:
        """The Secrets of one namespace matching `selector` (paged as the apiserver pages)."""
        url = apiserver.path(apiserver.SECRETS, namespace=namespace, field=field)
        params = {"labelSelector": selectors.query(selector, field=field), "limit": "500"}
        found: list[model.Secret] = []
        while True:
            async with self._gate:
                content = await apiserver.call(
                    self.api, "GET", url, params=params, what=f"list Secrets in {namespace}"
                )
            page = _secret_list_decoder.decode(content)
            found.extend(page.items)
            if not page.metadata.continue_:
                return found
            params["continue"] = page.metadata.continue_


class _ListMeta(msgspec.Struct, rename={"continue_": "continue"}):
    continue_: str = ""


class _SecretList(msgspec.Struct):
    metadata: _ListMeta = msgspec.field(default_factory=_ListMeta)
    items: list[model.Secret] = []


_secret_list_decoder = msgspec.json.Decoder(_SecretList)


def _as_object(content: bytes) -> dict[str, Any]:
    decoded = msgspec.json.decode(content)
    if not isinstance(decoded, dict):
        raise errors.ApiUnavailableError("the apiserver answered with something not an object")
    return decoded
