"""Logging formats and redaction; the metrics/probe servers on real loopback sockets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import aiohttp
import pytest

from asyncso import metrics, observability


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """configure_logging's handler, pointed at a buffer; the root logger restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    yield buffer
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
    root.setLevel(saved_level)


def _configure(buffer: io.StringIO, *, level: str = "info", fmt: str = "json") -> None:
    observability.configure_logging(level=level, fmt=fmt)  # type: ignore[arg-type]
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_asyncso_handler", False)]
    assert len(ours) == 1
    assert isinstance(ours[0], logging.StreamHandler)
    ours[0].setStream(buffer)


def test_json_lines_carry_extras(captured: io.StringIO) -> None:
    _configure(captured)
    logging.getLogger("asyncso.test").info(
        "synced %s",
        "demo",
        extra=observability.log_fields(namespace="ns1", name="demo", kind="ExternalSecret"),
    )
    entry = json.loads(captured.getvalue().strip())
    assert entry["level"] == "info"
    assert entry["logger"] == "asyncso.test"
    assert entry["msg"] == "synced demo"
    assert entry["time"].endswith("Z")
    assert (entry["namespace"], entry["name"], entry["kind"]) == ("ns1", "demo", "ExternalSecret")


def test_name_is_reserved_by_logging_hence_log_fields() -> None:
    with pytest.raises(KeyError):
        logging.getLogger("asyncso.test").error("x", extra={"name": "demo"})


def test_text_format_and_level(captured: io.StringIO) -> None:
    _configure(captured, level="warn", fmt="text")
    log = logging.getLogger("asyncso.test")
    log.info("hidden")
    log.warning("shown", extra={"namespace": "ns1"})
    out = captured.getvalue()
    assert "hidden" not in out
    assert "WARNING" in out
    assert "asyncso.test: shown namespace=ns1" in out


def test_configure_twice_keeps_one_handler(captured: io.StringIO) -> None:
    _configure(captured)
    first = [h for h in logging.getLogger().handlers if getattr(h, "_asyncso_handler", False)]
    _configure(captured, fmt="text")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_asyncso_handler", False)]
    assert len(ours) == 1 and ours != first  # replaced, not added
    assert isinstance(first[0], logging.StreamHandler)
    first[0].setStream(captured)  # a handler left behind would write here too
    logging.getLogger("asyncso.test").warning("once")
    out = captured.getvalue()
    assert out.count("once") == 1
    assert not out.startswith("{")  # the text format won


def test_exceptions_are_included(captured: io.StringIO) -> None:
    _configure(captured)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("asyncso.test").exception("failed")
    entry = json.loads(captured.getvalue())
    assert "RuntimeError: boom" in entry["error"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"data": {"password": "hunter2"}}, {"data": "[redacted]"}),
        ({"stringData": "hunter2"}, {"stringData": "[redacted]"}),
        (
            {"secret": {"metadata": {"name": "s"}, "data": {"k": "aHVudGVyMg=="}}},
            {"secret": {"metadata": {"name": "s"}, "data": "[redacted]"}},
        ),
        (
            {"items": [{"binaryData": {"k": "x"}}, {"name": "ok"}]},
            {"items": [{"binaryData": "[redacted]"}, {"name": "ok"}]},
        ),
    ],
)
def test_secret_payloads_in_extras_are_redacted(
    captured: io.StringIO, extra: dict[str, object], expected: dict[str, object]
) -> None:
    _configure(captured)
    logging.getLogger("asyncso.test").info("careless", extra=extra)
    out = captured.getvalue()
    assert "hunter2" not in out
    assert "aHVudGVyMg==" not in out
    entry = json.loads(out)
    for key, value in expected.items():
        assert entry[key] == value


def test_secret_payloads_in_args_are_redacted(captured: io.StringIO) -> None:
    _configure(captured, fmt="text")
    logging.getLogger("asyncso.test").info("body %s", {"stringData": {"pw": "hunter2"}})
    assert "hunter2" not in captured.getvalue()
    assert "[redacted]" in captured.getvalue()


def test_unknown_level_and_format_rejected() -> None:
    with pytest.raises(ValueError, match="log level"):
        observability.configure_logging(level="verbose", fmt="json")
    with pytest.raises(ValueError, match="log format"):
        observability.configure_logging(level="info", fmt="xml")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        (":8080", (None, 8080)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:9000", ("::1", 9000)),
        ("0", None),
        ("", None),
    ],
)
def test_parse_addr(addr: str, expected: tuple[str | None, int] | None) -> None:
    assert observability.parse_addr(addr) == expected


@pytest.mark.parametrize("addr", ["8080", "host:", "host:http", ":70000"])
def test_parse_addr_rejects(addr: str) -> None:
    with pytest.raises(ValueError):
        observability.parse_addr(addr)


async def _get(port: int, path: str, **headers: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp,
    ):
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def test_metrics_and_probes_on_separate_ports() -> None:
    ready = False
    alive = True
    servers = await observability.start_http(
        metrics_addr="127.0.0.1:0",
        live_addr="127.0.0.1:0",
        is_ready=lambda: ready,
        is_alive=lambda: alive,
    )
    try:
        assert servers.metrics_port and servers.live_port
        assert servers.metrics_port != servers.live_port
        metrics.SYNC_CALLS_TOTAL.labels(name="obs-test", namespace="ns").inc()

        status, ctype, body = await _get(servers.metrics_port, "/metrics")
        assert status == 200
        assert ctype.startswith("text/plain")
        assert 'externalsecret_sync_calls_total{name="obs-test",namespace="ns"}' in body

        status, ctype, body = await _get(
            servers.metrics_port, "/metrics", Accept="application/openmetrics-text"
        )
        assert ctype.startswith("application/openmetrics-text")
        assert body.rstrip().endswith("# EOF")

        assert (await _get(servers.live_port, "/healthz"))[0] == 200
        assert (await _get(servers.live_port, "/readyz"))[0] == 503
        ready = True
        assert (await _get(servers.live_port, "/readyz"))[0] == 200
        alive = False
        assert (await _get(servers.live_port, "/healthz"))[0] == 500

        assert (await _get(servers.live_port, "/metrics"))[0] == 404
        assert (await _get(servers.metrics_port, "/readyz"))[0] == 404
    finally:
        await servers.aclose()
        await servers.aclose()  # idempotent
    with pytest.raises(aiohttp.ClientConnectionError):
        await _get(servers.live_port, "/healthz")


async def test_metrics_disabled_with_zero() -> None:
    servers = await observability.start_http(
        metrics_addr="0", live_addr="127.0.0.1:0", is_ready=lambda: True
    )
    try:
        assert servers.metrics_port is None
        assert servers.live_port is not None
        assert (await _get(servers.live_port, "/readyz"))[0] == 200
    finally:
        await servers.aclose()


async def test_a_raising_check_reads_as_not_ready() -> None:
    def broken() -> bool:
        raise RuntimeError("check failed")

    servers = await observability.start_http(
        metrics_addr="0", live_addr="127.0.0.1:0", is_ready=broken
    )
    try:
        assert servers.live_port is not None
        assert (await _get(servers.live_port, "/readyz"))[0] == 503
    finally:
        await servers.aclose()


async def test_same_address_serves_everything_on_one_port() -> None:
    # Reserve a free port first: two servers asked for the same fixed port share one listener.
    holder = await observability.start_http(
        metrics_addr="0", live_addr="127.0.0.1:0", is_ready=lambda: True
    )
    port = holder.live_port
    await holder.aclose()
    assert port is not None
    servers = await observability.start_http(
        metrics_addr=f"127.0.0.1:{port}", live_addr=f"127.0.0.1:{port}", is_ready=lambda: True
    )
    try:
        assert servers.metrics_port == servers.live_port == port
        assert (await _get(port, "/metrics"))[0] == 200
        assert (await _get(port, "/healthz"))[0] == 200
    finally:
        await servers.aclose()


async def test_port_in_use_raises_and_leaks_nothing() -> None:
    first = await observability.start_http(
        metrics_addr="0", live_addr="127.0.0.1:0", is_ready=lambda: True
    )
    try:
        with pytest.raises(OSError):
            await observability.start_http(
                metrics_addr="127.0.0.1:0",
                live_addr=f"127.0.0.1:{first.live_port}",
                is_ready=lambda: True,
            )
    finally:
        await first.aclose()
