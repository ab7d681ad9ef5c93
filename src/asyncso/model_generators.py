"""msgspec Structs for ESO's generator kinds (`generators.external-secrets.io/v1alpha1`).

Why apart from `model`: generators are their own API group, with their own version and CRDs;
keeping them here leaves `model` to the `external-secrets.io/v1` kinds. Field names follow
ESO's `apis/generators/v1alpha1` exactly, so ESO users' generator manifests apply unchanged; the
CRDs are generated from these Structs (`crdgen`). Shared shapes (object metadata, AWS auth,
conditions) come from `model`.

`Generated` is what one generator run hands back to its caller (the values, the state ESO keeps
in a `GeneratorState`, and when the values expire).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

import msgspec

from asyncso import model

GROUP = "generators.external-secrets.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

#: ESO's label on a GeneratorState: which resource (and which of its generator entries) made it.
LABEL_OWNER_KEY = "generators.external-secrets.io/owner-key"
#: ESO's finalizer on GeneratorStates: the generator's cleanup runs before the state goes.
STATE_FINALIZER = "generatorstate.externalsecrets.io/finalizer"

#: Every kind ESO's `ClusterGenerator.spec.kind` enum lists (asyncso implements a subset).
ESO_GENERATOR_KINDS = (
    "ACRAccessToken",
    "BeyondtrustWorkloadCredentialsDynamicSecret",
    "CloudsmithAccessToken",
    "ECRAuthorizationToken",
    "Fake",
    "GCRAccessToken",
    "GithubAccessToken",
    "GitlabDeployToken",
    "Grafana",
    "MFA",
    "Password",
    "QuayAccessToken",
    "SSHKey",
    "STSSessionToken",
    "UUID",
    "VaultDynamicSecret",
    "Webhook",
)
GeneratorKind = Literal[
    "ACRAccessToken",
    "BeyondtrustWorkloadCredentialsDynamicSecret",
    "CloudsmithAccessToken",
    "ECRAuthorizationToken",
    "Fake",
    "GCRAccessToken",
    "GithubAccessToken",
    "GitlabDeployToken",
    "Grafana",
    "MFA",
    "Password",
    "QuayAccessToken",
    "SSHKey",
    "STSSessionToken",
    "UUID",
    "VaultDynamicSecret",
    "Webhook",
]
PasswordEncoding = Literal["raw", "base64", "base64url", "base32", "hex"]

#: Any JSON document, stored as written (`apiextensions.JSON` in ESO): the CRD keeps it whole.
AnyJson = Annotated[
    Any, msgspec.Meta(extra_json_schema={"x-kubernetes-preserve-unknown-fields": True})
]


class _Obj(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """Common options: camelCase on the wire, defaults omitted when encoding."""


# --- the generator kinds -----------------------------------------------------------------------


class PasswordSpec(_Obj):
    length: int = 24
    digits: int | None = None
    symbols: int | None = None
    symbol_characters: str | None = None
    no_upper: bool = False
    allow_repeat: bool = False
    secret_keys: list[str] = []
    encoding: PasswordEncoding = "raw"


class UUIDSpec(_Obj):
    pass


class FakeSpec(_Obj):
    controller: str = ""
    data: dict[str, str] = {}


class ECRAuthorizationTokenSpec(_Obj):
    region: str = ""
    auth: model.AwsAuth | None = None
    role: str = ""
    scope: str = ""


class STSRequestParameters(_Obj):
    session_duration: int | None = None
    serial_number: str | None = None
    token_code: str | None = None


class STSSessionTokenSpec(_Obj):
    region: str = ""
    auth: model.AwsAuth | None = None
    role: str = ""
    request_parameters: STSRequestParameters | None = None


class Password(_Obj):
    metadata: model.ObjectMeta
    spec: PasswordSpec = msgspec.field(default_factory=PasswordSpec)
    api_version: str = API_VERSION
    kind: str = "Password"


class UUID(_Obj):
    metadata: model.ObjectMeta
    spec: UUIDSpec = msgspec.field(default_factory=UUIDSpec)
    api_version: str = API_VERSION
    kind: str = "UUID"


class Fake(_Obj):
    metadata: model.ObjectMeta
    spec: FakeSpec = msgspec.field(default_factory=FakeSpec)
    api_version: str = API_VERSION
    kind: str = "Fake"


class ECRAuthorizationToken(_Obj):
    metadata: model.ObjectMeta
    spec: ECRAuthorizationTokenSpec = msgspec.field(default_factory=ECRAuthorizationTokenSpec)
    api_version: str = API_VERSION
    kind: str = "ECRAuthorizationToken"


class STSSessionToken(_Obj):
    metadata: model.ObjectMeta
    spec: STSSessionTokenSpec = msgspec.field(default_factory=STSSessionTokenSpec)
    api_version: str = API_VERSION
    kind: str = "STSSessionToken"


#: The namespaced generator kinds asyncso implements, by kind.
OBJECT_TYPES: dict[str, type[Password | UUID | Fake | ECRAuthorizationToken | STSSessionToken]] = {
    "Password": Password,
    "UUID": UUID,
    "Fake": Fake,
    "ECRAuthorizationToken": ECRAuthorizationToken,
    "STSSessionToken": STSSessionToken,
}


# --- ClusterGenerator: a cluster-wide wrapper around one of the kinds above --------------------


class GeneratorSpec(_Obj):
    """One spec, named after its kind. The CRD keeps the other kinds' specs that ESO knows
    (`vaultDynamicSecretSpec`...), so such a ClusterGenerator is refused naming its kind
    rather than silently losing its spec."""

    password_spec: PasswordSpec | None = None
    uuid_spec: UUIDSpec | None = None
    fake_spec: FakeSpec | None = None
    ecr_authorization_token_spec: ECRAuthorizationTokenSpec | None = None
    sts_session_token_spec: STSSessionTokenSpec | None = None


class ClusterGeneratorSpec(_Obj):
    kind: GeneratorKind
    generator: GeneratorSpec = msgspec.field(default_factory=GeneratorSpec)


class ClusterGenerator(_Obj):
    metadata: model.ObjectMeta
    spec: ClusterGeneratorSpec
    api_version: str = API_VERSION
    kind: str = "ClusterGenerator"


#: The `GeneratorSpec` field of each kind asyncso implements (ESO's JSON names).
CLUSTER_SPEC_FIELDS = {
    "Password": "passwordSpec",
    "UUID": "uuidSpec",
    "Fake": "fakeSpec",
    "ECRAuthorizationToken": "ecrAuthorizationTokenSpec",
    "STSSessionToken": "stsSessionTokenSpec",
}


# --- GeneratorState ----------------------------------------------------------------------------


class GeneratorStateSpec(_Obj):
    resource: AnyJson = None
    state: AnyJson = None
    garbage_collection_deadline: str | None = None


class GeneratorStateStatus(_Obj):
    conditions: list[model.Condition] = []


class GeneratorState(_Obj):
    """What a stateful generator produced (e.g. a lease to revoke), kept so that its cleanup can
    run later; ESO's kinds that asyncso implements are stateless and make none."""

    metadata: model.ObjectMeta
    spec: GeneratorStateSpec = msgspec.field(default_factory=GeneratorStateSpec)
    status: GeneratorStateStatus = msgspec.field(default_factory=GeneratorStateStatus)
    api_version: str = API_VERSION
    kind: str = "GeneratorState"


# --- what a generator run hands back ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Output:
    """One generator's result: the values (output keys as ESO names them), the provider state
    to keep in a GeneratorState (None: nothing to clean up later), and when the values stop
    working (epoch seconds; None: never)."""

    values: dict[str, bytes]
    state: Any = None
    expires_at: float | None = None


@dataclasses.dataclass(frozen=True)
class Generated:
    """An `Output` with where it came from: the kind that ran, the generator manifest it ran
    (ESO keeps it in `GeneratorState.spec.resource` for the cleanup), and when its caller
    should generate again so the values never expire in use (None: no such deadline)."""

    kind: str
    output: Output
    resource: dict[str, Any]
    refresh_at: float | None = None

    @property
    def values(self) -> dict[str, bytes]:
        return self.output.values


@dataclasses.dataclass(frozen=True)
class StateOwner:
    """Whose GeneratorStates (ESO's `StatefulResource`): an ExternalSecret, whose state keys are
    its dataFrom indexes, or a PushSecret, whose one key is `__pushsecret`."""

    kind: str
    api_version: str
    namespace: str
    name: str
    uid: str
