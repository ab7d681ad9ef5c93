"""`asyncso render -f externalsecret.yaml [--store store.yaml]`: the Secret that would be written.

Why: like ESO's `esoctl template`, users debug a template or a `property` path against the real
provider without applying anything to a cluster. Values are masked unless `--show-values`, so the
output can be pasted into an issue.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import pathlib
from typing import Any, TypeVar

import msgspec
import yaml

from asyncso import (
    app,
    compat,
    errors,
    kube,
    manifest,
    model,
    plan,
    ports,
    providers,
    reconciler,
    settings,
    stores,
    view,
)
from asyncso.providers import aws_auth

T = TypeVar("T")

#: Seconds per provider call in a preview (one attempt): a bad endpoint fails fast.
PROVIDER_TIMEOUT = 5.0
MSG_NOT_IN_INPUT = "{what} is not in the input files: add it to them, or pass --kubeconfig"


class NoCluster:
    """A `ports.KubeClient` for previews without a cluster: every call fails, saying why."""

    def _needs(self, what: str) -> errors.InvalidSpecError:
        return errors.InvalidSpecError(f"{what} needs cluster access: pass --kubeconfig")

    async def get_secret(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.Secret | None:
        raise self._needs(f"reading Secret {namespace}/{name}")

    async def get_config_map(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.ConfigMap | None:
        raise self._needs(f"reading ConfigMap {namespace}/{name}")

    async def get_service_account_annotations(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> dict[str, str]:
        raise self._needs(f"reading ServiceAccount {namespace}/{name}")

    async def create_token(
        self,
        namespace: str,
        name: str,
        *,
        audiences: list[str],
        expiration_seconds: int = 3600,
        field: str = "metadata",
    ) -> str:
        raise self._needs(f"a token for ServiceAccount {namespace}/{name}")

    async def create_secret(
        self, secret: model.Secret, *, field: str = "metadata", field_manager: str = ""
    ) -> model.Secret:
        raise self._needs("writing a Secret")

    async def replace_secret(
        self, secret: model.Secret, *, field: str = "metadata", field_manager: str = ""
    ) -> model.Secret:
        raise self._needs("writing a Secret")

    async def delete_secret(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        raise self._needs("deleting a Secret")

    async def create_config_map(
        self, config_map: model.ConfigMap, *, field: str = "metadata", field_manager: str = ""
    ) -> model.ConfigMap:
        raise self._needs("writing a ConfigMap")

    async def replace_config_map(
        self, config_map: model.ConfigMap, *, field: str = "metadata", field_manager: str = ""
    ) -> model.ConfigMap:
        raise self._needs("writing a ConfigMap")

    async def delete_config_map(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        raise self._needs("deleting a ConfigMap")

    async def patch_status(self, kind: str, namespace: str, name: str, status: Any) -> None:
        raise self._needs("writing a status")

    async def set_finalizers(
        self, kind: str, namespace: str, name: str, *, finalizers: list[str], resource_version: str
    ) -> None:
        raise self._needs("writing finalizers")

    async def emit_event(
        self, involved: model.ObjectMeta, *, kind: str, type_: str, reason: str, message: str
    ) -> None:
        return None


class InputObjects(NoCluster):
    """The ConfigMaps and Secrets given in the input files, then the cluster (`--kubeconfig`),
    else a refusal that says what to add: so `templateFrom` sources and `auth.secretRef`
    credentials can be previewed offline."""

    def __init__(
        self,
        *,
        config_maps: dict[model.Key, model.ConfigMap],
        secrets: dict[model.Key, model.Secret],
        cluster: ports.KubeClient | None,
    ) -> None:
        self.config_maps = config_maps
        self.secrets = secrets
        self.cluster = cluster

    def _cluster_for(self, kind: str, namespace: str, name: str) -> ports.KubeClient:
        """The cluster to read an object that is not in the input from; none: say what to add."""
        if self.cluster is None:
            what = f"{kind} {namespace}/{name}"
            raise errors.InvalidSpecError(MSG_NOT_IN_INPUT.format(what=what))
        return self.cluster

    async def get_secret(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.Secret | None:
        found = self.secrets.get((namespace, name))
        if found is not None:
            return found
        cluster = self._cluster_for("Secret", namespace, name)
        return await cluster.get_secret(namespace, name, field=field)

    async def get_config_map(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> model.ConfigMap | None:
        found = self.config_maps.get((namespace, name))
        if found is not None:
            return found
        cluster = self._cluster_for("ConfigMap", namespace, name)
        return await cluster.get_config_map(namespace, name, field=field)

    async def get_service_account_annotations(
        self, namespace: str, name: str, *, field: str = "metadata"
    ) -> dict[str, str]:
        if self.cluster is None:
            return await super().get_service_account_annotations(namespace, name, field=field)
        return await self.cluster.get_service_account_annotations(namespace, name, field=field)

    async def create_token(
        self,
        namespace: str,
        name: str,
        *,
        audiences: list[str],
        expiration_seconds: int = 3600,
        field: str = "metadata",
    ) -> str:
        if self.cluster is None:
            return await super().create_token(namespace, name, audiences=audiences, field=field)
        return await self.cluster.create_token(
            namespace,
            name,
            audiences=audiences,
            expiration_seconds=expiration_seconds,
            field=field,
        )


def _load(path: str) -> list[dict[str, Any]]:
    """The YAML documents of one input file; an unreadable file or invalid YAML is one line."""
    try:
        text = pathlib.Path(path).read_text()
    except OSError as exc:
        raise errors.InvalidSpecError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise errors.InvalidSpecError(f"{path}: invalid YAML: {problem}{where}") from None
    return [doc for doc in docs if isinstance(doc, dict)]


def _decode(doc: dict[str, Any], struct: type[T]) -> T:
    try:
        return msgspec.convert(doc, struct)
    except msgspec.ValidationError as exc:
        name = (doc.get("metadata") or {}).get("name", "?")
        raise errors.InvalidSpecError(
            f"{doc.get('kind')} {name!r}: {compat.decode_error(exc)}"
        ) from None


def _secret(doc: dict[str, Any]) -> model.Secret:
    """A core/v1 Secret from YAML: `data` is base64, `stringData` plain text (wins, as in
    Kubernetes)."""
    name = (doc.get("metadata") or {}).get("name", "?")
    try:
        data = {k: base64.b64decode(v, validate=True) for k, v in (doc.get("data") or {}).items()}
    except (binascii.Error, TypeError, ValueError):
        raise errors.InvalidSpecError(f"Secret {name!r}: data values must be base64") from None
    data.update({k: str(v).encode() for k, v in (doc.get("stringData") or {}).items()})
    meta = _decode({"kind": "Secret", "metadata": doc.get("metadata") or {}}, model.Envelope)
    return model.Secret(metadata=meta.metadata, data=data, type=doc.get("type") or "Opaque")


def mask(data: dict[str, bytes], *, show: bool) -> dict[str, str]:
    if show:
        return {k: v.decode(errors="replace") for k, v in sorted(data.items())}
    return {k: f"<{len(v)} bytes>" for k, v in sorted(data.items())}


async def _check_store(
    store: model.SecretStore, registry: providers.ProviderRegistry, client: InputObjects, es_ns: str
) -> None:
    """The store's own validation, then its credential references, before any provider call:
    a missing credentials Secret is said here, not after a failed AWS call."""
    what = f"{store.kind} {store.metadata.name!r}"
    try:
        compat.check_store(store)
        # ValidationUnknown: usable, as in the operator (Ready, reason ValidationUnknown).
        with contextlib.suppress(errors.ValidationUnknownError):
            await registry.factory_for(store).validate(store)
        if store.spec.provider.aws is not None:
            identity = aws_auth.identity_of(store, es_namespace=es_ns)
            for ref in identity.keys:
                await aws_auth.read_key(client, ref)
            account = identity.service_account
            if account is not None and client.cluster is None:
                raise errors.InvalidSpecError(
                    f"auth.jwt needs cluster access (ServiceAccount {account.namespace}/"
                    f"{account.name}): pass --kubeconfig"
                )
    except errors.AsyncsoError as exc:
        raise type(exc)(f"{what}: {exc}") from None


async def render(
    es_file: str,
    store_file: str | None,
    *,
    kubeconfig: str | None,
    show_values: bool,
    namespace: str = "default",
    delimiters: tuple[str, str] = ("{{", "}}"),
) -> str:
    """The target an ExternalSecret would produce. Every failure is an `errors.AsyncsoError`
    whose message is one line (the CLI prints it without a traceback)."""
    docs = _load(es_file) + (_load(store_file) if store_file else [])
    externalsecrets = [d for d in docs if d.get("kind") == "ExternalSecret"]
    if len(externalsecrets) != 1:
        raise errors.InvalidSpecError(f"{es_file}: expected exactly one ExternalSecret")
    raw_es = externalsecrets[0]
    raw_es.setdefault("metadata", {}).setdefault("namespace", namespace)
    es = _decode(raw_es, model.ExternalSecret)
    es_ns = es.metadata.namespace
    state = view.View()
    secrets: dict[model.Key, model.Secret] = {}
    config_maps: dict[model.Key, model.ConfigMap] = {}
    for doc in docs:
        kind = doc.get("kind")
        if kind in ("SecretStore", "ClusterSecretStore", "Secret", "ConfigMap"):
            doc.setdefault("metadata", {}).setdefault("namespace", es_ns)
        if kind in ("SecretStore", "ClusterSecretStore"):
            store = msgspec.structs.replace(_decode(doc, model.SecretStore), kind=kind)
            key = stores.store_key(store.kind, store.metadata.namespace, store.metadata.name)
            state.stores[key] = stores.StoreEntry(meta=store.metadata, kind=store.kind, store=store)
        elif kind == "Secret":
            given = _secret(doc)
            secrets[(given.metadata.namespace, given.metadata.name)] = given
        elif kind == "ConfigMap":
            found = _decode(doc, model.ConfigMap)
            config_maps[(found.metadata.namespace, found.metadata.name)] = found
    if not state.stores and kubeconfig is None:
        raise errors.InvalidSpecError("pass --store store.yaml (or --kubeconfig)")
    config = settings.Settings(
        kubeconfig=kubeconfig,
        provider_timeout=PROVIDER_TIMEOUT,
        template_left_delimiter=delimiters[0],
        template_right_delimiter=delimiters[1],
    )
    connected = await _connect(kubeconfig) if kubeconfig else None
    client = InputObjects(config_maps=config_maps, secrets=secrets, cluster=connected)
    registry = app.default_registry(client, config)
    try:
        for entry in state.stores.values():
            if entry.store is not None:
                await _check_store(entry.store, registry, client, es_ns)
        worker = reconciler.Reconciler(
            state=state, kube_client=client, registry=registry, config=config
        )
        if es.spec.target.manifest is not None:
            manifest.check(es, allowed=True)  # a preview writes nothing: no switch needed
            desired = await worker.desired(manifest.template_for(es))
            if desired is not None:
                desired = manifest.rendered_data(es, desired)
        else:
            desired = await worker.desired(es)
    finally:
        await registry.close()
        if connected is not None:
            await connected.close()
    if desired is None:
        return "# every remote secret is gone: deletionPolicy would act on the target\n"
    if es.spec.target.manifest is not None:
        return _config_map_yaml(es, desired, show_values=show_values)
    secret = plan.plan_sync(es, desired, None).secret
    if secret is None:  # creationPolicy None/Merge: show the content anyway
        secret = model.Secret(
            metadata=model.ObjectMeta(name=model.target_name(es)),
            data=desired.data,
            type=desired.type,
        )
    body = msgspec.to_builtins(secret)
    body["apiVersion"], body["kind"] = "v1", "Secret"
    body.pop("data", None)
    body["metadata"].pop("ownerReferences", None)  # no uid outside a cluster
    field = "stringData" if show_values else "data (masked; --show-values to see them)"
    body[field] = mask(secret.data, show=show_values)
    return yaml.safe_dump(body, sort_keys=False)


def _config_map_yaml(
    es: model.ExternalSecret, desired: model.SecretContent, *, show_values: bool
) -> str:
    """A `target.manifest` ConfigMap as it would be written (its data masked by default)."""
    planned = manifest.plan_config_map(es, desired, None).config_map
    data = planned.data if planned is not None else {}
    body = msgspec.to_builtins(planned) if planned is not None else {"metadata": {}}
    body["apiVersion"], body["kind"] = "v1", "ConfigMap"
    body["metadata"].pop("ownerReferences", None)
    body.pop("data", None)
    raw = {k: v.encode() for k, v in data.items()}
    field = "data" if show_values else "data (masked; --show-values to see them)"
    body[field] = mask(raw, show=show_values)
    return yaml.safe_dump(body, sort_keys=False)


async def _connect(kubeconfig: str) -> kube.Kube:
    try:
        return await kube.Kube.connect(kubeconfig)
    except Exception as exc:  # kr8s raises assorted errors for a bad kubeconfig
        raise errors.InvalidSpecError(f"--kubeconfig {kubeconfig}: {exc}") from None
