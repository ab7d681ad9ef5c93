"""AWS Systems Manager Parameter Store behind `ports.SecretsProvider`, batched.

Why batched: reads from every ExternalSecret using this identity coalesce into `GetParameters`
calls of up to 10 names (with decryption); `name:version` selectors batch too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import re2

from asyncso import errors, model
from asyncso.providers import aws_reader, batching

PROVIDER = "AWS/ParameterStore"
BATCH_MAX = 10


class ParameterStore(aws_reader.AwsReader):
    provider = PROVIDER
    service = "ssm"

    def __init__(
        self, client: Any, *, prefix: str = "", batch_window: float = 0.01, rate_limit: float = 0.0
    ) -> None:
        super().__init__(client, prefix=prefix, rate_limit=rate_limit)
        self._batcher: batching.Batcher[dict[str, Any]] = batching.Batcher(
            self._fetch_many, window=batch_window, max_batch=BATCH_MAX
        )

    async def _fetch_many(self, names: list[str]) -> Mapping[str, dict[str, Any] | BaseException]:
        answer = await self._call("GetParameters", Names=names, WithDecryption=True)
        found: dict[str, dict[str, Any]] = {}
        for parameter in answer.get("Parameters", []):
            found[parameter["Name"]] = parameter
            if parameter.get("Selector"):
                found[parameter["Name"] + parameter["Selector"]] = parameter
            found[f"{parameter['Name']}:{parameter.get('Version')}"] = parameter
        return {name: found.get(name) or errors.RemoteSecretNotFoundError(name) for name in names}

    async def _value(self, ref: model.RemoteRef) -> bytes:
        name = self.prefix + ref.key
        if ref.metadata_policy == "Fetch":
            answer = await self._call(
                "ListTagsForResource", key=name, ResourceType="Parameter", ResourceId=name
            )
            tags = {t["Key"]: t["Value"] for t in answer.get("TagList", [])}
            return json.dumps(tags, separators=(",", ":")).encode()
        selector = f"{name}:{ref.version}" if ref.version else name
        parameter = await self._batcher.get(selector)
        return str(parameter.get("Value", "")).encode()

    async def get_all_secrets(self, find: model.Find) -> dict[str, bytes]:
        pattern = None
        if find.name is not None and find.name.regexp:
            try:
                pattern = re2.compile(find.name.regexp)
            except re2.error as exc:
                raise errors.InvalidSpecError(f"find.name.regexp: {exc}") from None
        out: dict[str, bytes] = {}
        if find.path and not find.tags:
            token: str | None = None
            while True:
                params: dict[str, Any] = {
                    "Path": self.prefix + find.path,
                    "Recursive": True,
                    "WithDecryption": True,
                }
                if token:
                    params["NextToken"] = token
                page = await self._call("GetParametersByPath", **params)
                for parameter in page.get("Parameters", []):
                    if pattern is None or pattern.search(parameter["Name"]):
                        out[parameter["Name"]] = str(parameter.get("Value", "")).encode()
                token = page.get("NextToken")
                if not token:
                    return out
        filters: list[dict[str, Any]] = [
            {"Key": f"tag:{key}", "Values": [value]} for key, value in find.tags.items()
        ]
        if find.path:
            filters.append(
                {"Key": "Path", "Option": "Recursive", "Values": [self.prefix + find.path]}
            )
        names: list[str] = []
        token = None
        while True:
            params = {"MaxResults": 50}
            if filters:
                params["ParameterFilters"] = filters
            if token:
                params["NextToken"] = token
            page = await self._call("DescribeParameters", **params)
            for meta in page.get("Parameters", []):
                if pattern is None or pattern.search(meta["Name"]):
                    names.append(meta["Name"])
            token = page.get("NextToken")
            if not token:
                break
        values = await asyncio.gather(
            *(self._batcher.get(n) for n in names), return_exceptions=True
        )
        for name, value in zip(names, values, strict=True):
            if isinstance(value, errors.RemoteSecretNotFoundError):
                continue
            if isinstance(value, BaseException):
                raise value
            out[name] = str(value.get("Value", "")).encode()
        return out
