"""The exception tree: permanent vs transient, so the reconciler knows what each failure may do.

Why: the safety rule of the operator hangs on this distinction. Only `RemoteSecretNotFoundError`
may delete or shrink a target Secret (and only as `deletionPolicy` says); every other error leaves
the existing Secret exactly as it is. Messages never carry secret values: providers build them
from keys and error codes only, and `redact` strips what a remote error string may carry.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Sequence


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


class ValidationUnknownError(PermanentError):
    """A provider could not tell whether the store works (ESO's `ValidationResultUnknown`):
    the store is Ready, with reason `ValidationUnknown`."""


class StoreConfigError(InvalidSpecError):
    """A store, or an object it refers to (a credentials Secret, a ServiceAccount), cannot be
    used. Invalid like a spec, but not the ExternalSecret's own spec: an ExternalSecret reading
    through the store reports `could not get secret data from provider: ...` (ESO's
    `msgErrorGetSecretData`), never `invalid ExternalSecret`; the store's own condition is
    `InvalidProviderConfig`."""


def service_account_not_found(*, field: str, namespace: str, name: str) -> StoreConfigError:
    """A ServiceAccount a store names (IRSA) does not exist: the store's problem."""
    where = f"{field}.name: " if field != "metadata" else ""
    return StoreConfigError(f'{where}ServiceAccount "{namespace}/{name}" not found')


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


class InvalidNameError(InvalidSpecError):
    """A name or namespace taken from a spec is not a valid Kubernetes object name.

    Raised before any request is built from it, so a name such as `../../b/secrets/x` can never
    reach another namespace's objects. The message names the field it came from.
    """

    def __init__(self, *, field: str, value: str, what: str) -> None:
        self.field = field
        shown = json.dumps(value[:80] + ("..." if len(value) > 80 else ""))
        super().__init__(f"{field}: {shown} is not a valid {what}")


# --- the apiserver's answers, by HTTP status (as kopf maps them) ---------------------------------


class ApiError(AsyncsoError):
    """The apiserver refused a request or did not answer; `status` is the HTTP status (0: no
    answer at all). Each subclass is also permanent or transient, so callers that only care about
    retrying need not know HTTP."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class ApiUnavailableError(ApiError, TransientError):
    """No useful answer: connection error, timeout, 5xx."""


class ApiThrottledError(ApiUnavailableError):
    """429 Too Many Requests (API priority and fairness)."""


class ApiRefusedError(ApiError, PermanentError):
    """A 4xx the request cannot outgrow by retrying (400 Bad Request, 422 Invalid...)."""


class ApiUnauthorizedError(ApiRefusedError, AccessDeniedError):
    """401: our credentials were not accepted."""


class ApiForbiddenError(ApiRefusedError, AccessDeniedError):
    """403: RBAC does not allow the request."""


class ApiNotFoundError(ApiRefusedError):
    """404: the object (or its namespace, or the resource type) does not exist."""


class ApiGoneError(ApiRefusedError):
    """410: a watch's resourceVersion or a list's continue token has expired: re-list."""


class ApiConflictError(ApiError, ConflictError):
    """409: an optimistic-concurrency race lost, or the object already exists."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: ApiUnauthorizedError,
    403: ApiForbiddenError,
    404: ApiNotFoundError,
    409: ApiConflictError,
    410: ApiGoneError,
    429: ApiThrottledError,
}


def api_error(status: int, message: str, *, reason: str = "") -> ApiError:
    """The error for an apiserver answer (an HTTP status, or a watch's ERROR Status)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ApiUnavailableError if status >= 500 or status == 0 else ApiRefusedError
    if reason in ("Expired", "Gone"):
        cls = ApiGoneError
    return cls(redact(message), status=status, reason=reason)


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


# --- values a sync knows, kept out of the texts it reports -------------------------------------

REDACTED = "[redacted]"
#: Shorter values are redacted only where a message quotes them: replacing every "on" or "1"
#: would garble field names and words, and such values are no secret worth the noise.
MIN_BARE_REDACTION = 4
#: The apiserver quotes the value it refuses (`metadata.labels: Invalid value: "two words": ...`);
#: in a refused Secret write that value is ours (a label, an annotation, a key), so it never
#: passes, whether or not we knew it.
_QUOTED_VALUE = re.compile(r'((?:Invalid|Duplicate|Unsupported) value: )"(?:[^"\\]|\\.)*"')


class KnownValues:
    """Every value one sync has seen — fetched values, rendered data, labels, annotations and
    keys, templates read from Secrets — so that a text from the apiserver, a provider or a
    template engine, or our own, can be reported (condition, Event, log) with each of them
    replaced by `[redacted]`. The one redaction of values: the reconciler fills one per sync,
    and the Go template engine uses one for its own messages (`asyncso render` shows them too).

    Why: a refusal quotes what it refused, and what a sync sends is made of secret values; the
    field path and the reason stay, so the message still says what is wrong.
    """

    def __init__(self, *, quoters: Sequence[Callable[[str], str]] = ()) -> None:
        # Kept as given: the forms to look for are built only when a text is redacted, so a
        # sync that succeeds pays nothing but a list append per value.
        self._values: list[bytes | str] = []
        #: More ways a message may quote a value, each returning the value in quotes (the Go
        #: engine passes Go's `strconv.Quote`, which `%q` and Go's errors use).
        self._quoters = tuple(quoters)

    def add(self, value: bytes | str) -> None:
        if value:
            self._values.append(value)

    def add_all(self, values: Iterable[bytes | str]) -> None:
        for value in values:
            self.add(value)

    def _forms(self) -> list[str]:
        """Every way a text may spell a value: as is, base64, quoted as JSON and Python's repr
        quote it (escaped quotes, newlines), and as the `quoters` quote it; longest first."""
        forms: set[str] = set()
        for value in self._values:
            if isinstance(value, bytes):
                forms.add(base64.b64encode(value).decode())
                value = value.decode("utf-8", errors="replace")
            forms.add(value)
            forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
            forms.add(repr(value)[1:-1])
            forms.update(quote(value)[1:-1] for quote in self._quoters)
        forms.discard("")
        return sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every known value replaced. A value shorter than `MIN_BARE_REDACTION` is
        replaced only where it stands alone: in quotes, or at the end after `: ` (how Go's
        `fail` and most errors end)."""
        text = _QUOTED_VALUE.sub(rf'\1"{REDACTED}"', text)
        for form in self._forms():
            if form not in text:
                continue
            if len(form) >= MIN_BARE_REDACTION:
                text = text.replace(form, REDACTED)
                continue
            for quote in ('"', "'"):
                text = text.replace(f"{quote}{form}{quote}", f"{quote}{REDACTED}{quote}")
            if text.endswith(f": {form}"):
                text = text[: -len(form)] + REDACTED
        return text
