"""Fault-injecting proxies: HTTP in front of LocalStack, TCP in front of the kube-apiserver.

Why: the operator's promises under failure (no Secret emptied, clear conditions, recovery within
seconds, no Event storm) can only be shown against real clients and real sockets. botocore's
retries and kr8s's reconnects must see what they would see in production: refused connections,
5xx answers, AWS's own throttling and access-denied bodies, requests that never answer, and
connections cut under a watch. Both proxies run on the caller's event loop, so a test switches
the fault at run time with one call, and count what reached them.

`AwsFaultProxy` speaks just enough HTTP/1.1 to relay one request at a time per connection (what
botocore does) and to answer in AWS's wire formats: JSON 1.1 (`__type`) for Secrets Manager and
Parameter Store, the query protocol's XML for STS. `TcpFaultProxy` pipes bytes and never looks
inside, so the apiserver's TLS passes through untouched.

`python -m devenv.faultproxy aws --upstream URL --port N` runs the HTTP proxy alone; its mode is
switched with `PUT /_faultproxy/mode` (`{"mode": "throttle"}`) and its counts read with
`GET /_faultproxy/counts`; `"seconds": 15` switches back to `pass` after that long (the only
way out of `refuse` from outside, since a refusing proxy cannot be reached).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import urllib.parse
import uuid
from collections.abc import Iterable
from typing import Literal, get_args

Mode = Literal["pass", "refuse", "error5xx", "throttle", "deny", "hang"]
MODES: tuple[str, ...] = get_args(Mode)

CONTROL_PREFIX = "/_faultproxy/"
#: Counted under this name when a request names no operation (no X-Amz-Target, no Action=).
UNKNOWN_OPERATION = "unknown"
THROTTLING_EXCEPTION = "ThrottlingException"
TOO_MANY_REQUESTS_EXCEPTION = "TooManyRequestsException"
ACCESS_DENIED_EXCEPTION = "AccessDeniedException"
_MAX_HEADER_BYTES = 64 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


@dataclasses.dataclass(frozen=True)
class Fault:
    """What the proxy does with a request: the mode, for which operations, which throttle code."""

    mode: Mode
    operations: frozenset[str] = frozenset()
    throttle_code: str = THROTTLING_EXCEPTION


class FaultProxyError(RuntimeError):
    """The proxy was misused (unknown mode, not started); the message says how."""


class _Request:
    """One parsed HTTP/1.1 request: what the proxy needs to count, fault or relay it."""

    def __init__(self, head: bytes, body: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        self.method, self.target, self.version = [*lines[0].split(" ", 2), "", ""][:3]
        self.headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line:
                key, _, value = line.partition(":")
                self.headers.append((key.strip(), value.strip()))
        self.body = body

    def header(self, name: str) -> str:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), "")

    @property
    def keep_alive(self) -> bool:
        connection = self.header("Connection").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"

    @property
    def json_protocol(self) -> bool:
        """AWS JSON protocols name the operation in `X-Amz-Target`; the query protocol does not."""
        return bool(self.header("X-Amz-Target"))

    def access_key(self) -> str:
        """The access key id in a SigV4 `Authorization` header ("" for unsigned requests)."""
        authorization = self.header("Authorization")
        _, found, rest = authorization.partition("Credential=")
        return rest.split("/", 1)[0] if found else ""

    def operation(self) -> str:
        """`secretsmanager.GetSecretValue`-style names: JSON target, else `sts.<Action>`."""
        target = self.header("X-Amz-Target")
        if target:
            prefix, _, action = target.rpartition(".")
            service = {"secretsmanager": "secretsmanager", "AmazonSSM": "ssm"}.get(prefix, prefix)
            return f"{service}.{action}" if prefix else action
        form = urllib.parse.parse_qs(self.body.decode("latin-1"))
        action = (form.get("Action") or [""])[0]
        return f"sts.{action}" if action else UNKNOWN_OPERATION

    def encode_for_upstream(self, host: str) -> bytes:
        """The request as the upstream should get it: same bytes, its Host, one request per
        connection (the upstream closes after answering, which frames any response)."""
        lines = [f"{self.method} {self.target} {self.version}"]
        for key, value in self.headers:
            if key.lower() in ("host", "connection", "keep-alive", "proxy-connection"):
                continue
            lines.append(f"{key}: {value}")
        lines += [f"Host: {host}", "Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1") + self.body


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """The next request on a client connection, or None when the client is done."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    if len(head) > _MAX_HEADER_BYTES:
        return None
    request = _Request(head[:-4], b"")
    if "chunked" in request.header("Transfer-Encoding").lower():
        request.body = await _read_chunked(reader)
        request.headers = [
            (k, v) for k, v in request.headers if k.lower() != "transfer-encoding"
        ] + [("Content-Length", str(len(request.body)))]
    else:
        length = int(request.header("Content-Length") or 0)
        request.body = await reader.readexactly(length) if length else b""
    return request


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # the empty trailer
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def _framed(response: bytes) -> bool:
    """Whether a client can find the end of `response` without the connection closing."""
    head = response.split(b"\r\n\r\n", 1)[0].lower()
    if b"\r\nconnection: close" in head:
        return False
    return b"\r\ncontent-length:" in head or b"\r\ntransfer-encoding: chunked" in head


def _response(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def aws_error(request: _Request, *, status: int, code: str, message: str) -> bytes:
    """An error answer in the wire format of the request's protocol, as AWS sends it."""
    request_id = str(uuid.uuid4())
    if request.json_protocol:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", request_id),
        ]
        return _response(status, headers, body)
    kind = "Receiver" if status >= 500 else "Sender"
    xml = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return _response(
        status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], xml.encode()
    )


class AwsFaultProxy:
    """An HTTP proxy in front of an AWS endpoint (LocalStack) whose fault is switched at run time.

    Modes: `pass` relays; `refuse` stops listening and cuts open connections (clients see
    ECONNREFUSED / resets); `error5xx` answers 500 `InternalFailure`; `throttle` answers 400
    with `throttle_code` (`ThrottlingException` or `TooManyRequestsException`); `deny` answers
    400 `AccessDeniedException`; `hang` reads the request and never answers (the connection is
    dropped when the mode changes). `operations`, when given, limits the fault to those
    operations (e.g. `{"secretsmanager.BatchGetSecretValue"}`); others pass. `keys`, when given,
    sets the fault only for requests signed with those access key ids (one store's identity),
    over the fault for everyone else; `refuse` is for everyone (it closes the port).
    """

    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or not parsed.hostname:
            raise FaultProxyError(f"upstream {upstream!r} must be an http:// URL")
        self._upstream = (parsed.hostname, parsed.port or 80)
        self._upstream_host = parsed.netloc
        self.host = host
        self.port = port
        self.fault = Fault("pass")
        #: Faults for requests signed with one access key id, over `fault`.
        self.by_key: dict[str, Fault] = {}
        #: Requests received, by operation (faulted ones included).
        self.counts: collections.Counter[str] = collections.Counter()
        #: Requests received, by the access key id that signed them ("" when unsigned).
        self.key_counts: collections.Counter[str] = collections.Counter()
        #: Requests that reached the upstream, by operation.
        self.relayed: collections.Counter[str] = collections.Counter()
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._mode_changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        await self._listen()

    async def close(self) -> None:
        await self._stop_listening()
        self._drop_clients()

    async def __aenter__(self) -> AwsFaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def mode(self) -> Mode:
        return self.fault.mode

    async def set_mode(
        self,
        mode: Mode,
        *,
        operations: Iterable[str] = (),
        throttle_code: str = "",
        keys: Iterable[str] = (),
    ) -> None:
        """Switch the fault; takes effect for the next request (and at once for `refuse`)."""
        if mode not in MODES:
            raise FaultProxyError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        fault = Fault(mode, frozenset(operations), throttle_code or THROTTLING_EXCEPTION)
        self._mode_changed.set()
        self._mode_changed = asyncio.Event()
        keys = list(keys)
        if keys:
            if mode == "refuse":
                raise FaultProxyError("refuse closes the port for everyone; it takes no keys")
            for key in keys:
                if mode == "pass":
                    self.by_key.pop(key, None)
                else:
                    self.by_key[key] = fault
            return
        previous = self.fault.mode
        self.fault = fault
        if mode == "refuse":
            await self._stop_listening()
            self._drop_clients()
        elif previous == "refuse":
            await self._listen()

    def _revert_later(self, seconds: float) -> None:
        """Back to `pass` after `seconds` (the control endpoint is unreachable while refusing)."""

        async def revert() -> None:
            await asyncio.sleep(seconds)
            await self.set_mode("pass")

        task = asyncio.get_running_loop().create_task(revert())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reset_counts(self) -> None:
        self.counts.clear()
        self.relayed.clear()
        self.key_counts.clear()

    # --- connections ---------------------------------------------------------------------------

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _drop_clients(self) -> None:
        for writer in list(self._clients):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._clients.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                answer = await self._answer(request)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if not (request.keep_alive and _framed(answer)):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    async def _answer(self, request: _Request) -> bytes | None:
        """The bytes to send back, or None to drop the connection without an answer."""
        if request.target.startswith(CONTROL_PREFIX):
            return await self._control(request)
        operation = request.operation()
        key = request.access_key()
        self.counts[operation] += 1
        self.key_counts[key] += 1
        fault = self.by_key.get(key, self.fault)
        mode = fault.mode
        if fault.operations and operation not in fault.operations:
            mode = "pass"
        if mode == "pass":
            self.relayed[operation] += 1
            return await self._relay(request)
        if mode == "error5xx":
            return aws_error(
                request, status=500, code="InternalFailure", message="injected server error"
            )
        if mode == "throttle":
            return aws_error(request, status=400, code=fault.throttle_code, message="Rate exceeded")
        if mode == "deny":
            return aws_error(
                request,
                status=400,
                code=ACCESS_DENIED_EXCEPTION,
                message=f"injected: not authorized to perform {operation}",
            )
        if mode == "hang":
            await self._mode_changed.wait()
        return None  # hang ended, or refuse raced with this request: drop the connection

    async def _relay(self, request: _Request) -> bytes | None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            return _response(502, [("Content-Type", "text/plain")], b"upstream unreachable")
        try:
            up_writer.write(request.encode_for_upstream(self._upstream_host))
            await up_writer.drain()
            return await up_reader.read()  # the upstream closes after one answer
        except ConnectionError:
            return None
        finally:
            up_writer.close()
            with contextlib.suppress(ConnectionError):
                await up_writer.wait_closed()

    async def _control(self, request: _Request) -> bytes:
        path = request.target[len(CONTROL_PREFIX) :]
        if path == "counts" and request.method == "GET":
            body = {
                "counts": dict(self.counts),
                "relayed": dict(self.relayed),
                "keys": dict(self.key_counts),
                "mode": self.mode,
            }
            return _response(200, [("Content-Type", "application/json")], json.dumps(body).encode())
        if path == "mode" and request.method in ("PUT", "POST"):
            try:
                wanted = json.loads(request.body or b"{}")
                await self.set_mode(
                    wanted["mode"],
                    operations=wanted.get("operations", ()),
                    throttle_code=wanted.get("throttle_code", ""),
                    keys=wanted.get("keys", ()),
                )
                seconds = float(wanted.get("seconds", 0))
            except (ValueError, KeyError, TypeError, FaultProxyError) as exc:
                return _response(400, [("Content-Type", "text/plain")], str(exc).encode())
            if seconds > 0:
                self._revert_later(seconds)
            return _response(200, [("Content-Type", "application/json")], b'{"ok": true}')
        return _response(404, [("Content-Type", "text/plain")], b"unknown control path")


class TcpFaultProxy:
    """A byte pipe in front of a TCP server (the kube-apiserver) that can cut and refuse.

    `cut()` aborts every open connection (watches and keep-alive pools break mid-stream);
    `refuse()` also stops listening so new connections are refused until `resume()`;
    `outage(seconds)` does both for a while.
    """

    def __init__(
        self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = port
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._serve, self.host, self.port, reuse_address=True
            )
            self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        await self.refuse()

    async def __aenter__(self) -> TcpFaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def cut(self) -> int:
        """Abort every open connection (both sides); returns how many were cut."""
        writers = list(self._writers)
        for writer in writers:
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()
        return len(writers) // 2

    async def refuse(self) -> None:
        """Stop listening and cut what is open: new connections are refused until `resume`."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.cut()

    async def resume(self) -> None:
        await self.start()

    async def outage(self, seconds: float) -> None:
        """Cut everything and refuse new connections for `seconds`, then serve again."""
        await self.refuse()
        await asyncio.sleep(seconds)
        await self.resume()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for end in (writer, up_writer):
                self._writers.discard(end)
                end.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devenv.faultproxy", description=__doc__)
    sub = parser.add_subparsers(dest="kind", required=True)
    aws = sub.add_parser("aws", help="HTTP proxy in front of LocalStack")
    aws.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:4566")
    aws.add_argument("--port", type=int, default=0)
    aws.add_argument("--mode", default="pass", choices=MODES)
    args = parser.parse_args(argv)

    async def serve() -> None:
        proxy = AwsFaultProxy(args.upstream, port=args.port)
        await proxy.start()
        await proxy.set_mode(args.mode)
        print(f"fault proxy for {args.upstream} on {proxy.url}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
