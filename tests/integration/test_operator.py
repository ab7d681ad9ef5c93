"""The operator end to end on the real apiserver, with ESO's fake provider."""

from __future__ import annotations

import base64
from typing import Any

import kr8s.asyncio
import pytest
from aiobotocore.session import get_session
from kube_support import (
    GROUP_PATH,
    create,
    decoded,
    delete,
    eventually,
    get,
    merge_patch,
    ready,
    request,
)

from asyncso import model
from devenv import bench as devbench

pytestmark = pytest.mark.usefixtures("operator")


def fake_store(
    namespace: str,
    data: dict[str, str],
    *,
    name: str = "fake",
    kind: str = "SecretStore",
    **spec: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if kind == "SecretStore":
        meta["namespace"] = namespace
    return {
        "apiVersion": model.API_VERSION,
        "kind": kind,
        "metadata": meta,
        "spec": {
            "provider": {"fake": {"data": [{"key": k, "value": v} for k, v in data.items()]}},
            **spec,
        },
    }


def external_secret(
    namespace: str,
    name: str = "es",
    *,
    store: str = "fake",
    store_kind: str = "SecretStore",
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": model.API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": store, "kind": store_kind},
            "data": [{"secretKey": "password", "remoteRef": {"key": "db", "property": "pw"}}],
        },
    }
    body["spec"].update(spec)
    return body


def es_path(namespace: str, name: str = "es") -> str:
    return f"{GROUP_PATH}/namespaces/{namespace}/externalsecrets/{name}"


def secret_path(namespace: str, name: str = "es") -> str:
    return f"/api/v1/namespaces/{namespace}/secrets/{name}"


async def synced_secret(
    api: kr8s.asyncio.Api, namespace: str, name: str = "es", expect: dict[str, str] | None = None
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        secret = await get(api, secret_path(namespace, name))
        if secret is None or (expect is not None and decoded(secret) != expect):
            return None
        return secret

    return await eventually(probe, what=f"Secret {namespace}/{name} = {expect}")


async def es_ready(
    api: kr8s.asyncio.Api,
    namespace: str,
    name: str = "es",
    status: str = "True",
    reason: str | None = None,
) -> tuple[str, str, str]:
    async def probe() -> tuple[str, str, str] | None:
        cond = ready(await get(api, es_path(namespace, name)))
        if cond is None or cond[0] != status or (reason is not None and cond[1] != reason):
            return None
        return cond

    return await eventually(probe, what=f"ES {namespace}/{name} Ready={status} {reason}")


async def test_sync_creates_owned_secret_with_status_and_event(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, {"db": '{"pw":"s3cret","user":"app"}'}))
    await create(
        kube,
        external_secret(
            namespace,
            dataFrom=[{"extract": {"key": "db"}}],
            target={"template": {"metadata": {"labels": {"app": "web"}}}},
        ),
    )
    secret = await synced_secret(
        kube, namespace, expect={"password": "s3cret", "pw": "s3cret", "user": "app"}
    )
    meta = secret["metadata"]
    assert meta["labels"][model.LABEL_MANAGED] == "true"
    assert meta["labels"]["app"] == "web"
    assert model.ANNOTATION_DATA_HASH in meta["annotations"]
    es = await get(kube, es_path(namespace))
    assert es is not None
    assert [(o["kind"], o["name"], o["uid"], o["controller"]) for o in meta["ownerReferences"]] == [
        ("ExternalSecret", "es", es["metadata"]["uid"], True)
    ]
    assert await es_ready(kube, namespace) == ("True", "SecretSynced", "secret synced")
    es = await get(kube, es_path(namespace))
    assert es is not None
    status = es["status"]
    assert status["binding"] == {"name": "es"}
    assert status["refreshTime"].endswith("Z")
    assert status["syncedResourceVersion"].startswith("1-")
    _, events = await request(kube, "GET", f"/api/v1/namespaces/{namespace}/events")
    reasons = [(e["reason"], e["involvedObject"]["name"]) for e in events["items"]]
    assert ("Created", "es") in reasons
    assert all("s3cret" not in e["message"] for e in events["items"])


async def test_store_change_updates_secret_and_drift_is_restored(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, {"db": '{"pw":"one"}'}))
    await create(kube, external_secret(namespace))
    await synced_secret(kube, namespace, expect={"password": "one"})
    # the remote value changes (the fake store's spec): the Secret follows
    store_path = f"{GROUP_PATH}/namespaces/{namespace}/secretstores/fake"
    await merge_patch(
        kube,
        store_path,
        {"spec": {"provider": {"fake": {"data": [{"key": "db", "value": '{"pw":"two"}'}]}}}},
    )
    await synced_secret(kube, namespace, expect={"password": "two"})
    # someone edits the Secret's data: restored
    await merge_patch(kube, secret_path(namespace), {"data": {"password": "aGFja2Vk", "x": "eA=="}})
    await synced_secret(kube, namespace, expect={"password": "two"})
    # someone deletes the Secret: recreated
    await delete(kube, secret_path(namespace))
    await synced_secret(kube, namespace, expect={"password": "two"})


async def test_refresh_interval_picks_up_remote_change(
    kube: kr8s.asyncio.Api, namespace: str, bench: devbench.BenchInfo
) -> None:
    """Without any event, the periodic refresh alone brings the new value: the value changes in
    LocalStack, where no watch sees it (and nothing of the shared operator is touched)."""
    name = f"{namespace}/db"
    async with get_session().create_client(
        "secretsmanager",
        endpoint_url=bench.aws_endpoint_url,
        region_name=bench.aws_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as sm:
        await sm.create_secret(Name=name, SecretString='{"pw":"v1"}')
        await create(kube, aws_credentials(namespace))
        await create(kube, aws_store(namespace, region=bench.aws_region))
        await create(
            kube,
            external_secret(
                namespace,
                store="aws",
                refreshInterval="2s",
                data=[{"secretKey": "password", "remoteRef": {"key": name, "property": "pw"}}],
            ),
        )
        await synced_secret(kube, namespace, expect={"password": "v1"})
        await sm.put_secret_value(SecretId=name, SecretString='{"pw":"v2"}')
    await synced_secret(kube, namespace, expect={"password": "v2"})


def aws_credentials(namespace: str) -> dict[str, Any]:
    """LocalStack's credentials in a Secret, as a tenant would keep real ones."""
    test = base64.b64encode(b"test").decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "aws", "namespace": namespace},
        "data": {"id": test, "key": test},
    }


def aws_store(namespace: str, *, region: str) -> dict[str, Any]:
    keys = {
        "accessKeyIDSecretRef": {"name": "aws", "key": "id"},
        "secretAccessKeySecretRef": {"name": "aws", "key": "key"},
    }
    return {
        "apiVersion": model.API_VERSION,
        "kind": "SecretStore",
        "metadata": {"name": "aws", "namespace": namespace},
        "spec": {
            "provider": {
                "aws": {"service": "SecretsManager", "region": region, "auth": {"secretRef": keys}}
            }
        },
    }


async def test_missing_store_then_store_appears(kube: kr8s.asyncio.Api, namespace: str) -> None:
    await create(kube, external_secret(namespace, store="later"))
    cond = await es_ready(kube, namespace, status="False", reason="SecretSyncedError")
    assert "later" in cond[2] and "not found" in cond[2]
    await create(kube, fake_store(namespace, {"db": '{"pw":"ok"}'}, name="later"))
    await synced_secret(kube, namespace, expect={"password": "ok"})
    await es_ready(kube, namespace, reason="SecretSynced")


async def test_cluster_store_conditions_are_enforced(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    name = f"css-{namespace}"
    await create(
        kube,
        fake_store(
            namespace,
            {"db": '{"pw":"c"}'},
            name=name,
            kind="ClusterSecretStore",
            conditions=[{"namespaces": ["somewhere-else"]}],
        ),
    )
    await create(kube, external_secret(namespace, store=name, store_kind="ClusterSecretStore"))
    cond = await es_ready(kube, namespace, status="False")
    assert f"not allowed from namespace {namespace!r}" in cond[2]
    assert await get(kube, secret_path(namespace)) is None
    await merge_patch(
        kube,
        f"{GROUP_PATH}/clustersecretstores/{name}",
        {"spec": {"conditions": [{"namespaces": [namespace]}]}},
    )
    await synced_secret(kube, namespace, expect={"password": "c"})


async def test_two_externalsecrets_on_one_target(kube: kr8s.asyncio.Api, namespace: str) -> None:
    await create(kube, fake_store(namespace, {"db": '{"pw":"p"}'}))
    await create(kube, external_secret(namespace, "first", target={"name": "shared"}))
    await synced_secret(kube, namespace, "shared", expect={"password": "p"})
    await create(kube, external_secret(namespace, "second", target={"name": "shared"}))
    cond = await es_ready(kube, namespace, "second", status="False")
    assert "target is owned by another ExternalSecret" in cond[2]
    await es_ready(kube, namespace, "first")


async def test_creation_policies(kube: kr8s.asyncio.Api, namespace: str) -> None:
    await create(kube, fake_store(namespace, {"db": '{"pw":"p"}'}))
    # Orphan: created without an owner reference
    await create(kube, external_secret(namespace, "orphan", target={"creationPolicy": "Orphan"}))
    orphan = await synced_secret(kube, namespace, "orphan", expect={"password": "p"})
    assert not orphan["metadata"].get("ownerReferences")
    # None: nothing is written, but the sync is reported
    await create(kube, external_secret(namespace, "none", target={"creationPolicy": "None"}))
    await es_ready(kube, namespace, "none")
    assert await get(kube, secret_path(namespace, "none")) is None
    # Merge: never creates...
    await create(kube, external_secret(namespace, "merge", target={"creationPolicy": "Merge"}))
    await es_ready(kube, namespace, "merge", status="False", reason="SecretMissing")
    assert await get(kube, secret_path(namespace, "merge")) is None
    # ...and merges into an existing Secret, keeping its keys, once it appears
    await create(
        kube,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "merge", "namespace": namespace},
            "data": {"foreign": "Zg=="},
        },
    )
    await synced_secret(kube, namespace, "merge", expect={"foreign": "f", "password": "p"})


async def test_deletion_policies_when_remote_secret_disappears(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, {"db": '{"pw":"p"}'}))
    for policy in ("Retain", "Delete", "Merge"):
        await create(
            kube, external_secret(namespace, policy.lower(), target={"deletionPolicy": policy})
        )
        await synced_secret(kube, namespace, policy.lower(), expect={"password": "p"})
    store_path = f"{GROUP_PATH}/namespaces/{namespace}/secretstores/fake"
    await merge_patch(
        kube,
        store_path,
        {"spec": {"provider": {"fake": {"data": [{"key": "other", "value": "x"}]}}}},
    )

    # Delete: the Secret goes; Merge: our keys go; Retain: kept as is, with an error
    async def deleted() -> bool:
        return await get(kube, secret_path(namespace, "delete")) is None

    await eventually(deleted, what="Secret deleted by deletionPolicy=Delete")
    await es_ready(kube, namespace, "delete", reason="SecretDeleted")
    await synced_secret(kube, namespace, "merge", expect={})
    cond = await es_ready(kube, namespace, "retain", status="False")
    assert "could not get secret data from provider" in cond[2]
    retained = await get(kube, secret_path(namespace, "retain"))
    assert retained is not None and decoded(retained) == {"password": "p"}


async def test_provider_error_never_touches_the_secret(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    """A failure other than "not found" (a vanished property) keeps the Secret, even with Delete."""
    await create(kube, fake_store(namespace, {"db": '{"pw":"p"}'}))
    await create(kube, external_secret(namespace, target={"deletionPolicy": "Delete"}))
    await synced_secret(kube, namespace, expect={"password": "p"})
    store_path = f"{GROUP_PATH}/namespaces/{namespace}/secretstores/fake"
    await merge_patch(
        kube,
        store_path,
        {"spec": {"provider": {"fake": {"data": [{"key": "db", "value": '{"other":"x"}'}]}}}},
    )
    cond = await es_ready(kube, namespace, status="False")
    assert "pw" in cond[2]
    kept = await get(kube, secret_path(namespace))
    assert kept is not None and decoded(kept) == {"password": "p"}


async def test_finalizer_deletes_target_with_delete_policy(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, {"db": '{"pw":"p"}'}))
    await create(kube, external_secret(namespace, target={"deletionPolicy": "Delete"}))
    await synced_secret(kube, namespace, expect={"password": "p"})

    async def has_finalizer() -> bool:
        es = await get(kube, es_path(namespace))
        return es is not None and model.FINALIZER in es["metadata"].get("finalizers", [])

    await eventually(has_finalizer, what="finalizer")
    await delete(kube, es_path(namespace))

    async def both_gone() -> bool:
        return (
            await get(kube, secret_path(namespace)) is None
            and await get(kube, es_path(namespace)) is None
        )

    await eventually(both_gone, what="Secret and ExternalSecret gone")


async def test_invalid_spec_gets_a_condition_naming_the_field(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, {"db": '{"pw":"p"}'}))
    await create(kube, external_secret(namespace, refreshInterval="every day"))
    cond = await es_ready(kube, namespace, status="False")
    assert "spec.refreshInterval" in cond[2]
    await create(
        kube,
        external_secret(
            # ".." passes the CRD's key pattern; only the operator knows Kubernetes refuses it
            namespace,
            "badkey",
            data=[{"secretKey": "..", "remoteRef": {"key": "db"}}],
        ),
    )
    cond = await es_ready(kube, namespace, "badkey", status="False")
    assert "spec.data[0].secretKey" in cond[2]


async def test_store_status_and_controller_class(kube: kr8s.asyncio.Api, namespace: str) -> None:
    await create(kube, fake_store(namespace, {"db": '{"pw":"p"}'}))
    store_path = f"{GROUP_PATH}/namespaces/{namespace}/secretstores/fake"

    async def store_ready() -> tuple[str, str, str] | None:
        return ready(await get(kube, store_path))

    assert await eventually(store_ready) == ("True", "Valid", "store validated")
    await create(
        kube, fake_store(namespace, {"db": '{"pw":"p"}'}, name="theirs", controller="another-class")
    )
    await create(kube, external_secret(namespace, store="theirs"))
    await create(kube, external_secret(namespace, "ours"))
    await synced_secret(kube, namespace, "ours", expect={"password": "p"})
    es = await get(kube, es_path(namespace))
    assert es is not None and not (es.get("status") or {}).get("conditions")
    assert await get(kube, secret_path(namespace)) is None


TEMPLATES = {
    "v2": {
        "username": "{{ .user }}",
        "password": "{{ .pw | upper }}",
        "url": "postgres://{{ .user }}:{{ .pw }}@db",
    },
    "jinja": {
        "username": "{{ user }}",
        "password": "{{ pw | upper }}",
        "url": "postgres://{{ user }}:{{ pw }}@db",
    },
}


@pytest.mark.parametrize("engine", ["v2", "jinja"])
async def test_templated_externalsecret(
    kube: kr8s.asyncio.Api, namespace: str, engine: str
) -> None:
    await create(kube, fake_store(namespace, {"db": '{"user":"app","pw":"s3"}'}))
    await create(
        kube,
        external_secret(
            namespace,
            data=[],
            dataFrom=[{"extract": {"key": "db"}}],
            target={
                "template": {
                    "engineVersion": engine,
                    "type": "kubernetes.io/basic-auth",
                    "data": TEMPLATES[engine],
                }
            },
        ),
    )
    secret = await synced_secret(
        kube, namespace, expect={"username": "app", "password": "S3", "url": "postgres://app:s3@db"}
    )
    assert secret["type"] == "kubernetes.io/basic-auth"


async def test_existing_unmanaged_secret_is_adopted(kube: kr8s.asyncio.Api, namespace: str) -> None:
    """Not in the watched view (no managed label): the create conflicts and falls back to GET."""
    await create(
        kube,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "es", "namespace": namespace, "labels": {"keep": "me"}},
            "data": {"old": "b2xk"},
        },
    )
    await create(kube, fake_store(namespace, {"db": '{"pw":"new"}'}))
    await create(kube, external_secret(namespace))
    secret = await synced_secret(kube, namespace, expect={"password": "new"})
    assert secret["metadata"]["labels"]["keep"] == "me"
    assert secret["metadata"]["ownerReferences"][0]["kind"] == "ExternalSecret"


async def test_template_from_configmap(kube: kr8s.asyncio.Api, namespace: str) -> None:
    await create(kube, fake_store(namespace, {"db": '{"user":"app","pw":"s3"}'}))
    await create(
        kube,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "tpl", "namespace": namespace},
            "data": {"config.ini": "[db]\nuser = {{ user }}\npassword = {{ pw }}\n"},
        },
    )
    await create(
        kube,
        external_secret(
            namespace,
            data=[],
            dataFrom=[{"extract": {"key": "db"}}],
            target={
                "template": {
                    "engineVersion": "jinja",
                    "templateFrom": [
                        {"configMap": {"name": "tpl", "items": [{"key": "config.ini"}]}}
                    ],
                }
            },
        ),
    )
    await synced_secret(kube, namespace, expect={"config.ini": "[db]\nuser = app\npassword = s3\n"})
    # a template that cannot render: Ready=False with the reason, Secret untouched
    await merge_patch(
        kube,
        f"/api/v1/namespaces/{namespace}/configmaps/tpl",
        {"data": {"config.ini": "{{ missing_key }}"}},
    )
    await merge_patch(kube, es_path(namespace), {"metadata": {"annotations": {"force-sync": "1"}}})
    cond = await es_ready(kube, namespace, status="False")
    assert "could not apply template" in cond[2] and "missing_key" in cond[2]
    kept = await get(kube, secret_path(namespace))
    assert kept is not None and decoded(kept) == {"config.ini": "[db]\nuser = app\npassword = s3\n"}


async def test_unsupported_provider_is_kept_and_reported(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    vault = {"server": "https://vault.example:8200", "path": "secret", "version": "v2"}
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "SecretStore",
            "metadata": {"name": "vault", "namespace": namespace},
            "spec": {"provider": {"vault": vault}},
        },
    )
    store_path = f"{GROUP_PATH}/namespaces/{namespace}/secretstores/vault"

    async def reported() -> tuple[str, str, str] | None:
        return ready(await get(kube, store_path))

    status, reason, message = await eventually(reported)
    assert (status, reason) == ("False", "InvalidProviderConfig")
    assert message == "spec.provider.vault is not supported by asyncso"
    stored = await get(kube, store_path)
    assert stored is not None and stored["spec"]["provider"]["vault"] == vault  # not pruned
