"""PushSecret and ClusterPushSecret end to end: the real apiserver, the operator under test and
LocalStack's Secrets Manager and Parameter Store (and the fake provider for fan-out)."""

from __future__ import annotations

import base64
import json
import uuid
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
    request,
)

from asyncso import app, model
from devenv import bench as devbench

pytestmark = pytest.mark.usefixtures("operator")

PUSH = "/apis/external-secrets.io/v1alpha1"
MANAGED = {"Key": "managed-by", "Value": "external-secrets"}
#: LocalStack's BatchGetSecretValue fails on binary secrets ("Object of type bytes is not JSON
#: serializable"; AWS does not), so tests that push several secrets through one store push
#: strings; the first test pushes ESO's default (binary) to a single secret.
STRING = {
    "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
    "kind": "PushSecretMetadata",
    "spec": {"secretPushFormat": "string"},
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def ps_path(namespace: str, name: str) -> str:
    return f"{PUSH}/namespaces/{namespace}/pushsecrets/{name}"


@pytest.fixture
async def aws(bench: devbench.BenchInfo) -> AsyncIterator[dict[str, Any]]:
    kwargs = {
        "endpoint_url": bench.aws_endpoint_url,
        "region_name": bench.aws_region,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    session = get_session()
    async with (
        session.create_client("secretsmanager", **kwargs) as sm,
        session.create_client("ssm", **kwargs) as ssm,
    ):
        yield {"sm": sm, "ssm": ssm}


async def aws_store(
    kube: kr8s.asyncio.Api,
    namespace: str,
    *,
    service: str = "SecretsManager",
    name: str = "aws",
    prefix: str = "",
    labels: dict[str, str] | None = None,
) -> str:
    """A store on LocalStack with a per-test prefix (unless given); returns the prefix."""
    prefix = prefix or (f"/{namespace}/" if service == "ParameterStore" else f"{namespace}/")
    if await get(kube, f"/api/v1/namespaces/{namespace}/secrets/aws-creds") is None:
        await create(
            kube,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "aws-creds", "namespace": namespace},
                "data": {"id": b64("test"), "key": b64("test")},
            },
        )
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "SecretStore",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {
                "provider": {
                    "aws": {
                        "service": service,
                        "region": "us-east-1",
                        "prefix": prefix,
                        "secretsManager": {"forceDeleteWithoutRecovery": True},
                        "auth": {
                            "secretRef": {
                                "accessKeyIDSecretRef": {"name": "aws-creds", "key": "id"},
                                "secretAccessKeySecretRef": {"name": "aws-creds", "key": "key"},
                            }
                        },
                    }
                }
            },
        },
    )
    return prefix


async def source(kube: kr8s.asyncio.Api, namespace: str, data: dict[str, str]) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "src", "namespace": namespace},
        "data": {k: b64(v) for k, v in data.items()},
    }
    path = f"/api/v1/namespaces/{namespace}/secrets/src"
    if await get(kube, path) is None:
        await create(kube, body)
    else:
        await merge_patch(kube, path, {"data": body["data"]})


def push_secret(
    namespace: str, name: str, data: list[dict[str, Any]], **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1alpha1",
        "kind": "PushSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRefs": [{"name": "aws", "kind": "SecretStore"}],
            "selector": {"secret": {"name": "src"}},
            "data": data,
            **spec,
        },
    }


def match(key: str, remote: str, prop: str = "", *, binary: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"remoteKey": remote}
    if prop:
        ref["property"] = prop
    entry: dict[str, Any] = {"match": {"secretKey": key, "remoteRef": ref}}
    if not binary:
        entry["metadata"] = STRING
    return entry


async def until_ready(kube: kr8s.asyncio.Api, namespace: str, name: str) -> tuple[str, str, str]:
    async def probe() -> tuple[str, str, str] | None:
        return ready(await get(kube, ps_path(namespace, name)))

    return await eventually(probe, what=f"PushSecret {name} reports")


async def sm_value(sm: Any, name: str) -> bytes | None:
    try:
        answer = await sm.get_secret_value(SecretId=name)
    except sm.exceptions.ResourceNotFoundException:
        return None
    if "SecretString" in answer:
        return str(answer["SecretString"]).encode()
    return bytes(answer["SecretBinary"])


async def versions(sm: Any, name: str) -> set[str]:
    described = await sm.describe_secret(SecretId=name)
    return set(described.get("VersionIdsToStages", {}))


async def test_create_then_no_new_version_while_unchanged_then_update_on_change(
    kube: kr8s.asyncio.Api, namespace: str, aws: dict[str, Any]
) -> None:
    sm = aws["sm"]
    prefix = await aws_store(kube, namespace)
    await source(kube, namespace, {"pw": "first"})
    entries = [match("pw", "db-pw", binary=True)]
    await create(kube, push_secret(namespace, "ps", entries, refreshInterval="1s"))
    assert await until_ready(kube, namespace, "ps") == (
        "True",
        "Synced",
        "PushSecret synced successfully",
    )
    remote = f"{prefix}db-pw"
    assert await sm_value(sm, remote) == b"first"
    described = await sm.describe_secret(SecretId=remote)
    assert MANAGED in described["Tags"]
    assert described["Description"] == "secret 'managed-by:external-secrets'"
    before = await versions(sm, remote)
    first = (await get(kube, ps_path(namespace, "ps")) or {})["status"]["refreshTime"]

    async def refreshed_twice() -> bool:
        status = (await get(kube, ps_path(namespace, "ps")) or {})["status"]
        return status["refreshTime"] > first and ready({"status": status})[0] == "True"

    await eventually(refreshed_twice, within=20, what="refreshes")
    await eventually(refreshed_twice, within=20, what="refreshes")
    assert await versions(sm, remote) == before  # refreshes of an unchanged value: no new version

    await source(kube, namespace, {"pw": "second"})

    async def updated() -> bool:
        return await sm_value(sm, remote) == b"second"

    await eventually(updated, within=20, what="update on change")
    assert len(await versions(sm, remote)) == len(before) + 1
    await delete(kube, ps_path(namespace, "ps"))


async def test_if_not_exists_property_merge_and_refusal_of_an_unmanaged_secret(
    kube: kr8s.asyncio.Api, namespace: str, aws: dict[str, Any]
) -> None:
    sm = aws["sm"]
    prefix = await aws_store(kube, namespace)
    await source(kube, namespace, {"pw": "p4ss", "user": "alice"})
    await sm.create_secret(Name=f"{prefix}existing", SecretString="keep-me")
    await sm.create_secret(Name=f"{prefix}theirs", SecretString="not-yours")
    await sm.create_secret(Name=f"{prefix}app", SecretString='{"host":"db"}', Tags=[MANAGED])
    await create(
        kube,
        push_secret(namespace, "once", [match("pw", "existing")], updatePolicy="IfNotExists"),
    )
    await create(
        kube,
        push_secret(namespace, "merge", [match("user", "app", "user"), match("pw", "app", "pw")]),
    )
    await create(kube, push_secret(namespace, "refused", [match("pw", "theirs")]))

    assert await until_ready(kube, namespace, "once") == (
        "True",
        "Synced",
        "PushSecret synced successfully. Existing secrets in providers unchanged.",
    )
    assert await sm_value(sm, f"{prefix}existing") == b"keep-me"

    assert (await until_ready(kube, namespace, "merge"))[0] == "True"
    merged = json.loads(await sm_value(sm, f"{prefix}app") or b"")
    assert merged == {"host": "db", "user": "alice", "pw": "p4ss"}

    status, reason, message = await until_ready(kube, namespace, "refused")
    assert (status, reason) == ("False", "Errored")
    assert message == (
        "set secret failed: could not write remote ref pw to target secretstore aws: "
        "secret not managed by external-secrets"
    )
    assert await sm_value(sm, f"{prefix}theirs") == b"not-yours"
    found = await get(kube, ps_path(namespace, "refused")) or {}
    assert "p4ss" not in json.dumps(found)
    for name in ("once", "merge", "refused"):
        await delete(kube, ps_path(namespace, name))


async def test_deletion_policy_delete_removes_only_what_was_pushed(
    kube: kr8s.asyncio.Api, namespace: str, aws: dict[str, Any]
) -> None:
    sm = aws["sm"]
    prefix = await aws_store(kube, namespace)
    await source(kube, namespace, {"a": "1", "b": "2"})
    await sm.create_secret(Name=f"{prefix}shared", SecretString='{"other":"x"}', Tags=[MANAGED])
    body = push_secret(
        namespace,
        "ps",
        [match("a", "del-a"), match("b", "del-b"), match("a", "shared", "a")],
        deletionPolicy="Delete",
    )
    await create(kube, body)
    assert (await until_ready(kube, namespace, "ps"))[0] == "True"
    assert await sm_value(sm, f"{prefix}del-b") == b"2"

    # An entry dropped from the spec is deleted remotely.
    await merge_patch(
        kube,
        ps_path(namespace, "ps"),
        {"spec": {"data": [match("a", "del-a"), match("a", "shared", "a")]}},
    )

    async def b_gone() -> bool:
        return await sm_value(sm, f"{prefix}del-b") is None

    await eventually(b_gone, what="dropped entry deleted")

    # Deleting the PushSecret deletes the rest; a property removes only that key.
    await delete(kube, ps_path(namespace, "ps"))

    async def cleaned() -> bool:
        return (
            await get(kube, ps_path(namespace, "ps")) is None
            and await sm_value(sm, f"{prefix}del-a") is None
        )

    await eventually(cleaned, what="finalizer cleanup")
    assert json.loads(await sm_value(sm, f"{prefix}shared") or b"") == {"other": "x"}


async def test_parameter_store_push_refusal_and_delete(
    kube: kr8s.asyncio.Api, namespace: str, aws: dict[str, Any]
) -> None:
    ssm = aws["ssm"]
    prefix = await aws_store(kube, namespace, service="ParameterStore", name="aws")
    await source(kube, namespace, {"pw": "s3cret"})
    await ssm.put_parameter(Name=f"{prefix}theirs", Value="x", Type="String")
    meta = {
        "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
        "kind": "PushSecretMetadata",
        "spec": {"secretType": "SecureString", "tags": {"team": "a"}},
    }
    entry = match("pw", "db")
    entry["metadata"] = meta
    theirs = match("pw", "theirs")
    del theirs["metadata"]
    await create(kube, push_secret(namespace, "ps", [entry], deletionPolicy="Delete"))
    await create(kube, push_secret(namespace, "refused", [theirs]))
    assert (await until_ready(kube, namespace, "ps"))[0] == "True"
    answer = await ssm.get_parameter(Name=f"{prefix}db", WithDecryption=True)
    assert (answer["Parameter"]["Value"], answer["Parameter"]["Type"]) == ("s3cret", "SecureString")
    tags = await ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{prefix}db")
    assert {t["Key"]: t["Value"] for t in tags["TagList"]} == {
        "managed-by": "external-secrets",
        "team": "a",
    }
    assert (await until_ready(kube, namespace, "refused"))[:2] == ("False", "Errored")
    theirs = await ssm.get_parameter(Name=f"{prefix}theirs")
    assert theirs["Parameter"]["Value"] == "x"
    await delete(kube, ps_path(namespace, "ps"))
    await delete(kube, ps_path(namespace, "refused"))

    async def gone() -> bool:
        try:
            await ssm.get_parameter(Name=f"{prefix}db")
        except ssm.exceptions.ParameterNotFound:
            return True
        return False

    await eventually(gone, what="parameter deleted")


async def test_cluster_push_secret_fans_out(kube: kr8s.asyncio.Api, operator: app.Operator) -> None:
    label = f"cps-{uuid.uuid4().hex[:6]}"
    names = [f"cps-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    store = f"cps-fake-{uuid.uuid4().hex[:6]}"
    cps = f"cps-{uuid.uuid4().hex[:6]}"
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "ClusterSecretStore",
            "metadata": {"name": store},
            "spec": {"provider": {"fake": {"data": []}}},
        },
    )
    try:
        for index, name in enumerate(names):
            labels = {label: "yes" if index < 2 else "no"}
            await create(
                kube,
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": name, "labels": labels},
                },
            )
            await source(kube, name, {"pw": f"pw-{index}"})
        spec = push_secret("x", "x", [match("pw", "from-cluster")])["spec"]
        spec["secretStoreRefs"] = [{"name": store, "kind": "ClusterSecretStore"}]
        await create(
            kube,
            {
                "apiVersion": "external-secrets.io/v1alpha1",
                "kind": "ClusterPushSecret",
                "metadata": {"name": cps},
                "spec": {
                    "pushSecretName": "pushed",
                    "namespaceSelectors": [{"matchLabels": {label: "yes"}}],
                    "pushSecretSpec": spec,
                },
            },
        )
        for name in names[:2]:
            assert await until_ready(kube, name, "pushed") == (
                "True",
                "Synced",
                "PushSecret synced successfully",
            )
        child = await get(kube, ps_path(names[0], "pushed")) or {}
        assert child["metadata"]["ownerReferences"][0]["kind"] == "ClusterPushSecret"
        assert await get(kube, ps_path(names[2], "pushed")) is None

        async def cps_status() -> list[str] | None:
            found = await get(kube, f"{PUSH}/clusterpushsecrets/{cps}") or {}
            return (found.get("status") or {}).get("provisionedNamespaces")

        assert await eventually(cps_status, what="CPS status") == sorted(names[:2])
        await delete(kube, f"{PUSH}/clusterpushsecrets/{cps}")

        async def children_gone() -> bool:
            return all([await get(kube, ps_path(n, "pushed")) is None for n in names])

        await eventually(children_gone, what="PushSecrets removed with their parent")
    finally:
        await delete(kube, f"{GROUP_PATH}/clustersecretstores/{store}")
        for name in names:
            await delete(kube, f"/api/v1/namespaces/{name}")


async def test_label_selected_sources_and_data_to_on_the_real_apiserver(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    """`selector.secret.selector` goes to the apiserver as a label selector (matchLabels and
    matchExpressions); `dataTo` bundles what it finds (fake store)."""
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "SecretStore",
            "metadata": {"name": "fake", "namespace": namespace},
            "spec": {"provider": {"fake": {"data": []}}},
        },
    )
    for name, labels in (("one", {"push": "yes", "tier": "a"}), ("two", {"push": "no"})):
        await create(
            kube,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "data": {"k1": b64(name), "other": b64("x")},
            },
        )
    selector = {
        "matchLabels": {"push": "yes"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
    }
    body = push_secret(
        namespace,
        "bulk",
        [],
        secretStoreRefs=[{"name": "fake"}],
        selector={"secret": {"selector": selector}},
        dataTo=[{"storeRef": {"name": "fake"}, "remoteKey": "bundle", "match": {"regexp": "^k"}}],
    )
    await create(kube, body)
    assert (await until_ready(kube, namespace, "bulk"))[0] == "True"
    found = await get(kube, ps_path(namespace, "bulk")) or {}
    assert found["status"]["syncedPushSecrets"] == {
        "SecretStore/fake": {
            "bundle": {"match": {"remoteRef": {"remoteKey": "bundle"}}}  # secretKey: omitempty
        }
    }
    await delete(kube, ps_path(namespace, "bulk"))


async def test_a_password_generators_value_is_pushed_and_rotated_as_eso_does(
    kube: kr8s.asyncio.Api, namespace: str, aws: dict[str, Any]
) -> None:
    """`selector.generatorRef` (ESO's rotation example): the Password is generated once per
    refresh; the value pushed to Secrets Manager stays while nothing is due, and rotates at
    each refresh once `refreshInterval` is short."""
    sm = aws["sm"]
    prefix = await aws_store(kube, namespace)
    password = {
        "apiVersion": "generators.external-secrets.io/v1alpha1",
        "kind": "Password",
        "metadata": {"name": "strong", "namespace": namespace},
        "spec": {"length": 40, "digits": 5, "symbols": 0, "noUpper": True, "allowRepeat": True},
    }
    path = f"/apis/generators.external-secrets.io/v1alpha1/namespaces/{namespace}/passwords"
    code, answer = await request(kube, "POST", path, password)
    assert code == 201, answer
    selector = {
        "generatorRef": {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password",
            "name": "strong",
        }
    }
    entries = [match("password", "rotated")]
    await create(kube, push_secret(namespace, "gen", entries, selector=selector))
    assert await until_ready(kube, namespace, "gen") == (
        "True",
        "Synced",
        "PushSecret synced successfully",
    )
    remote = f"{prefix}rotated"
    first = await sm_value(sm, remote) or b""
    assert len(first) == 40 and first == first.lower()
    assert sum(c in b"0123456789" for c in first) == 5
    assert len(await versions(sm, remote)) == 1
    found = await get(kube, ps_path(namespace, "gen")) or {}
    assert first.decode() not in json.dumps(found)

    # A spec change is a refresh: a new value; then one per refresh (every second).
    await merge_patch(kube, ps_path(namespace, "gen"), {"spec": {"refreshInterval": "1s"}})
    seen = {first}

    async def rotated() -> bool:
        value = await sm_value(sm, remote)
        if value is not None and value not in seen:
            seen.add(value)
        return len(seen) >= 3

    await eventually(rotated, within=30, what="two rotations")
    assert all(len(value) == 40 for value in seen)
    await delete(kube, ps_path(namespace, "gen"))


async def test_a_store_that_starts_matching_wakes_the_pushsecret_with_the_kept_value(
    kube: kr8s.asyncio.Api, namespace: str, aws: dict[str, Any]
) -> None:
    """A store change wakes the PushSecrets that use it (refreshInterval 1h: nothing else would
    sync it): a store labelled into `secretStoreRefs[].labelSelector` gets the push at once, and
    a generator's value is the one generated before, not a new one."""
    sm = aws["sm"]
    first = await aws_store(kube, namespace, name="one", labels={"push": "yes"})
    second = await aws_store(kube, namespace, name="two", prefix=f"{namespace}-two/")
    code, answer = await request(
        kube,
        "POST",
        f"/apis/generators.external-secrets.io/v1alpha1/namespaces/{namespace}/uuids",
        {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "UUID",
            "metadata": {"name": "id", "namespace": namespace},
            "spec": {},
        },
    )
    assert code == 201, answer
    refs = [{"kind": "SecretStore", "labelSelector": {"matchLabels": {"push": "yes"}}}]
    selector = {"generatorRef": {"kind": "UUID", "name": "id"}}
    body = push_secret(
        namespace, "woken", [match("uuid", "id")], secretStoreRefs=refs, selector=selector
    )
    await create(kube, body)
    assert (await until_ready(kube, namespace, "woken"))[0] == "True"
    value = await sm_value(sm, f"{first}id")
    assert value is not None and len(value) == 36
    assert await sm_value(sm, f"{second}id") is None

    store_path = f"{GROUP_PATH}/namespaces/{namespace}/secretstores/two"
    await merge_patch(kube, store_path, {"metadata": {"labels": {"push": "yes"}}})

    async def pushed_to_the_second() -> bytes | None:
        return await sm_value(sm, f"{second}id")

    assert await eventually(pushed_to_the_second, within=15, what="push to 'two'") == value
    assert await sm_value(sm, f"{first}id") == value
    assert len(await versions(sm, f"{first}id")) == 1
    status = (await get(kube, ps_path(namespace, "woken")) or {})["status"]
    assert set(status["syncedPushSecrets"]) == {"SecretStore/one", "SecretStore/two"}
    await delete(kube, ps_path(namespace, "woken"))


async def test_a_value_pushed_to_a_fake_store_is_read_back_by_an_external_secret(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    """ESO's fake provider returns what was pushed to it; so does ours, in the operator."""
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "SecretStore",
            "metadata": {"name": "fake", "namespace": namespace},
            "spec": {"provider": {"fake": {"data": [{"key": "listed", "value": "from-spec"}]}}},
        },
    )
    await source(kube, namespace, {"pw": "round-trip"})
    entries = [match("pw", "pushed", binary=True)]
    refs = [{"name": "fake", "kind": "SecretStore"}]
    await create(kube, push_secret(namespace, "to-fake", entries, secretStoreRefs=refs))
    assert (await until_ready(kube, namespace, "to-fake"))[0] == "True"
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "ExternalSecret",
            "metadata": {"name": "back", "namespace": namespace},
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                "target": {"name": "back"},
                "data": [
                    {"secretKey": "pw", "remoteRef": {"key": "pushed"}},
                    {"secretKey": "listed", "remoteRef": {"key": "listed"}},
                ],
            },
        },
    )

    async def read_back() -> dict[str, str] | None:
        found = await get(kube, f"/api/v1/namespaces/{namespace}/secrets/back")
        return decoded(found) if found else None

    assert await eventually(read_back, what="the target Secret") == {
        "pw": "round-trip",
        "listed": "from-spec",
    }
    await delete(kube, ps_path(namespace, "to-fake"))
