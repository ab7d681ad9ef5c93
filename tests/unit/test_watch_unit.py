"""The informer's decisions without a server: event rules, backoff, and a scripted apiserver.

The integration tests prove the informer against the real kube-apiserver; these pin down the
paths the real server will not produce on demand (bookmarks, 5xx, ERROR events, a handler
that raises) with a scripted stand-in for kr8s's `call_api`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import kr8s
import kr8s.asyncio
import msgspec
import pytest

from asyncso import apiserver, model, watch

SECRETS = apiserver.SECRETS


# --- pure rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "namespace", "path"),
    [
        (SECRETS, "ns", "/api/v1/namespaces/ns/secrets"),
        (SECRETS, "", "/api/v1/secrets"),
        (apiserver.Resource("", "v1", "namespaces", False), "ignored", "/api/v1/namespaces"),
        (
            apiserver.Resource("external-secrets.io", "v1", "externalsecrets", True),
            "",
            "/apis/external-secrets.io/v1/externalsecrets",
        ),
        (
            apiserver.Resource("external-secrets.io", "v1", "secretstores", True),
            "team-a",
            "/apis/external-secrets.io/v1/namespaces/team-a/secretstores",
        ),
    ],
)
def test_resource_path(resource: apiserver.Resource, namespace: str, path: str) -> None:
    assert resource.path(namespace) == path


def test_backoff_doubles_to_the_cap_with_jitter() -> None:
    assert watch.backoff_delay(1, rand=0.999999) == pytest.approx(0.5)
    assert watch.backoff_delay(1, rand=0.0) == pytest.approx(0.25)
    assert watch.backoff_delay(3, rand=0.999999) == pytest.approx(2.0)
    assert watch.backoff_delay(7, rand=0.999999) == pytest.approx(30.0)
    assert watch.backoff_delay(10_000, rand=0.0) == pytest.approx(15.0)


@pytest.mark.parametrize(
    ("candidate", "known", "newer"),
    [("10", "9", True), ("9", "10", False), ("10", "10", False), ("abc", "abd", True)],
)
def test_is_newer(candidate: str, known: str, newer: bool) -> None:
    assert watch.is_newer(candidate, known) is newer


def test_known_versions_rules() -> None:
    known = watch.KnownVersions()
    key = ("ns", "a")
    assert known.observe("MODIFIED", key, "5") == "ADDED"
    assert known.observe("ADDED", key, "5") is None  # same version: a duplicate
    assert known.observe("MODIFIED", key, "4") is None  # older: stale
    assert known.observe("ADDED", key, "6") == "MODIFIED"
    assert known.observe("DELETED", ("ns", "never-seen"), "7") is None
    assert known.observe("ADDED", ("ns", "b"), "8") == "ADDED"
    assert known.forget_missing([("ns", "b")]) == [(key, "6")]
    assert key not in known and len(known) == 1
    assert known.observe("DELETED", ("ns", "b"), "9") == "DELETED"
    assert len(known) == 0


# --- a scripted apiserver ----------------------------------------------------------------------


def obj(name: str, rv: str, ns: str = "ns") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "resourceVersion": rv}, "data": {}}


def page(rv: str, *items: dict[str, Any], more: str = "") -> FakeResponse:
    body = {"metadata": {"resourceVersion": rv, "continue": more}, "items": list(items)}
    return FakeResponse(content=json.dumps(body).encode())


def stream(*events: tuple[str, dict[str, Any]]) -> FakeResponse:
    return FakeResponse(lines=[json.dumps({"type": t, "object": o}) for t, o in events])


def gone() -> tuple[str, dict[str, Any]]:
    return ("ERROR", {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})


def server_error(code: int) -> FakeResponse:
    return FakeResponse(status_code=code)


class FakeResponse:
    def __init__(
        self, content: bytes = b"", lines: list[str] | None = None, status_code: int = 200
    ) -> None:
        self.content = content
        self.status_code = status_code
        self._lines = lines or []

    def json(self) -> Any:
        return json.loads(self.content) if self.content else {}

    async def aread(self) -> bytes:
        return self.content

    async def aiter_lines(self) -> AsyncIterator[str]:
        for line in self._lines:
            yield line
            yield ""  # keep-alive blank lines are ignored


class FakeApi:
    """Answers each call with the next scripted response (or raises it); then hangs."""

    def __init__(self, *script: FakeResponse | Exception) -> None:
        self.script = list(script)
        self.calls: list[dict[str, Any]] = []
        self.drained = asyncio.Event()

    @contextlib.asynccontextmanager
    async def call_api(self, method: str, **kwargs: Any) -> AsyncIterator[FakeResponse]:
        assert method == "GET"
        self.calls.append({**kwargs, "params": dict(kwargs["params"])})
        if not self.script:
            self.drained.set()
            await asyncio.Event().wait()
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        yield step

    def params(self) -> list[dict[str, str]]:
        return [c["params"] for c in self.calls]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, model.Key, str]] = []

    def __call__(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        rv = msgspec.json.decode(raw)["metadata"]["resourceVersion"]
        self.events.append((event, key, rv))


async def run_script(api: FakeApi, handler: watch.Handler, **kwargs: Any) -> watch.Informer:
    informer = watch.Informer(cast(kr8s.asyncio.Api, api), SECRETS, handler, **kwargs)
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(api.drained.wait(), timeout=5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return informer


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the failure counts the informer backs off with, and do not actually wait."""
    seen: list[int] = []

    def no_wait(failures: int, *, rand: float) -> float:
        seen.append(failures)
        return 0.0

    monkeypatch.setattr(watch, "backoff_delay", no_wait)
    return seen


async def test_pages_bookmarks_rewatch_and_410(delays: list[int]) -> None:
    api = FakeApi(
        page("10", obj("a", "1"), more="tok"),
        page("10", obj("b", "2")),
        stream(
            ("ADDED", obj("a", "1")),  # already listed: not delivered again
            ("MODIFIED", obj("b", "11")),
            ("BOOKMARK", {"metadata": {"resourceVersion": "20"}}),
            ("SOMETHING_NEW", obj("x", "21")),
        ),
        stream(("ADDED", obj("c", "22"))),
        stream(gone()),
        page("30", obj("c", "22"), obj("d", "25")),
    )
    rec = Recorder()
    informer = await run_script(api, rec, namespace="ns", label_selector="l=1", page_size=1)
    assert rec.events == [
        ("ADDED", ("ns", "a"), "1"),
        ("ADDED", ("ns", "b"), "2"),
        ("MODIFIED", ("ns", "b"), "11"),
        ("ADDED", ("ns", "c"), "22"),
        ("ADDED", ("ns", "d"), "25"),
        ("DELETED", ("ns", "a"), "1"),
        ("DELETED", ("ns", "b"), "11"),
    ]
    params = api.params()
    assert params[0] == {"labelSelector": "l=1", "limit": "1"}
    assert params[1]["continue"] == "tok"
    assert [p.get("resourceVersion") for p in params[2:5]] == ["10", "20", "22"]
    assert params[2]["allowWatchBookmarks"] == "true" and params[2]["timeoutSeconds"] == "300"
    assert params[5] == {"labelSelector": "l=1", "limit": "1"}  # the re-list after 410
    assert params[6]["resourceVersion"] == "30"
    assert all(c["base"] == "/api/v1/namespaces/ns" and c["url"] == "secrets" for c in api.calls)
    watch_timeout = api.calls[2]["timeout"]
    assert watch_timeout.read > 300
    assert informer.lists == 2 and informer.synced.is_set()
    assert delays == []  # a 410 after progress is routine: no backoff


async def test_failures_back_off_exponentially_then_reset(
    delays: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeApi(
        httpx.ConnectError("refused"),
        server_error(503),
        page("10", obj("a", "1")),
        server_error(500),  # the watch fails before any progress
        page("11", obj("a", "1")),
        stream(("MODIFIED", obj("a", "12"))),
        stream(("ERROR", {"code": 500, "reason": "InternalError", "message": "boom"})),
        page("13"),
    )
    rec = Recorder()
    with caplog.at_level(logging.WARNING, logger="asyncso.watch"):
        await run_script(api, rec, namespace="ns")
    assert delays == [1, 2, 3, 1]
    assert rec.events == [
        ("ADDED", ("ns", "a"), "1"),
        ("MODIFIED", ("ns", "a"), "12"),
        ("DELETED", ("ns", "a"), "12"),
    ]
    messages = [r.getMessage() for r in caplog.records if r.name == "asyncso.watch"]
    assert len(messages) == 4
    assert "ConnectError" in messages[0] and "HTTP 503" in messages[1]


async def test_repeated_410_without_progress_backs_off(delays: list[int]) -> None:
    api = FakeApi(page("10"), server_error(410), page("11"), stream(gone()), page("12"))
    await run_script(api, Recorder())
    assert delays == [1, 2]


async def test_a_raising_handler_does_not_stop_the_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivered: list[str] = []

    def handler(event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        delivered.append(key[1])
        if key[1] == "bad":
            raise ValueError("secret-value-in-message")

    api = FakeApi(page("1", obj("bad", "1"), obj("good", "1")), stream(("ADDED", obj("c", "2"))))
    with caplog.at_level(logging.DEBUG, logger="asyncso.watch"):
        await run_script(api, handler)
    assert delivered == ["bad", "good", "c"]
    [record] = [
        r for r in caplog.records if r.levelno == logging.ERROR and r.name == "asyncso.watch"
    ]
    assert "ValueError" in record.getMessage()
    assert "secret-value-in-message" not in record.getMessage()


# --- lines of a watch read through aiohttp -------------------------------------------------------


def test_split_lines_keeps_partial_lines_for_the_next_chunk() -> None:
    pending = bytearray()
    assert apiserver.split_lines(pending, b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert pending == b'{"b"'
    assert apiserver.split_lines(pending, b":2}") == []
    assert apiserver.split_lines(pending, b"\r\n\n" + b"x" * 300_000 + b"\nrest") == [
        b'{"b":2}',
        b"",
        b"x" * 300_000,
    ]
    assert pending == b"rest"
