"""AWS errors onto our error tree; messages redacted (request ids, key ids), never values.

Why: the reconciler's safety rule depends on it — only a missing secret may become
`RemoteSecretNotFoundError`; throttling must stay transient and never empty a Secret.
"""

from __future__ import annotations

import re

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


def snake(call: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", call).lower()


def code_of(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def translate(exc: BaseException, *, what: str, key: str = "") -> errors.AsyncsoError:
    if isinstance(exc, errors.AsyncsoError):
        return exc
    code = code_of(exc)
    message = errors.redact(str(exc))
    if code in _NOT_FOUND or (
        code == "InvalidRequestException" and "marked for deletion" in message
    ):
        return errors.RemoteSecretNotFoundError(key or what)
    if code in _THROTTLED:
        return errors.ThrottledError(f"{what}: throttled by AWS ({code})")
    if code in _DENIED:
        return errors.AccessDeniedError(f"{what}: {message}")
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if isinstance(status, int) and status >= 500:
            return errors.ProviderUnavailableError(f"{what}: {message}")
        return errors.PermanentError(f"{what}: {message}")
    if isinstance(
        exc, botocore.exceptions.BotoCoreError | aiohttp.ClientError | TimeoutError | OSError
    ):
        return errors.ProviderUnavailableError(f"{what}: {type(exc).__name__}: {message}")
    return errors.ProviderUnavailableError(f"{what}: {type(exc).__name__}")
