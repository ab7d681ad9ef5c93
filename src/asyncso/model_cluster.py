"""msgspec Structs for ESO's `ClusterExternalSecret` (`external-secrets.io/v1`, cluster-scoped).

Why a module of its own: the ClusterExternalSecret fans one `ExternalSecretSpec` out to many
namespaces; its Structs import the ExternalSecret ones from `model` and add only the fan-out
fields, so the CRD (`crdgen`) and the decoder stay in step with ESO's
`apis/externalsecrets/v1/clusterexternalsecret_types.go`. Field names are ESO's exactly.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from asyncso import model

KIND = "ClusterExternalSecret"
#: ESO's finalizer: the ExternalSecrets it created are deleted before it goes.
FINALIZER = "externalsecrets.external-secrets.io/clusterexternalsecret-cleanup"
#: Copied from the ClusterExternalSecret onto each ExternalSecret (ESO does the same).
ANNOTATION_FORCE_SYNC = "external-secrets.io/force-sync"
DEFAULT_REFRESH = "1h"


class _Obj(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """As `model`'s: camelCase on the wire, defaults omitted when encoding."""


class ExternalSecretMetadata(_Obj):
    annotations: dict[str, str] = {}
    labels: dict[str, str] = {}


class ClusterExternalSecretSpec(_Obj):
    external_secret_spec: model.ExternalSecretSpec
    external_secret_name: model.SubdomainName = ""
    external_secret_metadata: ExternalSecretMetadata | None = None
    #: Deprecated in ESO in favour of `namespaceSelectors`; still honoured (ORed).
    namespace_selector: model.LabelSelector | None = None
    namespace_selectors: list[model.LabelSelector] = []
    #: Deprecated in ESO; namespaces chosen by name, ORed with the selectors.
    namespaces: list[model.LabelName] = []
    refresh_time: str | None = None


class ClusterExternalSecretStatusCondition(_Obj):
    """ESO's condition for this kind: no reason, no transition time."""

    type: str
    status: Literal["True", "False", "Unknown"]
    message: str = ""


class ClusterExternalSecretNamespaceFailure(_Obj):
    namespace: str
    reason: str = ""


class ClusterExternalSecretStatus(_Obj):
    external_secret_name: str = ""
    failed_namespaces: list[ClusterExternalSecretNamespaceFailure] = []
    provisioned_namespaces: list[str] = []
    conditions: list[ClusterExternalSecretStatusCondition] = []


class ClusterExternalSecret(_Obj):
    metadata: model.ObjectMeta
    spec: ClusterExternalSecretSpec
    status: ClusterExternalSecretStatus = msgspec.field(default_factory=ClusterExternalSecretStatus)
    api_version: str = model.API_VERSION
    kind: str = KIND
