"""What Secrets Manager and Parameter Store readers share: metered, rate-limited, error-mapped
calls, one NextToken pagination loop, and the tags document of `metadataPolicy: Fetch`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from asyncso import metrics
from asyncso.providers import aws_errors, batching, pacing

Operation = Callable[..., Awaitable[dict[str, Any]]]


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
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.notes: list[str] = []
        self._limiter = pacing.RateLimiter(rate_limit)
        self._batcher: batching.Batcher[dict[str, Any]] = batching.Batcher(
            self._fetch_many, window=batch_window, max_batch=self.batch_max
        )

    async def _fetch_many(self, ids: list[str]) -> Mapping[str, dict[str, Any] | BaseException]:
        """One batch of current-value reads: an answer or an error per id."""
        raise NotImplementedError

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
