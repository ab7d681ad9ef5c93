"""msgspec Structs for ESO's `PushSecret` and `ClusterPushSecret` (`external-secrets.io/v1alpha1`),
and `PushEntry`, what one write to a provider carries.

Why a module of its own: these kinds write in the other direction (a Kubernetes Secret into the
provider) and live in another API version; they reuse `model`'s shared types (label selectors,
templates, rewrites, conditions) so the CRDs (`crdgen`) carry ESO's fields exactly, as in
`apis/externalsecrets/v1alpha1/pushsecret_types.go`.

`metadata` of a `data[]`/`dataTo[]` entry is free-form JSON in ESO (`apiextensionsv1.JSON`, a
provider-specific `PushSecretMetadata` document): it is kept as decoded JSON (`Any`) and read by
the provider that receives the push.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from asyncso import model

GROUP = model.GROUP
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "PushSecret"
CLUSTER_KIND = "ClusterPushSecret"

#: ESO's finalizer on a PushSecret with `deletionPolicy: Delete`.
FINALIZER = "pushsecret.externalsecrets.io/finalizer"
#: Ours (ESO relies on garbage collection alone): the PushSecrets a ClusterPushSecret created are
#: deleted before it goes, also on clusters without a garbage collector watching owners.
CLUSTER_FINALIZER = "pushsecrets.external-secrets.io/clusterpushsecret-cleanup"

DEFAULT_REFRESH_INTERVAL = "1h0m0s"

UpdatePolicy = Literal["Replace", "IfNotExists"]
PushDeletionPolicy = Literal["Delete", "None"]
PushConversionStrategy = Literal["None", "ReverseUnicode"]


class _Obj(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """As `model`'s: camelCase on the wire, defaults omitted when encoding."""


class PushSecretStoreRef(_Obj):
    name: model.SubdomainName = ""
    label_selector: model.LabelSelector | None = None
    kind: model.StoreKind = "SecretStore"


class PushSecretSecret(_Obj):
    name: model.SubdomainName = ""
    selector: model.LabelSelector | None = None


class PushSecretSelector(_Obj):
    secret: PushSecretSecret | None = None
    generator_ref: model.GeneratorRef | None = None


class PushSecretRemoteRef(_Obj):
    remote_key: str
    property: str = ""


class PushSecretMatch(_Obj):
    remote_ref: PushSecretRemoteRef
    secret_key: str = ""


class PushSecretData(_Obj):
    match: PushSecretMatch
    metadata: Any = None
    conversion_strategy: PushConversionStrategy = "None"


class PushSecretDataToMatch(_Obj):
    regexp: str = ""


class PushSecretRewrite(_Obj):
    regexp: model.RewriteRegexp | None = None
    transform: model.RewriteTransform | None = None


class PushSecretDataTo(_Obj):
    store_ref: PushSecretStoreRef | None = None
    remote_key: str = ""
    match: PushSecretDataToMatch | None = None
    rewrite: list[PushSecretRewrite] = []
    metadata: Any = None
    conversion_strategy: PushConversionStrategy = "None"


class PushSecretSpec(_Obj):
    secret_store_refs: list[PushSecretStoreRef]
    selector: PushSecretSelector
    refresh_interval: str = DEFAULT_REFRESH_INTERVAL
    update_policy: UpdatePolicy = "Replace"
    deletion_policy: PushDeletionPolicy = "None"
    data: list[PushSecretData] = []
    data_to: list[PushSecretDataTo] = []
    template: model.Template | None = None


SyncedPushSecrets = dict[str, dict[str, PushSecretData]]
"""ESO's `status.syncedPushSecrets`: "Kind/name" of a store → remote key (`key` or
`key/property`) → the entry written there."""


class PushSecretStatus(_Obj):
    refresh_time: str | None = None
    synced_resource_version: str = ""
    synced_push_secrets: SyncedPushSecrets = {}
    conditions: list[model.Condition] = []


class PushSecret(_Obj):
    metadata: model.ObjectMeta
    spec: PushSecretSpec
    status: PushSecretStatus = msgspec.field(default_factory=PushSecretStatus)
    api_version: str = API_VERSION
    kind: str = KIND


# --- ClusterPushSecret -------------------------------------------------------------------------


class PushSecretMetadata(_Obj):
    """Labels and annotations of the PushSecrets a ClusterPushSecret creates."""

    annotations: dict[str, str] = {}
    labels: dict[str, str] = {}


class ClusterPushSecretSpec(_Obj):
    push_secret_spec: PushSecretSpec
    refresh_time: str | None = None
    push_secret_name: model.SubdomainName = ""
    push_secret_metadata: PushSecretMetadata | None = None
    namespace_selectors: list[model.LabelSelector] = []


class ClusterPushSecretNamespaceFailure(_Obj):
    namespace: str
    reason: str = ""


class ClusterPushSecretStatus(_Obj):
    failed_namespaces: list[ClusterPushSecretNamespaceFailure] = []
    provisioned_namespaces: list[str] = []
    push_secret_name: str = ""
    conditions: list[model.Condition] = []


class ClusterPushSecret(_Obj):
    metadata: model.ObjectMeta
    spec: ClusterPushSecretSpec
    status: ClusterPushSecretStatus = msgspec.field(default_factory=ClusterPushSecretStatus)
    api_version: str = API_VERSION
    kind: str = CLUSTER_KIND


# --- what a provider receives ------------------------------------------------------------------

PushResult = Literal["created", "updated", "unchanged", "exists"]
"""What one entry's push did: `exists` is `updatePolicy: IfNotExists` meeting a remote secret."""


@dataclasses.dataclass(frozen=True)
class PushEntry:
    """One remote location to write and where its value comes from.

    `secret_key` "" means the whole Secret (each provider serialises it as ESO does);
    `data` is the source Secret's data after template and key conversion; `metadata` is the
    entry's provider-specific `metadata` document (None when absent); `where` names the entry
    in the spec for messages (`spec.data[0]`).
    """

    remote_key: str
    property: str
    secret_key: str
    data: Mapping[str, bytes]
    metadata: Any
    where: str = ""


@dataclasses.dataclass(frozen=True)
class RemoteLocation:
    """A remote key (and property) to delete: what `syncedPushSecrets` recorded."""

    remote_key: str
    property: str = ""
