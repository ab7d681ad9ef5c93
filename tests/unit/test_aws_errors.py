"""AWS failures onto our error tree: only a missing secret is not-found; nothing leaks ids."""

from __future__ import annotations

import aiohttp
import botocore.exceptions
import pytest

from asyncso import errors
from asyncso.providers import aws_errors, aws_fake


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ResourceNotFoundException", 400, errors.RemoteSecretNotFoundError),
        ("ParameterNotFound", 400, errors.RemoteSecretNotFoundError),
        ("ParameterVersionNotFound", 400, errors.RemoteSecretNotFoundError),
        ("ThrottlingException", 400, errors.ThrottledError),
        ("TooManyRequestsException", 429, errors.ThrottledError),
        ("AccessDeniedException", 400, errors.AccessDeniedError),
        ("ExpiredTokenException", 400, errors.AccessDeniedError),
        ("InternalServiceError", 500, errors.ProviderUnavailableError),
        ("ValidationException", 400, errors.PermanentError),
    ],
)
def test_client_errors(code: str, status: int, expected: type[errors.AsyncsoError]) -> None:
    error = aws_errors.translate(
        aws_fake.client_error(code, status), what="secretsmanager:GetSecretValue", key="db"
    )
    assert type(error) is expected
    assert "1234abcd" not in str(error)
    if expected is errors.RemoteSecretNotFoundError:
        assert str(error) == "remote secret 'db' not found"


def test_marked_for_deletion_is_not_found() -> None:
    exc = aws_fake.client_error("InvalidRequestException", message="it is marked for deletion")
    assert isinstance(
        aws_errors.translate(exc, what="x", key="db"), errors.RemoteSecretNotFoundError
    )
    other = aws_fake.client_error("InvalidRequestException", message="something else")
    assert type(aws_errors.translate(other, what="x")) is errors.PermanentError


@pytest.mark.parametrize(
    "exc",
    [
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
        aiohttp.ClientConnectionError("reset"),
        TimeoutError(),
        OSError("unreachable"),
    ],
)
def test_transport_failures_are_transient(exc: BaseException) -> None:
    error = aws_errors.translate(exc, what="ssm:GetParameters")
    assert isinstance(error, errors.ProviderUnavailableError) and error.transient


def test_unknown_exceptions_say_only_their_type() -> None:
    error = aws_errors.translate(ValueError("secret-value-inside"), what="x")
    assert str(error) == "x: ValueError"
    ours = errors.ThrottledError("already ours")
    assert aws_errors.translate(ours, what="x") is ours
