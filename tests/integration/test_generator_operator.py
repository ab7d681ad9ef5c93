"""Generators end to end: the operator under test, the real apiserver, and LocalStack for STS.

The issue's "done when": a Password that stays under `CreatedOnce` and changes on refresh
otherwise; an STSSessionToken whose credentials work against LocalStack; unknown generator kinds
refused with a condition naming the kind; and an ECRAuthorizationToken that makes a working
`kubernetes.io/dockerconfigjson` through ESO's Go template. LocalStack (community) refuses ECR,
so the bench serves it from moto's own server (`AWS_ENDPOINT_URL_ECR`, see `devenv.bench`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
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
from metrics_support import provider_calls

from asyncso import model, model_generators
from asyncso.generators import expiry
from devenv import bench as devbench

pytestmark = pytest.mark.usefixtures("operator")

GEN = model_generators.API_VERSION
GEN_PATH = f"/apis/{GEN}"
#: ESO's own example (docs/snippets/generator-ecr-example.yaml), Go template syntax.
ESO_DOCKERCONFIG = """{
  "auths": {
    "{{ .proxy_endpoint | replace "https://" "" }}": {
      "username": "{{ .username }}",
      "password": "{{ .password }}",
      "auth": "{{ printf "%s:%s" .username .password | b64enc }}"
    }
  }
}
"""
CREDENTIAL_KEYS = {
    "accessKeyIDSecretRef": {"name": "aws", "key": "id"},
    "secretAccessKeySecretRef": {"name": "aws", "key": "key"},
}


async def aws_credentials(api: kr8s.asyncio.Api, namespace: str) -> None:
    """LocalStack's (and moto's) credentials, in the Secret `aws` that `CREDENTIAL_KEYS` name."""
    test = base64.b64encode(b"test").decode()
    await create(
        api,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "aws", "namespace": namespace},
            "data": {"id": test, "key": test},
        },
    )


async def create_generator(
    api: kr8s.asyncio.Api, namespace: str, kind: str, name: str, spec: dict[str, Any]
) -> None:
    plural = {
        "Password": "passwords",
        "UUID": "uuids",
        "Fake": "fakes",
        "STSSessionToken": "stssessiontokens",
        "ECRAuthorizationToken": "ecrauthorizationtokens",
    }[kind]
    body = {
        "apiVersion": GEN,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    status, payload = await request(
        api, "POST", f"{GEN_PATH}/namespaces/{namespace}/{plural}", body
    )
    assert status == 201, payload


def generated_es(
    namespace: str, name: str, kind: str, generator: str, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": model.API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "target": {"name": name},
            "dataFrom": [
                {
                    "sourceRef": {
                        "generatorRef": {"apiVersion": GEN, "kind": kind, "name": generator}
                    }
                }
            ],
            **spec,
        },
    }


def es_path(namespace: str, name: str) -> str:
    return f"{GROUP_PATH}/namespaces/{namespace}/externalsecrets/{name}"


def secret_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/secrets/{name}"


async def secret_data(api: kr8s.asyncio.Api, namespace: str, name: str) -> dict[str, str] | None:
    secret = await get(api, secret_path(namespace, name))
    return decoded(secret) if secret is not None else None


async def condition(
    api: kr8s.asyncio.Api, namespace: str, name: str, status: str
) -> tuple[str, str, str]:
    async def probe() -> tuple[str, str, str] | None:
        cond = ready(await get(api, es_path(namespace, name)))
        return cond if cond is not None and cond[0] == status else None

    return await eventually(probe, what=f"ES {namespace}/{name} Ready={status}")


async def test_a_password_stays_under_created_once_and_changes_on_refresh_otherwise(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    await create_generator(kube, namespace, "Password", "pw", {"length": 32, "symbols": 0})
    await create(
        kube, generated_es(namespace, "once", "Password", "pw", refreshPolicy="CreatedOnce")
    )
    await create(kube, generated_es(namespace, "periodic", "Password", "pw", refreshInterval="1s"))

    once = await eventually(lambda: secret_data(kube, namespace, "once"), what="Secret once")
    first = await eventually(
        lambda: secret_data(kube, namespace, "periodic"), what="Secret periodic"
    )
    for value in (once["password"], first["password"]):
        assert len(value) == 32 and value.isalnum()
    assert once["password"] != first["password"]
    before = await get(kube, secret_path(namespace, "once"))
    assert before is not None

    # Wake "once" the way users do (an annotation, a spec edit): ESO does not refresh it.
    await merge_patch(
        kube, es_path(namespace, "once"), {"metadata": {"annotations": {"force-sync": "1"}}}
    )
    await merge_patch(kube, es_path(namespace, "once"), {"spec": {"refreshInterval": "2s"}})

    async def changed_twice() -> bool:
        seen.add((await secret_data(kube, namespace, "periodic") or {}).get("password", ""))
        return len(seen - {""}) >= 3

    seen: set[str] = {first["password"]}
    await eventually(changed_twice, within=20, what="two periodic regenerations")
    after = await get(kube, secret_path(namespace, "once"))
    assert after is not None
    assert decoded(after) == once
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert (await condition(kube, namespace, "once", "True"))[1] == "SecretSynced"


async def test_an_sts_session_token_round_trips_through_localstack(
    kube: kr8s.asyncio.Api, namespace: str, bench: devbench.BenchInfo
) -> None:
    await aws_credentials(kube, namespace)
    spec = {
        "region": bench.aws_region,
        "auth": {"secretRef": CREDENTIAL_KEYS},
        "requestParameters": {"sessionDuration": 900},
    }
    await create_generator(kube, namespace, "STSSessionToken", "sts", spec)
    calls = provider_calls(provider="AWS/STS", call="GetSessionToken")
    started = time.time()
    await create(kube, generated_es(namespace, "session", "STSSessionToken", "sts"))

    data = await eventually(lambda: secret_data(kube, namespace, "session"), what="Secret session")
    assert sorted(data) == ["access_key_id", "expiration", "secret_access_key", "session_token"]
    assert started - 5 <= int(data["expiration"]) - 900 <= time.time() + 5
    assert provider_calls(provider="AWS/STS", call="GetSessionToken") == calls + 1
    # The generated credentials work against LocalStack.
    async with get_session().create_client(
        "sts",
        endpoint_url=bench.aws_endpoint_url,
        region_name=bench.aws_region,
        aws_access_key_id=data["access_key_id"],
        aws_secret_access_key=data["secret_access_key"],
        aws_session_token=data["session_token"],
    ) as sts:
        identity = await sts.get_caller_identity()
    assert identity["Account"]


async def test_an_ecr_token_makes_a_working_dockerconfigjson_through_a_go_template(
    kube: kr8s.asyncio.Api,
    namespace: str,
    bench: devbench.BenchInfo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not bench.ecr_endpoint_url:
        pytest.skip("no ECR emulator: AWS_ENDPOINT_URL was given without AWS_ENDPOINT_URL_ECR")
    # moto's tokens expire in 2015. With a short floor, a refresh-before-expiry rule that chased
    # an expired token would call ECR again within a second; it must not.
    monkeypatch.setattr(expiry, "FLOOR", 0.5)
    await aws_credentials(kube, namespace)
    spec = {"region": bench.aws_region, "auth": {"secretRef": CREDENTIAL_KEYS}}
    await create_generator(kube, namespace, "ECRAuthorizationToken", "ecr", spec)
    target = {
        "name": "registry",
        "template": {
            "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"annotations": {"expiresAt": "{{ .expires_at }}"}},
            "data": {".dockerconfigjson": ESO_DOCKERCONFIG},
        },
    }
    calls = provider_calls(provider="AWS/ECR", call="GetAuthorizationToken")
    await create(
        kube, generated_es(namespace, "registry", "ECRAuthorizationToken", "ecr", target=target)
    )
    assert (await condition(kube, namespace, "registry", "True"))[1] == "SecretSynced"
    secret = await get(kube, secret_path(namespace, "registry"))
    assert secret is not None and secret["type"] == "kubernetes.io/dockerconfigjson"

    # What ECR (moto) hands out, asked directly.
    async with get_session().create_client(
        "ecr",
        endpoint_url=bench.ecr_endpoint_url,
        region_name=bench.aws_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as ecr_client:
        answer = (await ecr_client.get_authorization_token())["authorizationData"][0]
    user_password = base64.b64decode(answer["authorizationToken"])
    registry_host = answer["proxyEndpoint"].removeprefix("https://")
    config = json.loads(decoded(secret)[".dockerconfigjson"])
    assert list(config["auths"]) == [registry_host]
    entry = config["auths"][registry_host]
    assert base64.b64decode(entry["auth"]) == user_password
    assert f"{entry['username']}:{entry['password']}".encode() == user_password
    expires_at = int(answer["expiresAt"].timestamp())
    assert secret["metadata"]["annotations"]["expiresAt"] == str(expires_at)
    assert expires_at < time.time()  # moto's fixed date: already expired

    await asyncio.sleep(3)
    assert provider_calls(provider="AWS/ECR", call="GetAuthorizationToken") == calls + 1
    await delete(kube, es_path(namespace, "registry"))


@pytest.mark.parametrize("kind", ["Webhook", "VaultDynamicSecret"])
async def test_unsupported_generator_kinds_are_refused_naming_the_kind(
    kube: kr8s.asyncio.Api, namespace: str, kind: str
) -> None:
    await create(kube, generated_es(namespace, "es", kind, "x"))
    cond = await condition(kube, namespace, "es", "False")
    field = "spec.dataFrom[0].sourceRef.generatorRef.kind"
    assert f'{field}: generator kind "{kind}" is not supported by asyncso' in cond[2]


async def test_cluster_generators_serve_every_namespace_and_unsupported_kinds_are_refused(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    name = f"cg-{uuid.uuid4().hex[:8]}"
    webhook = f"{name}-webhook"
    bodies = [
        {
            "apiVersion": GEN,
            "kind": "ClusterGenerator",
            "metadata": {"name": name},
            "spec": {"kind": "UUID", "generator": {"uuidSpec": {}}},
        },
        {
            "apiVersion": GEN,
            "kind": "ClusterGenerator",
            "metadata": {"name": webhook},
            "spec": {
                "kind": "Webhook",
                "generator": {"webhookSpec": {"url": "http://example.invalid"}},
            },
        },
    ]
    try:
        for body in bodies:
            status, payload = await request(kube, "POST", f"{GEN_PATH}/clustergenerators", body)
            assert status == 201, payload
        # The apiserver kept the spec of a kind we do not implement (no pruning).
        stored = await get(kube, f"{GEN_PATH}/clustergenerators/{webhook}")
        assert stored is not None and stored["spec"]["generator"]["webhookSpec"]["url"]
        await create(kube, generated_es(namespace, "uuid", "ClusterGenerator", name))
        await create(kube, generated_es(namespace, "hook", "ClusterGenerator", webhook))
        data = await eventually(lambda: secret_data(kube, namespace, "uuid"), what="Secret uuid")
        assert len(data["uuid"]) == 36
        cond = await condition(kube, namespace, "hook", "False")
        assert (
            f"ClusterGenerator '{webhook}': generator kind \"Webhook\" is not supported by asyncso"
            in cond[2]
        )
    finally:
        for body in bodies:
            await delete(kube, f"{GEN_PATH}/clustergenerators/{body['metadata']['name']}")


async def test_a_generator_state_past_its_deadline_is_collected(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    """ESO's GeneratorState controller: finalizer, the generator's cleanup, deletion."""
    body = {
        "apiVersion": GEN,
        "kind": "GeneratorState",
        "metadata": {"name": "old", "namespace": namespace},
        "spec": {
            "garbageCollectionDeadline": "2020-01-01T00:00:00Z",
            "resource": {"apiVersion": GEN, "kind": "Password", "spec": {}},
            "state": {"anything": True},
        },
    }
    path = f"{GEN_PATH}/namespaces/{namespace}/generatorstates"
    status, payload = await request(kube, "POST", path, body)
    assert status == 201, payload

    async def gone() -> bool:
        return await get(kube, f"{path}/old") is None

    await eventually(gone, what="GeneratorState collected")
