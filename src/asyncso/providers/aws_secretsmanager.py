"""AWS Secrets Manager behind `ports.SecretsProvider`, with ESO's read semantics, batched.

Why batched: current-version reads from every ExternalSecret using this identity coalesce into
`BatchGetSecretValue` calls of up to 20 ids (ESO makes one `GetSecretValue` per entry per
reconcile). If the principal may not call `BatchGetSecretValue`, we fall back to single calls for
this identity, remember it, and say so once (`notes`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import re2

from asyncso import errors, model
from asyncso.providers import aws_reader, batching

PROVIDER = "AWS/SecretsManager"
BATCH_MAX = 20
CURRENT = "AWSCURRENT"


class SecretsManager(aws_reader.AwsReader):
    provider = PROVIDER
    service = "secretsmanager"

    def __init__(
        self, client: Any, *, prefix: str = "", batch_window: float = 0.01, rate_limit: float = 0.0
    ) -> None:
        super().__init__(client, prefix=prefix, rate_limit=rate_limit)
        self.batch_allowed = True
        self._batcher: batching.Batcher[dict[str, Any]] = batching.Batcher(
            self._fetch_many, window=batch_window, max_batch=BATCH_MAX
        )

    # --- calls ---------------------------------------------------------------------------------

    async def _fetch_many(self, ids: list[str]) -> Mapping[str, dict[str, Any] | BaseException]:
        if self.batch_allowed and len(ids) > 1:
            try:
                answer = await self._call("BatchGetSecretValue", SecretIdList=ids)
            except errors.AccessDeniedError:
                self.batch_allowed = False
                self.notes.append(
                    "secretsmanager:BatchGetSecretValue is denied; using GetSecretValue per "
                    "secret (grant it to cut API calls up to 20x)"
                )
            else:
                return self._batch_results(ids, answer)
        results: dict[str, dict[str, Any] | BaseException] = {}
        for ident in ids:
            try:
                results[ident] = await self._call("GetSecretValue", key=ident, SecretId=ident)
            except errors.AsyncsoError as exc:
                results[ident] = exc
        return results

    def _batch_results(
        self, ids: list[str], answer: dict[str, Any]
    ) -> dict[str, dict[str, Any] | BaseException]:
        by_name: dict[str, dict[str, Any]] = {}
        for value in answer.get("SecretValues", []):
            by_name[value.get("Name", "")] = value
            by_name[value.get("ARN", "")] = value
        failed: dict[str, BaseException] = {}
        for error in answer.get("Errors", []):
            ident = error.get("SecretId", "")
            code = error.get("ErrorCode", "")
            if code == "ResourceNotFoundException":
                failed[ident] = errors.RemoteSecretNotFoundError(ident)
            elif code in ("ThrottlingException",):
                failed[ident] = errors.ThrottledError(f"secretsmanager: {ident!r} throttled")
            elif code in ("AccessDeniedException",):
                failed[ident] = errors.AccessDeniedError(
                    f"secretsmanager: access denied to {ident!r}"
                )
            else:
                failed[ident] = errors.PermanentError(
                    f"secretsmanager: {ident!r}: {code}: {errors.redact(error.get('Message', ''))}"
                )
        out: dict[str, dict[str, Any] | BaseException] = {}
        for ident in ids:
            if ident in by_name:
                out[ident] = by_name[ident]
            elif ident in failed:
                out[ident] = failed[ident]
            else:
                out[ident] = errors.RemoteSecretNotFoundError(ident)
        return out

    # --- reads ---------------------------------------------------------------------------------

    async def _value(self, ref: model.RemoteRef) -> bytes:
        key = self.prefix + ref.key
        if ref.metadata_policy == "Fetch":
            described = await self._call("DescribeSecret", key=key, SecretId=key)
            tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
            return json.dumps(tags, separators=(",", ":")).encode()
        version = ref.version
        if not version or version == CURRENT:
            answer = await self._batcher.get(key)
        elif version.startswith("uuid/"):
            answer = await self._call(
                "GetSecretValue", key=key, SecretId=key, VersionId=version.removeprefix("uuid/")
            )
        else:
            answer = await self._call("GetSecretValue", key=key, SecretId=key, VersionStage=version)
        if answer.get("SecretString") is not None:
            return str(answer["SecretString"]).encode()
        if answer.get("SecretBinary") is not None:
            return bytes(answer["SecretBinary"])
        raise errors.RemoteSecretNotFoundError(key, "no value")

    async def get_all_secrets(self, find: model.Find) -> dict[str, bytes]:
        filters: list[dict[str, Any]] = []
        if find.path:
            filters.append({"Key": "name", "Values": [self.prefix + find.path]})
        for key, value in find.tags.items():
            filters.append({"Key": "tag-key", "Values": [key]})
            filters.append({"Key": "tag-value", "Values": [value]})
        pattern = None
        if find.name is not None and find.name.regexp:
            try:
                pattern = re2.compile(find.name.regexp)
            except re2.error as exc:
                raise errors.InvalidSpecError(f"find.name.regexp: {exc}") from None
        names: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"MaxResults": 100}
            if filters:
                params["Filters"] = filters
            if token:
                params["NextToken"] = token
            page = await self._call("ListSecrets", **params)
            for entry in page.get("SecretList", []):
                name = entry.get("Name", "")
                if entry.get("DeletedDate") is not None:
                    continue
                if find.tags and not _has_tags(entry, find.tags):
                    continue
                if pattern is not None and not pattern.search(name):
                    continue
                names.append(name)
            token = page.get("NextToken")
            if not token:
                break
        refs = [model.RemoteRef(key=name.removeprefix(self.prefix)) for name in names]
        values = await asyncio.gather(*(self._value(r) for r in refs), return_exceptions=True)
        out: dict[str, bytes] = {}
        for name, result in zip(names, values, strict=True):
            if isinstance(result, errors.RemoteSecretNotFoundError):
                continue  # deleted between the listing and the read
            if isinstance(result, BaseException):
                raise result
            out[name] = result
        return out


def _has_tags(entry: dict[str, Any], wanted: dict[str, str]) -> bool:
    tags = {t.get("Key"): t.get("Value") for t in entry.get("Tags", [])}
    return all(tags.get(k) == v for k, v in wanted.items())
