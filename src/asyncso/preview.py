"""`asyncso render -f externalsecret.yaml [--store store.yaml]`: the Secret that would be written.

Why: like ESO's `esoctl template`, users debug a template or a `property` path against the real
provider without applying anything to a cluster. Values are masked unless `--show-values`, so the
output can be pasted into an issue.
"""

from __future__ import annotations

import pathlib
from typing import Any

import msgspec
import yaml

from asyncso import app, errors, kube, model, plan, ports, reconciler, settings, stores, view


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

    async def create_secret(self, secret: model.Secret, *, field: str = "metadata") -> model.Secret:
        raise self._needs("writing a Secret")

    async def replace_secret(
        self, secret: model.Secret, *, field: str = "metadata"
    ) -> model.Secret:
        raise self._needs("writing a Secret")

    async def delete_secret(
        self, namespace: str, name: str, *, resource_version: str = "", field: str = "metadata"
    ) -> None:
        raise self._needs("deleting a Secret")

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


def _load(path: str) -> list[dict[str, Any]]:
    text = pathlib.Path(path).read_text()
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def mask(data: dict[str, bytes], *, show: bool) -> dict[str, str]:
    if show:
        return {k: v.decode(errors="replace") for k, v in sorted(data.items())}
    return {k: f"<{len(v)} bytes>" for k, v in sorted(data.items())}


async def render(
    es_file: str,
    store_file: str | None,
    *,
    kubeconfig: str | None,
    show_values: bool,
    namespace: str = "default",
    delimiters: tuple[str, str] = ("{{", "}}"),
) -> str:
    docs = _load(es_file) + (_load(store_file) if store_file else [])
    externalsecrets = [d for d in docs if d.get("kind") == "ExternalSecret"]
    if len(externalsecrets) != 1:
        raise errors.InvalidSpecError(f"{es_file}: expected exactly one ExternalSecret")
    raw_es = externalsecrets[0]
    raw_es.setdefault("metadata", {}).setdefault("namespace", namespace)
    try:
        es = msgspec.convert(raw_es, model.ExternalSecret)
    except msgspec.ValidationError as exc:
        raise errors.InvalidSpecError(f"invalid ExternalSecret: {exc}") from None
    state = view.View()
    for doc in docs:
        if doc.get("kind") not in ("SecretStore", "ClusterSecretStore"):
            continue
        doc.setdefault("metadata", {}).setdefault("namespace", es.metadata.namespace)
        store = msgspec.convert(doc, model.SecretStore)
        key = stores.store_key(store.kind, store.metadata.namespace, store.metadata.name)
        state.stores[key] = stores.StoreEntry(meta=store.metadata, kind=store.kind, store=store)
    config = settings.Settings(
        kubeconfig=kubeconfig,
        template_left_delimiter=delimiters[0],
        template_right_delimiter=delimiters[1],
    )
    connected = await kube.Kube.connect(kubeconfig) if kubeconfig else None
    client: ports.KubeClient = connected or NoCluster()
    registry = app.default_registry(client, config)
    try:
        if not state.stores and kubeconfig is None:
            raise errors.InvalidSpecError("pass --store store.yaml (or --kubeconfig)")
        worker = reconciler.Reconciler(
            state=state, kube_client=client, registry=registry, config=config
        )
        desired = await worker.desired(es)
    finally:
        await registry.close()
        if connected is not None:
            await connected.close()
    if desired is None:
        return "# every remote secret is gone: deletionPolicy would act on the target\n"
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
