"""The exception tree: permanent vs transient, so the reconciler knows what each failure may do.

Why: the safety rule of the operator hangs on this distinction. Only `RemoteSecretNotFoundError`
may delete or shrink a target Secret (and only as `deletionPolicy` says); every other error leaves
the existing Secret exactly as it is. Messages never carry secret values: providers build them
from keys and error codes only, and `redact` strips what a remote error string may carry.
"""

from __future__ import annotations

import re


class AsyncsoError(Exception):
    """Base of every error the operator reports in a status condition."""

    #: True when retrying soon may succeed (throttling, network, conflicts).
    transient: bool = False


class PermanentError(AsyncsoError):
    """Retrying without a change of input will fail the same way."""


class TransientError(AsyncsoError):
    """Retrying after a backoff may succeed."""

    transient = True


class InvalidSpecError(PermanentError):
    """The object's spec is malformed; the message names the bad field."""


class StoreNotFoundError(PermanentError):
    """The referenced SecretStore/ClusterSecretStore does not exist (yet)."""


class StoreNotReadyError(PermanentError):
    """The referenced store exists but is invalid or not usable from this namespace."""


class RemoteSecretNotFoundError(PermanentError):
    """The remote secret (or the requested version/property) does not exist.

    The only error that allows `deletionPolicy` to act on the target Secret.
    """

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        super().__init__(f"remote secret {key!r} not found" + (f": {detail}" if detail else ""))


class AccessDeniedError(PermanentError):
    """The provider refused the credentials or the action."""


class TemplateError(PermanentError):
    """A template failed to parse or render (message has no values)."""


class ThrottledError(TransientError):
    """The provider asked us to slow down."""


class ProviderUnavailableError(TransientError):
    """Timeouts, connection errors, 5xx answers."""


class ConflictError(TransientError):
    """A write lost an optimistic-concurrency race; re-read and retry."""


_REDACTIONS = [
    (re.compile(r"(?i)(request ?id[:= ]+)[0-9a-f-]{8,}"), r"\1<redacted>"),
    (re.compile(r"\b(A[SK]IA[0-9A-Z]{12,})\b"), "<access-key-id>"),
    (re.compile(r"(?i)(signature|token|secret|password)=[^&\s]+"), r"\1=<redacted>"),
]


def redact(message: str) -> str:
    """Strip request IDs and credential-like material from a provider's error text."""
    for pattern, replacement in _REDACTIONS:
        message = pattern.sub(replacement, message)
    return message[:1024]
