"""Watches the managed Secrets and tells when each one holds the value it should.

Why a watch and not polling: the cold-sync, new-ExternalSecret and freshness figures all end at
"the Secret is right, checked by value", and a LIST of 10,000 Secrets every half second would
cost the apiserver (on the same two cores) more than the operator being measured. One watch
stream delivers each write once, stamped when it arrives.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import msgspec

Key = tuple[str, str]  # (namespace, name)

_decoder = msgspec.json.Decoder()


class TrackingError(RuntimeError):
    """Secrets did not become right in time; the message says how many and which."""


def decode_data(secret: Mapping[str, Any]) -> dict[str, str]:
    data = secret.get("data") or {}
    return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in data.items()}


@dataclasses.dataclass(eq=False)
class _Waiter:
    remaining: set[Key]
    done: asyncio.Future[float]
    last: float = 0.0


class SecretTracker:
    """Expected data per Secret; the time each became right; waiters for groups of Secrets."""

    def __init__(
        self, client: httpx.AsyncClient, *, namespaces: Iterable[str], label_selector: str
    ) -> None:
        self._client = client
        self._namespaces = frozenset(namespaces)
        self._selector = label_selector
        self._observed: dict[Key, dict[str, str]] = {}
        self._expected: dict[Key, dict[str, str]] = {}
        self._right_at: dict[Key, float] = {}
        self._waiters: dict[Key, list[_Waiter]] = {}
        self._task: asyncio.Task[None] | None = None
        self._listed = asyncio.Event()

    # --- expectations and waiting ----------------------------------------------------------

    def expect(self, key: Key, data: Mapping[str, str]) -> None:
        """From now on `key` is right only when it holds exactly `data`."""
        self._expected[key] = dict(data)
        self._right_at.pop(key, None)
        if self._observed.get(key) == self._expected[key]:
            self._mark_right(key, time.monotonic())

    def right_at(self, key: Key) -> float | None:
        return self._right_at.get(key)

    def pending(self, keys: Iterable[Key]) -> list[Key]:
        return [k for k in keys if k not in self._right_at]

    async def wait(self, keys: Iterable[Key], *, within: float) -> float:
        """Wait until every key is right; return the monotonic time the last one became right."""
        wanted = list(keys)
        waiter = _Waiter(set(self.pending(wanted)), asyncio.get_running_loop().create_future())
        if not waiter.remaining:
            return max((self._right_at[k] for k in wanted), default=time.monotonic())
        waiter.last = max((self._right_at[k] for k in wanted if k in self._right_at), default=0.0)
        for key in waiter.remaining:
            self._waiters.setdefault(key, []).append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter.done), within)
        except TimeoutError:
            left = sorted(waiter.remaining)
            shown = ", ".join(f"{ns}/{name}" for ns, name in left[:5])
            raise TrackingError(
                f"{len(left)} of {len(wanted)} Secrets not right after {within:.0f} s "
                f"(e.g. {shown})"
            ) from None
        finally:
            for key in waiter.remaining:
                with contextlib.suppress(ValueError, KeyError):
                    self._waiters[key].remove(waiter)

    def _mark_right(self, key: Key, when: float) -> None:
        self._right_at[key] = when
        for waiter in self._waiters.pop(key, []):
            waiter.remaining.discard(key)
            waiter.last = max(waiter.last, when)
            if not waiter.remaining and not waiter.done.done():
                waiter.done.set_result(waiter.last)

    def _observe(self, secret: Mapping[str, Any], *, deleted: bool, when: float) -> None:
        meta = secret.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if key[0] not in self._namespaces:
            return
        if deleted:
            self._observed.pop(key, None)
            self._right_at.pop(key, None)
            return
        data = decode_data(secret)
        self._observed[key] = data
        expected = self._expected.get(key)
        if expected is None:
            return
        if data == expected:
            if key not in self._right_at:
                self._mark_right(key, when)
        else:
            self._right_at.pop(key, None)

    # --- the watch -------------------------------------------------------------------------

    async def start(self) -> None:
        """List once (so the watch starts from a known version), then watch in the background."""
        self._task = asyncio.create_task(self._run(), name="bench-secret-tracker")
        waiting = asyncio.create_task(self._listed.wait())
        done, _ = await asyncio.wait({self._task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            waiting.cancel()
            self._task.result()  # raises what stopped it

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _list(self) -> str:
        params = {"labelSelector": self._selector, "limit": "500"}
        version = ""
        seen: set[Key] = set()
        while True:
            response = await self._client.get("/api/v1/secrets", params=params)
            response.raise_for_status()
            body = _decoder.decode(response.content)
            now = time.monotonic()
            for item in body.get("items") or []:
                self._observe(item, deleted=False, when=now)
                meta = item.get("metadata") or {}
                seen.add((meta.get("namespace", ""), meta.get("name", "")))
            meta = body.get("metadata") or {}
            version = version or str(meta.get("resourceVersion", ""))
            token = meta.get("continue")
            if not token:
                break
            params = {"labelSelector": self._selector, "limit": "500", "continue": token}
        for key in set(self._observed) - seen:
            self._observed.pop(key, None)
            self._right_at.pop(key, None)
        self._listed.set()
        return version

    async def _run(self) -> None:
        version = await self._list()
        while True:
            params = {
                "watch": "1",
                "labelSelector": self._selector,
                "resourceVersion": version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": "3600",
            }
            try:
                async with self._client.stream(
                    "GET",
                    "/api/v1/secrets",
                    params=params,
                    timeout=httpx.Timeout(30.0, read=None),
                ) as response:
                    if response.status_code == 410:
                        version = await self._list()
                        continue
                    response.raise_for_status()
                    async for line in response.aiter_lines():
                        if not line:
                            continue
                        now = time.monotonic()
                        event = _decoder.decode(line)
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            version = await self._list() if obj.get("code") == 410 else version
                            break
                        version = str(obj.get("metadata", {}).get("resourceVersion", version))
                        if kind != "BOOKMARK":
                            self._observe(obj, deleted=kind == "DELETED", when=now)
            except (httpx.TransportError, httpx.HTTPStatusError):
                await asyncio.sleep(0.5)
