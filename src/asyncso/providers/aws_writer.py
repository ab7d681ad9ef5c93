"""What the Secrets Manager and Parameter Store pushers share: the read-compare-write loop under
a per-secret lock, metered calls, and batched reads for the comparisons.

Why on top of the reader (`aws_secretsmanager.SecretsManager`, `aws_parameterstore.
ParameterStore`): the reader of an identity brings its client, credentials, prefix and batch
call (`_fetch_many`: `BatchGetSecretValue` of ≤ 20 secrets, `GetParameters` of ≤ 10). A push
first reads the current value through a batcher of its own (`Shared`, one per reader) whose
window is longer than the read side's: each PushSecret reads its source Secret from the
apiserver first, so the pushes that come due together reach the provider spread over a few
hundred milliseconds, and a comparison is not latency-sensitive. So the refresh of many
unchanged PushSecrets costs about one batch call per 20 secrets and nothing more.

A per-secret lock (per identity) spans read, compare and write, so two PushSecrets that push
different properties of one JSON secret do not overwrite each other's key with a stale read.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar, cast

from asyncso import errors, metrics, model_push, ports
from asyncso.providers import aws_errors, aws_reader, batching

_EXISTS = {"ResourceExistsException", "ParameterAlreadyExists"}
#: How long a comparison read waits for others to share its batch call (seconds).
PUSH_BATCH_WINDOW = 0.2


class RemoteExistsError(errors.ConflictError):
    """The remote secret appeared between our read and our create: read again and retry."""


class Reader(Protocol):
    provider: str
    service: str
    prefix: str
    client: Any
    batch_max: int

    async def _fetch_many(self, ids: list[str]) -> Mapping[str, dict[str, Any] | BaseException]: ...


class KeyLocks:
    """One asyncio lock per remote secret name, dropped when nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: collections.Counter[str] = collections.Counter()

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        self._users[name] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[name] -= 1
            if not self._users[name]:
                del self._users[name]
                self._locks.pop(name, None)

    def __len__(self) -> int:
        return len(self._locks)


class Shared:
    """What every pusher of one reader shares: the per-secret locks and the comparison batcher."""

    def __init__(self, reader: Reader, *, window: float = PUSH_BATCH_WINDOW) -> None:
        self.locks = KeyLocks()
        self.batcher: batching.Batcher[dict[str, Any]] = batching.Batcher(
            reader._fetch_many, window=window, max_batch=reader.batch_max
        )


ClientT = TypeVar("ClientT")


class AwsWriter(Generic[ClientT]):
    def __init__(
        self,
        reader: Reader,
        *,
        shared: Shared | None = None,
        kube: ports.KubeReader | None = None,
        namespace: str = "",
    ) -> None:
        self.reader = reader
        self.client = cast(ClientT, reader.client)
        self.prefix = reader.prefix
        self.shared = shared or Shared(reader)
        self.locks = self.shared.locks
        self.kube = kube
        self.namespace = namespace

    # --- the two entry points (ports.SecretsPusher) -------------------------------------------

    async def push(
        self,
        entries: Sequence[model_push.PushEntry],
        *,
        update_policy: model_push.UpdatePolicy,
        verify: bool,
    ) -> list[model_push.PushResult | errors.AsyncsoError]:
        groups: dict[str, list[model_push.PushEntry]] = {}
        for entry in entries:
            groups.setdefault(entry.remote_key, []).append(entry)
        keys = list(groups)
        results = await asyncio.gather(
            *(self._locked_push(k, groups[k], update_policy, verify) for k in keys),
            return_exceptions=True,
        )
        by_key = {
            k: _as_error(r) if isinstance(r, BaseException) else r
            for k, r in zip(keys, results, strict=True)
        }
        return [by_key[entry.remote_key] for entry in entries]

    async def delete(
        self, locations: Sequence[model_push.RemoteLocation]
    ) -> list[errors.AsyncsoError | None]:
        results = await asyncio.gather(
            *(self._locked_delete(location) for location in locations), return_exceptions=True
        )
        return [_as_error(r) if isinstance(r, BaseException) else None for r in results]

    async def _locked_push(
        self,
        key: str,
        entries: list[model_push.PushEntry],
        update_policy: model_push.UpdatePolicy,
        verify: bool,
    ) -> model_push.PushResult:
        async with self.locks.hold(self.prefix + key):
            for attempt in (1, 2):
                try:
                    return await self._push_key(
                        key, entries, update_policy=update_policy, verify=verify
                    )
                except RemoteExistsError:
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    async def _locked_delete(self, location: model_push.RemoteLocation) -> None:
        async with self.locks.hold(self.prefix + location.remote_key):
            await self._delete_one(location)

    # --- for the services ----------------------------------------------------------------------

    async def _push_key(
        self,
        key: str,
        entries: list[model_push.PushEntry],
        *,
        update_policy: model_push.UpdatePolicy,
        verify: bool,
    ) -> model_push.PushResult:
        raise NotImplementedError

    async def _delete_one(self, location: model_push.RemoteLocation) -> None:
        raise NotImplementedError

    async def _current(self, key: str) -> bytes | None:
        """The current value (batched with other comparisons of this identity), None when
        absent."""
        try:
            answer = await self.shared.batcher.get(self.prefix + key)
        except errors.RemoteSecretNotFoundError:
            return None
        return self._value_of(answer)

    def _value_of(self, answer: dict[str, Any]) -> bytes | None:
        """The value in one answer of the batch call."""
        raise NotImplementedError

    async def _call(
        self, call: str, operation: aws_reader.Operation, *, key: str = "", **params: Any
    ) -> dict[str, Any]:
        """One AWS call, counted in ESO's provider-calls metric; "already exists" is a
        `RemoteExistsError`, every other failure mapped by `aws_errors`."""
        provider = self.reader.provider
        try:
            answer = await operation(**params)
        except Exception as exc:
            metrics.count_provider_call(provider=provider, call=call, ok=False)
            what = f"{self.reader.service}:{call}"
            if aws_errors.code_of(exc) in _EXISTS:
                raise RemoteExistsError(f"{what}: {key!r} already exists") from None
            raise aws_errors.translate(exc, what=what, key=key) from None
        metrics.count_provider_call(provider=provider, call=call, ok=True)
        return answer


def _as_error(exc: BaseException) -> errors.AsyncsoError:
    if isinstance(exc, errors.AsyncsoError):
        return exc
    if isinstance(exc, Exception):
        return errors.ProviderUnavailableError(f"push failed: {type(exc).__name__}")
    raise exc


def text(value: bytes, *, what: str) -> str:
    """A value that must go out as text (SecretString, a parameter value)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.PermanentError(f"{what}: the value is not UTF-8 text") from None
