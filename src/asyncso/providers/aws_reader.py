"""What Secrets Manager and Parameter Store readers share: metered, rate-limited, error-mapped
calls, one NextToken pagination loop, the tags document of `metadataPolicy: Fetch`, and the
shared, batched current-value reads of the identity (`shared_reads`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from asyncso import metrics
from asyncso.providers import aws_errors, pacing, shared_reads

#: Default memory budget for the values one identity keeps (`--provider-cache-max-bytes`).
CACHE_BYTES = 64 * 1024 * 1024
#: What an entry costs besides its value (the entry, its id, the version), for the budget.
ENTRY_OVERHEAD = 64

Operation = Callable[..., Awaitable[dict[str, Any]]]


@dataclasses.dataclass(frozen=True, slots=True)
class Current:
    """A remote secret's current value as the shared cache keeps it (not the whole answer)."""

    version: str
    #: The value (a string as UTF-8), None when the answer held none.
    value: bytes | None


def _version_of(value: Current) -> str:
    return value.version


def _size_of(value: Current) -> int:
    return ENTRY_OVERHEAD + len(value.value or b"")


ClientT = TypeVar("ClientT")


class AwsReader(Generic[ClientT]):
    """One service's client for one identity, with the batcher its current-value reads share."""

    #: ESO's provider label for `externalsecret_provider_api_calls_count`.
    provider = ""
    #: The IAM service prefix, for error messages (`secretsmanager:GetSecretValue`).
    service = ""
    #: Ids per batch call (BatchGetSecretValue: 20, GetParameters: 10).
    batch_max = 1

    def __init__(
        self,
        client: ClientT,
        *,
        prefix: str = "",
        batch_window: float = 0.01,
        rate_limit: float = 0.0,
        cache_bytes: int = CACHE_BYTES,
        on_change: shared_reads.OnChange | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.notes: list[str] = []
        self._limiter = pacing.RateLimiter(rate_limit)
        #: Current-value reads of this identity: cached for their readers, batched, swept.
        self.shared: shared_reads.SharedReads[Current] = shared_reads.SharedReads(
            self._fetch_current,
            max_batch=self.batch_max,
            window=batch_window,
            version_of=_version_of,
            size_of=_size_of,
            max_bytes=cache_bytes,
            on_change=on_change,
        )

    async def _fetch_many(self, ids: list[str]) -> Mapping[str, dict[str, Any] | BaseException]:
        """One batch of current-value reads: an answer or an error per id."""
        raise NotImplementedError

    def _current(self, answer: dict[str, Any]) -> Current:
        """What the cache keeps of one answer of `_fetch_many`."""
        raise NotImplementedError

    async def _fetch_current(self, ids: list[str]) -> Mapping[str, Current | BaseException]:
        results = await self._fetch_many(ids)
        return {
            ident: answer if isinstance(answer, BaseException) else self._current(answer)
            for ident, answer in results.items()
        }

    async def close(self) -> None:
        """Stop the shared reads' timers and calls (before the client goes)."""
        await self.shared.close()

    async def _call(
        self, call: str, operation: Operation, *, key: str = "", **params: Any
    ) -> dict[str, Any]:
        """One AWS call (`call` is its API name, for metrics and messages), rate-limited,
        counted, and its failure mapped by `aws_errors`."""
        await self._limiter.wait()
        return await metered(
            operation,
            provider=self.provider,
            call=call,
            what=f"{self.service}:{call}",
            key=key,
            **params,
        )

    async def _pages(
        self, call: str, operation: Operation, **params: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Every page of a paginated call, following `NextToken`."""
        token: str | None = None
        while True:
            page = await self._call(
                call, operation, **params, **({"NextToken": token} if token else {})
            )
            yield page
            token = page.get("NextToken")
            if not token:
                return


async def metered(
    operation: Operation, *, provider: str, call: str, what: str, key: str = "", **params: Any
) -> dict[str, Any]:
    """Call `operation` once: counted in ESO's provider-calls metric, and any failure mapped onto
    our error tree by `aws_errors` (so a missing secret is the only not-found)."""
    try:
        answer = await operation(**params)
    except Exception as exc:
        metrics.count_provider_call(provider=provider, call=call, ok=False)
        raise aws_errors.translate(exc, what=what, key=key) from None
    metrics.count_provider_call(provider=provider, call=call, ok=True)
    return answer


def tags_json(tags: Iterable[Mapping[str, Any]]) -> bytes:
    """`metadataPolicy: Fetch`: the resource's tags as one JSON object, as ESO returns them."""
    return json.dumps({t["Key"]: t["Value"] for t in tags}, separators=(",", ":")).encode()
