"""ESO manifests with Go templates, unchanged, on the bench: AWS values from LocalStack, a
dockerconfigjson built by a Go template, `templateFrom` a ConfigMap; and a template that spends
its whole time budget without holding up other ExternalSecrets."""

from __future__ import annotations

import base64
import json
from typing import Any

import kr8s.asyncio
import pytest
import yaml
from aiobotocore.session import get_session
from kube_support import GROUP_PATH, create, decoded, delete, eventually, get, ready

from asyncso import metrics, model
from devenv import bench as devbench

pytestmark = pytest.mark.usefixtures("operator")

# As an ESO user writes them: no engineVersion (ESO's CRD defaults it to v2), Go syntax.
MANIFESTS = """
apiVersion: v1
kind: Secret
metadata:
  name: aws-creds
stringData:
  access-key: test
  secret-access-key: test
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: aws
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: aws-creds, key: access-key}
          secretAccessKeySecretRef: {name: aws-creds, key: secret-access-key}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: registry-extras
data:
  registry.yaml: |
    registry: {{ .registry }}
    user: {{ .username | upper }}
  pairs: |
    {{- range $k, $v := . }}
    {{ $k }}-length: {{ len $v | quote }}
    {{- end }}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: registry
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: aws
    kind: SecretStore
  target:
    name: registry-pull
    template:
      type: kubernetes.io/dockerconfigjson
      metadata:
        labels:
          registry: '{{ .registry | replace "." "-" }}'
      data:
        .dockerconfigjson: 'DOCKERCONFIG'
      templateFrom:
      - configMap:
          name: registry-extras
          items:
          - key: registry.yaml
          - key: pairs
            templateAs: KeysAndValues
  dataFrom:
  - extract:
      key: REMOTE_KEY
"""


DOCKERCONFIG = (
    '{"auths":{"{{ .registry }}":{"username":"{{ .username }}","password":"{{ .password }}",'
    '"auth":"{{ printf "%s:%s" .username .password | b64enc }}"}}}'
)


async def _put_remote(bench: devbench.BenchInfo, name: str, value: dict[str, str]) -> None:
    async with get_session().create_client(
        "secretsmanager",
        endpoint_url=bench.aws_endpoint_url,
        region_name=bench.aws_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as sm:
        await sm.create_secret(Name=name, SecretString=json.dumps(value))


async def test_eso_manifest_with_go_templates_syncs_unchanged(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, namespace: str
) -> None:
    remote = f"{namespace}/registry"
    await _put_remote(
        bench, remote, {"registry": "ghcr.io", "username": "bot", "password": "s3cr3t"}
    )
    for doc in yaml.safe_load_all(
        MANIFESTS.replace("REMOTE_KEY", remote).replace("DOCKERCONFIG", DOCKERCONFIG)
    ):
        doc["metadata"]["namespace"] = namespace
        await create(kube, doc)

    async def synced() -> dict[str, Any] | None:
        return await get(kube, f"/api/v1/namespaces/{namespace}/secrets/registry-pull")

    secret = await eventually(synced, within=30, what="the registry Secret")
    auth = base64.b64encode(b"bot:s3cr3t").decode()
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["labels"]["registry"] == "ghcr-io"
    assert decoded(secret) == {
        ".dockerconfigjson": (
            '{"auths":{"ghcr.io":{"username":"bot","password":"s3cr3t","auth":"' + auth + '"}}}'
        ),
        "registry.yaml": "registry: ghcr.io\nuser: BOT\n",
        "password-length": "6",
        "registry-length": "7",
        "username-length": "3",
    }

    async def reported() -> dict[str, Any] | None:
        # The status is written after the Secret: wait for it rather than read it once.
        found = await get(kube, f"{GROUP_PATH}/namespaces/{namespace}/externalsecrets/registry")
        return found if found is not None and ready(found) is not None else None

    es = await eventually(reported, within=30, what="the ExternalSecret's status")
    assert es["spec"]["target"]["template"]["engineVersion"] == "v2"  # ESO's default, stored
    assert ready(es) == ("True", "SecretSynced", "secret synced")


def _sync_calls(namespace: str, name: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "externalsecret_sync_calls_total", {"name": name, "namespace": namespace}
    )
    return value or 0.0


def _es(namespace: str, name: str, template: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": model.API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
            "data": [{"secretKey": "pw", "remoteRef": {"key": "db", "property": "pw"}}],
            "target": {"template": template},
        },
    }


async def test_a_template_at_its_time_limit_does_not_hold_up_other_syncs(
    kube: kr8s.asyncio.Api, namespace: str
) -> None:
    """The slow template burns its 5 s budget in a worker thread; the others sync meanwhile:
    their Secrets exist before the slow one has even reported its failure."""
    await create(
        kube,
        {
            "apiVersion": model.API_VERSION,
            "kind": "SecretStore",
            "metadata": {"name": "fake", "namespace": namespace},
            "spec": {"provider": {"fake": {"data": [{"key": "db", "value": '{"pw":"p"}'}]}}},
        },
    )
    slow = '{{ range until 100000 }}{{ bcrypt "x" | len }}{{ end }}'
    slow_path = f"{GROUP_PATH}/namespaces/{namespace}/externalsecrets/slow"
    await create(kube, _es(namespace, "slow", {"data": {"out": slow}}))
    try:

        async def slow_started() -> bool:
            return _sync_calls(namespace, "slow") >= 1

        await eventually(slow_started, what="the slow sync to start")
        for i in range(3):
            await create(kube, _es(namespace, f"fast-{i}", {"data": {"pw": "{{ .pw | upper }}"}}))
        for i in range(3):

            async def fast_synced(name: str = f"fast-{i}") -> dict[str, Any] | None:
                found = await get(kube, f"/api/v1/namespaces/{namespace}/secrets/{name}")
                return found if found is not None and decoded(found) == {"pw": "P"} else None

            await eventually(fast_synced, within=30, what=f"fast-{i} synced")
        # The slow render is still running (or only just failed): no failure was reported yet.
        assert ready(await get(kube, slow_path)) is None

        async def slow_failed() -> tuple[str, str, str] | None:
            return ready(await get(kube, slow_path))

        status, reason, message = await eventually(slow_failed, within=30, what="slow fails")
        assert (status, reason) == ("False", "SecretSyncedError")
        assert "could not apply template: template.data['out']: " in message
        assert "render exceeds the time limit of 5.0 seconds" in message
    finally:
        await delete(kube, slow_path)  # the bench never removes a namespace's objects
