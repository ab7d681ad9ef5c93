"""Pushes to AWS Secrets Manager with ESO's semantics (`providers/v1/aws/secretsmanager`):
`PushSecret`, `DeleteSecret`, `SecretExists` and the `managed-by: external-secrets` tag.

Per remote secret, one push:
1. reads the current value (batched: `BatchGetSecretValue`, ≤ 20 secrets a call);
2. `IfNotExists` and present: done. Absent: `CreateSecret` with the managed-by tag, ESO's
   description and KMS key defaults, `secretPushFormat` (binary unless `string`), replica
   regions, then `PutResourcePolicy` if the metadata names one;
3. present and the value to push (with `property` merged into the JSON) equal to it: done, no
   call more — unless the PushSecret's spec changed (`verify`), when ownership and metadata are
   checked as below;
4. otherwise `DescribeSecret`: without ESO's managed-by tag the push fails ("secret not managed
   by external-secrets") and nothing is written; with it, tags (when the metadata names some),
   the resource policy and replica regions are brought in line, then `PutSecretValue` (a new
   version only when the value changed).

Delete removes only what carries the tag: with a `property`, only that key is removed (the
secret goes when no key is left; ESO's AWS provider deletes the whole secret), otherwise
`DeleteSecret` with the store's `forceDeleteWithoutRecovery` / `recoveryWindowInDays`.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

from asyncso import errors, json_property, model, model_push, ports, push_value
from asyncso.providers import aws_push_client, aws_push_metadata, aws_writer

INITIAL_VERSION = "00000000-0000-0000-0000-000000000001"
MSG_NOT_MANAGED = "secret not managed by external-secrets"
_meta = aws_push_metadata


def is_managed(tags: list[dict[str, Any]] | None) -> bool:
    return any(
        t.get("Key") == _meta.MANAGED_BY and t.get("Value") == _meta.EXTERNAL_SECRETS
        for t in tags or []
    )


class SecretsManagerPusher(aws_writer.AwsWriter[aws_push_client.SecretsManagerWriteClient]):
    def __init__(
        self,
        reader: aws_writer.Reader,
        *,
        shared: aws_writer.Shared | None = None,
        kube: ports.KubeReader | None = None,
        namespace: str = "",
        options: model.SecretsManagerOptions | None = None,
    ) -> None:
        super().__init__(reader, shared=shared, kube=kube, namespace=namespace)
        self.options = options or model.SecretsManagerOptions()

    def _value_of(self, answer: dict[str, Any]) -> bytes | None:
        if answer.get("SecretString") is not None:
            return str(answer["SecretString"]).encode()
        if answer.get("SecretBinary") is not None:
            return bytes(answer["SecretBinary"])
        return None

    async def _push_key(
        self,
        key: str,
        entries: list[model_push.PushEntry],
        *,
        update_policy: model_push.UpdatePolicy,
        verify: bool,
    ) -> model_push.PushResult:
        raw_metadata = entries[-1].metadata
        meta = _meta.secrets_manager(raw_metadata)
        name = self.prefix + key
        current = await self._current(key)
        if current is not None and update_policy == "IfNotExists":
            return "exists"
        value = push_value.desired(current, entries, whole=push_value.whole_as_text)
        if current is None:
            await self._create(name, value, meta)
            return "created"
        if value == current and not verify:
            return "unchanged"
        described = await self._call(
            "DescribeSecret", self.client.describe_secret, key=name, SecretId=name
        )
        if not is_managed(described.get("Tags")):
            raise errors.PermanentError(MSG_NOT_MANAGED)
        await self._align_metadata(name, described, meta, raw_metadata)
        if value == current:
            return "unchanged"
        await self._put_value(name, value, string=meta.secret_push_format == "string")
        return "updated"

    async def _create(
        self, name: str, value: bytes, meta: aws_push_metadata.SecretsManagerPush
    ) -> None:
        params: dict[str, Any] = {
            "Name": name,
            "Tags": _meta.tag_list(meta.tags),
            "Description": meta.description,
            "ClientRequestToken": INITIAL_VERSION,
            "KmsKeyId": meta.kms_key_id,
        }
        if meta.secret_push_format == "string":
            params["SecretString"] = aws_writer.text(value, what=name)
        else:
            params["SecretBinary"] = value
        if meta.replication_locations:
            params["AddReplicaRegions"] = [
                {"Region": r, "KmsKeyId": meta.kms_key_id} for r in meta.replication_locations
            ]
        created = await self._call("CreateSecret", self.client.create_secret, key=name, **params)
        policy = meta.resource_policy
        if policy is not None and policy.policy_source_ref is not None:
            await self._put_policy(created.get("ARN") or name, policy, await self._policy(policy))

    async def _put_value(self, name: str, value: bytes, *, string: bool) -> None:
        params: dict[str, Any] = {"SecretId": name, "ClientRequestToken": str(uuid.uuid4())}
        if string:
            params["SecretString"] = aws_writer.text(value, what=name)
        else:
            params["SecretBinary"] = value
        await self._call("PutSecretValue", self.client.put_secret_value, key=name, **params)

    # --- metadata on an existing secret (ESO's order: tags, policy, replication) ---------------

    async def _align_metadata(
        self,
        name: str,
        described: dict[str, Any],
        meta: aws_push_metadata.SecretsManagerPush,
        raw_metadata: Any,
    ) -> None:
        if _meta.has_tags(raw_metadata):
            current = _meta.tag_map(described.get("Tags"))
            remove, write = _meta.tag_changes(current, meta.tags)
            if remove:
                await self._call(
                    "UntagResource",
                    self.client.untag_resource,
                    key=name,
                    SecretId=name,
                    TagKeys=remove,
                )
            if write:
                await self._call(
                    "TagResource",
                    self.client.tag_resource,
                    key=name,
                    SecretId=name,
                    Tags=_meta.tag_list(meta.tags),
                )
        await self._align_policy(name, meta.resource_policy)
        if meta.replication_locations is not None:
            await self._align_replicas(name, described, meta)

    async def _align_policy(
        self, name: str, policy: aws_push_metadata.ResourcePolicy | None
    ) -> None:
        wanted = ""
        if policy is not None and policy.policy_source_ref is not None:
            wanted = await self._policy(policy)
        if not wanted:
            await self._delete_policy(name)
            return
        answer = await self._call(
            "GetResourcePolicy", self.client.get_resource_policy, key=name, SecretId=name
        )
        current = answer.get("ResourcePolicy") or ""
        if _policy_json(current) != _policy_json(wanted):
            assert policy is not None
            await self._put_policy(name, policy, wanted)

    async def _delete_policy(self, name: str) -> None:
        with contextlib.suppress(errors.RemoteSecretNotFoundError):
            await self._call(
                "DeleteResourcePolicy", self.client.delete_resource_policy, key=name, SecretId=name
            )

    async def _put_policy(
        self, secret_id: str, policy: aws_push_metadata.ResourcePolicy, document: str
    ) -> None:
        params: dict[str, Any] = {"SecretId": secret_id, "ResourcePolicy": document}
        if policy.block_public_policy is not None:
            params["BlockPublicPolicy"] = policy.block_public_policy
        await self._call(
            "PutResourcePolicy", self.client.put_resource_policy, key=secret_id, **params
        )

    async def _policy(self, policy: aws_push_metadata.ResourcePolicy) -> str:
        """The policy document from a ConfigMap or Secret in the PushSecret's namespace."""
        ref = policy.policy_source_ref
        assert ref is not None
        field = "metadata.spec.resourcePolicy.policySourceRef"
        if self.kube is None:
            raise errors.InvalidSpecError(f"{field}: no cluster access to read the policy")
        if ref.kind == "ConfigMap":
            config_map = await self.kube.get_config_map(self.namespace, ref.name, field=field)
            if config_map is None or ref.key not in config_map.data:
                raise errors.InvalidSpecError(
                    f"{field}: key {ref.key} not found in ConfigMap {self.namespace}/{ref.name}"
                )
            return str(config_map.data[ref.key])
        if ref.kind == "Secret":
            secret = await self.kube.get_secret(self.namespace, ref.name, field=field)
            if secret is None or ref.key not in secret.data:
                raise errors.InvalidSpecError(
                    f"{field}: key {ref.key} not found in Secret {self.namespace}/{ref.name}"
                )
            return aws_writer.text(secret.data[ref.key], what=field)
        raise errors.InvalidSpecError(
            f"unsupported PolicySourceRef kind: {ref.kind} (must be ConfigMap or Secret)"
        )

    async def _align_replicas(
        self, name: str, described: dict[str, Any], meta: aws_push_metadata.SecretsManagerPush
    ) -> None:
        wanted = meta.replication_locations or []
        have = [r.get("Region", "") for r in described.get("ReplicationStatus") or []]
        remove = [r for r in have if r not in wanted]
        add = [r for r in wanted if r not in have]
        if remove:
            await self._remove_regions(name, remove)
        if add:
            regions = [{"Region": r, "KmsKeyId": described.get("KmsKeyId")} for r in add]
            await self._call(
                "ReplicateSecretToRegions",
                self.client.replicate_secret_to_regions,
                key=name,
                SecretId=name,
                AddReplicaRegions=[{k: v for k, v in r.items() if v} for r in regions],
            )

    async def _remove_regions(self, name: str, regions: list[str]) -> None:
        await self._call(
            "RemoveRegionsFromReplication",
            self.client.remove_regions_from_replication,
            key=name,
            SecretId=name,
            RemoveReplicaRegions=regions,
        )

    # --- delete --------------------------------------------------------------------------------

    async def _delete_one(self, location: model_push.RemoteLocation) -> None:
        name = self.prefix + location.remote_key
        current = await self._current(location.remote_key)
        if current is None:
            return
        described = await self._call(
            "DescribeSecret", self.client.describe_secret, key=name, SecretId=name
        )
        if not is_managed(described.get("Tags")):
            return  # not ours: as good as deleted (ESO)
        if location.property:
            if json_property.get(current, location.property) is None:
                return  # that key is not there (any more)
            rest = json_property.remove(current, location.property)
            if rest is not None:
                await self._put_value(name, rest, string=True)
                return
        regions = [r.get("Region", "") for r in described.get("ReplicationStatus") or []]
        if regions:
            await self._remove_regions(name, regions)
        params: dict[str, Any] = {"SecretId": described.get("ARN") or name}
        if self.options.force_delete_without_recovery:
            params["ForceDeleteWithoutRecovery"] = True
        elif self.options.recovery_window_in_days:
            params["RecoveryWindowInDays"] = self.options.recovery_window_in_days
        with contextlib.suppress(errors.RemoteSecretNotFoundError):
            await self._call("DeleteSecret", self.client.delete_secret, key=name, **params)


def _policy_json(document: str) -> Any:
    if not document:
        return None
    try:
        return json.loads(document)
    except ValueError:
        raise errors.InvalidSpecError("the resource policy is not valid JSON") from None
