"""Pushes to AWS Systems Manager Parameter Store with ESO's semantics
(`providers/v1/aws/parameterstore`): `PushSecret`, `DeleteSecret` and the managed-by tag.

Per parameter, one push:
1. reads the current value (batched: `GetParameters` with decryption, ≤ 10 names a call);
2. `IfNotExists` and present: done. Absent: `PutParameter` (no overwrite) with the metadata's
   `secretType` (String unless set), `kmsKeyID` (SecureString only), `tier` (and its
   `policies` when Advanced), description and tags, the managed-by tag among them;
3. present and the value to push equal to it: done — unless the spec changed (`verify`);
4. otherwise `ListTagsForResource`: without the managed-by tag the push fails ("secret not
   managed by external-secrets"); with it, `PutParameter` (overwrite) when the value changed,
   then the tags brought in line (`RemoveTagsFromResource`, `AddTagsToResource`).

Whole-Secret pushes (no `secretKey`) are JSON with base64 values, as ESO marshals `[]byte`,
unless `encodeAsDecoded`. `property` merges into a JSON value as for Secrets Manager (ESO's
Parameter Store provider ignores `property` and overwrites the whole parameter). Delete removes
only a managed parameter (`DeleteParameter`), or only its `property`.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from asyncso import errors, json_property, model_push, push_value
from asyncso.providers import aws_push_client, aws_push_metadata, aws_writer

MSG_NOT_MANAGED = "secret not managed by external-secrets"
RESOURCE_TYPE = "Parameter"
_meta = aws_push_metadata


class ParameterStorePusher(aws_writer.AwsWriter[aws_push_client.SsmWriteClient]):
    def _value_of(self, answer: dict[str, Any]) -> bytes | None:
        return str(answer.get("Value", "")).encode()

    async def _push_key(
        self,
        key: str,
        entries: list[model_push.PushEntry],
        *,
        update_policy: model_push.UpdatePolicy,
        verify: bool,
    ) -> model_push.PushResult:
        meta = _meta.parameter_store(entries[-1].metadata)
        name = self.prefix + key
        current = await self._current(key)
        if current is not None and update_policy == "IfNotExists":
            return "exists"
        whole = push_value.whole_as_text if meta.encode_as_decoded else push_value.whole_as_base64
        value = aws_writer.text(push_value.desired(current, entries, whole=whole), what=name)
        if current is None:
            await self._put(name, value, meta, overwrite=False, Tags=_meta.tag_list(meta.tags))
            return "created"
        if value.encode() == current and not verify:
            return "unchanged"
        tags = await self._tags(name)
        if tags.get(_meta.MANAGED_BY) != _meta.EXTERNAL_SECRETS:
            raise errors.PermanentError(MSG_NOT_MANAGED)
        changed = value.encode() != current
        if changed:
            await self._put(name, value, meta, overwrite=True)
        await self._align_tags(name, tags, meta.tags)
        return "updated" if changed else "unchanged"

    async def _put(
        self,
        name: str,
        value: str,
        meta: aws_push_metadata.ParameterStorePush,
        *,
        overwrite: bool,
        **extra: Any,
    ) -> None:
        params: dict[str, Any] = {
            "Name": name,
            "Value": value,
            "Type": meta.secret_type,
            "Overwrite": overwrite,
            "Description": meta.description,
            **extra,
        }
        if meta.secret_type == "SecureString":
            params["KeyId"] = meta.kms_key_id
        if meta.tier.type == "Advanced":
            params["Tier"] = "Advanced"
            if meta.tier.policies is not None:
                params["Policies"] = json.dumps(meta.tier.policies, separators=(",", ":"))
        await self._call("PutParameter", self.client.put_parameter, key=name, **params)

    async def _tags(self, name: str) -> dict[str, str]:
        listed = await self._call(
            "ListTagsForResource",
            self.client.list_tags_for_resource,
            key=name,
            ResourceType=RESOURCE_TYPE,
            ResourceId=name,
        )
        return _meta.tag_map(listed.get("TagList"))

    async def _align_tags(self, name: str, current: dict[str, str], wanted: dict[str, str]) -> None:
        remove, write = _meta.tag_changes(current, wanted)
        if remove:
            await self._call(
                "RemoveTagsFromResource",
                self.client.remove_tags_from_resource,
                key=name,
                ResourceType=RESOURCE_TYPE,
                ResourceId=name,
                TagKeys=remove,
            )
        if write:
            await self._call(
                "AddTagsToResource",
                self.client.add_tags_to_resource,
                key=name,
                ResourceType=RESOURCE_TYPE,
                ResourceId=name,
                Tags=_meta.tag_list(wanted),
            )

    async def _delete_one(self, location: model_push.RemoteLocation) -> None:
        name = self.prefix + location.remote_key
        current = await self._current(location.remote_key)
        if current is None:
            return
        tags = await self._tags(name)
        if tags.get(_meta.MANAGED_BY) != _meta.EXTERNAL_SECRETS:
            return  # not ours: as good as deleted (ESO)
        if location.property:
            if json_property.get(current, location.property) is None:
                return
            rest = json_property.remove(current, location.property)
            if rest is not None:
                await self._call(
                    "PutParameter",
                    self.client.put_parameter,
                    key=name,
                    Name=name,
                    Value=aws_writer.text(rest, what=name),
                    Overwrite=True,
                )
                return
        with contextlib.suppress(errors.RemoteSecretNotFoundError):
            await self._call("DeleteParameter", self.client.delete_parameter, key=name, Name=name)
