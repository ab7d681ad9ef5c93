"""The request layer: every path built from checked names, every refusal one typed error.

The traversal corpus is the heart of it: a name taken from a spec must never climb out of its
namespace, whatever encoding or look-alike it uses, for any resource kind we build paths for.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import kr8s.asyncio
import pytest

from asyncso import apiserver, errors, names

KINDS = sorted(apiserver.BY_KIND.values(), key=lambda r: r.kind)
NAMESPACED = [r for r in KINDS if r.namespaced]

#: Names an attacker might write into `spec.target.name` and friends.
TRICKS = [
    "..",
    ".",
    "../../b/secrets/victim",
    "%2e%2e",
    "%2e%2e%2fb%2fsecrets%2fx",
    "a%2Fb",
    "%2F",
    "a/b",
    "./x",
    "x/.",
    "/x",
    "x/",
    "a..b",
    ".x",
    "x.",
    "-x",
    "x-",
    "a\uff0fb",  # fullwidth solidus
    "\u2024\u2024",  # one dot leader, twice
    "s\u0435cret",  # Cyrillic e
    "\u0455ecret",  # Cyrillic dze, looks like s
    "x\u200b",  # zero-width space
    "x" * 254,
    "",
    "Secret",
    "UPPER",
    "a b",
    "a\nb",
    "name\n",
    "a?b",
    "a#b",
    "a\\b",
    "a:b",
]
NAMESPACE_TRICKS = [*TRICKS, "a.b", "x" * 64]


@pytest.mark.parametrize("name", TRICKS)
@pytest.mark.parametrize("resource", KINDS, ids=lambda r: r.kind)
def test_tricks_are_refused_as_names_of_every_kind(name: str, resource: apiserver.Resource) -> None:
    namespace = "team-a" if resource.namespaced else ""
    with pytest.raises(errors.InvalidNameError) as caught:
        apiserver.path(resource, namespace=namespace, name=name, field="spec.target")
    assert isinstance(caught.value, errors.InvalidSpecError)
    assert not caught.value.transient
    message = str(caught.value)
    assert message.startswith("spec.target.name: ")
    assert message.endswith(f"is not a valid {resource.kind} name")


@pytest.mark.parametrize("namespace", NAMESPACE_TRICKS)
@pytest.mark.parametrize("resource", NAMESPACED, ids=lambda r: r.kind)
def test_tricks_are_refused_as_namespaces(namespace: str, resource: apiserver.Resource) -> None:
    field = "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef"
    with pytest.raises(errors.InvalidNameError, match=rf"^{field}\.namespace: .* namespace$"):
        apiserver.path(resource, namespace=namespace, name="ok", field=field)


def test_message_names_the_field_and_quotes_the_value() -> None:
    with pytest.raises(errors.InvalidNameError) as caught:
        apiserver.path(
            apiserver.SECRETS, namespace="a", name="../../b/secrets/x", field="spec.target"
        )
    assert str(caught.value) == ('spec.target.name: "../../b/secrets/x" is not a valid Secret name')
    assert caught.value.field == "spec.target.name"
    with pytest.raises(errors.InvalidNameError) as long:
        apiserver.path(apiserver.SECRETS, namespace="a", name="x" * 300)
    assert len(str(long.value)) < 200  # a 300-character name is cut in the message
    with pytest.raises(errors.InvalidNameError, match=r'"a\\uff0fb"'):
        apiserver.path(apiserver.CONFIGMAPS, namespace="a", name="a\uff0fb")


@pytest.mark.parametrize(
    ("name", "resource"),
    [
        ("x" * 253, apiserver.SECRETS),
        ("a.b-c.d", apiserver.SECRETS),
        ("0", apiserver.CONFIGMAPS),
        ("irsa", apiserver.SERVICEACCOUNTS),
        ("external-secrets-controller", apiserver.LEASES),
        ("es.1a2b3c", apiserver.EVENTS),
        ("x" * 63, apiserver.NAMESPACES),
        ("externalsecrets.external-secrets.io", apiserver.CRDS),
    ],
)
def test_valid_names_build_plain_paths(name: str, resource: apiserver.Resource) -> None:
    namespace = "team-a" if resource.namespaced else ""
    built = apiserver.path(resource, namespace=namespace, name=name)
    assert built == f"{resource.path(namespace)}/{name}"
    assert ".." not in built.split("/")


def test_namespaces_are_labels_not_subdomains() -> None:
    with pytest.raises(errors.InvalidNameError, match="not a valid Namespace name"):
        apiserver.path(apiserver.NAMESPACES, name="a.b")
    with pytest.raises(errors.InvalidNameError, match="not a valid Namespace name"):
        apiserver.path(apiserver.NAMESPACES, name="x" * 64)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"namespace": "a"}, "/api/v1/namespaces/a/secrets"),
        ({"namespace": "a", "name": "s"}, "/api/v1/namespaces/a/secrets/s"),
        (
            {"namespace": "a", "name": "s", "subresource": "status"},
            "/api/v1/namespaces/a/secrets/s/status",
        ),
    ],
)
def test_paths(kwargs: dict[str, str], expected: str) -> None:
    assert apiserver.path(apiserver.SECRETS, **kwargs) == expected


def test_custom_resources_and_cluster_scope() -> None:
    assert (
        apiserver.path(apiserver.EXTERNALSECRETS, namespace="a", name="es", subresource="status")
        == "/apis/external-secrets.io/v1/namespaces/a/externalsecrets/es/status"
    )
    assert (
        apiserver.path(apiserver.CLUSTERSECRETSTORES, namespace="ignored", name="css")
        == "/apis/external-secrets.io/v1/clustersecretstores/css"
    )
    with pytest.raises(ValueError, match="subresource"):
        apiserver.path(apiserver.SECRETS, namespace="a", subresource="status")


def test_name_rules_use_fullmatch() -> None:
    assert names.is_valid("abc", names.SUBDOMAIN)
    assert not names.is_valid("abc\n", names.SUBDOMAIN)  # `$` alone would let this through
    assert not names.is_valid("\u0661", names.LABEL)  # Arabic-Indic digit one: not ASCII


# --- errors by HTTP status ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "cls", "transient"),
    [
        (0, "", errors.ApiUnavailableError, True),
        (400, "BadRequest", errors.ApiRefusedError, False),
        (401, "", errors.ApiUnauthorizedError, False),
        (403, "Forbidden", errors.ApiForbiddenError, False),
        (404, "NotFound", errors.ApiNotFoundError, False),
        (409, "Conflict", errors.ApiConflictError, True),
        (410, "Expired", errors.ApiGoneError, False),
        (500, "Expired", errors.ApiGoneError, False),
        (422, "Invalid", errors.ApiRefusedError, False),
        (429, "TooManyRequests", errors.ApiThrottledError, True),
        (500, "InternalError", errors.ApiUnavailableError, True),
        (503, "", errors.ApiUnavailableError, True),
    ],
)
def test_api_error_by_status(status: int, reason: str, cls: type, transient: bool) -> None:
    error = errors.api_error(status, "get Secret a/b: token=abc", reason=reason)
    assert type(error) is cls
    assert error.transient is transient
    assert (error.status, error.reason) == (status, reason)
    assert str(error) == "get Secret a/b: token=<redacted>"


def test_api_errors_fit_the_permanent_and_transient_tree() -> None:
    assert issubclass(errors.ApiForbiddenError, errors.AccessDeniedError)
    assert issubclass(errors.ApiConflictError, errors.ConflictError)
    assert issubclass(errors.ApiRefusedError, errors.PermanentError)
    assert issubclass(errors.ApiUnavailableError, errors.TransientError)
    assert issubclass(errors.InvalidNameError, errors.InvalidSpecError)


# --- the request function ----------------------------------------------------------------------


class Api:
    """A scripted stand-in for kr8s's `call_api`; records what it was asked."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []
        self.reauthenticated = 0
        self.auth = self

    async def reauthenticate(self) -> None:
        self.reauthenticated += 1

    async def _create_session(self) -> None:
        return None

    @contextlib.asynccontextmanager
    async def call_api(self, method: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        self.calls.append({"method": method, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        yield answer


def status(code: int, message: str = "", reason: str = "") -> httpx.Response:
    body = {"kind": "Status", "code": code, "message": message, "reason": reason}
    return httpx.Response(code, content=json.dumps(body).encode())


async def test_request_returns_content_and_splits_the_url_for_kr8s() -> None:
    api = Api(httpx.Response(200, content=b"{}"))
    content = await apiserver.call(
        cast(kr8s.asyncio.Api, api), "POST", "/api/v1/namespaces/a/secrets", body={"x": 1}
    )
    assert content == b"{}"
    [call] = api.calls
    assert (call["base"], call["url"], call["version"]) == ("/api/v1/namespaces/a", "secrets", "")
    assert call["content"] == b'{"x":1}' and call["raise_for_status"] is False


async def test_request_maps_statuses_and_transport_errors() -> None:
    api = Api(
        status(404, 'secrets "x" not found', "NotFound"),
        status(409, "conflict", "Conflict"),
        httpx.ConnectError("refused"),
        httpx.Response(502, content=b"<html>bad gateway</html>"),
    )
    typed = cast(kr8s.asyncio.Api, api)
    with pytest.raises(errors.ApiNotFoundError, match=r'^get Secret a/x: secrets "x" not found$'):
        await apiserver.call(typed, "GET", "/api/v1/namespaces/a/secrets/x", what="get Secret a/x")
    with pytest.raises(errors.ApiConflictError):
        await apiserver.call(typed, "PUT", "/api/v1/namespaces/a/secrets/x")
    with pytest.raises(errors.ApiUnavailableError, match="ConnectError"):
        await apiserver.call(typed, "GET", "/api/v1/namespaces/a/secrets/x")
    with pytest.raises(errors.ApiUnavailableError, match=r"HTTP 502$"):
        await apiserver.call(typed, "GET", "/api/v1/namespaces/a/secrets/x")


async def test_a_401_reloads_credentials_once_and_retries() -> None:
    api = Api(status(401), httpx.Response(200, content=b"ok"), status(401), status(401))
    typed = cast(kr8s.asyncio.Api, api)
    assert await apiserver.call(typed, "GET", "/api/v1/namespaces") == b"ok"
    assert api.reauthenticated == 1
    with pytest.raises(errors.ApiUnauthorizedError):
        await apiserver.call(typed, "GET", "/api/v1/namespaces")
    assert api.reauthenticated == 2 and len(api.calls) == 4
