"""AWS Systems Manager Parameter Store behind `ports.SecretsProvider`, batched.

Why batched: reads from every ExternalSecret using this identity are shared and coalesce into
`GetParameters` calls of up to 10 names (with decryption, `shared_reads`); `name:version`
selectors batch too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from asyncso import errors, keymapping, model
from asyncso.providers import aws_client, aws_reader

PROVIDER = "AWS/ParameterStore"
BATCH_MAX = 10


class ParameterStore(aws_reader.AwsReader[aws_client.SsmClient]):
    provider = PROVIDER
    service = "ssm"
    batch_max = BATCH_MAX

    async def _fetch_many(self, names: list[str]) -> Mapping[str, dict[str, Any] | BaseException]:
        answer = await self._call(
            "GetParameters", self.client.get_parameters, Names=names, WithDecryption=True
        )
        found: dict[str, dict[str, Any]] = {}
        current: dict[str, dict[str, Any]] = {}
        for parameter in answer.get("Parameters", []):
            name = parameter["Name"]
            found[f"{name}:{parameter.get('Version')}"] = parameter
            if parameter.get("Selector"):
                found[name + parameter["Selector"]] = parameter
                continue  # the answer to `name:1` (or a label) is not `name`'s current value
            # One call may ask for `name` and `name:1`; AWS marks the versioned answer with a
            # `Selector`, LocalStack does not: the current value is the highest version.
            best = current.get(name)
            if best is None or int(parameter.get("Version", 0)) > int(best.get("Version", 0)):
                current[name] = parameter
        found.update(current)
        return {name: found.get(name) or errors.RemoteSecretNotFoundError(name) for name in names}

    def _current(self, answer: dict[str, Any]) -> aws_reader.Current:
        return aws_reader.Current(
            str(answer.get("Version", "")), str(answer.get("Value", "")).encode()
        )

    def prefetch(self, ref: model.RemoteRef) -> None:
        """`ports.Prefetching`: the read `read` would make, started now."""
        if ref.metadata_policy != "Fetch":
            name = self.prefix + ref.key
            self.shared.prefetch(f"{name}:{ref.version}" if ref.version else name)

    def read_cached(self, ref: model.RemoteRef) -> bytes | None:
        """`ports.CachedReading`: a value held fresh enough, else None."""
        if ref.metadata_policy == "Fetch":
            return None
        name = self.prefix + ref.key
        current = self.shared.peek(f"{name}:{ref.version}" if ref.version else name)
        return None if current is None else current.value or b""

    async def read(self, ref: model.RemoteRef) -> bytes:
        """The parameter's value (or its tags, with `metadataPolicy: Fetch`), decrypted."""
        name = self.prefix + ref.key
        if ref.metadata_policy == "Fetch":
            answer = await self._call(
                "ListTagsForResource",
                self.client.list_tags_for_resource,
                key=name,
                ResourceType="Parameter",
                ResourceId=name,
            )
            return aws_reader.tags_json(answer.get("TagList", []))
        selector = f"{name}:{ref.version}" if ref.version else name
        current = await self.shared.get(selector)
        return current.value or b""

    async def find(self, find: model.Find) -> dict[str, bytes]:
        """`dataFrom.find`: by path alone one recursive listing with values; with tags, a
        filtered description and then batched reads."""
        pattern = keymapping.find_pattern(find)
        out: dict[str, bytes] = {}
        if find.path and not find.tags:
            pages = self._pages(
                "GetParametersByPath",
                self.client.get_parameters_by_path,
                Path=self.prefix + find.path,
                Recursive=True,
                WithDecryption=True,
            )
            async for page in pages:
                for parameter in page.get("Parameters", []):
                    if pattern is None or pattern.search(parameter["Name"]):
                        out[parameter["Name"]] = str(parameter.get("Value", "")).encode()
            return out
        filters: list[dict[str, Any]] = [
            {"Key": f"tag:{key}", "Values": [value]} for key, value in find.tags.items()
        ]
        if find.path:
            filters.append(
                {"Key": "Path", "Option": "Recursive", "Values": [self.prefix + find.path]}
            )
        params: dict[str, Any] = {"MaxResults": 50}
        if filters:
            params["ParameterFilters"] = filters
        names: list[str] = []
        async for page in self._pages(
            "DescribeParameters", self.client.describe_parameters, **params
        ):
            for meta in page.get("Parameters", []):
                if pattern is None or pattern.search(meta["Name"]):
                    names.append(meta["Name"])
        values = await asyncio.gather(*(self.shared.get(n) for n in names), return_exceptions=True)
        for name, value in zip(names, values, strict=True):
            if isinstance(value, errors.RemoteSecretNotFoundError):
                continue
            if isinstance(value, BaseException):
                raise value
            out[name] = value.value or b""
        return out
