"""In-memory Secrets Manager and Parameter Store, read and write, for unit tests of the pushers.

Why beside `aws_push_client`: the pushers' logic above the client — compare before writing, the
managed-by refusal, property merges, tags, policies, deletes, batched reads across PushSecrets,
a failed write leaving the secret as it was — is tested without a network, with every call
recorded (`calls`). They raise botocore's `ClientError` as aiobotocore does. Integration tests
use LocalStack.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from asyncso.providers.aws_fake import client_error


@dataclasses.dataclass
class FakeSecret:
    value: bytes | None
    string: bool = True
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    description: str = ""
    kms_key_id: str = ""
    policy: str = ""
    regions: list[str] = dataclasses.field(default_factory=list)


class _FakeService:
    """The operations a fake AWS service was called with, in order; `fail` maps an operation
    name to the error code it raises once."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: dict[str, str] = {}

    def _enter(self, call: str) -> None:
        self.calls.append(call)
        code = self.fail.pop(call, None)
        if code is not None:
            raise client_error(code)


class FakeSecretsManager(_FakeService):
    """Secrets by name."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, FakeSecret] = {}

    def _get(self, name: str) -> FakeSecret:
        found = self.secrets.get(name)
        if found is None:
            raise client_error("ResourceNotFoundException")
        return found

    @staticmethod
    def _value(secret: FakeSecret) -> dict[str, Any]:
        if secret.value is None:
            return {}
        if secret.string:
            return {"SecretString": secret.value.decode()}
        return {"SecretBinary": secret.value}

    def writes(self) -> list[str]:
        reads = {"BatchGetSecretValue", "GetSecretValue", "DescribeSecret", "GetResourcePolicy"}
        return [c for c in self.calls if c not in reads]

    # --- reads ---

    async def batch_get_secret_value(self, **params: Any) -> dict[str, Any]:
        self._enter("BatchGetSecretValue")
        ids: list[str] = params["SecretIdList"]
        found = [i for i in ids if i in self.secrets and self.secrets[i].value is not None]
        return {
            "SecretValues": [
                {"Name": i, "ARN": f"arn:{i}", **self._value(self.secrets[i])} for i in found
            ],
            "Errors": [
                {"SecretId": i, "ErrorCode": "ResourceNotFoundException", "Message": "gone"}
                for i in ids
                if i not in found
            ],
        }

    async def get_secret_value(self, **params: Any) -> dict[str, Any]:
        self._enter("GetSecretValue")
        secret = self._get(params["SecretId"])
        if secret.value is None:
            raise client_error("ResourceNotFoundException")
        return {"Name": params["SecretId"], **self._value(secret)}

    async def describe_secret(self, **params: Any) -> dict[str, Any]:
        self._enter("DescribeSecret")
        secret = self._get(params["SecretId"])
        return {
            "Name": params["SecretId"],
            "ARN": f"arn:{params['SecretId']}",
            "Tags": [{"Key": k, "Value": v} for k, v in secret.tags.items()],
            "KmsKeyId": secret.kms_key_id,
            "ReplicationStatus": [{"Region": r} for r in secret.regions],
        }

    async def list_secrets(self, **params: Any) -> dict[str, Any]:
        self._enter("ListSecrets")
        return {"SecretList": [{"Name": n} for n in sorted(self.secrets)]}

    async def get_resource_policy(self, **params: Any) -> dict[str, Any]:
        self._enter("GetResourcePolicy")
        return {"ResourcePolicy": self._get(params["SecretId"]).policy or None}

    # --- writes ---

    async def create_secret(self, **params: Any) -> dict[str, Any]:
        self._enter("CreateSecret")
        name = params["Name"]
        if name in self.secrets:
            raise client_error("ResourceExistsException")
        string = "SecretString" in params
        value = params["SecretString"].encode() if string else params["SecretBinary"]
        self.secrets[name] = FakeSecret(
            value,
            string=string,
            tags={t["Key"]: t["Value"] for t in params.get("Tags", [])},
            description=params.get("Description", ""),
            kms_key_id=params.get("KmsKeyId", ""),
            regions=[r["Region"] for r in params.get("AddReplicaRegions", [])],
        )
        return {"ARN": f"arn:{name}", "Name": name}

    async def put_secret_value(self, **params: Any) -> dict[str, Any]:
        self._enter("PutSecretValue")
        secret = self._get(params["SecretId"])
        secret.string = "SecretString" in params
        secret.value = params["SecretString"].encode() if secret.string else params["SecretBinary"]
        return {}

    async def delete_secret(self, **params: Any) -> dict[str, Any]:
        self._enter("DeleteSecret")
        name = params["SecretId"].removeprefix("arn:")
        self._get(name)
        del self.secrets[name]
        return {}

    async def tag_resource(self, **params: Any) -> dict[str, Any]:
        self._enter("TagResource")
        self._get(params["SecretId"]).tags.update({t["Key"]: t["Value"] for t in params["Tags"]})
        return {}

    async def untag_resource(self, **params: Any) -> dict[str, Any]:
        self._enter("UntagResource")
        secret = self._get(params["SecretId"])
        for key in params["TagKeys"]:
            secret.tags.pop(key, None)
        return {}

    async def put_resource_policy(self, **params: Any) -> dict[str, Any]:
        self._enter("PutResourcePolicy")
        self._get(params["SecretId"].removeprefix("arn:")).policy = params["ResourcePolicy"]
        return {}

    async def delete_resource_policy(self, **params: Any) -> dict[str, Any]:
        self._enter("DeleteResourcePolicy")
        self._get(params["SecretId"]).policy = ""
        return {}

    async def replicate_secret_to_regions(self, **params: Any) -> dict[str, Any]:
        self._enter("ReplicateSecretToRegions")
        self._get(params["SecretId"]).regions += [r["Region"] for r in params["AddReplicaRegions"]]
        return {}

    async def remove_regions_from_replication(self, **params: Any) -> dict[str, Any]:
        self._enter("RemoveRegionsFromReplication")
        secret = self._get(params["SecretId"])
        secret.regions = [r for r in secret.regions if r not in params["RemoveReplicaRegions"]]
        return {}


@dataclasses.dataclass
class FakeParameter:
    value: str
    type: str = "String"
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    description: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


class FakeParameterStore(_FakeService):
    """Parameters by name."""

    def __init__(self) -> None:
        super().__init__()
        self.parameters: dict[str, FakeParameter] = {}

    def writes(self) -> list[str]:
        return [c for c in self.calls if c not in {"GetParameters", "ListTagsForResource"}]

    async def get_parameters(self, **params: Any) -> dict[str, Any]:
        self._enter("GetParameters")
        names: list[str] = params["Names"]
        return {
            "Parameters": [
                {"Name": n, "Value": self.parameters[n].value, "Version": 1}
                for n in names
                if n in self.parameters
            ],
            "InvalidParameters": [n for n in names if n not in self.parameters],
        }

    async def get_parameters_by_path(self, **params: Any) -> dict[str, Any]:
        self._enter("GetParametersByPath")
        return {"Parameters": []}

    async def describe_parameters(self, **params: Any) -> dict[str, Any]:
        self._enter("DescribeParameters")
        return {"Parameters": []}

    async def list_tags_for_resource(self, **params: Any) -> dict[str, Any]:
        self._enter("ListTagsForResource")
        found = self.parameters.get(params["ResourceId"])
        if found is None:
            raise client_error("InvalidResourceId")
        return {"TagList": [{"Key": k, "Value": v} for k, v in found.tags.items()]}

    async def put_parameter(self, **params: Any) -> dict[str, Any]:
        self._enter("PutParameter")
        name = params["Name"]
        current = self.parameters.get(name)
        if current is not None and not params.get("Overwrite"):
            raise client_error("ParameterAlreadyExists")
        if current is not None and params.get("Tags"):
            raise client_error("ValidationException")  # AWS: no tags with overwrite
        extra: dict[str, Any] = {k: params[k] for k in ("KeyId", "Tier", "Policies") if k in params}
        self.parameters[name] = FakeParameter(
            params["Value"],
            type=params.get("Type") or (current.type if current else "String"),
            tags=current.tags if current else {t["Key"]: t["Value"] for t in params["Tags"]},
            description=params.get("Description", current.description if current else ""),
            extra=extra,
        )
        return {"Version": 1}

    async def delete_parameter(self, **params: Any) -> dict[str, Any]:
        self._enter("DeleteParameter")
        if params["Name"] not in self.parameters:
            raise client_error("ParameterNotFound")
        del self.parameters[params["Name"]]
        return {}

    async def add_tags_to_resource(self, **params: Any) -> dict[str, Any]:
        self._enter("AddTagsToResource")
        self.parameters[params["ResourceId"]].tags.update(
            {t["Key"]: t["Value"] for t in params["Tags"]}
        )
        return {}

    async def remove_tags_from_resource(self, **params: Any) -> dict[str, Any]:
        self._enter("RemoveTagsFromResource")
        for key in params["TagKeys"]:
            self.parameters[params["ResourceId"]].tags.pop(key, None)
        return {}
