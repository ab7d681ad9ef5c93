"""AWS errors onto our error tree; messages redacted (request ids, key ids), never values.

Why: the reconciler's safety rule depends on it — only a missing secret may become
`RemoteSecretNotFoundError`; throttling must stay transient and never empty a Secret.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import botocore.exceptions

from asyncso import errors

_NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"}
_THROTTLED = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ThrottledException",
}
_DENIED = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
}


def code_of(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def from_code(
    code: str, message: str, *, what: str, key: str = "", status: int = 0
) -> errors.AsyncsoError:
    """The error for an AWS error code (from an exception, or one id of a batch answer)."""
    message = errors.redact(message)
    if code in _NOT_FOUND or (
        code == "InvalidRequestException" and "marked for deletion" in message
    ):
        return errors.RemoteSecretNotFoundError(key or what)
    if code in _THROTTLED:
        return errors.ThrottledError(f"{what}: throttled by AWS ({code})")
    if code in _DENIED:
        return errors.AccessDeniedError(f"{what}: {message}")
    if status >= 500:
        return errors.ProviderUnavailableError(f"{what}: {message}")
    return errors.PermanentError(f"{what}: {message}")


def translate(exc: BaseException, *, what: str, key: str = "") -> errors.AsyncsoError:
    if isinstance(exc, errors.AsyncsoError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return from_code(
            code_of(exc),
            str(exc),
            what=what,
            key=key,
            status=status if isinstance(status, int) else 0,
        )
    message = errors.redact(str(exc))
    if isinstance(
        exc, botocore.exceptions.BotoCoreError | aiohttp.ClientError | TimeoutError | OSError
    ):
        return errors.ProviderUnavailableError(f"{what}: {type(exc).__name__}: {message}")
    return errors.ProviderUnavailableError(f"{what}: {type(exc).__name__}")


def observe_throttling(client: Any, on_throttled: Callable[[], None]) -> None:
    """Call `on_throttled` for every throttled answer `client` receives, including those
    botocore retries inside one call (a caller sees only the call's end, maybe much later)."""

    def needs_retry(response: Any = None, **_: Any) -> None:
        parsed = response[1] if isinstance(response, tuple) and len(response) == 2 else None
        if isinstance(parsed, dict) and parsed.get("Error", {}).get("Code") in _THROTTLED:
            on_throttled()

    client.meta.events.register("needs-retry", needs_retry)
