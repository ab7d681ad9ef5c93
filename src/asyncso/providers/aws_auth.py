"""AWS credentials for a store, as ESO resolves them, cached and refreshed per identity.

Why: ESO rebuilds its AWS session on every reconcile (an STS call each time for assumed roles).
Here one aiobotocore session per credential identity lives as long as the operator: its
credentials are `AioDeferredRefreshableCredentials`, fetched on first use and refreshed by
botocore shortly before expiry, with concurrent refreshes collapsed behind botocore's lock.
Static keys from a Kubernetes Secret are re-read every few minutes the same way, so a rotated
key is picked up without a restart.

The chain (ESO's `createConfiguration`): base credentials — `auth.secretRef` keys, or `auth.jwt`
(a TokenRequest token for the service account, exchanged with `AssumeRoleWithWebIdentity` for
the role in its `eks.amazonaws.com/role-arn` annotation), or the pod's default chain — then each
of `additionalRoles` in order, then `role` last (with `externalID`, the session tags and
`transitiveTagKeys`). Session tags follow `sessionTagsPolicy`: `None` sends `sessionTags`;
`Simple` sends `esoNamespace` (the ExternalSecret's namespace), `esoStoreName`, `esoStoreKind`;
`Custom` sends those plus `customSessionTags`.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import uuid
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioDeferredRefreshableCredentials
from aiobotocore.session import AioSession
from botocore import UNSIGNED

from asyncso import errors, model, names, ports
from asyncso.providers import aws_reader

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
AUDIENCE_ANNOTATION = "eks.amazonaws.com/audience"
DEFAULT_AUDIENCE = "sts.amazonaws.com"
STATIC_REFRESH = datetime.timedelta(minutes=20)  # botocore refreshes 15 min before "expiry"
SESSION_NAME = "asyncso"

SERVICE_ENDPOINT_VARS = {
    "secretsmanager": "AWS_SECRETSMANAGER_ENDPOINT",
    "ssm": "AWS_SSM_ENDPOINT",
    "acm": "AWS_ACM_ENDPOINT",
    "sts": "AWS_STS_ENDPOINT",
    "ecr": "AWS_ECR_ENDPOINT",
    "ecr-public": "AWS_ECR_PUBLIC_ENDPOINT",
}


#: botocore's service ids, whose `AWS_ENDPOINT_URL_<ID>` variables botocore honours per service.
BOTOCORE_SERVICE_IDS = {
    "secretsmanager": "SECRETS_MANAGER",
    "ssm": "SSM",
    "acm": "ACM",
    "sts": "STS",
    "ecr": "ECR",
    "ecr-public": "ECR_PUBLIC",
}


def endpoint_for(service: str) -> str | None:
    """ESO's per-service variables first, then botocore's (`AWS_ENDPOINT_URL_ECR`...), then
    `AWS_ENDPOINT_URL` (LocalStack, VPC endpoints). botocore would apply its own per-service
    variable, but an explicit `endpoint_url` (from `AWS_ENDPOINT_URL`) would override it."""
    botocore_id = BOTOCORE_SERVICE_IDS.get(service)
    return (
        os.environ.get(SERVICE_ENDPOINT_VARS.get(service, ""))
        or (os.environ.get(f"AWS_ENDPOINT_URL_{botocore_id}") if botocore_id else None)
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


@dataclasses.dataclass(frozen=True)
class KeyRef:
    """One key of a Kubernetes Secret holding a static credential (`auth.secretRef.*`)."""

    credential: str  # access_key_id, secret_access_key or session_token
    namespace: str
    name: str
    key: str
    #: Where the reference is written, for messages (not part of the identity).
    field: str = dataclasses.field(compare=False)


@dataclasses.dataclass(frozen=True)
class ServiceAccountRef:
    """The service account whose token `auth.jwt` exchanges for AWS credentials."""

    namespace: str
    name: str
    audiences: tuple[str, ...]
    field: str = dataclasses.field(compare=False)


@dataclasses.dataclass(frozen=True)
class Identity:
    """Everything that decides which AWS principal a read runs as. Values and clients are
    shared only within one identity, never across: a tenant must not read through another's
    credentials."""

    store: tuple[str, str, str]
    region: str
    keys: tuple[KeyRef, ...]
    service_account: ServiceAccountRef | None
    #: Assumed in order: `additionalRoles`, then `role` (which gets the options below).
    roles: tuple[str, ...]
    #: True when the last of `roles` is the store's `role` (external ID and tags go with it).
    role_last: bool
    external_id: str
    session_tags: tuple[tuple[str, str], ...]
    transitive_tag_keys: tuple[str, ...]

    @property
    def uses_default_chain(self) -> bool:
        return not self.keys and self.service_account is None


_AT = "spec.provider.aws"
_CREDENTIALS = ("access_key_id", "secret_access_key", "session_token")


def _ref_namespace(
    store: model.SecretStore, namespace: str | None, *, es_namespace: str, field: str, what: str
) -> str:
    """Where a credential reference points: a SecretStore's own namespace only; for a
    ClusterSecretStore the given namespace, else the ExternalSecret's (as ESO does)."""
    if store.kind == "ClusterSecretStore":
        if namespace:
            return names.check_namespace(namespace, field=f"{field}.namespace")
        return es_namespace
    if namespace and namespace != store.metadata.namespace:
        raise errors.StoreConfigError(
            f"{field}.namespace: a {store.kind} may only use {what} in its own namespace "
            f"({store.metadata.namespace!r}), not {namespace!r}"
        )
    return store.metadata.namespace


def _key_refs(
    store: model.SecretStore, secret_ref: model.AwsSecretRef, *, es_namespace: str, at: str
) -> tuple[KeyRef, ...]:
    refs = []
    for credential in _CREDENTIALS:
        ref: model.SecretKeySelector | None = getattr(secret_ref, f"{credential}_secret_ref")
        field = f"{at}.auth.secretRef.{_camel(credential)}SecretRef"
        if ref is None:
            if credential != "session_token":
                raise errors.StoreConfigError(f"{field}: required")
            continue
        if not ref.name or not ref.key:
            raise errors.StoreConfigError(f"{field}: name and key are required")
        names.check_object(ref.name, kind="Secret", field=f"{field}.name")
        namespace = _ref_namespace(
            store, ref.namespace, es_namespace=es_namespace, field=field, what="Secrets"
        )
        refs.append(KeyRef(credential, namespace, ref.name, ref.key, field=field))
    return tuple(refs)


def _service_account(
    store: model.SecretStore, jwt: model.AwsJwtAuth, *, es_namespace: str, at: str
) -> ServiceAccountRef:
    field = f"{at}.auth.jwt.serviceAccountRef"
    sa = jwt.service_account_ref
    if sa is None or not sa.name:
        raise errors.StoreConfigError(f"{field}.name: required")
    names.check_object(sa.name, kind="ServiceAccount", field=f"{field}.name")
    namespace = _ref_namespace(
        store, sa.namespace, es_namespace=es_namespace, field=field, what="service accounts"
    )
    return ServiceAccountRef(namespace, sa.name, tuple(sorted(sa.audiences)), field=field)


def identity_of(store: model.SecretStore, *, es_namespace: str, at: str = _AT) -> Identity:
    """Who reads for `store` on behalf of an ExternalSecret in `es_namespace`; every name the
    store refers to is checked here, before anything is read (`errors.InvalidNameError`).

    `at` is where the AWS settings sit in the manifest, for messages (`spec` for generators,
    whose AWS settings `generators.aws` presents as a store of the generator's kind)."""
    aws = _aws(store)
    region = aws.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise errors.StoreConfigError(f"{at}.region: required")
    auth = aws.auth
    keys: tuple[KeyRef, ...] = ()
    service_account = None
    if auth is not None and auth.secret_ref is not None:
        keys = _key_refs(store, auth.secret_ref, es_namespace=es_namespace, at=at)
    elif auth is not None and auth.jwt is not None:
        service_account = _service_account(store, auth.jwt, es_namespace=es_namespace, at=at)
    return Identity(
        store=(store.kind, store.metadata.namespace, store.metadata.name),
        region=region,
        keys=keys,
        service_account=service_account,
        roles=tuple(r for r in [*aws.additional_roles, aws.role] if r),
        role_last=bool(aws.role),
        external_id=aws.external_id,
        session_tags=session_tags(store, es_namespace=es_namespace),
        transitive_tag_keys=tuple(aws.transitive_tag_keys),
    )


RESERVED_TAGS = ("esoNamespace", "esoStoreName", "esoStoreKind")
MSG_RESERVED_TAGS = (
    "spec.provider.aws.customSessionTags: customSessionTags cannot contain automatically "
    "injected reserved keys: esoNamespace, esoStoreName, esoStoreKind"
)


def session_tags(store: model.SecretStore, *, es_namespace: str) -> tuple[tuple[str, str], ...]:
    """The STS session tags for `role`, per `sessionTagsPolicy` (ESO's `buildSessionTags`:
    with Simple or Custom they replace `sessionTags`; empty custom keys or values are skipped).
    Sorted, so that an identity compares equal however the map was written."""
    aws = _aws(store)
    policy = aws.session_tags_policy
    if policy == "None":
        return tuple((t.key, t.value) for t in aws.session_tags)
    if any(key in aws.custom_session_tags for key in RESERVED_TAGS):
        raise errors.StoreConfigError(MSG_RESERVED_TAGS)
    tags: dict[str, str] = {}
    if policy == "Custom":
        tags.update({k: v for k, v in aws.custom_session_tags.items() if k and v})
    tags.update(
        {
            "esoNamespace": es_namespace,
            "esoStoreName": store.metadata.name,
            "esoStoreKind": store.kind,
        }
    )
    return tuple(sorted(tags.items()))


async def read_key(kube: ports.KubeReader, ref: KeyRef) -> bytes:
    """One static credential; a missing Secret or key is an invalid store (named as such)."""
    secret = await kube.get_secret(ref.namespace, ref.name, field=ref.field)
    if secret is None:
        raise errors.StoreConfigError(f'{ref.field}: Secret "{ref.namespace}/{ref.name}" not found')
    if ref.key not in secret.data:
        raise errors.StoreConfigError(
            f'{ref.field}: Secret "{ref.namespace}/{ref.name}" has no key "{ref.key}"'
        )
    return secret.data[ref.key]


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p.title() for p in rest).replace("Id", "ID")


def _aws(store: model.SecretStore) -> model.AwsProvider:
    aws = store.spec.provider.aws
    if aws is None:
        raise errors.StoreConfigError("spec.provider.aws: missing")
    return aws


class _QuietRefreshFailures(logging.Filter):
    """aiobotocore logs a traceback each time refreshing credentials fails, and a refresh is
    tried on every read: a store whose credentials Secret is missing (a spec problem, one of
    our errors) would log a traceback per retry. Our errors reach the sync, which reports them
    in its condition and one `sync failed` line; here they pass as one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, errors.AsyncsoError):
            return True
        if isinstance(record.args, tuple) and record.args[:1] == ("mandatory",):
            return False  # raised to the sync, which says it
        record.msg = f"{record.getMessage()} ({type(error).__name__}: {errors.redact(str(error))})"
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        return True


logging.getLogger("aiobotocore.credentials").addFilter(_QuietRefreshFailures())


def client_config(timeout: float = 0.0) -> AioConfig:
    """Adaptive retries: botocore backs off client-side when AWS throttles. With `timeout`
    (`asyncso render`): that many seconds to connect and to read, and a single attempt."""
    if timeout > 0:
        return AioConfig(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=timeout,
            read_timeout=timeout,
            max_pool_connections=50,
        )
    return AioConfig(retries={"mode": "adaptive", "max_attempts": 5}, max_pool_connections=50)


_LOADER: Any = None


def new_session() -> AioSession:
    """A botocore session sharing one data loader (service models, endpoint rules) with every
    other: each session otherwise parses its own copy, about 8 MiB per identity."""
    global _LOADER
    session = AioSession()
    if _LOADER is None:
        _LOADER = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _LOADER)
    return session


class CredentialChain:
    """Builds and refreshes the credentials of one identity."""

    def __init__(self, identity: Identity, *, kube: ports.KubeReader, timeout: float = 0.0) -> None:
        self.identity = identity
        self.kube = kube
        self.timeout = timeout
        self.session = new_session()
        if not identity.uses_default_chain or identity.roles:
            self.session._credentials = AioDeferredRefreshableCredentials(
                refresh_using=self._refresh, method="asyncso-store"
            )

    async def _base(self) -> dict[str, Any]:
        identity = self.identity
        if identity.keys:
            values = {
                ref.credential: (await read_key(self.kube, ref)).decode().strip()
                for ref in identity.keys
            }
            expiry = datetime.datetime.now(datetime.UTC) + STATIC_REFRESH
            return {
                "access_key": values["access_key_id"],
                "secret_key": values["secret_access_key"],
                "token": values.get("session_token"),
                "expiry_time": expiry.isoformat(),
            }
        if identity.service_account is not None:
            return await self._web_identity(identity.service_account)
        frozen = await new_session().get_credentials()
        if frozen is None:
            raise errors.AccessDeniedError("no AWS credentials found in the default chain")
        creds = await frozen.get_frozen_credentials()
        expiry = datetime.datetime.now(datetime.UTC) + STATIC_REFRESH
        return {
            "access_key": creds.access_key,
            "secret_key": creds.secret_key,
            "token": creds.token,
            "expiry_time": expiry.isoformat(),
        }

    async def _web_identity(self, sa: ServiceAccountRef) -> dict[str, Any]:
        ns, name = sa.namespace, sa.name
        annotations = await self.kube.get_service_account_annotations(ns, name, field=sa.field)
        role = annotations.get(ROLE_ANNOTATION)
        if not role:
            raise errors.StoreConfigError(
                f'{sa.field}.name: ServiceAccount "{ns}/{name}" has no {ROLE_ANNOTATION} annotation'
            )
        audience = annotations.get(AUDIENCE_ANNOTATION, DEFAULT_AUDIENCE)
        token = await self.kube.create_token(
            ns, name, audiences=list(sa.audiences) or [audience], field=sa.field
        )
        async with self._sts(None, signed=False) as sts:
            answer = await _sts_call(
                "AssumeRoleWithWebIdentity",
                sts.assume_role_with_web_identity,
                RoleArn=role,
                RoleSessionName=SESSION_NAME,
                WebIdentityToken=token,
            )
        return _from_sts(answer)

    def _sts(self, creds: dict[str, Any] | None, *, signed: bool = True) -> Any:
        config = client_config(self.timeout)
        if not signed:
            config = config.merge(AioConfig(signature_version=UNSIGNED))
        kwargs: dict[str, Any] = {}
        if creds is not None:
            kwargs = {
                "aws_access_key_id": creds["access_key"],
                "aws_secret_access_key": creds["secret_key"],
                "aws_session_token": creds.get("token"),
            }
        return new_session().create_client(
            "sts",
            region_name=self.identity.region,
            endpoint_url=endpoint_for("sts"),
            config=config,
            **kwargs,
        )

    async def _refresh(self) -> dict[str, Any]:
        creds = await self._base()
        identity = self.identity
        for index, role in enumerate(identity.roles):
            params: dict[str, Any] = {
                "RoleArn": role,
                "RoleSessionName": f"{SESSION_NAME}-{uuid.uuid4().hex[:8]}",
            }
            if identity.role_last and index == len(identity.roles) - 1:
                if self.identity.external_id:
                    params["ExternalId"] = self.identity.external_id
                if self.identity.session_tags:
                    params["Tags"] = [{"Key": k, "Value": v} for k, v in self.identity.session_tags]
                if self.identity.transitive_tag_keys:
                    params["TransitiveTagKeys"] = list(self.identity.transitive_tag_keys)
            async with self._sts(creds) as sts:
                creds = _from_sts(await _sts_call("AssumeRole", sts.assume_role, **params))
        return creds


async def _sts_call(call: str, operation: aws_reader.Operation, **params: Any) -> dict[str, Any]:
    return await aws_reader.metered(
        operation, provider="AWS/STS", call=call, what=f"sts:{call}", **params
    )


def _from_sts(answer: dict[str, Any]) -> dict[str, Any]:
    c = answer["Credentials"]
    expiry = c["Expiration"]
    return {
        "access_key": c["AccessKeyId"],
        "secret_key": c["SecretAccessKey"],
        "token": c["SessionToken"],
        "expiry_time": expiry.isoformat() if hasattr(expiry, "isoformat") else str(expiry),
    }
