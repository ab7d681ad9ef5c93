"""Names from specs never reach another namespace: the operator's own check, on the real wire.

Issue 10's critical section: an ExternalSecret or SecretStore in namespace A names an object in
namespace B through `../../B/secrets/victim` and the HTTP client resolving `..`. The CRDs now
refuse such names at admission (`test_crds_apply.py` proves that), so to prove the operator-side
check as well these tests bypass admission: each object is created with a valid spec, and the
operator under test is handed the same object (same uid, resourceVersion, generation) decoded
in-process with the hostile spec. It then talks to the real apiserver with the real
`kube.Kube`: its status goes onto the real object, and the victims in namespace B are read back.

The stores belong to a controller class of their own (`traversal-test`), so the session's
operator leaves these objects alone and only the in-process one acts on them.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import kr8s.asyncio
import msgspec
import pytest
from kube_support import GROUP_PATH, create, delete, eventually, get, ready, request
from test_operator import external_secret, fake_store

from asyncso import app, model, reconciler, settings, store_controller, stores, view
from asyncso import kube as kube_adapter
from devenv import bench as devbench

pytestmark = pytest.mark.integration

CLASS = "traversal-test"
VICTIM_VALUE = "victim-value-7f3a"


class Victims:
    """Namespace B and what lives there; `untouched()` proves nothing changed."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.before: dict[str, dict[str, Any]] = {}

    def paths(self) -> dict[str, str]:
        ns = self.namespace
        return {
            "secret": f"/api/v1/namespaces/{ns}/secrets/victim",
            "configmap": f"/api/v1/namespaces/{ns}/configmaps/victim",
            "serviceaccount": f"/api/v1/namespaces/{ns}/serviceaccounts/irsa",
        }

    async def create(self, api: kr8s.asyncio.Api) -> None:
        ns = self.namespace
        encoded = base64.b64encode(VICTIM_VALUE.encode()).decode()
        for body in (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "victim", "namespace": ns},
                "data": {"password": encoded, "pw": encoded},
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "victim", "namespace": ns},
                "data": {"password": VICTIM_VALUE},
            },
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "irsa",
                    "namespace": ns,
                    "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/b"},
                },
            },
        ):
            await create(api, body)
        for what, path in self.paths().items():
            found = await get(api, path)
            assert found is not None, what
            self.before[what] = found

    async def untouched(self, api: kr8s.asyncio.Api) -> None:
        for what, path in self.paths().items():
            now = await get(api, path)
            assert now is not None, f"the victim {what} was deleted"
            assert now == self.before[what], f"the victim {what} was changed"


@pytest.fixture
async def victims(kube: kr8s.asyncio.Api) -> AsyncIterator[Victims]:
    found = Victims(f"victim-{uuid.uuid4().hex[:8]}")
    await found.create(kube)
    yield found
    await delete(kube, f"/api/v1/namespaces/{found.namespace}")


class Tenant:
    """The operator under test, acting on objects of namespace A decoded in-process."""

    def __init__(self, client: kube_adapter.Kube, namespace: str) -> None:
        self.namespace = namespace
        self.client = client
        self.config = settings.Settings(controller_class=CLASS)
        self.registry = app.default_registry(client, self.config)
        self.view = view.View()
        self.reconciler = reconciler.Reconciler(
            state=self.view, kube_client=client, registry=self.registry, config=self.config
        )
        self.stores = store_controller.StoreController(
            state=self.view,
            kube_client=client,
            registry=self.registry,
            config=self.config,
            wake=lambda key: None,
        )

    async def store(self, api: kr8s.asyncio.Api, body: dict[str, Any], **spec: Any) -> None:
        """Create `body` (valid) on the cluster, then let the operator see it with `spec`."""
        created = await create(api, body)
        hostile = {**created, "spec": {**created["spec"], **spec}}
        key = (created["metadata"].get("namespace", ""), created["metadata"]["name"])
        self.stores.on_event("ADDED", key, msgspec.Raw(msgspec.json.encode(hostile)))
        await self.stores.validate(stores.store_key(created["kind"], *key))

    async def sync(self, api: kr8s.asyncio.Api, path: str, **spec: Any) -> None:
        """Sync the ExternalSecret at `path` as if its spec had `spec` merged in."""
        live = await get(api, path)
        assert live is not None
        hostile = {**live, "spec": {**live["spec"], **spec}}
        item = msgspec.convert(hostile, model.ExternalSecret)
        key = (item.metadata.namespace, item.metadata.name)
        self.view.put_externalsecret(key, item)
        await self.reconciler.sync(key)


@pytest.fixture
async def tenant(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, namespace: str, operator: app.Operator
) -> AsyncIterator[Tenant]:
    connected = await kube_adapter.Kube.connect(str(bench.kubeconfig))
    found = Tenant(connected, namespace)
    # The store is ours only: once the session's operator knows it, it skips its readers.
    await create(kube, fake_store(namespace, {"db": '{"pw":"p"}'}, controller=CLASS))
    store_key = ("SecretStore", namespace, "fake")

    async def seen() -> bool:
        return store_key in operator.view.stores

    await eventually(seen, what="the session operator to see the store")
    live = await get(kube, f"{GROUP_PATH}/namespaces/{namespace}/secretstores/fake")
    assert live is not None
    found.stores.on_event("ADDED", (namespace, "fake"), msgspec.Raw(msgspec.json.encode(live)))
    yield found
    await found.registry.close()
    await connected.close()


# --- the tests: one per bullet of the issue ----------------------------------------------------

TRAVERSAL = "../../{victim}/secrets/victim"


def es_path(namespace: str, name: str) -> str:
    return f"{GROUP_PATH}/namespaces/{namespace}/externalsecrets/{name}"


async def es_ready(api: kr8s.asyncio.Api, namespace: str, name: str) -> tuple[str, str, str]:
    found = ready(await get(api, es_path(namespace, name)))
    assert found is not None, "no Ready condition written"
    return found


async def no_value_copied(api: kr8s.asyncio.Api, namespace: str) -> None:
    status, listed = await request(api, "GET", f"/api/v1/namespaces/{namespace}/secrets")
    assert status == 200, listed
    for item in listed["items"]:
        values = {
            base64.b64decode(v).decode(errors="replace") for v in item.get("data", {}).values()
        }
        assert VICTIM_VALUE not in values, (
            f"the victim's value reached Secret {item['metadata']['name']}"
        )


@pytest.mark.parametrize("creation", ["Merge", "Owner"])
async def test_target_name_cannot_write_into_another_namespace(
    kube: kr8s.asyncio.Api, namespace: str, victims: Victims, tenant: Tenant, creation: str
) -> None:
    await create(kube, external_secret(namespace, "es", target={"name": "placeholder"}))
    hostile = {"name": TRAVERSAL.format(victim=victims.namespace), "creationPolicy": creation}
    await tenant.sync(kube, es_path(namespace, "es"), target=hostile)
    cond = await es_ready(kube, namespace, "es")
    assert cond[0] == "False"
    assert cond[2].startswith('invalid ExternalSecret: spec.target.name: "../../victim-')
    assert cond[2].endswith("is not a valid Secret name")
    await victims.untouched(kube)


async def test_finalizer_cannot_delete_in_another_namespace(
    kube: kr8s.asyncio.Api, namespace: str, victims: Victims, tenant: Tenant
) -> None:
    body = external_secret(
        namespace, "es", target={"name": "placeholder", "deletionPolicy": "Delete"}
    )
    body["metadata"]["finalizers"] = [model.FINALIZER]
    await create(kube, body)
    hostile = {"name": TRAVERSAL.format(victim=victims.namespace), "deletionPolicy": "Delete"}
    path = es_path(namespace, "es")
    await tenant.sync(kube, path, target=hostile)
    assert (await es_ready(kube, namespace, "es"))[2].startswith(
        "invalid ExternalSecret: spec.target.name: "
    )
    await delete(kube, path)  # held by the finalizer: deletionTimestamp set
    await tenant.sync(kube, path, target=hostile)

    async def gone() -> bool:
        return await get(kube, path) is None

    await eventually(gone, what="the ExternalSecret to be released by its finalizer")
    await victims.untouched(kube)


@pytest.mark.parametrize("source", ["secret", "configMap"])
async def test_template_from_cannot_read_another_namespace(
    kube: kr8s.asyncio.Api, namespace: str, victims: Victims, tenant: Tenant, source: str
) -> None:
    await create(kube, external_secret(namespace, "es", target={"name": "placeholder"}))
    ref = {
        "name": f"../../{victims.namespace}/{source.lower()}s/victim",
        "items": [{"key": "password"}],
    }
    template = {"templateFrom": [{source: ref}]}
    await tenant.sync(
        kube, es_path(namespace, "es"), target={"name": "placeholder", "template": template}
    )
    cond = await es_ready(kube, namespace, "es")
    assert cond[0] == "False"
    assert cond[2].startswith(
        f"invalid ExternalSecret: spec.target.template.templateFrom[0].{source}.name: "
    )
    assert await get(kube, f"/api/v1/namespaces/{namespace}/secrets/placeholder") is None
    await no_value_copied(kube, namespace)
    await victims.untouched(kube)


def aws_store(
    namespace: str, name: str, auth: dict[str, Any], *, kind: str = "SecretStore"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if kind == "SecretStore":
        meta["namespace"] = namespace
    return {
        "apiVersion": model.API_VERSION,
        "kind": kind,
        "metadata": meta,
        "spec": {
            "controller": CLASS,
            "provider": {"aws": {"service": "SecretsManager", "region": "us-east-1", "auth": auth}},
        },
    }


def keys(name: str, namespace: str | None = None) -> dict[str, Any]:
    def ref(key: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "key": key}
        if namespace is not None:
            out["namespace"] = namespace
        return out

    return {
        "secretRef": {
            "accessKeyIDSecretRef": ref("password"),
            "secretAccessKeySecretRef": ref("pw"),
        }
    }


@pytest.mark.parametrize(
    ("kind", "auth", "field"),
    [
        (
            "SecretStore",
            lambda victim: {
                "jwt": {"serviceAccountRef": {"name": f"../../{victim}/serviceaccounts/irsa"}}
            },
            "spec.provider.aws.auth.jwt.serviceAccountRef.name",
        ),
        (
            "SecretStore",
            lambda victim: keys(f"../../{victim}/secrets/victim"),
            "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef.name",
        ),
        (
            "ClusterSecretStore",
            lambda victim: keys("victim", namespace=f"../{victim}"),
            "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef.namespace",
        ),
        (
            "ClusterSecretStore",
            lambda victim: {
                "jwt": {"serviceAccountRef": {"name": "irsa", "namespace": f"{victim}/x"}}
            },
            "spec.provider.aws.auth.jwt.serviceAccountRef.namespace",
        ),
    ],
)
async def test_store_credentials_cannot_come_from_another_namespace(
    kube: kr8s.asyncio.Api,
    namespace: str,
    victims: Victims,
    tenant: Tenant,
    kind: str,
    auth: Any,
    field: str,
) -> None:
    name = f"aws-{uuid.uuid4().hex[:6]}"
    valid = (
        keys("creds") if "secretRef" in field else {"jwt": {"serviceAccountRef": {"name": "irsa"}}}
    )
    body = aws_store(namespace, name, valid, kind=kind)
    hostile = body["spec"]["provider"]["aws"] | {"auth": auth(victims.namespace)}
    await tenant.store(kube, body, provider={"aws": hostile})
    path = (
        f"{GROUP_PATH}/namespaces/{namespace}/secretstores/{name}"
        if kind == "SecretStore"
        else f"{GROUP_PATH}/clustersecretstores/{name}"
    )
    try:
        cond = ready(await get(kube, path))
        assert cond is not None
        assert cond[:2] == ("False", "InvalidProviderConfig")
        assert cond[2].startswith(f"{field}: ")
        assert "is not a valid" in cond[2]
    finally:
        if kind == "ClusterSecretStore":
            await delete(kube, path)
    await victims.untouched(kube)
