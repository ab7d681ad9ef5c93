"""List + watch one resource kind and feed each change to a handler: the view's only input.

Why our own layer over kr8s's request API: kr8s's `watch()` does not re-list on 410 Gone, and
an operator that misses a DELETED while disconnected keeps stale state forever. This is the kopf
watch stack: list (paginated) → watch from the list's resourceVersion with bookmarks and a
server timeout → on a plain end, re-watch from the last resourceVersion; on 410, re-list and
report objects that vanished meanwhile; on errors, back off and re-list. Only key →
resourceVersion is kept here (memory at 10k+ objects); bodies go to the handler as `msgspec.Raw`
and are never logged (Secrets pass through here).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Callable
from typing import Any, Literal

import httpx
import kr8s
import kr8s.asyncio
import msgspec

log = logging.getLogger("asyncso.watch")

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
Key = tuple[str, str]
Handler = Callable[[EventType, Key, msgspec.Raw], None]

BACKOFF_MIN = 0.5
BACKOFF_MAX = 30.0


@dataclasses.dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    namespaced: bool

    def path(self, namespace: str = "") -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


class _Meta(msgspec.Struct):
    name: str = ""
    namespace: str = ""
    resourceVersion: str = ""
    # `continue` is a keyword; read it with rename below.


class _ListMeta(msgspec.Struct, rename={"continue_": "continue"}):
    resourceVersion: str = ""
    continue_: str = ""


class _Object(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


class _List(msgspec.Struct):
    metadata: _ListMeta = msgspec.field(default_factory=_ListMeta)
    items: list[msgspec.Raw] | None = None


class _Status(msgspec.Struct):
    code: int = 0
    reason: str = ""
    message: str = ""


class _Line(msgspec.Struct):
    type: str
    object: msgspec.Raw


class GoneError(Exception):
    """The resourceVersion we watch from is too old: re-list."""


_line = msgspec.json.Decoder(_Line)
_obj = msgspec.json.Decoder(_Object)
_list = msgspec.json.Decoder(_List)
_status = msgspec.json.Decoder(_Status)


class Informer:
    def __init__(
        self,
        api: kr8s.asyncio.Api,
        resource: Resource,
        handler: Handler,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        watch_timeout: float = 300.0,
        page_size: int = 500,
    ) -> None:
        self.api = api
        self.resource = resource
        self.handler = handler
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watch_timeout = watch_timeout
        self.page_size = page_size
        self.synced = asyncio.Event()
        self._known: dict[Key, str] = {}
        self._rv = ""

    def _params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        return params

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._list()
                failures = 0
                while True:
                    await self._watch()
            except GoneError:
                log.info("watch expired; re-listing", extra={"resource": self.resource.plural})
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(BACKOFF_MAX, BACKOFF_MIN * 2 ** (failures - 1))
                delay *= 0.5 + random.random() / 2
                log.warning(
                    "watch failed; retrying",
                    extra={
                        "resource": self.resource.plural,
                        "error": type(exc).__name__,
                        "detail": str(exc)[:200],
                        "retry_in": round(delay, 2),
                    },
                )
                await asyncio.sleep(delay)

    def _deliver(self, event: EventType, raw: msgspec.Raw) -> None:
        meta = _obj.decode(raw).metadata
        key = (meta.namespace, meta.name)
        if event == "DELETED":
            self._known.pop(key, None)
        else:
            previous = self._known.get(key)
            if previous == meta.resourceVersion:
                return
            event = "MODIFIED" if previous is not None else "ADDED"
            self._known[key] = meta.resourceVersion
        try:
            self.handler(event, key, raw)
        except Exception:
            log.exception(
                "watch handler failed",
                extra={"resource": self.resource.plural, "namespace": key[0], "name": key[1]},
            )

    async def _list(self) -> None:
        seen: set[Key] = set()
        params = {**self._params(), "limit": str(self.page_size)}
        path = self.resource.path(self.namespace)
        rv = ""
        while True:
            async with self.api.call_api(
                "GET", version="", base=path, url="", params=params, raise_for_status=False
            ) as response:
                if response.status_code == 410:
                    params.pop("continue", None)  # expired continue token: start over
                    seen.clear()
                    continue
                if response.status_code != 200:
                    raise RuntimeError(f"list {path}: HTTP {response.status_code}")
                page = _list.decode(response.content)
            for raw in page.items or []:
                meta = _obj.decode(raw).metadata
                seen.add((meta.namespace, meta.name))
                self._deliver("ADDED", raw)
            rv = page.metadata.resourceVersion
            if not page.metadata.continue_:
                break
            params["continue"] = page.metadata.continue_
        for key in [k for k in self._known if k not in seen]:
            self._known.pop(key, None)
            tombstone = msgspec.json.encode({"metadata": {"name": key[1], "namespace": key[0]}})
            try:
                self.handler("DELETED", key, msgspec.Raw(tombstone))
            except Exception:
                log.exception("watch handler failed", extra={"resource": self.resource.plural})
        self._rv = rv
        self.synced.set()

    async def _watch(self) -> None:
        params = {
            **self._params(),
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": self._rv,
            "timeoutSeconds": str(int(self.watch_timeout)),
        }
        path = self.resource.path(self.namespace)
        timeout = httpx.Timeout(10.0, read=self.watch_timeout + 30.0)
        kwargs: dict[str, Any] = {"params": params, "timeout": timeout}
        async with self.api.call_api(
            "GET", version="", base=path, url="", stream=True, raise_for_status=False, **kwargs
        ) as response:
            if response.status_code == 410:
                raise GoneError
            if response.status_code != 200:
                await response.aread()
                raise RuntimeError(f"watch {path}: HTTP {response.status_code}")
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                event = _line.decode(line)
                if event.type == "ERROR":
                    status = _status.decode(event.object)
                    if status.code == 410 or status.reason in ("Expired", "Gone"):
                        raise GoneError
                    raise RuntimeError(f"watch {path}: {status.code} {status.reason}")
                rv = _obj.decode(event.object).metadata.resourceVersion
                if event.type == "BOOKMARK":
                    self._rv = rv or self._rv
                    continue
                if event.type in ("ADDED", "MODIFIED", "DELETED"):
                    self._deliver(event.type, event.object)  # type: ignore[arg-type]
                    self._rv = rv or self._rv
