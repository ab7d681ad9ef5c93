"""Logging setup and the HTTP endpoints an orchestrator scrapes: /metrics, /healthz, /readyz.

Why one module: these are the process's outward-facing observability surfaces, configured once
by `asyncso run` from ESO-compatible flags (`--log-level`, `--metrics-addr`, `--live-addr`), and
the chart's probes and ServiceMonitor depend on the paths and ports defined here.

Logging rule: callers never pass secret values to the logger. The redaction filter below is a
last line of defence for the obvious mistake (handing a whole Secret body as an `extra`), not a
licence to log payloads.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from aiohttp import web
from prometheus_client import exposition

from asyncso import metrics

#: Keys whose values are secret material in Kubernetes Secrets and ESO objects.
REDACTED_KEYS = frozenset({"data", "stringData", "binaryData"})
REDACTED = "[redacted]"

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
#: Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
#: Chatty libraries: httpx logs every request at INFO, which would drown the operator's lines.
_NOISY_LOGGERS = ("httpx", "httpcore", "aiobotocore", "botocore", "aiohttp.access")
_HANDLER_MARK = "_asyncso_handler"
_OBJECT_NAME = "object_name"


# --- logging -----------------------------------------------------------------------------------


def redact(value: Any) -> Any:
    """A copy of `value` with every `data`/`stringData`/`binaryData` entry replaced, recursively."""
    if isinstance(value, Mapping):
        return {k: (REDACTED if k in REDACTED_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


def log_fields(
    *, namespace: str | None = None, name: str, kind: str | None = None
) -> dict[str, str]:
    """`extra=` fields that identify an object: `log.info("synced", extra=log_fields(...))`.

    Why a helper: `name` is a reserved LogRecord attribute (`extra={"name": ...}` raises
    KeyError inside `logging`), so the object name travels as `object_name` and the formatters
    print it back as `name`.
    """
    fields = {"object_name": name}
    if namespace:
        fields["namespace"] = namespace
    if kind:
        fields["kind"] = kind
    return fields


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a caller passed with `extra=` (namespace, name, kind, ...)."""
    return {
        ("name" if k == _OBJECT_NAME else k): v
        for k, v in vars(record).items()
        if k not in _STANDARD_ATTRS
    }


class RedactFilter(logging.Filter):
    """Replaces secret-looking payloads in extras and %-args before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in vars(record).copy().items():
            if key in _STANDARD_ATTRS:
                continue
            if key in REDACTED_KEYS:
                setattr(record, key, REDACTED)
            elif isinstance(value, Mapping | list | tuple):
                setattr(record, key, redact(value))
        if isinstance(record.args, Mapping):
            record.args = redact(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(redact(a) for a in record.args)
        return True


def _timestamp(created: float) -> str:
    moment = datetime.datetime.fromtimestamp(created, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, msg, then the caller's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal: `time level logger: msg key=value ...`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in extras(record).items())
        line = (
            f"{_timestamp(record.created)} {record.levelname:<7} {record.name}: "
            f"{record.getMessage()}"
        )
        if fields:
            line = f"{line} {fields}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def parse_level(level: str) -> int:
    """ESO/zap level names (`debug`, `info`, `warn`, `error`) to a `logging` level."""
    try:
        return _LEVELS[level.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; use one of {sorted(_LEVELS)}") from None


def configure_logging(*, level: str, fmt: Literal["json", "text"]) -> None:
    """Route all logging to stderr in `fmt`, at `level`; safe to call again (replaces itself)."""
    if fmt not in ("json", "text"):
        raise ValueError(f"unknown log format {fmt!r}; use json or text")
    numeric = parse_level(level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


# --- HTTP: metrics and probes ------------------------------------------------------------------


def parse_addr(addr: str) -> tuple[str | None, int] | None:
    """Go-style listen address → (host, port); `None` when disabled ("0" or empty).

    ":8080" listens on every interface (host `None`), "127.0.0.1:0" on loopback with a port the
    kernel picks, "[::1]:8080" on IPv6 loopback. "0" disables the server, as ESO allows for
    `--metrics-addr`.
    """
    addr = addr.strip()
    if addr in ("", "0"):
        return None
    host, sep, port_text = addr.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"listen address {addr!r} must look like ':8080' or 'host:port'")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"listen address {addr!r}: port out of range")
    host = host.removeprefix("[").removesuffix("]")
    return (host or None, port)


async def _metrics(request: web.Request) -> web.Response:
    encoder, content_type = exposition.choose_encoder(request.headers.get("Accept", ""))
    body = encoder(metrics.REGISTRY)
    return web.Response(body=body, headers={"Content-Type": content_type})


def _probe(
    check: Callable[[], bool], *, failing_status: int
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(_request: web.Request) -> web.Response:
        try:
            ok = bool(check())
        except Exception:  # a broken check means "not ok", never a 500 traceback page
            logging.getLogger("asyncso.observability").exception("health check raised")
            ok = False
        if ok:
            return web.Response(text="ok\n")
        return web.Response(status=failing_status, text="not ok\n")

    return handler


@dataclasses.dataclass
class Servers:
    """The running HTTP servers; ports are the bound ones (useful when asked for port 0)."""

    metrics_port: int | None
    live_port: int | None
    _runners: list[web.AppRunner] = dataclasses.field(default_factory=list, repr=False)

    async def aclose(self) -> None:
        """Stop listening and close open connections; idempotent."""
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()


async def _serve(app: web.Application, host: str | None, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host=host, port=port, reuse_address=True)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound: int = runner.addresses[0][1]
    return runner, bound


async def start_http(
    *,
    metrics_addr: str,
    live_addr: str,
    is_ready: Callable[[], bool],
    is_alive: Callable[[], bool] = lambda: True,
) -> Servers:
    """Serve /metrics on `metrics_addr` and /healthz, /readyz on `live_addr`.

    /healthz answers 200 while `is_alive()` (else 500: the kubelet restarts the pod); /readyz
    answers 200 once `is_ready()` (else 503: the pod gets no traffic and a rollout waits). When
    both addresses are the same, one server carries all three paths.
    """
    metrics_at = parse_addr(metrics_addr)
    live_at = parse_addr(live_addr)
    probes = [
        web.get("/healthz", _probe(is_alive, failing_status=500)),
        web.get("/readyz", _probe(is_ready, failing_status=503)),
    ]
    metrics_routes = [web.get("/metrics", _metrics)]
    servers = Servers(metrics_port=None, live_port=None)
    try:
        if metrics_at is not None and metrics_at == live_at and metrics_at[1] != 0:
            app = web.Application()
            app.add_routes(metrics_routes + probes)
            runner, port = await _serve(app, *metrics_at)
            servers._runners.append(runner)
            servers.metrics_port = servers.live_port = port
            return servers
        if metrics_at is not None:
            app = web.Application()
            app.add_routes(metrics_routes)
            runner, servers.metrics_port = await _serve(app, *metrics_at)
            servers._runners.append(runner)
        if live_at is not None:
            app = web.Application()
            app.add_routes(probes)
            runner, servers.live_port = await _serve(app, *live_at)
            servers._runners.append(runner)
    except BaseException:
        await servers.aclose()
        raise
    return servers
