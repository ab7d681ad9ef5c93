"""What Secrets Manager and Parameter Store readers share: metered, rate-limited, error-mapped
calls, and ESO's `property` / `extract` on top of one `_value` read each service defines."""

from __future__ import annotations

from typing import Any

from asyncso import metrics, model, property_path
from asyncso.providers import aws_errors, batching


class AwsReader:
    #: ESO's provider label for `externalsecret_provider_api_calls_count`.
    provider = ""
    #: The IAM service prefix, for error messages (`secretsmanager:GetSecretValue`).
    service = ""

    def __init__(self, client: Any, *, prefix: str = "", rate_limit: float = 0.0) -> None:
        self.client = client
        self.prefix = prefix
        self.notes: list[str] = []
        self._limiter = batching.RateLimiter(rate_limit)

    async def _call(self, call: str, *, key: str = "", **params: Any) -> dict[str, Any]:
        await self._limiter.wait()
        try:
            answer: dict[str, Any] = await getattr(self.client, aws_errors.snake(call))(**params)
        except Exception as exc:
            metrics.count_provider_call(provider=self.provider, call=call, ok=False)
            raise aws_errors.translate(exc, what=f"{self.service}:{call}", key=key) from None
        metrics.count_provider_call(provider=self.provider, call=call, ok=True)
        return answer

    async def _value(self, ref: model.RemoteRef) -> bytes:
        raise NotImplementedError

    async def get_secret(self, ref: model.RemoteRef) -> bytes:
        value = await self._value(ref)
        if not ref.property:
            return value
        return property_path.select(value, ref.property, key=ref.key)

    async def get_secret_map(self, ref: model.RemoteRef) -> dict[str, bytes]:
        value = await self._value(ref)
        if ref.property:
            value = property_path.select(value, ref.property, key=ref.key)
        return property_path.as_map(value, key=ref.key)
