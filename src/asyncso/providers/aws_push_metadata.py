"""The `metadata` of a PushSecret entry for AWS: ESO's `PushSecretMetadata` documents.

Why: ESO reads `data[].metadata` as `{apiVersion: kubernetes.external-secrets.io/v1alpha1,
kind: PushSecretMetadata, spec: {...}}` with unknown fields refused, and fills defaults that
decide what is created (a description, the AWS-managed KMS key, binary vs string, the
`managed-by` tag, which a user may not set). Parsing it here, before any call, means a bad
document fails the push without touching the remote secret. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from asyncso import errors

API_VERSION = "kubernetes.external-secrets.io/v1alpha1"
KIND = "PushSecretMetadata"
MANAGED_BY = "managed-by"
EXTERNAL_SECRETS = "external-secrets"
DEFAULT_DESCRIPTION = f"secret '{MANAGED_BY}:{EXTERNAL_SECRETS}'"


class _Spec(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Unknown fields are refused, as ESO's `yaml.DisallowUnknownFields`."""


class PolicySourceRef(_Spec):
    kind: str
    name: str
    key: str


class ResourcePolicy(_Spec):
    block_public_policy: bool | None = None
    policy_source_ref: PolicySourceRef | None = None


class SecretsManagerPush(_Spec):
    tags: dict[str, str] = {}
    description: str = ""
    secret_push_format: str = ""
    kms_key_id: str = msgspec.field(default="", name="kmsKeyId")
    resource_policy: ResourcePolicy | None = None
    replication_locations: list[str] | None = None


class Tier(_Spec):
    type: str = ""
    policies: Any = None


class ParameterStorePush(_Spec):
    secret_type: str = ""
    kms_key_id: str = msgspec.field(default="", name="kmsKeyID")
    tier: Tier = msgspec.field(default_factory=Tier)
    encode_as_decoded: bool = False
    tags: dict[str, str] = {}
    description: str = ""


class _Document(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    api_version: str = ""
    kind: str = ""
    spec: Any = None


def _spec(metadata: Any, spec_type: type[Any]) -> Any:
    if metadata is None:
        return spec_type()
    where = f"failed to parse {API_VERSION} {KIND}"
    try:
        document = msgspec.convert(metadata, _Document)
    except msgspec.ValidationError as exc:
        raise errors.InvalidSpecError(f"{where}: {exc}") from None
    if document.api_version != API_VERSION:
        raise errors.InvalidSpecError(
            f"unexpected apiVersion {document.api_version!r}, expected {API_VERSION!r}"
        )
    if document.kind != KIND:
        raise errors.InvalidSpecError(f"unexpected kind {document.kind!r}, expected {KIND!r}")
    try:
        return msgspec.convert(document.spec or {}, spec_type)
    except msgspec.ValidationError as exc:
        raise errors.InvalidSpecError(f"{where}: {exc}") from None


def _tags(tags: dict[str, str]) -> dict[str, str]:
    if MANAGED_BY in tags:
        raise errors.InvalidSpecError(
            f"error parsing tags in metadata: Cannot specify a '{MANAGED_BY}' tag"
        )
    return {**tags, MANAGED_BY: EXTERNAL_SECRETS}


def secrets_manager(metadata: Any) -> SecretsManagerPush:
    """ESO's `constructMetadataWithDefaults` for Secrets Manager."""
    spec: SecretsManagerPush = _spec(metadata, SecretsManagerPush)
    if spec.secret_push_format not in ("", "binary", "string"):
        raise errors.InvalidSpecError(f"invalid secret push format: {spec.secret_push_format}")
    return msgspec.structs.replace(
        spec,
        secret_push_format=spec.secret_push_format or "binary",
        description=spec.description or DEFAULT_DESCRIPTION,
        kms_key_id=spec.kms_key_id or "alias/aws/secretsmanager",
        tags=_tags(spec.tags),
    )


def parameter_store(metadata: Any) -> ParameterStorePush:
    """ESO's `constructMetadataWithDefaults` for Parameter Store."""
    spec: ParameterStorePush = _spec(metadata, ParameterStorePush)
    if spec.secret_type not in ("", "String", "StringList", "SecureString"):
        raise errors.InvalidSpecError(f"invalid secretType: {spec.secret_type}")
    return msgspec.structs.replace(
        spec,
        secret_type=spec.secret_type or "String",
        description=spec.description or DEFAULT_DESCRIPTION,
        kms_key_id=spec.kms_key_id or "alias/aws/ssm",
        tier=msgspec.structs.replace(spec.tier, type=spec.tier.type or "Standard"),
        tags=_tags(spec.tags),
    )


def has_tags(metadata: Any) -> bool:
    """ESO patches the tags of an existing secret only when the metadata names some."""
    return bool(isinstance(metadata, dict) and (metadata.get("spec") or {}).get("tags"))


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags as AWS takes them (`[{"Key": ..., "Value": ...}]`), sorted by key."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def tag_map(listed: list[dict[str, Any]] | None) -> dict[str, str]:
    """Tags as AWS lists them, by key."""
    return {t["Key"]: t["Value"] for t in listed or []}


def tag_changes(current: Mapping[str, str], wanted: Mapping[str, str]) -> tuple[list[str], bool]:
    """ESO's tag alignment of an existing secret: the keys to remove (sorted), and whether the
    wanted tags are to be written (a value differs or is missing; the managed-by tag aside)."""
    remove = sorted(k for k in current if k not in wanted)
    write = any(current.get(k) != v for k, v in wanted.items() if k != MANAGED_BY)
    return remove, write
