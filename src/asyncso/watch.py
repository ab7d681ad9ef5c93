"""List + watch one resource kind and feed each change to a handler: the view's only input.

Why our own layer over kr8s's request API: kr8s's `watch()` does not re-list on 410 Gone, and
an operator that misses a DELETED while disconnected keeps stale state forever. This is the kopf
watch stack: list (paginated) → watch from the list's resourceVersion with bookmarks and a
server-side timeout → on a normal end, re-watch from the last resourceVersion; on 410, re-list
and report the objects that vanished meanwhile; on any other failure, back off and re-list.
Requests and their errors (`errors.ApiGoneError` for 410) come from `apiserver`.

Only key → resourceVersion is kept here (memory at 10k+ objects); bodies go to the handler as
`msgspec.Raw` and are never logged, because Secrets pass through here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
from collections.abc import Callable, Iterable
from typing import Literal, cast

import httpx
import kr8s.asyncio
import msgspec

from asyncso import apiserver, errors, model

log = logging.getLogger("asyncso.watch")

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
Handler = Callable[[EventType, model.Key, msgspec.Raw], None]
"""Called synchronously for every change; the Raw is the object's JSON (for DELETED its last
known state, or only its metadata when the deletion was inferred from a re-list). The Raw may be
a view into a whole list page: decode it, or `.copy()` it before keeping it."""

BACKOFF_MIN = 0.5
BACKOFF_MAX = 30.0
LIST_TIMEOUT = 60.0
"""Per page; a page of 500 Secrets is a few MB at most."""
READ_GRACE = 30.0
"""How much longer than timeoutSeconds we wait for a silent watch before calling it dead."""


def backoff_delay(failures: int, *, rand: float) -> float:
    """Seconds to wait after the n-th consecutive failure: doubling from BACKOFF_MIN up to
    BACKOFF_MAX, scaled into [50 %, 100 %] by `rand` ∈ [0, 1) so that many informers that
    failed together (apiserver restart) do not come back in lockstep."""
    base = min(BACKOFF_MAX, BACKOFF_MIN * 2.0 ** max(0, min(failures - 1, 16)))
    return base * (0.5 + rand / 2.0)


def is_newer(candidate: str, known: str) -> bool:
    """Whether `candidate` supersedes `known`. resourceVersions are opaque by contract, but
    etcd-backed ones are decimal revisions; compare those as numbers and anything else only for
    equality (different means newer), which is always safe."""
    if candidate == known:
        return False
    if candidate.isascii() and candidate.isdigit() and known.isascii() and known.isdigit():
        return int(candidate) > int(known)
    return True


class KnownVersions:
    """key → resourceVersion of everything delivered so far, and the rules that turn a raw
    event into the event the handler should see (or none). Pure: no I/O."""

    def __init__(self) -> None:
        self._versions: dict[model.Key, str] = {}

    def __len__(self) -> int:
        return len(self._versions)

    def __contains__(self, key: object) -> bool:
        return key in self._versions

    def observe(self, event: EventType, key: model.Key, rv: str) -> EventType | None:
        """Record the event; return what to deliver, or None for a duplicate or stale one."""
        known = self._versions.get(key)
        if event == "DELETED":
            if known is None:
                return None  # never delivered (or already reported gone by a re-list)
            del self._versions[key]
            return "DELETED"
        if known is not None and not is_newer(rv, known):
            return None
        # Namespaces repeat across thousands of keys; share one string per namespace.
        self._versions[(sys.intern(key[0]), key[1])] = rv
        return "ADDED" if known is None else "MODIFIED"

    def forget_missing(self, present: Iterable[model.Key]) -> list[tuple[model.Key, str]]:
        """Drop and return (key, last resourceVersion) of every known key not in `present`."""
        keep = set(present)
        gone = [(key, rv) for key, rv in self._versions.items() if key not in keep]
        for key, _ in gone:
            del self._versions[key]
        return gone


class _Meta(msgspec.Struct):
    name: str = ""
    namespace: str = ""
    resourceVersion: str = ""


class _Object(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


class _ListMeta(msgspec.Struct, rename={"continue_": "continue"}):
    resourceVersion: str = ""
    continue_: str = ""


class _List(msgspec.Struct):
    metadata: _ListMeta = msgspec.field(default_factory=_ListMeta)
    items: list[msgspec.Raw] | None = None


class _Line(msgspec.Struct):
    type: str
    object: msgspec.Raw


class _Status(msgspec.Struct):
    code: int = 0
    reason: str = ""
    message: str = ""


_decode_object = msgspec.json.Decoder(_Object).decode
_decode_list = msgspec.json.Decoder(_List).decode
_decode_line = msgspec.json.Decoder(_Line).decode
_decode_status = msgspec.json.Decoder(_Status).decode
_DELIVERABLE = frozenset({"ADDED", "MODIFIED", "DELETED"})


class Informer:
    """Keeps `handler` told about every object of one resource (optionally one namespace and
    selector) for as long as `run()` runs."""

    def __init__(
        self,
        api: kr8s.asyncio.Api,
        resource: apiserver.Resource,
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
        """Set once the first full list has been delivered to the handler."""
        self.known = KnownVersions()
        self.resource_version = ""
        """Where the next watch starts: the list's, then the latest event's or bookmark's."""
        self.lists = 0
        """How many full lists completed (observability and tests: re-lists are expensive)."""
        self._progressed = False
        self._url = apiserver.path(resource, namespace=namespace) if namespace else resource.path()

    @property
    def _list_what(self) -> str:
        return f"list {self._what}"

    @property
    def _what(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.resource.plural}{where}"

    def _selectors(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        return params

    async def run(self) -> None:
        """List, then watch, forever; only cancellation ends it."""
        failures = 0
        while True:
            self._progressed = False
            try:
                await self._list()
                while True:
                    await self._watch()
            except asyncio.CancelledError:
                raise
            except errors.ApiGoneError:
                if self._progressed:
                    log.info("watch of %s expired; re-listing", self._what)
                    failures = 0
                    continue
                # Gone again straight after a list: do not hammer the apiserver.
                failures += 1
                delay = backoff_delay(failures, rand=random.random())
                log.warning("watch of %s expired again; re-listing in %.1fs", self._what, delay)
            except Exception as exc:
                # Streaming since the last list means the outage is new: start the backoff over.
                failures = 1 if self._progressed else failures + 1
                delay = backoff_delay(failures, rand=random.random())
                code = exc.status if isinstance(exc, errors.ApiError) else 0
                log.warning(
                    "watch of %s failed (%s%s: %s); re-listing in %.1fs",
                    self._what,
                    type(exc).__name__,
                    f" HTTP {code}" if code else "",
                    str(exc)[:300],
                    delay,
                    extra={"resource": self.resource.plural, "namespace": self.namespace},
                )
            await asyncio.sleep(delay)

    def _deliver(self, event: EventType, key: model.Key, raw: msgspec.Raw) -> None:
        try:
            self.handler(event, key, raw)
        except Exception as exc:
            # A buggy handler must not stop the stream; the traceback only at debug level,
            # because an exception message might quote the data it choked on.
            log.error(
                "handler for %s failed on %s %s/%s: %s",
                self._what,
                event,
                key[0],
                key[1],
                type(exc).__name__,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )

    def _apply(self, event: EventType, raw: msgspec.Raw) -> tuple[model.Key, str]:
        """Deliver one object if it is news; return its key and resourceVersion."""
        meta = _decode_object(raw).metadata
        key = (meta.namespace, meta.name)
        deliver = self.known.observe(event, key, meta.resourceVersion)
        if deliver is not None:
            self._deliver(deliver, key, raw)
        return key, meta.resourceVersion

    async def _list(self) -> None:
        """One full paginated list; afterwards, report every known key it no longer holds."""
        present: list[model.Key] = []
        params = {**self._selectors(), "limit": str(self.page_size)}
        timeout = httpx.Timeout(LIST_TIMEOUT)
        while True:
            try:
                async with apiserver.request(
                    self.api, "GET", self._url, params=params, timeout=timeout, what=self._list_what
                ) as response:
                    page = _decode_list(response.content)
            except errors.ApiGoneError:
                if "continue" not in params:
                    raise
                # The continue token outlived etcd's compaction: start the list over.
                log.info("list of %s expired between pages; restarting it", self._what)
                del params["continue"]
                present.clear()
                continue
            present.extend(self._apply("ADDED", raw)[0] for raw in page.items or ())
            if not page.metadata.continue_:
                break
            params["continue"] = page.metadata.continue_
        for key, rv in self.known.forget_missing(present):
            tombstone = {"metadata": {"namespace": key[0], "name": key[1], "resourceVersion": rv}}
            self._deliver("DELETED", key, msgspec.Raw(msgspec.json.encode(tombstone)))
        self.resource_version = page.metadata.resourceVersion
        self.lists += 1
        self.synced.set()

    async def _watch(self) -> None:
        """One watch request; returns on the server's normal end of the stream."""
        seconds = max(1, round(self.watch_timeout))
        params = {
            **self._selectors(),
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": self.resource_version,
            "timeoutSeconds": str(seconds),
        }
        lines = apiserver.stream_lines(
            self.api,
            self._url,
            params=params,
            read_timeout=seconds + READ_GRACE,
            what=f"watch {self._what}",
        )
        async with contextlib.aclosing(lines):
            async for line in lines:
                if line:
                    self._on_line(line)
        self._progressed = True

    def _on_line(self, line: bytes | str) -> None:
        event = _decode_line(line)
        if event.type == "ERROR":
            status = _decode_status(event.object)
            raise errors.api_error(
                status.code, f"watch {self._what}: {status.message}", reason=status.reason
            )
        if event.type == "BOOKMARK":
            rv = _decode_object(event.object).metadata.resourceVersion
        elif event.type in _DELIVERABLE:
            _, rv = self._apply(cast(EventType, event.type), event.object)
        else:
            return  # an event type from the future: ignore rather than fail the stream
        if rv:
            self.resource_version = rv
        self._progressed = True
