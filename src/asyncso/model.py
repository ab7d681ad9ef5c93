"""msgspec Structs for the external-secrets.io/v1 kinds and the core Kubernetes objects we touch.

Why msgspec: the watch streams of thousands of objects are decoded here, and msgspec decodes and
validates in one pass, fast and with little memory. A `ValidationError` names the bad field
(`$.spec.target.creationPolicy`), which becomes the object's `Ready=False` message.

Field names follow ESO's v1 CRDs exactly, so ESO users' manifests apply unchanged. The CRDs in
`charts/asyncso/files/crds/` are generated from these Structs (`crdgen`).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

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

CreationPolicy = Literal["Owner", "Orphan", "Merge", "None", "CreateOrMerge"]
DeletionPolicy = Literal["Delete", "Merge", "Retain"]
RefreshPolicy = Literal["CreatedOnce", "Periodic", "OnChange"]
DecodingStrategy = Literal["Auto", "Base64", "Base64URL", "None"]
ConversionStrategy = Literal["Default", "Unicode"]
MetadataPolicy = Literal["None", "Fetch"]
NullBytePolicy = Literal["Ignore", "Fail"]
SyncWindowKind = Literal["allow", "deny"]
SessionTagsPolicy = Literal["None", "Simple", "Custom"]
StoreKind = Literal["SecretStore", "ClusterSecretStore"]
TemplateEngine = Literal["v2", "jinja"]
TemplateMergePolicy = Literal["Replace", "Merge"]
TemplateScope = Literal["Values", "KeysAndValues"]
TemplateTarget = Literal["Data", "Annotations", "Labels"]
AwsService = Literal["SecretsManager", "ParameterStore", "CertificateManager"]


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


PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"

#: A subtree kept exactly as written (a provider asyncso does not implement): the CRD stores it
#: unpruned and the operator refuses it by name (`compat`).
Opaque = Annotated[dict[str, Any], msgspec.Meta(extra_json_schema={PRESERVE_UNKNOWN: True})]


def _one_property() -> msgspec.Meta:
    """ESO's `MinProperties=1, MaxProperties=1`: exactly one of the struct's fields is set."""
    return msgspec.Meta(extra_json_schema={"minProperties": 1, "maxProperties": 1})


class _Obj(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """Common options: camelCase on the wire, defaults omitted when encoding."""


class _Spec(_Obj, forbid_unknown_fields=True):
    """A part of a spec: a field the model does not know fails decoding, naming the field, so
    nothing a user wrote is dropped silently (`compat.decode_error` words the refusal)."""


# --- core Kubernetes -------------------------------------------------------------------------


class OwnerReference(_Obj):
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ManagedFieldsEntry(_Obj):
    """Which fields one field manager set (`fieldsV1`, in the apiserver's `f:` notation)."""

    manager: str = ""
    operation: str = ""
    fields_v1: dict[str, Any] = msgspec.field(default_factory=dict, name="fieldsV1")


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
    #: Read only (`fieldowners`): never sent back, so the apiserver keeps its own record.
    managed_fields: list[ManagedFieldsEntry] = []


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


class LabelSelectorRequirement(_Spec):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = []


class LabelSelector(_Spec):
    match_labels: dict[str, str] = {}
    match_expressions: list[LabelSelectorRequirement] = []


class Condition(_Obj):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None


# --- stores ------------------------------------------------------------------------------------


class SecretKeySelector(_Spec):
    name: SubdomainName = ""
    key: DataKey = ""
    namespace: LabelName | None = None


class ServiceAccountSelector(_Spec):
    name: SubdomainName
    namespace: LabelName | None = None
    audiences: list[str] = []


class AwsSecretRef(_Spec):
    access_key_id_secret_ref: SecretKeySelector | None = msgspec.field(
        default=None, name="accessKeyIDSecretRef"
    )
    secret_access_key_secret_ref: SecretKeySelector | None = None
    session_token_secret_ref: SecretKeySelector | None = None


class AwsJwtAuth(_Spec):
    service_account_ref: ServiceAccountSelector | None = None


class AwsAuth(_Spec):
    secret_ref: AwsSecretRef | None = None
    jwt: AwsJwtAuth | None = None


class Tag(_Spec):
    key: str
    value: str


class SecretsManagerOptions(_Spec):
    force_delete_without_recovery: bool | None = None
    recovery_window_in_days: int | None = None


class AwsProvider(_Spec):
    service: AwsService
    region: str = ""
    auth: AwsAuth | None = None
    role: str = ""
    additional_roles: list[str] = []
    external_id: str = msgspec.field(default="", name="externalID")
    session_tags: list[Tag] = []
    session_tags_policy: SessionTagsPolicy = "None"
    custom_session_tags: dict[str, str] = {}
    transitive_tag_keys: list[str] = []
    prefix: str = ""
    secrets_manager: SecretsManagerOptions | None = None


class FakeProviderData(_Spec):
    key: str
    value: str = ""
    version: str = ""


class FakeProvider(_Spec):
    data: list[FakeProviderData] = []
    #: ESO's `ValidationResult`: 0 Ready, 1 Unknown, 2 Error (what the store's validation says).
    validation_result: int | None = None


def _opaque(name: str) -> Any:
    return msgspec.field(default=None, name=name)


class Provider(_Spec):
    """`spec.provider`: exactly one backend (ESO's `MinProperties/MaxProperties=1`). `aws` and
    `fake` are implemented; every other ESO provider is kept as written and refused by name."""

    aws: AwsProvider | None = None
    fake: FakeProvider | None = None
    akeyless: Opaque | None = _opaque("akeyless")
    azurekv: Opaque | None = _opaque("azurekv")
    barbican: Opaque | None = _opaque("barbican")
    beyondtrust: Opaque | None = _opaque("beyondtrust")
    beyondtrustworkloadcredentials: Opaque | None = _opaque("beyondtrustworkloadcredentials")
    bitwardensecretsmanager: Opaque | None = _opaque("bitwardensecretsmanager")
    chef: Opaque | None = _opaque("chef")
    cloudrusm: Opaque | None = _opaque("cloudrusm")
    conjur: Opaque | None = _opaque("conjur")
    crd: Opaque | None = _opaque("crd")
    delinea: Opaque | None = _opaque("delinea")
    doppler: Opaque | None = _opaque("doppler")
    dvls: Opaque | None = _opaque("dvls")
    fortanix: Opaque | None = _opaque("fortanix")
    gcpsm: Opaque | None = _opaque("gcpsm")
    github: Opaque | None = _opaque("github")
    gitlab: Opaque | None = _opaque("gitlab")
    ibm: Opaque | None = _opaque("ibm")
    infisical: Opaque | None = _opaque("infisical")
    keepersecurity: Opaque | None = _opaque("keepersecurity")
    kubernetes: Opaque | None = _opaque("kubernetes")
    nebiusmysterybox: Opaque | None = _opaque("nebiusmysterybox")
    ngrok: Opaque | None = _opaque("ngrok")
    onboardbase: Opaque | None = _opaque("onboardbase")
    onepassword: Opaque | None = _opaque("onepassword")
    onepassword_sdk: Opaque | None = _opaque("onepasswordSDK")
    open_bao: Opaque | None = _opaque("openBao")
    oracle: Opaque | None = _opaque("oracle")
    ovh: Opaque | None = _opaque("ovh")
    passbolt: Opaque | None = _opaque("passbolt")
    passworddepot: Opaque | None = _opaque("passworddepot")
    previder: Opaque | None = _opaque("previder")
    pulumi: Opaque | None = _opaque("pulumi")
    scaleway: Opaque | None = _opaque("scaleway")
    secretserver: Opaque | None = _opaque("secretserver")
    senhasegura: Opaque | None = _opaque("senhasegura")
    vault: Opaque | None = _opaque("vault")
    volcengine: Opaque | None = _opaque("volcengine")
    webhook: Opaque | None = _opaque("webhook")
    yandexcertificatemanager: Opaque | None = _opaque("yandexcertificatemanager")
    yandexlockbox: Opaque | None = _opaque("yandexlockbox")


class ClusterSecretStoreCondition(_Spec):
    namespace_selector: LabelSelector | None = None
    namespaces: list[LabelName] = []
    namespace_regexes: list[str] = []


class RetrySettings(_Spec):
    max_retries: int | None = None
    retry_interval: str | None = None


class SecretStoreSpec(_Spec):
    provider: Annotated[Provider, _one_property()]
    controller: str = ""
    #: ESO's int-or-string: seconds, or a Go duration ("5m"); unset: the operator's default.
    refresh_interval: int | str | None = None
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


class StoreRef(_Spec):
    name: SubdomainName = ""
    kind: StoreKind = "SecretStore"


class GeneratorRef(_Spec):
    name: SubdomainName
    kind: str
    api_version: str = ""


class SourceRef(_Spec):
    store_ref: StoreRef | None = None
    generator_ref: GeneratorRef | None = None


class RemoteRef(_Spec):
    key: str
    property: str = ""
    version: str = ""
    metadata_policy: MetadataPolicy = "None"
    conversion_strategy: ConversionStrategy = "Default"
    decoding_strategy: DecodingStrategy = "None"
    null_byte_policy: NullBytePolicy = "Ignore"


class ExternalSecretData(_Spec):
    secret_key: DataKey
    remote_ref: RemoteRef
    source_ref: Annotated[SourceRef | None, _one_property()] = None


class FindName(_Spec):
    regexp: str = ""


class Find(_Spec):
    path: str | None = None
    name: FindName | None = None
    tags: dict[str, str] = {}
    conversion_strategy: ConversionStrategy = "Default"
    decoding_strategy: DecodingStrategy = "None"
    null_byte_policy: NullBytePolicy = "Ignore"


class RewriteRegexp(_Spec):
    source: str
    target: str


class RewriteTransform(_Spec):
    template: str


class RewriteMerge(_Spec):
    """ESO's `rewrite.merge`: accepted in manifests; `keymapping.rewrite` refuses it for now."""

    into: str = ""
    priority: list[str] = []
    conflict_policy: str = ""
    priority_policy: str = ""
    strategy: str = ""


class Rewrite(_Spec):
    regexp: RewriteRegexp | None = None
    transform: RewriteTransform | None = None
    merge: RewriteMerge | None = None


class ExternalSecretDataFrom(_Spec):
    extract: RemoteRef | None = None
    find: Find | None = None
    rewrite: list[Annotated[Rewrite, _one_property()]] = []
    source_ref: Annotated[SourceRef | None, _one_property()] = None


class TemplateRefItem(_Spec):
    key: DataKey
    template_as: TemplateScope = "Values"


class TemplateRef(_Spec):
    name: SubdomainName
    items: list[TemplateRefItem] = []


class TemplateFrom(_Spec):
    config_map: TemplateRef | None = None
    secret: TemplateRef | None = None
    literal: str | None = None
    #: ESO: `Data`, `Annotations` or `Labels` (any case) for a Secret; `validation` checks it.
    target: str = "Data"
    values_decoding_strategy: DecodingStrategy = "None"


class TemplateMetadata(_Spec):
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    finalizers: list[str] = []


class Template(_Spec):
    type: str = ""
    #: `v2`: Go's text/template as ESO runs it (ESO's default); `jinja`: our opt-in engine.
    engine_version: TemplateEngine = "v2"
    metadata: TemplateMetadata | None = None
    data: dict[str, str] = {}
    template_from: list[TemplateFrom] = []
    merge_policy: TemplateMergePolicy = "Replace"


NonEmpty = Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1})]


class ManifestReference(_Spec):
    """`target.manifest`: write this kind instead of a Secret (ESO's generic targets)."""

    api_version: NonEmpty
    kind: NonEmpty


class Target(_Spec):
    name: SubdomainName = ""
    creation_policy: CreationPolicy = "Owner"
    deletion_policy: DeletionPolicy = "Retain"
    template: Template | None = None
    manifest: ManifestReference | None = None
    immutable: bool = False


#: ESO's CRD pattern for a window's schedule: a 5-field cron line or a named shorthand.
SCHEDULE_PATTERN = (
    r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\s]+.*"
    r"|[^\s]+( [^\s]+){4})$"
)
Schedule = Annotated[
    str, msgspec.Meta(extra_json_schema={"pattern": SCHEDULE_PATTERN, "minLength": 1})
]


class SyncWindow(_Spec):
    schedule: Schedule
    duration: str


class SyncWindows(_Spec):
    """`spec.syncWindows`: when periodic refreshes may run (cron schedules in UTC)."""

    kind: SyncWindowKind
    windows: Annotated[list[SyncWindow], msgspec.Meta(min_length=1)]


class ExternalSecretSpec(_Spec):
    secret_store_ref: StoreRef | None = None
    target: Target = msgspec.field(default_factory=Target)
    refresh_interval: str = DEFAULT_REFRESH_INTERVAL
    refresh_policy: RefreshPolicy | None = None
    sync_windows: SyncWindows | None = None
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


def template_target(target: str) -> TemplateTarget | None:
    """ESO's templateFrom targets for a Secret, any case ("" is Data); None for anything else
    (a path into another kind of object)."""
    known: dict[str, TemplateTarget] = {
        "": "Data",
        "data": "Data",
        "annotations": "Annotations",
        "labels": "Labels",
    }
    return known.get(target.lower())


def target_name(es: ExternalSecret) -> str:
    """ESO: the target Secret defaults to the ExternalSecret's own name."""
    return es.spec.target.name or es.metadata.name
