"""ESO semantics asyncso used to miss, end to end on the real apiserver (fake provider).

The metadata tests also prove the apiserver's field ownership that `fieldowners` reads: the keys
asyncso wrote are known from `managedFields` (manager `externalsecrets.external-secrets.io/<es>`),
so a label dropped from the ExternalSecret leaves the Secret and a label set by someone else
stays.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
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
)
from metrics_support import sync_calls
from test_operator import (
    aws_credentials,
    aws_store,
    es_path,
    es_ready,
    external_secret,
    fake_store,
    secret_path,
    synced_secret,
)

from asyncso import app, model, settings
from asyncso import kube as kube_adapter
from devenv import bench as devbench

pytestmark = pytest.mark.usefixtures("operator")

DB = {"db": '{"pw":"s3cret","user":"app"}'}


async def secret_where(
    api: kr8s.asyncio.Api, namespace: str, check: Any, what: str, name: str = "es"
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        secret = await get(api, secret_path(namespace, name))
        return secret if secret is not None and check(secret) else None

    return await eventually(probe, what=what)


async def test_externalsecret_metadata_is_copied_and_what_it_dropped_leaves(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, DB))
    body = external_secret(namespace)
    body["metadata"]["labels"] = {"team": "a", "tier": "gold"}
    body["metadata"]["annotations"] = {"note": "n"}
    await create(kube, body)
    secret = await secret_where(
        kube, namespace, lambda s: s["metadata"].get("labels", {}).get("tier") == "gold", "labels"
    )
    assert secret["metadata"]["annotations"]["note"] == "n"
    managers = {entry["manager"] for entry in secret["metadata"]["managedFields"]}
    assert "externalsecrets.external-secrets.io/es" in managers
    # another client (its own field manager) labels the Secret
    await merge_patch(kube, secret_path(namespace), {"metadata": {"labels": {"extra": "e"}}})
    # `tier` and `note` leave the ExternalSecret; `team` changes
    await merge_patch(
        kube,
        es_path(namespace),
        {"metadata": {"labels": {"team": "b", "tier": None}, "annotations": {"note": None}}},
    )
    secret = await secret_where(
        kube,
        namespace,
        lambda s: s["metadata"]["labels"].get("team") == "b",
        "the label change",
    )
    labels, annotations = secret["metadata"]["labels"], secret["metadata"]["annotations"]
    assert labels["extra"] == "e" and "tier" not in labels and "note" not in annotations
    assert labels[model.LABEL_MANAGED] == "true"
    assert decoded(secret) == {"password": "s3cret"}


async def test_template_finalizers_are_set_on_the_secret(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, DB))
    template = {"metadata": {"finalizers": ["example.com/keep"], "labels": {"app": "web"}}}
    await create(kube, external_secret(namespace, target={"template": template}))
    secret = await synced_secret(kube, namespace, expect={"password": "s3cret"})
    assert secret["metadata"]["finalizers"] == ["example.com/keep"]
    assert secret["metadata"]["labels"]["app"] == "web"
    await merge_patch(kube, secret_path(namespace), {"metadata": {"finalizers": None}})


async def test_create_or_merge_on_the_real_apiserver(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, DB))
    await create(
        kube,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "shared", "namespace": namespace},
            "stringData": {"foreign": "kept", "password": "old"},
        },
    )
    both = [
        {"secretKey": "password", "remoteRef": {"key": "db", "property": "pw"}},
        {"secretKey": "user", "remoteRef": {"key": "db", "property": "user"}},
    ]
    target = {"name": "shared", "creationPolicy": "CreateOrMerge"}
    await create(kube, external_secret(namespace, target=target, data=both))
    secret = await synced_secret(
        kube, namespace, "shared", {"foreign": "kept", "password": "s3cret", "user": "app"}
    )
    assert "ownerReferences" not in secret["metadata"]
    await merge_patch(kube, es_path(namespace), {"spec": {"data": both[:1]}})
    await synced_secret(kube, namespace, "shared", {"foreign": "kept", "password": "s3cret"})
    # and a missing target is created, not owned
    await create(
        kube,
        external_secret(namespace, "fresh", target={"creationPolicy": "CreateOrMerge"}),
    )
    fresh = await synced_secret(kube, namespace, "fresh", {"password": "s3cret"})
    assert "ownerReferences" not in fresh["metadata"]


async def store_ready(
    api: kr8s.asyncio.Api, namespace: str, name: str, reason: str
) -> tuple[str, str, str]:
    path = f"{GROUP_PATH}/namespaces/{namespace}/secretstores/{name}"

    async def probe() -> tuple[str, str, str] | None:
        cond = ready(await get(api, path))
        return cond if cond is not None and cond[1] == reason else None

    return await eventually(probe, what=f"store {name} {reason}")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (1, ("True", "ValidationUnknown", "could not determine validation status")),
        (2, ("False", "InvalidProviderConfig", "unable to validate store")),
    ],
)
async def test_fake_validation_result_is_the_stores_condition(
    kube: kr8s.asyncio.Api, namespace: str, result: int, expected: tuple[str, str, str]
) -> None:
    body = fake_store(namespace, DB)
    body["spec"]["provider"]["fake"]["validationResult"] = result
    await create(kube, body)
    assert await store_ready(kube, namespace, "fake", expected[1]) == expected
    await create(kube, external_secret(namespace))
    if result == 1:  # still usable
        await synced_secret(kube, namespace, expect={"password": "s3cret"})
    else:
        _, _, message = await es_ready(kube, namespace, status="False")
        assert "unable to validate store" in message


async def test_fake_find_by_tags_is_refused_like_esos(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, {"db": "x", "app-a": "1"}))
    await create(
        kube, external_secret(namespace, data=[], dataFrom=[{"find": {"tags": {"a": "b"}}}])
    )
    _, _, message = await es_ready(kube, namespace, status="False")
    assert "unsupported find operator" in message
    await create(
        kube,
        external_secret(
            namespace, "byname", data=[], dataFrom=[{"find": {"name": {"regexp": "^app-"}}}]
        ),
    )
    await synced_secret(kube, namespace, "byname", {"app-a": "1"})


async def _until_held(namespace: str, held: str, free: str, *, quiet: float = 3.0) -> None:
    """Until `held` starts no sync for `quiet` seconds while `free` (1 s refreshes) syncs."""
    for _ in range(20):
        before = sync_calls(name=held, namespace=namespace)
        free_before = sync_calls(name=free, namespace=namespace)
        await asyncio.sleep(quiet)
        if (
            sync_calls(name=held, namespace=namespace) == before
            and sync_calls(name=free, namespace=namespace) > free_before
        ):
            return
    raise AssertionError(f"{held} kept syncing under an always-open deny window")


async def test_a_deny_window_holds_periodic_refreshes(
    kube: kr8s.asyncio.Api, namespace: str, bench: devbench.BenchInfo
) -> None:
    """Two ExternalSecrets read one AWS secret every second; the one under a deny window that
    is always open keeps its value while the other picks up the change."""
    name = f"{namespace}/windowed"
    always = {"kind": "deny", "windows": [{"schedule": "* * * * *", "duration": "1h"}]}
    data = [{"secretKey": "password", "remoteRef": {"key": name, "property": "pw"}}]
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
        for es_name, windows in (("held", always), ("free", None)):
            spec: dict[str, Any] = {"refreshInterval": "1s", "data": data}
            if windows:
                spec["syncWindows"] = windows
            await create(kube, external_secret(namespace, es_name, store="aws", **spec))
        await synced_secret(kube, namespace, "held", {"password": "v1"})  # first sync: not held
        await synced_secret(kube, namespace, "free", {"password": "v1"})
        await es_ready(kube, namespace, "held", reason="SecretSynced")
        # Wait until the operator's view has the synced status and the Secret (a lagging view
        # is a first sync to it, not held): "held" then stops syncing while "free" goes on.
        await _until_held(namespace, "held", "free")
        await sm.put_secret_value(SecretId=name, SecretString='{"pw":"v2"}')
    await synced_secret(kube, namespace, "free", {"password": "v2"})
    await synced_secret(kube, namespace, "free", {"password": "v2"})
    held = await get(kube, secret_path(namespace, "held"))
    assert held is not None and decoded(held) == {"password": "v1"}
    status, reason, _ = await es_ready(kube, namespace, "held")
    assert (status, reason) == ("True", "SecretSynced")
    # a spec change is not held
    await merge_patch(kube, es_path(namespace, "held"), {"metadata": {"labels": {"x": "y"}}})
    await synced_secret(kube, namespace, "held", {"password": "v2"})
    # stop the 1 s refreshes: they would count in other tests' AWS call metrics
    for es_name in ("held", "free"):
        await delete(kube, es_path(namespace, es_name))


@pytest.fixture
async def generic_operator(bench: devbench.BenchInfo, crds: None) -> AsyncIterator[None]:
    """An operator with `--unsafe-allow-generic-targets`, for stores of class "generic" only
    (the suite's shared operator ignores those stores)."""
    config = settings.Settings(
        kubeconfig=str(bench.kubeconfig),
        controller_class="generic",
        unsafe_allow_generic_targets=True,
    )
    client = await kube_adapter.Kube.connect(config.kubeconfig)
    registry = app.default_registry(client, config)
    op = app.Operator(config, client, registry)
    task = asyncio.create_task(op.run(), name="generic-operator")
    await asyncio.wait_for(op.ready.wait(), timeout=30)
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await registry.close()
    await client.close()


CONFIGMAP = {"manifest": {"apiVersion": "v1", "kind": "ConfigMap"}}


async def test_a_configmap_target_on_the_real_apiserver(
    kube: kr8s.asyncio.Api, namespace: str, generic_operator: None
) -> None:
    await create(kube, fake_store(namespace, DB, controller="generic"))
    target = {**CONFIGMAP, "deletionPolicy": "Delete"}
    await create(kube, external_secret(namespace, target=target))
    path = f"/api/v1/namespaces/{namespace}/configmaps/es"

    async def written() -> dict[str, Any] | None:
        return await get(kube, path)

    cm = await eventually(written, what="the ConfigMap")
    assert cm["data"] == {"password": "s3cret"}
    assert cm["metadata"]["labels"][model.LABEL_MANAGED] == "true"
    assert cm["metadata"]["ownerReferences"][0]["kind"] == "ExternalSecret"
    status, reason, _ = await es_ready(kube, namespace)
    assert (status, reason) == ("True", "ResourceSynced")
    assert await get(kube, secret_path(namespace)) is None  # no Secret
    # deleting the ExternalSecret deletes its ConfigMap (deletionPolicy: Delete)
    await delete(kube, es_path(namespace))

    async def gone() -> bool:
        return await get(kube, path) is None

    await eventually(gone, what="the ConfigMap deleted")


async def test_configmap_targets_are_refused_without_the_switch(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create(kube, fake_store(namespace, DB))
    await create(kube, external_secret(namespace, target=CONFIGMAP))
    _, _, message = await es_ready(kube, namespace, status="False")
    assert "generic targets are disabled" in message
    await create(
        kube,
        external_secret(
            namespace,
            "deploy",
            target={"manifest": {"apiVersion": "apps/v1", "kind": "Deployment"}},
        ),
    )
    _, _, message = await es_ready(kube, namespace, "deploy", status="False")
    assert "apps/v1/Deployment is not supported by asyncso" in message
