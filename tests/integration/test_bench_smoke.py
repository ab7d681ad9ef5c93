"""The bench's servers are real and usable: if these fail, nothing else can be trusted."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid

import kr8s
import kr8s.asyncio
import pytest
from aiobotocore.session import get_session

from devenv import bench as devbench

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.smoke.asyncso.dev"},
    "spec": {
        "group": "smoke.asyncso.dev",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "listKind": "WidgetList",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "labels": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    }
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


async def test_namespace_and_secret_roundtrip(kube: kr8s.asyncio.Api) -> None:
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    ns = await kr8s.asyncio.objects.Namespace({"metadata": {"name": name}}, api=kube)
    await ns.create()
    secret = await kr8s.asyncio.objects.Secret(
        {"metadata": {"name": "s1", "namespace": name}, "data": {"k": "dmFsdWU="}}, api=kube
    )
    await secret.create()
    got = await kr8s.asyncio.objects.Secret.get("s1", namespace=name, api=kube)
    assert got.raw["data"] == {"k": "dmFsdWU="}
    await got.delete()
    with pytest.raises(kr8s.NotFoundError):
        await kr8s.asyncio.objects.Secret.get("s1", namespace=name, api=kube)
    await ns.delete()
    fetched = await kr8s.asyncio.objects.Namespace.get(name, api=kube)
    # The bench runs no namespace controller, so deletion stops at Terminating.
    assert fetched.raw["status"]["phase"] == "Terminating"


async def test_custom_resource_with_map_survives(kube: kr8s.asyncio.Api, namespace: str) -> None:
    """A kube-apiserver built with Go >= 1.18 and reflect2 1.0.1 segfaults right here."""
    async with kube.call_api(
        "POST",
        version="",
        base="/apis/apiextensions.k8s.io/v1",
        url="customresourcedefinitions",
        content=json.dumps(WIDGET_CRD),
    ) as resp:
        assert resp.status_code == 201
    for _ in range(100):
        async with kube.call_api(
            "GET",
            version="",
            base="/apis/apiextensions.k8s.io/v1",
            url=f"customresourcedefinitions/{WIDGET_CRD['metadata']['name']}",
        ) as resp:
            conds = {
                c["type"]: c["status"]
                for c in (resp.json().get("status") or {}).get("conditions") or []
            }
        if conds.get("Established") == "True":
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("CRD never became Established")
    body = {
        "apiVersion": "smoke.asyncso.dev/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": namespace},
        "spec": {"labels": {"a": "1", "b": "2"}},
    }
    base = f"/apis/smoke.asyncso.dev/v1/namespaces/{namespace}/widgets"
    async with kube.call_api(
        "POST", version="", base=base, url="", content=json.dumps(body)
    ) as resp:
        assert resp.status_code == 201
    async with kube.call_api("GET", version="", base=base, url="w1") as resp:
        assert resp.json()["spec"]["labels"] == {"a": "1", "b": "2"}
    # The server is still alive after serialising the map (list exercises it again).
    async with kube.call_api("GET", version="", base=base, url="") as resp:
        assert [i["metadata"]["name"] for i in resp.json()["items"]] == ["w1"]
    async with kube.call_api(
        "DELETE",
        version="",
        base="/apis/apiextensions.k8s.io/v1",
        url=f"customresourcedefinitions/{WIDGET_CRD['metadata']['name']}",
    ) as resp:
        assert resp.status_code == 200


async def test_localstack_secrets_manager_batch_get(bench: devbench.BenchInfo) -> None:
    session = get_session()
    prefix = f"smoke/{uuid.uuid4().hex[:8]}"
    async with session.create_client(
        "secretsmanager",
        endpoint_url=bench.aws_endpoint_url,
        region_name=bench.aws_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as sm:
        await sm.create_secret(Name=f"{prefix}/a", SecretString='{"user":"alice"}')
        await sm.create_secret(Name=f"{prefix}/b", SecretString="plain-b")
        got = await sm.get_secret_value(SecretId=f"{prefix}/a")
        assert got["SecretString"] == '{"user":"alice"}'
        batch = await sm.batch_get_secret_value(SecretIdList=[f"{prefix}/a", f"{prefix}/b"])
        values = {v["Name"]: v["SecretString"] for v in batch["SecretValues"]}
        assert values == {f"{prefix}/a": '{"user":"alice"}', f"{prefix}/b": "plain-b"}
        with pytest.raises(sm.exceptions.ResourceNotFoundException):
            await sm.get_secret_value(SecretId=f"{prefix}/missing")


async def test_ecr_is_served_by_moto_through_the_per_service_variable(
    bench: devbench.BenchInfo,
) -> None:
    """LocalStack's community build refuses ECR; the bench's moto server answers it, reached
    through `AWS_ENDPOINT_URL_ECR` alone (botocore's per-service variable), while every other
    service stays on LocalStack (`AWS_ENDPOINT_URL`)."""
    if not bench.ecr_endpoint_url:
        pytest.skip("no ECR emulator: AWS_ENDPOINT_URL was given without AWS_ENDPOINT_URL_ECR")
    assert os.environ[devbench.ECR_ENDPOINT_VAR] == bench.ecr_endpoint_url
    assert bench.ecr_endpoint_url != bench.aws_endpoint_url
    session = get_session()
    keys = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    async with session.create_client("ecr", region_name=bench.aws_region, **keys) as ecr:
        answer = await ecr.get_authorization_token()
    data = answer["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).partition(b":")
    assert user == b"AWS" and password
    assert data["proxyEndpoint"].startswith("https://")
    async with session.create_client("sts", region_name=bench.aws_region, **keys) as sts:
        assert (await sts.get_caller_identity())["Account"] == devbench.LOCALSTACK_ACCOUNT
