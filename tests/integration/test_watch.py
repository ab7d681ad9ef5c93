"""The informer against the real kube-apiserver: lists, watches, re-watches, 410s and outages.

The apiserver is real throughout. Two test-side devices make the rare paths deterministic:
`GatedApi` holds the informer's next request (before it is sent) so a test can change the
world in between, and `Proxy` is a TCP relay whose connections a test can cut. A genuine 410
comes from the apiserver itself: updating a CRD replaces its storage, and the new watch cache
refuses resourceVersions older than its start ("too old resource version", reason Expired);
an expired `continue` token comes from compacting the bench's etcd between list pages.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import pathlib
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import kr8s.asyncio
import msgspec
import pytest
from kube_support import request

from asyncso import apiserver, model, watch
from devenv import bench as devbench

pytestmark = pytest.mark.integration

SECRETS = apiserver.SECRETS
CONFIGMAPS = apiserver.CONFIGMAPS
NAMESPACES = apiserver.NAMESPACES
SECRET_VALUE = "do-not-log-me"


# --- recording ---------------------------------------------------------------------------------


class Recorder:
    """A handler that keeps (event, key, resourceVersion, body) for every delivery."""

    def __init__(self) -> None:
        self.events: list[tuple[str, model.Key, str, dict[str, Any]]] = []

    def __call__(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        body = msgspec.json.decode(raw)
        self.events.append((event, key, body["metadata"].get("resourceVersion", ""), body))

    def seen(self) -> list[tuple[str, str]]:
        """(event, name) in delivery order."""
        return [(event, key[1]) for event, key, _, _ in self.events]

    async def wait_for(self, count: int, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while len(self.events) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"expected {count} events, got {self.seen()}")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(informer: watch.Informer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.synced.wait(), timeout=10)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert task.cancelled(), "run() must only ever end by cancellation"


async def until(probe: Callable[[], Any], what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not probe():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# --- objects -----------------------------------------------------------------------------------


def secret(namespace: str, name: str, value: str = SECRET_VALUE, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"k": base64.b64encode(value.encode()).decode()},
    }


def configmap(namespace: str, name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"k": "v"},
    }


def collection(body: dict[str, Any]) -> str:
    plural = {"Secret": "secrets", "ConfigMap": "configmaps"}[body["kind"]]
    return f"/api/v1/namespaces/{body['metadata']['namespace']}/{plural}"


async def create(kube: kr8s.asyncio.Api, body: dict[str, Any], base: str = "") -> str:
    status, payload = await request(kube, "POST", base or collection(body), body)
    assert status == 201, payload
    return str(payload["metadata"]["resourceVersion"])


async def patch(kube: kr8s.asyncio.Api, path: str, body: dict[str, Any]) -> str:
    status, payload = await request(
        kube, "PATCH", path, body, content_type="application/merge-patch+json"
    )
    assert status == 200, payload
    return str(payload["metadata"]["resourceVersion"])


async def delete(kube: kr8s.asyncio.Api, path: str) -> None:
    status, payload = await request(kube, "DELETE", path)
    assert status == 200, payload


async def make_namespace(kube: kr8s.asyncio.Api, **labels: str) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    await create(kube, body, "/api/v1/namespaces")
    return name


# --- test devices ------------------------------------------------------------------------------


class GatedApi:
    """The real Api, except that requests matching `hold_if` wait until `release()`."""

    def __init__(self, api: kr8s.asyncio.Api) -> None:
        self._api = api
        self.requests: list[dict[str, str]] = []
        self.held = asyncio.Event()
        self._hold_if: Callable[[dict[str, str]], bool] | None = None
        self._released = asyncio.Event()

    def hold(self, hold_if: Callable[[dict[str, str]], bool]) -> None:
        self._hold_if, self.held, self._released = hold_if, asyncio.Event(), asyncio.Event()

    def release(self) -> None:
        self._hold_if = None
        self._released.set()

    @contextlib.asynccontextmanager
    async def call_api(self, method: str, **kwargs: Any) -> AsyncIterator[Any]:
        params = dict(kwargs.get("params") or {})
        self.requests.append(params)
        if self._hold_if is not None and self._hold_if(params):
            self.held.set()
            await self._released.wait()
        async with self._api.call_api(method, **kwargs) as response:
            yield response

    def as_api(self) -> kr8s.asyncio.Api:
        return cast(kr8s.asyncio.Api, self)


def is_watch(params: dict[str, str]) -> bool:
    return params.get("watch") == "true"


def is_list(params: dict[str, str]) -> bool:
    return not is_watch(params)


class Proxy:
    """A TCP relay to the apiserver (TLS passes through untouched) that a test can cut."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Drop every connection and refuse new ones until `start()` again."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers -= {writer, up_writer}


# --- listing and watching ----------------------------------------------------------------------


async def test_secrets_list_then_events_in_order(
    kube: kr8s.asyncio.Api, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    base = f"/api/v1/namespaces/{namespace}/secrets"
    rv1 = await create(kube, secret(namespace, "s1"))
    await create(kube, secret(namespace, "s2"))
    rec = Recorder()
    informer = watch.Informer(kube, SECRETS, rec, namespace=namespace, page_size=1)
    caplog.set_level(logging.DEBUG, logger="asyncso.watch")
    async with running(informer):
        assert sorted(rec.seen()) == [("ADDED", "s1"), ("ADDED", "s2")]
        assert rec.events[0][1] == (namespace, "s1") and rec.events[0][2] == rv1
        assert rec.events[0][3]["data"]["k"] == base64.b64encode(SECRET_VALUE.encode()).decode()
        await create(kube, secret(namespace, "s3"))
        await patch(kube, f"{base}/s1", {"metadata": {"labels": {"touched": "yes"}}})
        await delete(kube, f"{base}/s2")
        await rec.wait_for(5)
    assert rec.seen()[2:] == [("ADDED", "s3"), ("MODIFIED", "s1"), ("DELETED", "s2")]
    assert rec.events[3][3]["metadata"]["labels"] == {"touched": "yes"}
    # DELETED from a watch carries the last state, body included.
    assert rec.events[4][3]["data"]["k"] == rec.events[1][3]["data"]["k"]
    rvs = [int(rv) for _, _, rv, _ in rec.events[2:]]
    assert rvs == sorted(rvs)
    assert informer.lists == 1


async def test_watch_through_aiohttp_delivers_in_order_and_large_objects_whole(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    """The operator's client watches through aiohttp (`apiserver.stream_lines`): the same
    events in the same order, objects larger than any read buffer in one piece, and short
    server timeouts re-watched from where it was."""
    base = f"/api/v1/namespaces/{namespace}/secrets"
    await create(kube, secret(namespace, "s1"))
    rec = Recorder()
    apiserver.enable_fast_calls(kube)
    try:
        informer = watch.Informer(kube, SECRETS, rec, namespace=namespace, watch_timeout=1)
        async with running(informer):
            big = "x" * 400_000  # one watch line of ~530 KiB
            await create(kube, secret(namespace, "big", big))
            await patch(kube, f"{base}/s1", {"metadata": {"labels": {"touched": "yes"}}})
            await asyncio.sleep(2.5)  # past two server timeouts: re-watches
            await delete(kube, f"{base}/big")
            await rec.wait_for(4)
        assert rec.seen() == [
            ("ADDED", "s1"),
            ("ADDED", "big"),
            ("MODIFIED", "s1"),
            ("DELETED", "big"),
        ]
        assert rec.events[1][3]["data"]["k"] == base64.b64encode(big.encode()).decode()
        assert informer.lists == 1
    finally:
        await apiserver.close_fast_calls(kube)


async def test_label_selector_filters_configmaps(kube: kr8s.asyncio.Api, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    await create(kube, configmap(namespace, "in", app="yes"))
    await create(kube, configmap(namespace, "out"))
    rec = Recorder()
    informer = watch.Informer(kube, CONFIGMAPS, rec, namespace=namespace, label_selector="app=yes")
    async with running(informer):
        assert rec.seen() == [("ADDED", "in")]
        await create(kube, configmap(namespace, "out2", app="no"))
        await patch(kube, f"{base}/out", {"metadata": {"labels": {"app": "yes"}}})
        await patch(kube, f"{base}/in", {"metadata": {"labels": {"app": None}}})
        await create(kube, configmap(namespace, "in2", app="yes"))
        await rec.wait_for(4)
        await asyncio.sleep(0.3)
    # Joining the selector looks like ADDED, leaving it like DELETED; "out2" never shows up.
    assert rec.seen() == [("ADDED", "in"), ("ADDED", "out"), ("DELETED", "in"), ("ADDED", "in2")]


async def test_cluster_wide_across_namespaces(kube: kr8s.asyncio.Api, namespace: str) -> None:
    other = await make_namespace(kube)
    marker = uuid.uuid4().hex[:10]
    await create(kube, configmap(namespace, "a", run=marker))
    rec = Recorder()
    informer = watch.Informer(kube, CONFIGMAPS, rec, label_selector=f"run={marker}")
    async with running(informer):
        assert rec.events[0][:2] == ("ADDED", (namespace, "a"))
        await create(kube, configmap(other, "b", run=marker))
        await create(kube, configmap(other, "a", run=marker))
        await delete(kube, f"/api/v1/namespaces/{namespace}/configmaps/a")
        await rec.wait_for(4)
    assert [(e, k) for e, k, _, _ in rec.events[1:]] == [
        ("ADDED", (other, "b")),
        ("ADDED", (other, "a")),
        ("DELETED", (namespace, "a")),
    ]


async def test_cluster_scoped_resource_has_empty_namespace(kube: kr8s.asyncio.Api) -> None:
    marker = uuid.uuid4().hex[:10]
    first = await make_namespace(kube, run=marker)
    rec = Recorder()
    informer = watch.Informer(kube, NAMESPACES, rec, label_selector=f"run={marker}")
    async with running(informer):
        second = await make_namespace(kube, run=marker)
        await rec.wait_for(2)
    assert [(e, k) for e, k, _, _ in rec.events] == [
        ("ADDED", ("", first)),
        ("ADDED", ("", second)),
    ]


async def test_field_selector(kube: kr8s.asyncio.Api, namespace: str) -> None:
    await create(kube, secret(namespace, "wanted"))
    await create(kube, secret(namespace, "other"))
    rec = Recorder()
    informer = watch.Informer(
        kube, SECRETS, rec, namespace=namespace, field_selector="metadata.name=wanted"
    )
    async with running(informer):
        await create(kube, secret(namespace, "another"))
        await patch(kube, f"/api/v1/namespaces/{namespace}/secrets/wanted", {"data": {"x": ""}})
        await rec.wait_for(2)
        await asyncio.sleep(0.3)
    assert rec.seen() == [("ADDED", "wanted"), ("MODIFIED", "wanted")]


async def test_rewatch_after_timeout_without_relist_or_duplicates(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    """A 1 s server timeout makes the informer re-watch many times from where it was; nothing is
    re-delivered and nothing is re-listed. (kube-apiserver 1.20 sends no bookmarks to watches
    this short, so bookmarks are covered by the unit tests.)"""
    await create(kube, configmap(namespace, "watched", app="yes"))
    rec = Recorder()
    gated = GatedApi(kube)
    informer = watch.Informer(
        gated.as_api(),
        CONFIGMAPS,
        rec,
        namespace=namespace,
        label_selector="app=yes",
        watch_timeout=1,
    )
    async with running(informer):
        listed_at = informer.resource_version
        await create(kube, configmap(namespace, "noise"))  # filtered out by the selector
        await asyncio.sleep(3.5)
        watches = [p for p in gated.requests if is_watch(p)]
        assert len(watches) >= 3
        assert all(p["allowWatchBookmarks"] == "true" for p in watches)
        assert all(p["timeoutSeconds"] == "1" for p in watches)
        assert watches[0]["resourceVersion"] == listed_at
        await create(kube, configmap(namespace, "later", app="yes"))
        await rec.wait_for(2)
    assert rec.seen() == [("ADDED", "watched"), ("ADDED", "later")]
    assert informer.lists == 1
    assert len([p for p in gated.requests if is_list(p)]) == 1


# --- 410 Gone ----------------------------------------------------------------------------------


def gadget_crd(group: str, *, printer_column: bool = False) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        },
    }
    if printer_column:
        version["additionalPrinterColumns"] = [
            {"name": "Colour", "type": "string", "jsonPath": ".spec.colour"}
        ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [version],
        },
    }


CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@contextlib.asynccontextmanager
async def gadget_type(kube: kr8s.asyncio.Api) -> AsyncIterator[str]:
    group = f"g{uuid.uuid4().hex[:8]}.watch.asyncso.dev"
    await create(kube, gadget_crd(group), CRDS)
    try:
        for _ in range(200):
            _, crd = await request(kube, "GET", f"{CRDS}/gadgets.{group}")
            conditions = {
                c["type"]: c["status"] for c in crd.get("status", {}).get("conditions") or []
            }
            if conditions.get("Established") == "True":
                break
            await asyncio.sleep(0.05)
        yield group
    finally:
        await request(kube, "DELETE", f"{CRDS}/gadgets.{group}")


async def watch_answers_gone(kube: kr8s.asyncio.Api, base: str, rv: str) -> bool:
    async with kube.call_api(
        "GET",
        version="",
        base=base,
        url="gadgets",
        stream=True,
        params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "1"},
    ) as response:
        async for line in response.aiter_lines():
            event = json.loads(line)
            return bool(event["type"] == "ERROR" and event["object"]["code"] == 410)
    return False


async def test_real_410_relists_and_reports_deletions(
    kube: kr8s.asyncio.Api, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with gadget_type(kube) as group:
        base = f"/apis/{group}/v1/namespaces/{namespace}"
        for name in ("g1", "g2", "g3"):
            body = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": name}}
            await create(kube, body, f"{base}/gadgets")
        rec = Recorder()
        gated = GatedApi(kube)
        resource = apiserver.Resource(group, "v1", "gadgets", namespaced=True)
        informer = watch.Informer(
            gated.as_api(), resource, rec, namespace=namespace, watch_timeout=1
        )
        caplog.set_level(logging.INFO, logger="asyncso.watch")
        async with running(informer):
            assert sorted(rec.seen()) == [("ADDED", "g1"), ("ADDED", "g2"), ("ADDED", "g3")]
            # Let the current watch end; its successor waits at the gate with the old RV.
            gated.hold(is_watch)
            await asyncio.wait_for(gated.held.wait(), timeout=5)
            stale = informer.resource_version
            await delete(kube, f"{base}/gadgets/g2")
            await patch(kube, f"{base}/gadgets/g1", {"spec": {"colour": "red"}})
            # Updating the CRD replaces its storage; the new watch cache starts after `stale`.
            _, crd = await request(kube, "GET", f"{CRDS}/gadgets.{group}")
            crd["spec"] = gadget_crd(group, printer_column=True)["spec"]
            status, payload = await request(kube, "PUT", f"{CRDS}/gadgets.{group}", crd)
            assert status == 200, payload
            for _ in range(100):
                if await watch_answers_gone(kube, base, stale):
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the apiserver never answered 410 for the stale resourceVersion")
            gated.release()
            await rec.wait_for(5)
            await until(lambda: informer.lists == 2, "the re-list")
        # No duplicate ADDED for g3, a MODIFIED for g1, a DELETED tombstone for g2.
        assert sorted(rec.seen()[3:]) == [("DELETED", "g2"), ("MODIFIED", "g1")]
        deleted = next(e for e in rec.events if e[0] == "DELETED")
        assert deleted[1] == (namespace, "g2")
        assert any("expired; re-listing" in r.getMessage() for r in caplog.records)
        lists = [p for p in gated.requests if is_list(p)]
        assert len(lists) == 2


def etcd_url(bench: devbench.BenchInfo) -> str | None:
    """The bench's etcd client URL, read from the etcd process's own command line (BenchInfo
    does not expose it)."""
    data_dir = str(bench.workdir / "etcd")
    for proc in pathlib.Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv]
        if data_dir in args and "--listen-client-urls" in args:
            return args[args.index("--listen-client-urls") + 1].split(",")[0]
    return None


def etcd_post(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        f"{url}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return cast(dict[str, Any], json.loads(response.read()))


async def test_expired_continue_token_restarts_the_list(
    kube: kr8s.asyncio.Api, namespace: str, bench: devbench.BenchInfo
) -> None:
    etcd = etcd_url(bench)
    if etcd is None:
        pytest.skip("cannot find the bench's etcd client URL")
    for name in ("c1", "c2", "c3", "c4", "c5"):
        await create(kube, configmap(namespace, name))
    rec = Recorder()
    gated = GatedApi(kube)
    informer = watch.Informer(gated.as_api(), CONFIGMAPS, rec, namespace=namespace, page_size=2)
    gated.hold(lambda params: "continue" in params)
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(gated.held.wait(), timeout=10)
        assert rec.seen() == [("ADDED", "c1"), ("ADDED", "c2")]
        await delete(kube, f"/api/v1/namespaces/{namespace}/configmaps/c1")
        revision = int(etcd_post(etcd, "/v3/kv/range", {"key": "AA=="})["header"]["revision"])
        etcd_post(etcd, "/v3/kv/compaction", {"revision": revision, "physical": True})
        gated.release()
        await asyncio.wait_for(informer.synced.wait(), timeout=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # The restarted list delivers only what is new, then reports c1 as gone.
    assert rec.seen() == [
        ("ADDED", "c1"),
        ("ADDED", "c2"),
        ("ADDED", "c3"),
        ("ADDED", "c4"),
        ("ADDED", "c5"),
        ("DELETED", "c1"),
    ]
    starts = [p for p in gated.requests if is_list(p) and "continue" not in p]
    assert len(starts) == 2  # the first list was started over once, as a single list
    assert informer.lists == 1


# --- outages -----------------------------------------------------------------------------------


async def test_connection_loss_backs_off_and_relists(
    kube: kr8s.asyncio.Api,
    namespace: str,
    bench: devbench.BenchInfo,
    tmp_path: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base = f"/api/v1/namespaces/{namespace}/secrets"
    await create(kube, secret(namespace, "s1"))
    await create(kube, secret(namespace, "s2"))
    proxy = Proxy(int(bench.apiserver_url.rsplit(":", 1)[1]))
    await proxy.start()
    config = json.loads(bench.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(config))
    api = await kr8s.asyncio.api(kubeconfig=str(kubeconfig))
    rec = Recorder()
    informer = watch.Informer(api, SECRETS, rec, namespace=namespace)
    caplog.set_level(logging.DEBUG, logger="asyncso.watch")
    try:
        async with running(informer):
            await proxy.cut()
            await delete(kube, f"{base}/s2")
            await create(kube, secret(namespace, "s3"))
            await until(lambda: any(r.levelno == logging.WARNING for r in caplog.records), "warn")
            await asyncio.sleep(1.0)  # a few failed reconnects while the proxy is down
            await proxy.start()
            await rec.wait_for(4, within=40)
    finally:
        if api._session is not None:
            await api._session.aclose()
        if proxy._server is not None:
            await proxy.cut()
    assert sorted(rec.seen()[2:]) == [("ADDED", "s3"), ("DELETED", "s2")]
    assert informer.lists >= 2
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == "asyncso.watch"
    ]
    assert warnings and all("re-listing in" in w for w in warnings)
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    for record in caplog.records:
        assert SECRET_VALUE not in record.getMessage() and encoded not in record.getMessage()
