"""A counting HTTP proxy in front of LocalStack: the AWS calls the operator made, per operation.

Why a proxy beside the operator's own metric: it counts what reaches the wire (retries
included) without trusting the code under test, so the two can be checked against each other.
It runs as its own process so its event loop neither slows nor is slowed by the benchmark's.

    python -m bench.proxy --upstream http://127.0.0.1:4566 --port 8999

`GET /__bench__/counts` answers `{"calls": {"BatchGetSecretValue": 12}, "errors": {...}}`;
every other request is forwarded unchanged (AWS JSON protocols name the operation in the
`X-Amz-Target` header; query protocols such as STS in the form field `Action`).
"""

from __future__ import annotations

import argparse
import collections
import urllib.parse

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

COUNTS_PATH = "/__bench__/counts"
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)


def operation(*, method: str, path: str, target: str | None, body: bytes) -> str:
    """The AWS operation a request calls (`BatchGetSecretValue`), or `METHOD path` if unknown."""
    if target:
        return target.rsplit(".", 1)[-1]
    if body and b"Action=" in body:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        actions = form.get("Action")
        if actions:
            return actions[0]
    return f"{method} {path}"


class CountingProxy:
    """Forwards every request to `upstream` and counts it by operation."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.calls: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self._session: aiohttp.ClientSession | None = None

    async def open(self, _app: web.Application) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=120),
        )

    async def close(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def counts(self, _request: web.Request) -> web.Response:
        return web.json_response({"calls": dict(self.calls), "errors": dict(self.errors)})

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if request.path == COUNTS_PATH:
            return await self.counts(request)
        assert self._session is not None
        body = await request.read()
        name = operation(
            method=request.method,
            path=request.path,
            target=request.headers.get("X-Amz-Target"),
            body=body,
        )
        self.calls[name] += 1
        headers = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP
        )
        try:
            async with self._session.request(
                request.method,
                self.upstream + request.path_qs,
                headers=headers,
                data=body,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                reply = CIMultiDict(
                    (k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP
                )
                if upstream.status >= 400:
                    self.errors[name] += 1
                return web.Response(status=upstream.status, body=payload, headers=reply)
        except (aiohttp.ClientError, TimeoutError):
            self.errors[name] += 1
            return web.Response(status=502, text="bench proxy: upstream unreachable")


def build_app(upstream: str) -> web.Application:
    proxy = CountingProxy(upstream)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.on_startup.append(proxy.open)
    app.on_cleanup.append(proxy.close)
    app.router.add_route("*", "/{tail:.*}", proxy.forward)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.proxy", description=__doc__)
    parser.add_argument("--upstream", required=True, help="LocalStack URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    web.run_app(
        build_app(args.upstream),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
        handle_signals=True,
    )


if __name__ == "__main__":
    main()
