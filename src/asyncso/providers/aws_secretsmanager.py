"""AWS Secrets Manager behind `ports.SecretsProvider`, with ESO's read semantics, batched.

Why batched: current-version reads from every ExternalSecret using this identity are shared and
coalesce into `BatchGetSecretValue` calls of up to 20 ids (`shared_reads`; ESO makes one
`GetSecretValue` per entry per reconcile). If the principal may not call `BatchGetSecretValue`,
we fall back to single calls for this identity, remember it, and say so once (`notes`).

Change detection (opt-in per store, `ANNOTATION_CHANGE_DETECTION: ListSecrets`): the values held
are checked by `ListSecrets` (100 secrets a page, each with its current version id) and only
those at another version are read again: per refresh cycle about ceil(listed/100) + ceil(changed
/20) calls instead of ceil(U/20). It needs `secretsmanager:ListSecrets` (which IAM grants on
`Resource: "*"` only), and inherits its propagation delay (AWS documents `ListSecrets` as
eventually consistent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from asyncso import errors, keymapping, model
from asyncso.providers import aws_client, aws_errors, aws_reader

PROVIDER = "AWS/SecretsManager"
BATCH_MAX = 20
CURRENT = "AWSCURRENT"
#: The store annotation that turns change detection on (value `LIST_SECRETS`). An annotation,
#: not a spec field: our CRDs carry ESO's schema, where a field of ours could one day collide
#: with one of ESO's (and ESO's own CRDs would prune it); annotations under our domain cannot.
ANNOTATION_CHANGE_DETECTION = "asyncso.io/change-detection"
LIST_SECRETS = "ListSecrets"
MSG_UNKNOWN_DETECTION = (
    f"annotation {ANNOTATION_CHANGE_DETECTION}: unknown value {{value!r}} "
    f"(only {LIST_SECRETS!r}); change detection is off"
)


class SecretsManager(aws_reader.AwsReader[aws_client.SecretsManagerClient]):
    provider = PROVIDER
    service = "secretsmanager"
    batch_max = BATCH_MAX
    #: False once IAM denied BatchGetSecretValue to this identity: single reads from then on.
    batch_allowed = True

    # --- calls ---------------------------------------------------------------------------------

    async def _fetch_many(self, ids: list[str]) -> Mapping[str, dict[str, Any] | BaseException]:
        if self.batch_allowed and len(ids) > 1:
            try:
                answer = await self._call(
                    "BatchGetSecretValue", self.client.batch_get_secret_value, SecretIdList=ids
                )
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
                results[ident] = await self._call(
                    "GetSecretValue", self.client.get_secret_value, key=ident, SecretId=ident
                )
            except errors.AsyncsoError as exc:
                results[ident] = exc
        return results

    def _current(self, answer: dict[str, Any]) -> aws_reader.Current:
        version = str(answer.get("VersionId") or "")
        if answer.get("SecretString") is not None:
            return aws_reader.Current(version, str(answer["SecretString"]).encode())
        if answer.get("SecretBinary") is not None:
            return aws_reader.Current(version, bytes(answer["SecretBinary"]))
        return aws_reader.Current(version, None)

    def detect_changes(self, mode: str) -> str | None:
        """Turn change detection on (`LIST_SECRETS`) or off (""); an unknown mode is off, and
        the note to give about it is returned."""
        self.shared.verify = self._current_versions if mode == LIST_SECRETS else None
        if mode and mode != LIST_SECRETS:
            return MSG_UNKNOWN_DETECTION.format(value=mode[:64])
        return None

    async def _current_versions(self, ids: list[str]) -> dict[str, str]:
        """Change detection: the current version id of every secret under the prefix, by name
        and by ARN, from one paginated `ListSecrets`."""
        params: dict[str, Any] = {"MaxResults": 100}
        if self.prefix:
            params["Filters"] = [{"Key": "name", "Values": [self.prefix]}]
        versions: dict[str, str] = {}
        async for page in self._pages("ListSecrets", self.client.list_secrets, **params):
            for entry in page.get("SecretList", []):
                if entry.get("DeletedDate") is not None:
                    continue
                stages: dict[str, list[str]] = entry.get("SecretVersionsToStages") or {}
                current = next((v for v, s in stages.items() if CURRENT in s), "")
                for name in (entry.get("Name"), entry.get("ARN")):
                    if name:
                        versions[name] = current
        return versions

    def _batch_results(
        self, ids: list[str], answer: dict[str, Any]
    ) -> dict[str, dict[str, Any] | BaseException]:
        by_name: dict[str, dict[str, Any]] = {}
        for value in answer.get("SecretValues", []):
            by_name[value.get("Name", "")] = value
            by_name[value.get("ARN", "")] = value
        failed = {
            error.get("SecretId", ""): aws_errors.from_code(
                error.get("ErrorCode", ""),
                error.get("Message", ""),
                what="secretsmanager:BatchGetSecretValue",
                key=error.get("SecretId", ""),
            )
            for error in answer.get("Errors", [])
        }
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

    def prefetch(self, ref: model.RemoteRef) -> None:
        """`ports.Prefetching`: current-value reads only (others are read when asked)."""
        if ref.metadata_policy != "Fetch" and ref.version in ("", CURRENT):
            self.shared.prefetch(self.prefix + ref.key)

    def read_cached(self, ref: model.RemoteRef) -> bytes | None:
        """`ports.CachedReading`: a current value held fresh enough, else None."""
        if ref.metadata_policy == "Fetch" or ref.version not in ("", CURRENT):
            return None
        current = self.shared.peek(self.prefix + ref.key)
        return None if current is None else current.value

    async def read(self, ref: model.RemoteRef) -> bytes:
        """The secret's value (or its tags, with `metadataPolicy: Fetch`) at `ref`'s version."""
        key = self.prefix + ref.key
        if ref.metadata_policy == "Fetch":
            described = await self._call(
                "DescribeSecret", self.client.describe_secret, key=key, SecretId=key
            )
            return aws_reader.tags_json(described.get("Tags", []))
        version = ref.version
        if not version or version == CURRENT:
            current = await self.shared.get(key)
            if current.value is None:
                raise errors.RemoteSecretNotFoundError(key, "no value")
            return current.value
        if version.startswith("uuid/"):
            answer = await self._call(
                "GetSecretValue",
                self.client.get_secret_value,
                key=key,
                SecretId=key,
                VersionId=version.removeprefix("uuid/"),
            )
        else:
            answer = await self._call(
                "GetSecretValue",
                self.client.get_secret_value,
                key=key,
                SecretId=key,
                VersionStage=version,
            )
        if answer.get("SecretString") is not None:
            return str(answer["SecretString"]).encode()
        if answer.get("SecretBinary") is not None:
            return bytes(answer["SecretBinary"])
        raise errors.RemoteSecretNotFoundError(key, "no value")

    async def find(self, find: model.Find) -> dict[str, bytes]:
        """`dataFrom.find`: every live secret under `path`, with `tags`, matching `name`."""
        filters: list[dict[str, Any]] = []
        if find.path:
            filters.append({"Key": "name", "Values": [self.prefix + find.path]})
        for key, value in find.tags.items():
            filters.append({"Key": "tag-key", "Values": [key]})
            filters.append({"Key": "tag-value", "Values": [value]})
        pattern = keymapping.find_pattern(find)
        params: dict[str, Any] = {"MaxResults": 100}
        if filters:
            params["Filters"] = filters
        names: list[str] = []
        async for page in self._pages("ListSecrets", self.client.list_secrets, **params):
            for entry in page.get("SecretList", []):
                name = entry.get("Name", "")
                if entry.get("DeletedDate") is not None:
                    continue
                if find.tags and not _has_tags(entry, find.tags):
                    continue
                if pattern is not None and not pattern.search(name):
                    continue
                names.append(name)
        refs = [model.RemoteRef(key=name.removeprefix(self.prefix)) for name in names]
        values = await asyncio.gather(*(self.read(r) for r in refs), return_exceptions=True)
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
