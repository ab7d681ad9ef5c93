"""msgspec Structs for the external-secrets.io/v1 kinds and the core Kubernetes objects we touch.

Why msgspec: the watch streams of thousands of objects are decoded here, and msgspec decodes and
validates in one pass, fast and with little memory. A `ValidationError` names the bad field
(`$.spec.target.creationPolicy`), which becomes the object's `Ready=False` message.

Field names follow ESO's v1 CRDs exactly, so ESO users' manifests apply unchanged. The CRDs in
`charts/asyncso/files/crds/` are generated from these Structs (`crdgen`).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import msgspec

from asyncso import names

GROUP = "external-secrets.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"

# Labels and annotations ESO puts on the Secrets it manages; we use the same ones.
LABEL_MANAGED = "reconcile.external-secrets.io/managed"
LABEL_CREATED_BY = "reconcile.external-secrets.io/created-by"
ANNOTATION_DATA_HASH = "reconcile.external-secrets.io/data-hash"
FINALIZER = "externalsecrets.external-secrets.io/externalsecret-cleanup"

DEFAULT_REFRESH_INTERVAL = "1h0m0s"

Key = tuple[str, str]
"""(namespace, name) of an object; namespace is "" for cluster-scoped objects."""

CreationPolicy = Literal["Owner", "Orphan", "Merge", "None"]
DeletionPolicy = Literal["Delete", "Merge", "Retain"]
RefreshPolicy = Literal["CreatedOnce", "Periodic", "OnChange"]
DecodingStrategy = Literal["Auto", "Base64", "Base64URL", "None"]
ConversionStrategy = Literal["Default", "Unicode"]
MetadataPolicy = Literal["None", "Fetch"]
StoreKind = Literal["SecretStore", "ClusterSecretStore"]
TemplateEngine = Literal["v2", "jinja"]
TemplateMergePolicy = Literal["Replace", "Merge"]
TemplateScope = Literal["Values", "KeysAndValues"]
TemplateTarget = Literal["Data", "Annotations", "Labels"]
AwsService = Literal["SecretsManager", "ParameterStore"]


# Name fields carry ESO's CRD patterns into the generated schema (`crdgen`), so the apiserver
# refuses `../x` and friends at admission. Decoding does not check them: `validate` and the
# path builder (`apiserver.path`) do, with a message that names the field.
SubdomainName = Annotated[
    str,
    msgspec.Meta(
        extra_json_schema={
            "pattern": names.DNS_SUBDOMAIN_PATTERN,
            "maxLength": names.DNS_SUBDOMAIN_MAX,
            "minLength": 1,
        }
    ),
]
LabelName = Annotated[
    str,
    msgspec.Meta(
        extra_json_schema={
            "pattern": names.DNS_LABEL_PATTERN,
            "maxLength": names.DNS_LABEL_MAX,
            "minLength": 1,
        }
    ),
]
DataKey = Annotated[
    str,
    msgspec.Meta(
        extra_json_schema={"pattern": names.KEY_PATTERN, "maxLength": names.KEY_MAX, "minLength": 1}
    ),
]


class _Obj(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """Common options: camelCase on the wire, defaults omitted when encoding."""


# --- core Kubernetes -------------------------------------------------------------------------


class OwnerReference(_Obj):
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(_Obj):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    owner_references: list[OwnerReference] = []
    finalizers: list[str] = []


class Secret(_Obj):
    """A core/v1 Secret; `data` values are raw bytes (msgspec handles the base64)."""

    metadata: ObjectMeta
    data: dict[str, bytes] = {}
    type: str = "Opaque"
    immutable: bool | None = None
    api_version: str = "v1"
    kind: str = "Secret"


class ConfigMap(_Obj):
    metadata: ObjectMeta
    data: dict[str, str] = {}
    binary_data: dict[str, bytes] = {}
    api_version: str = "v1"
    kind: str = "ConfigMap"


@dataclasses.dataclass(frozen=True)
class SecretContent:
    """What an ExternalSecret wants its target Secret to hold (after templating): the input of
    `plan`, which decides how it lands on the observed Secret."""

    data: dict[str, bytes]
    labels: dict[str, str]
    annotations: dict[str, str]
    type: str


class Namespace(_Obj):
    metadata: ObjectMeta
    api_version: str = "v1"
    kind: str = "Namespace"


class LabelSelectorRequirement(_Obj):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = []


class LabelSelector(_Obj):
    match_labels: dict[str, str] = {}
    match_expressions: list[LabelSelectorRequirement] = []


class Condition(_Obj):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None


# --- stores ------------------------------------------------------------------------------------


class SecretKeySelector(_Obj):
    name: SubdomainName = ""
    key: DataKey = ""
    namespace: LabelName | None = None


class ServiceAccountSelector(_Obj):
    name: SubdomainName
    namespace: LabelName | None = None
    audiences: list[str] = []


class AwsSecretRef(_Obj):
    access_key_id_secret_ref: SecretKeySelector | None = msgspec.field(
        default=None, name="accessKeyIDSecretRef"
    )
    secret_access_key_secret_ref: SecretKeySelector | None = None
    session_token_secret_ref: SecretKeySelector | None = None


class AwsJwtAuth(_Obj):
    service_account_ref: ServiceAccountSelector | None = None


class AwsAuth(_Obj):
    secret_ref: AwsSecretRef | None = None
    jwt: AwsJwtAuth | None = None


class Tag(_Obj):
    key: str
    value: str


class SecretsManagerOptions(_Obj):
    force_delete_without_recovery: bool | None = None
    recovery_window_in_days: int | None = None


class AwsProvider(_Obj):
    service: AwsService
    region: str = ""
    auth: AwsAuth | None = None
    role: str = ""
    additional_roles: list[str] = []
    external_id: str = msgspec.field(default="", name="externalID")
    session_tags: list[Tag] = []
    transitive_tag_keys: list[str] = []
    prefix: str = ""
    secrets_manager: SecretsManagerOptions | None = None


class FakeProviderData(_Obj):
    key: str
    value: str = ""
    version: str = ""


class FakeProvider(_Obj):
    data: list[FakeProviderData] = []


class Provider(_Obj):
    aws: AwsProvider | None = None
    fake: FakeProvider | None = None


class ClusterSecretStoreCondition(_Obj):
    namespace_selector: LabelSelector | None = None
    namespaces: list[LabelName] = []
    namespace_regexes: list[str] = []


class RetrySettings(_Obj):
    max_retries: int | None = None
    retry_interval: str | None = None


class SecretStoreSpec(_Obj):
    provider: Provider
    controller: str = ""
    refresh_interval: int = 0
    retry_settings: RetrySettings | None = None
    conditions: list[ClusterSecretStoreCondition] = []


class SecretStoreStatus(_Obj):
    conditions: list[Condition] = []
    capabilities: str = ""


class SecretStore(_Obj):
    """A SecretStore or ClusterSecretStore (same spec; `kind` tells which)."""

    metadata: ObjectMeta
    spec: SecretStoreSpec
    status: SecretStoreStatus = msgspec.field(default_factory=SecretStoreStatus)
    kind: str = "SecretStore"
    api_version: str = API_VERSION


# --- ExternalSecret ----------------------------------------------------------------------------


class StoreRef(_Obj):
    name: SubdomainName = ""
    kind: StoreKind = "SecretStore"


class GeneratorRef(_Obj):
    name: SubdomainName
    kind: str
    api_version: str = ""


class SourceRef(_Obj):
    store_ref: StoreRef | None = None
    generator_ref: GeneratorRef | None = None


class RemoteRef(_Obj):
    key: str
    property: str = ""
    version: str = ""
    metadata_policy: MetadataPolicy = "None"
    conversion_strategy: ConversionStrategy = "Default"
    decoding_strategy: DecodingStrategy = "None"


class ExternalSecretData(_Obj):
    secret_key: DataKey
    remote_ref: RemoteRef
    source_ref: SourceRef | None = None


class FindName(_Obj):
    regexp: str = ""


class Find(_Obj):
    path: str | None = None
    name: FindName | None = None
    tags: dict[str, str] = {}
    conversion_strategy: ConversionStrategy = "Default"
    decoding_strategy: DecodingStrategy = "None"


class RewriteRegexp(_Obj):
    source: str
    target: str


class RewriteTransform(_Obj):
    template: str


class RewriteMerge(_Obj):
    """ESO's `rewrite.merge`: accepted in manifests; `keymapping.rewrite` refuses it for now."""

    into: str = ""
    priority: list[str] = []
    conflict_policy: str = ""
    priority_policy: str = ""
    strategy: str = ""


class Rewrite(_Obj):
    regexp: RewriteRegexp | None = None
    transform: RewriteTransform | None = None
    merge: RewriteMerge | None = None


class ExternalSecretDataFrom(_Obj):
    extract: RemoteRef | None = None
    find: Find | None = None
    rewrite: list[Rewrite] = []
    source_ref: SourceRef | None = None


class TemplateRefItem(_Obj):
    key: DataKey
    template_as: TemplateScope = "Values"


class TemplateRef(_Obj):
    name: SubdomainName
    items: list[TemplateRefItem] = []


class TemplateFrom(_Obj):
    config_map: TemplateRef | None = None
    secret: TemplateRef | None = None
    literal: str | None = None
    target: TemplateTarget = "Data"


class TemplateMetadata(_Obj):
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class Template(_Obj):
    type: str = ""
    #: `v2`: Go's text/template as ESO runs it (ESO's default); `jinja`: our opt-in engine.
    engine_version: TemplateEngine = "v2"
    metadata: TemplateMetadata | None = None
    data: dict[str, str] = {}
    template_from: list[TemplateFrom] = []
    merge_policy: TemplateMergePolicy = "Replace"


class Target(_Obj):
    name: SubdomainName = ""
    creation_policy: CreationPolicy = "Owner"
    deletion_policy: DeletionPolicy = "Retain"
    template: Template | None = None
    immutable: bool = False


class ExternalSecretSpec(_Obj):
    secret_store_ref: StoreRef | None = None
    target: Target = msgspec.field(default_factory=Target)
    refresh_interval: str = DEFAULT_REFRESH_INTERVAL
    refresh_policy: RefreshPolicy | None = None
    data: list[ExternalSecretData] = []
    data_from: list[ExternalSecretDataFrom] = []


class Binding(_Obj):
    name: str = ""


class ExternalSecretStatus(_Obj):
    conditions: list[Condition] = []
    refresh_time: str | None = None
    synced_resource_version: str = ""
    binding: Binding | None = None


class ExternalSecret(_Obj):
    metadata: ObjectMeta
    spec: ExternalSecretSpec
    status: ExternalSecretStatus = msgspec.field(default_factory=ExternalSecretStatus)
    api_version: str = API_VERSION
    kind: str = "ExternalSecret"


class Envelope(_Obj):
    """Any object, decoded only as far as its metadata: used when the spec is invalid."""

    metadata: ObjectMeta
    api_version: str = ""
    kind: str = ""


def target_name(es: ExternalSecret) -> str:
    """ESO: the target Secret defaults to the ExternalSecret's own name."""
    return es.spec.target.name or es.metadata.name
