"""The one door to the kube-apiserver: the resource table, the path builder, the request function.

Why one place: the watch, the Kubernetes adapter, leader election and CRD installation all talk
HTTP to the apiserver. Here, once, (1) every path is built from a `Resource` and names that are
checked against the apiserver's own name rules (`names`), so a name taken from a spec can never
climb out of its namespace; (2) every answer that is not a success becomes one `errors.ApiError`
subclass chosen by HTTP status (as kopf does), so callers handle `ApiNotFoundError` or
`ApiConflictError` and never look at a status code.

Built on kr8s's `call_api` (auth, TLS, kubeconfig) with `raise_for_status=False`; on a 401 the
credentials are reloaded once (a rotated service-account token) and the request is repeated.
`call` (requests whose answer is read whole) goes through aiohttp instead, with kr8s's server,
TLS context and token, once `enable_fast_calls` was called for the Api (the operator's client):
httpx costs about 2.3 ms of CPU per status PATCH here (its connection pool re-checks every
pooled connection, with a `poll` syscall each, several times per request), aiohttp 0.3 ms, and
a steady refresh cycle makes one such request per ExternalSecret. Watches (`stream_lines`) go
through aiohttp too, on a session of their own (a watch holds its connection for minutes): every
status PATCH comes back as a watch event, and httpx's line iteration over anyio's TLS stream
was ~9 % of the operator's busy time at W(2,000).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import kr8s
import kr8s.asyncio
import msgspec
import yarl

from asyncso import errors, model, model_generators, model_push, names

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


@dataclasses.dataclass(frozen=True)
class Resource:
    """A resource type: enough to build its paths and to name it in messages."""

    group: str
    version: str
    plural: str
    namespaced: bool
    kind: str = ""
    #: The rule its object names follow (Namespaces are DNS labels, nearly all else subdomains).
    name_rule: names.Rule = names.SUBDOMAIN

    @property
    def prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str = "") -> str:
        """The collection URL; cluster-wide (all namespaces) unless `namespace` is given.
        `namespace` must be valid already (use `path()` for names taken from specs)."""
        if self.namespaced and namespace:
            return f"{self.prefix}/namespaces/{namespace}/{self.plural}"
        return f"{self.prefix}/{self.plural}"


SECRETS = Resource("", "v1", "secrets", True, kind="Secret")
CONFIGMAPS = Resource("", "v1", "configmaps", True, kind="ConfigMap")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", True, kind="ServiceAccount")
EVENTS = Resource("", "v1", "events", True, kind="Event")
NAMESPACES = Resource("", "v1", "namespaces", False, kind="Namespace", name_rule=names.LABEL)
LEASES = Resource("coordination.k8s.io", "v1", "leases", True, kind="Lease")
CRDS = Resource(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    False,
    kind="CustomResourceDefinition",
)
EXTERNALSECRETS = Resource(model.GROUP, model.VERSION, "externalsecrets", True, "ExternalSecret")
SECRETSTORES = Resource(model.GROUP, model.VERSION, "secretstores", True, "SecretStore")
CLUSTERSECRETSTORES = Resource(
    model.GROUP, model.VERSION, "clustersecretstores", False, "ClusterSecretStore"
)
# The fan-out and push kinds (ClusterExternalSecret is v1; the push kinds are v1alpha1).
CLUSTEREXTERNALSECRETS = Resource(
    model.GROUP, model.VERSION, "clusterexternalsecrets", False, "ClusterExternalSecret"
)
PUSHSECRETS = Resource(model.GROUP, model_push.VERSION, "pushsecrets", True, "PushSecret")
CLUSTERPUSHSECRETS = Resource(
    model.GROUP, model_push.VERSION, "clusterpushsecrets", False, "ClusterPushSecret"
)
# generators.external-secrets.io: the generator kinds asyncso runs, and ESO's GeneratorState.
GENERATORS = {
    kind: Resource(
        model_generators.GROUP, model_generators.VERSION, plural, kind != "ClusterGenerator", kind
    )
    for kind, plural in (
        ("Password", "passwords"),
        ("UUID", "uuids"),
        ("Fake", "fakes"),
        ("ECRAuthorizationToken", "ecrauthorizationtokens"),
        ("STSSessionToken", "stssessiontokens"),
        ("ClusterGenerator", "clustergenerators"),
    )
}
GENERATORSTATES = Resource(
    model_generators.GROUP, model_generators.VERSION, "generatorstates", True, "GeneratorState"
)
BY_KIND = {
    r.kind: r
    for r in (
        SECRETS,
        CONFIGMAPS,
        SERVICEACCOUNTS,
        EVENTS,
        NAMESPACES,
        LEASES,
        CRDS,
        EXTERNALSECRETS,
        SECRETSTORES,
        CLUSTERSECRETSTORES,
        CLUSTEREXTERNALSECRETS,
        PUSHSECRETS,
        CLUSTERPUSHSECRETS,
        *GENERATORS.values(),
        GENERATORSTATES,
    )
}


def path(
    resource: Resource,
    *,
    namespace: str = "",
    name: str | None = None,
    subresource: str = "",
    field: str = "metadata",
) -> str:
    """The URL of a collection (`name` None) or of one object, checked segment by segment.

    `field` says where `name` (and `namespace`) came from: the object path of the reference in the
    spec (`spec.target`, `spec.provider.aws.auth.secretRef.accessKeyIDSecretRef`), so an invalid
    one is reported as `spec.target.name: "../x" is not a valid Secret name`
    (`errors.InvalidNameError`, permanent) and no request is made.
    """
    what = resource.kind or resource.plural
    parts = [resource.prefix]
    if resource.namespaced:
        names.check_namespace(namespace, field=f"{field}.namespace")
        parts += ["namespaces", namespace]
    parts.append(resource.plural)
    if name is not None:  # "" is a name, and an invalid one: never the collection by accident
        parts.append(
            names.check(name, resource.name_rule, field=f"{field}.name", what=f"{what} name")
        )
    elif subresource:
        raise ValueError("a subresource needs an object name")
    if subresource:
        parts.append(subresource)
    built = "/".join(parts)
    # Belt and braces: the name rules admit no such segment, whatever the input was.
    if any(segment in ("", ".", "..") for segment in built.split("/")[1:]):
        raise errors.InvalidNameError(field=field, value=built, what="apiserver path")
    return built


def _message(status: int, content: bytes) -> tuple[str, str]:
    """(message, reason) of the apiserver's Status body; the status line otherwise (the message
    is redacted by `errors.api_error`)."""
    try:
        body = msgspec.json.decode(content)
    except msgspec.DecodeError:
        return f"HTTP {status}", ""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"], str(body.get("reason") or "")
    return f"HTTP {status}", ""


def error_of(response: httpx.Response, what: str) -> errors.ApiError:
    return _error_from(response.status_code, response.content, what)


def _error_from(status: int, content: bytes, what: str) -> errors.ApiError:
    """The error of an answer read whole (both transports)."""
    message, reason = _message(status, content)
    return errors.api_error(status, f"{what}: {message}", reason=reason)


# --- the aiohttp path of `call` ---------------------------------------------------------------

#: Seconds for one request read whole (kr8s's httpx client has none).
CALL_TIMEOUT = 60.0
#: Connections of the aiohttp session (each TLS connection holds a 256 KiB read buffer; the
#: operator's client allows `--concurrent` requests in flight, 16 by default).
FAST_CONNECTIONS = 32


@dataclasses.dataclass
class _Fast:
    """An aiohttp session on the kr8s Api's server, TLS context and token."""

    session: aiohttp.ClientSession | None = None
    #: The watches' session: no connection limit (each watch holds one connection).
    watch_session: aiohttp.ClientSession | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


_fast: weakref.WeakKeyDictionary[kr8s.asyncio.Api, _Fast] = weakref.WeakKeyDictionary()


def enable_fast_calls(api: kr8s.asyncio.Api) -> None:
    """`call` with this Api goes through aiohttp from now on (until `close_fast_calls`).
    Not when a proxy is configured (kr8s's httpx client handles that)."""
    if not api.auth.proxy:
        _fast.setdefault(api, _Fast())


async def close_fast_calls(api: kr8s.asyncio.Api) -> None:
    fast = _fast.pop(api, None)
    if fast is None:
        return
    for session in (fast.session, fast.watch_session):
        if session is not None:
            await session.close()


async def _fast_session(api: kr8s.asyncio.Api, fast: _Fast) -> aiohttp.ClientSession:
    if fast.session is None or fast.session.closed:
        auth: Any = api.auth  # kr8s leaves it untyped
        tls = await auth.ssl_context()
        if fast.session is None or fast.session.closed:  # not made meanwhile
            fast.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=tls, limit=FAST_CONNECTIONS),
                timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT),
            )
            _authorise(api, fast)
    return fast.session


async def _watch_session(api: kr8s.asyncio.Api, fast: _Fast) -> aiohttp.ClientSession:
    await _fast_session(api, fast)  # the headers
    if fast.watch_session is None or fast.watch_session.closed:
        auth: Any = api.auth
        tls = await auth.ssl_context()
        if fast.watch_session is None or fast.watch_session.closed:
            fast.watch_session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=tls, limit=0)
            )
    return fast.watch_session


def _authorise(api: kr8s.asyncio.Api, fast: _Fast) -> None:
    fast.headers = {"User-Agent": f"asyncso (kr8s/{kr8s.__version__})"}
    if api.auth.token:
        fast.headers["Authorization"] = f"Bearer {api.auth.token}"


async def _fast_call(
    api: kr8s.asyncio.Api,
    fast: _Fast,
    method: str,
    url: str,
    *,
    body: bytes | None,
    content_type: str,
    params: Mapping[str, str] | None,
    what: str,
) -> bytes:
    session = await _fast_session(api, fast)
    # Already percent-safe: `path()` checked every name (yarl would requote it per call).
    target = yarl.URL(api.auth.server.rstrip("/") + url, encoded=True)
    extra: dict[str, Any] = {}
    if api.auth.tls_server_name:
        extra["server_hostname"] = api.auth.tls_server_name
    for attempt in (1, 2):
        headers = dict(fast.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            async with session.request(
                method, target, data=body, params=params, headers=headers, **extra
            ) as response:
                status, content = response.status, await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise errors.ApiUnavailableError(f"{what}: {type(exc).__name__}") from None
        if status == 401 and attempt == 1:
            await api.auth.reauthenticate()
            _authorise(api, fast)
            continue
        if status >= 300:
            raise _error_from(status, content, what)
        return content
    raise AssertionError("unreachable")  # pragma: no cover


async def stream_lines(
    api: kr8s.asyncio.Api,
    url: str,
    *,
    params: Mapping[str, str],
    read_timeout: float,
    what: str,
) -> AsyncGenerator[bytes | str, None]:
    """GET `url` and yield the answer's lines as they come (a watch), without line ends; errors
    as `request()` raises them. Connecting may take `CALL_TIMEOUT`; each read `read_timeout`.
    Close it (`contextlib.aclosing`) when leaving early."""
    fast = _fast.get(api)
    if fast is None:
        timeout = httpx.Timeout(CALL_TIMEOUT, read=read_timeout)
        async with request(
            api, "GET", url, params=params, timeout=timeout, stream=True, what=what
        ) as response:
            async for text in response.aiter_lines():
                yield text
        return
    session = await _watch_session(api, fast)
    target = api.auth.server.rstrip("/") + url
    extra: dict[str, Any] = {}
    if api.auth.tls_server_name:
        extra["server_hostname"] = api.auth.tls_server_name
    timeout_ = aiohttp.ClientTimeout(total=None, connect=CALL_TIMEOUT, sock_read=read_timeout)
    for attempt in (1, 2):
        try:
            async with session.get(
                target, params=params, headers=dict(fast.headers), timeout=timeout_, **extra
            ) as response:
                if response.status == 401 and attempt == 1:
                    reauthenticate = True
                elif response.status >= 300:
                    raise _error_from(response.status, await response.read(), what)
                else:
                    reauthenticate = False
                    pending = bytearray()
                    async for chunk in response.content.iter_any():
                        for line in split_lines(pending, chunk):
                            yield line
                    if pending:
                        yield bytes(pending)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise errors.ApiUnavailableError(f"{what}: {type(exc).__name__}") from None
        if not reauthenticate:
            return
        await api.auth.reauthenticate()
        _authorise(api, fast)


def split_lines(pending: bytearray, chunk: bytes) -> list[bytes]:
    """The complete lines (without `\n`, nor a `\r` before it) once `chunk` is added to
    `pending`; what follows the last line end stays in `pending`. No length limit: one line
    is one object, as large as the apiserver stores."""
    start = len(pending)
    pending += chunk
    lines: list[bytes] = []
    begin = 0
    end = pending.find(b"\n", start)
    while end >= 0:
        line = bytes(pending[begin:end])
        lines.append(line[:-1] if line.endswith(b"\r") else line)
        begin = end + 1
        end = pending.find(b"\n", begin)
    del pending[:begin]
    return lines


@asynccontextmanager
async def request(
    api: kr8s.asyncio.Api,
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    content_type: str = JSON,
    params: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | None = None,  # noqa: ASYNC109 (an httpx per-request timeout)
    stream: bool = False,
    what: str = "",
) -> AsyncIterator[httpx.Response]:
    """Send one request to `url` (from `path()` or `Resource.path()`); yield a 2xx response.

    Anything else raises an `errors.ApiError` subclass whose message starts with `what` (default
    "METHOD url"): transport failures and timeouts as `ApiUnavailableError`, statuses as mapped
    by `errors.api_error`. With `stream`, the body is read by the caller inside the block.
    """
    what = what or f"{method} {url}"
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs["content"] = body
        kwargs["headers"] = {"Content-Type": content_type}
    if params:
        kwargs["params"] = dict(params)
    if timeout is not None:
        kwargs["timeout"] = timeout
    base, _, last = url.rpartition("/")  # kr8s joins base and url with "/"
    for attempt in (1, 2):
        try:
            async with api.call_api(
                method,
                version="",
                base=base,
                url=last,
                raise_for_status=False,
                stream=stream,
                **kwargs,
            ) as response:
                if response.status_code == 401 and attempt == 1:
                    reauthenticate = True
                elif response.status_code >= 300:
                    if stream:
                        await response.aread()
                    raise error_of(response, what)
                else:
                    reauthenticate = False
                    yield response
        except (httpx.TransportError, kr8s.APITimeoutError) as exc:
            raise errors.ApiUnavailableError(f"{what}: {type(exc).__name__}") from None
        if not reauthenticate:
            return
        await api.auth.reauthenticate()
        await api._create_session()


async def call(
    api: kr8s.asyncio.Api,
    method: str,
    url: str,
    *,
    body: Any = None,
    content_type: str = JSON,
    params: Mapping[str, str] | None = None,
    what: str = "",
) -> bytes:
    """`request()` for the common case: send `body` (bytes, or anything msgspec encodes) and
    return the answer's bytes."""
    if body is not None and not isinstance(body, bytes):
        body = msgspec.json.encode(body)
    fast = _fast.get(api)
    if fast is not None:
        return await _fast_call(
            api,
            fast,
            method,
            url,
            body=body,
            content_type=content_type,
            params=params,
            what=what or f"{method} {url}",
        )
    async with request(
        api, method, url, body=body, content_type=content_type, params=params, what=what
    ) as response:
        return response.content
