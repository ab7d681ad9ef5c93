"""The rendered chart applied to the real kube-apiserver, and its RBAC exercised as the chart's
own service account: by SubjectAccessReview (a full allow/deny matrix) and with a real token for
that account (TokenRequest), running the leader elector and a namespace-scoped operator.

The bench runs no controller-manager, so the Deployment never gets pods; the objects are
validated and stored, which is what this tier checks. The bench serves no
monitoring.coreos.com API, so ServiceMonitors are left out (and rendered with that capability
only in the render tests).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import pathlib
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import kr8s.asyncio
import pytest
from chart_support import (
    CHART_DIR,
    apply,
    container_args,
    delete,
    find,
    object_path,
    render_chart,
)

from asyncso import app, cli, crdgen, leader
from asyncso import kube as kube_adapter
from devenv import bench as devbench

pytestmark = pytest.mark.integration

Installer = Callable[..., Awaitable[list[dict[str, Any]]]]


async def _call(api: kr8s.asyncio.Api, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs["content"] = json.dumps(body)
    async with api.call_api(
        method, version="", base=path, url="", raise_for_status=False, **kwargs
    ) as resp:
        return resp.status_code, resp.json()


@pytest.fixture(scope="module")
def chart_with_crds(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("chart") / "asyncso"
    shutil.copytree(CHART_DIR, root, ignore=shutil.ignore_patterns("crds"))
    crdgen.write(root / "files" / "crds")
    return root


@pytest.fixture
async def install(kube: kr8s.asyncio.Api) -> AsyncIterator[Installer]:
    """Render and server-side apply a release; cluster-scoped objects are removed afterwards
    (namespaced ones go with the test namespace; CRDs are shared with other tests and stay)."""
    status, version = await _call(kube, "GET", "/version")
    assert status == 200
    kube_version = version["gitVersion"]
    cluster_scoped: list[dict[str, Any]] = []

    async def installer(values: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
        objects = render_chart(values, kube_version=kube_version, **options)
        for obj in objects:
            if obj["kind"] == "ServiceMonitor":
                continue  # not served by the bench (no prometheus-operator CRDs)
            is_crd = obj["kind"] == "CustomResourceDefinition"
            await apply(kube, obj, force=is_crd)
            if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
                cluster_scoped.append(obj)
        return objects

    yield installer
    for obj in cluster_scoped:
        await delete(kube, obj)


def _release() -> str:
    return f"aso-{uuid.uuid4().hex[:8]}"


def _service_account(objects: list[dict[str, Any]]) -> str:
    (account,) = find(objects, "ServiceAccount")
    name: str = account["metadata"]["name"]
    return name


async def test_default_install_applies_cleanly(
    install: Installer, kube: kr8s.asyncio.Api, namespace: str, chart_with_crds: pathlib.Path
) -> None:
    objects = await install({}, release=_release(), namespace=namespace, chart_dir=chart_with_crds)
    assert len(find(objects, "CustomResourceDefinition")) == len(crdgen.crds())
    for obj in objects:
        status, stored = await _call(kube, "GET", object_path(obj))
        assert status == 200, (obj["kind"], stored)
        assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


async def test_ha_install_applies_cleanly(
    install: Installer, kube: kr8s.asyncio.Api, namespace: str
) -> None:
    values = {
        "replicaCount": 2,
        "leaderElect": True,
        "installCRDs": False,
        "serviceMonitor": {"enabled": True, "renderMode": "alwaysRender"},
        "podDisruptionBudget": {"enabled": True},
        "serviceAccount": {
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/asyncso"}
        },
        "extraArgs": {"store-requeue-interval": "60"},
        "scopedNamespace": namespace,
        "scopedRBAC": True,
    }
    objects = await install(values, release=_release(), namespace=namespace)
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "PodDisruptionBudget",
        "Role",
        "Role",
        "Role",  # PushSecrets (templates/rbac-push.yaml)
        "RoleBinding",
        "RoleBinding",
        "RoleBinding",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
    ]
    (pdb,) = find(objects, "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1beta1"  # the bench is Kubernetes 1.20
    cli.build_parser().parse_args(
        [a.replace("$(POD_NAMESPACE)", namespace) for a in container_args(objects)]
    )


# --- RBAC by SubjectAccessReview ---------------------------------------------------------------


async def _allowed(
    api: kr8s.asyncio.Api,
    user_namespace: str,
    service_account: str,
    *,
    verb: str,
    resource: str,
    group: str = "",
    namespace: str = "",
    subresource: str = "",
    name: str = "",
) -> bool:
    attributes = {
        "verb": verb,
        "group": group,
        "resource": resource,
        "subresource": subresource,
        "namespace": namespace,
        "name": name,
    }
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": f"system:serviceaccount:{user_namespace}:{service_account}",
            "groups": [
                "system:serviceaccounts",
                f"system:serviceaccounts:{user_namespace}",
                "system:authenticated",
            ],
            "resourceAttributes": {k: v for k, v in attributes.items() if v},
        },
    }
    status, body = await _call(
        api, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
    )
    assert status == 201, body
    return bool(body["status"].get("allowed"))


ES = "external-secrets.io"
GEN = "generators.external-secrets.io"
ELSEWHERE = "some-other-namespace"
#: (verb, group, resource, subresource, namespace ("@" = the release's), name) → allowed
MATRIX: list[tuple[str, str, str, str, str, str, bool]] = [
    # what the operator does
    ("list", ES, "externalsecrets", "", ELSEWHERE, "", True),
    ("watch", ES, "externalsecrets", "", "", "", True),
    ("list", ES, "secretstores", "", ELSEWHERE, "", True),
    ("watch", ES, "clustersecretstores", "", "", "", True),
    ("patch", ES, "externalsecrets", "", ELSEWHERE, "es", True),
    ("patch", ES, "externalsecrets", "status", ELSEWHERE, "es", True),
    ("patch", ES, "secretstores", "status", ELSEWHERE, "s", True),
    ("patch", ES, "clustersecretstores", "status", "", "c", True),
    ("update", ES, "externalsecrets", "finalizers", ELSEWHERE, "es", True),
    ("create", "", "secrets", "", ELSEWHERE, "", True),
    ("delete", "", "secrets", "", ELSEWHERE, "x", True),
    ("watch", "", "secrets", "", "", "", True),
    ("get", "", "configmaps", "", ELSEWHERE, "cm", True),
    ("get", "", "serviceaccounts", "", ELSEWHERE, "sa", True),
    ("create", "", "serviceaccounts", "token", ELSEWHERE, "sa", True),
    ("list", "", "namespaces", "", "", "", True),
    ("create", "", "events", "", ELSEWHERE, "", True),
    ("patch", "", "events", "", ELSEWHERE, "e", True),
    ("create", "coordination.k8s.io", "leases", "", "@", "", True),
    ("get", "coordination.k8s.io", "leases", "", "@", "external-secrets-controller", True),
    ("update", "coordination.k8s.io", "leases", "", "@", "external-secrets-controller", True),
    # generators (their own block in rbac.yaml)
    ("get", GEN, "passwords", "", ELSEWHERE, "p", True),
    ("get", GEN, "ecrauthorizationtokens", "", ELSEWHERE, "e", True),
    ("get", GEN, "clustergenerators", "", "", "c", True),
    ("watch", GEN, "generatorstates", "", "", "", True),
    ("delete", GEN, "generatorstates", "", ELSEWHERE, "g", True),
    ("get", GEN, "generatorstates", "", ELSEWHERE, "g", False),
    ("list", GEN, "passwords", "", ELSEWHERE, "", False),
    ("update", GEN, "passwords", "", ELSEWHERE, "p", False),
    ("create", GEN, "clustergenerators", "", "", "", False),
    # push and fan-out (templates/rbac-push.yaml): ClusterExternalSecrets create and delete
    # ExternalSecrets, ClusterPushSecrets PushSecrets
    ("create", ES, "externalsecrets", "", ELSEWHERE, "", True),
    ("delete", ES, "externalsecrets", "", ELSEWHERE, "es", True),
    # ClusterExternalSecrets read and replace the children they fan out (rbac-push.yaml).
    ("get", ES, "externalsecrets", "", ELSEWHERE, "es", True),
    ("update", ES, "externalsecrets", "", ELSEWHERE, "es", True),
    ("watch", ES, "pushsecrets", "", "", "", True),
    ("patch", ES, "pushsecrets", "status", ELSEWHERE, "ps", True),
    ("create", ES, "pushsecrets", "", ELSEWHERE, "", True),
    ("patch", ES, "clusterexternalsecrets", "status", "", "c", True),
    ("update", ES, "clusterpushsecrets", "finalizers", "", "c", True),
    # what it must not be able to do
    ("create", ES, "clusterexternalsecrets", "", "", "", False),
    ("delete", ES, "clusterpushsecrets", "", "", "c", False),
    ("update", ES, "pushsecrets", "status", ELSEWHERE, "ps", False),
    ("update", ES, "secretstores", "", ELSEWHERE, "s", False),
    ("delete", ES, "clustersecretstores", "", "", "c", False),
    ("update", "", "configmaps", "", ELSEWHERE, "cm", False),
    ("list", "", "serviceaccounts", "", ELSEWHERE, "", False),
    ("update", "", "namespaces", "", "", "n", False),
    ("delete", "", "events", "", ELSEWHERE, "e", False),
    # grants the code never used (issue 10)
    ("update", ES, "externalsecrets", "status", ELSEWHERE, "es", False),
    ("update", ES, "clustersecretstores", "status", "", "c", False),
    ("patch", "", "secrets", "", ELSEWHERE, "x", False),
    ("list", "", "configmaps", "", ELSEWHERE, "", False),
    ("watch", "", "configmaps", "", ELSEWHERE, "", False),
    ("create", "events.k8s.io", "events", "", ELSEWHERE, "", False),
    ("get", "", "namespaces", "", "", "n", False),
    ("list", "coordination.k8s.io", "leases", "", "@", "", False),
    ("update", "coordination.k8s.io", "leases", "", "@", "someone-elses-lock", False),
    ("delete", "coordination.k8s.io", "leases", "", "@", "external-secrets-controller", False),
    ("create", "coordination.k8s.io", "leases", "", ELSEWHERE, "", False),
    ("list", "", "pods", "", ELSEWHERE, "", False),
    ("get", "", "nodes", "", "", "n", False),
    ("create", "apps", "deployments", "", "@", "", False),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", "", "", "", False),
    ("impersonate", "", "users", "", "", "admin", False),
]


async def test_service_account_gets_exactly_the_needed_rights(
    install: Installer, kube: kr8s.asyncio.Api, namespace: str
) -> None:
    objects = await install({"leaderElect": True}, release=_release(), namespace=namespace)
    account = _service_account(objects)

    async def check(row: tuple[str, str, str, str, str, str, bool]) -> bool:
        verb, group, resource, sub, ns, name, _ = row
        return await _allowed(
            kube,
            namespace,
            account,
            verb=verb,
            group=group,
            resource=resource,
            subresource=sub,
            namespace=namespace if ns == "@" else ns,
            name=name,
        )

    # RBAC is read from an informer cache: give the new bindings a moment to arrive.
    for _ in range(50):
        if await check(MATRIX[0]):
            break
        await asyncio.sleep(0.1)
    results = await asyncio.gather(*(check(row) for row in MATRIX))
    wrong = [row for row, allowed in zip(MATRIX, results, strict=True) if allowed != row[-1]]
    assert wrong == []


# --- RBAC with a real token of the chart's service account -------------------------------------


@pytest.fixture
async def service_account_api(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, tmp_path: pathlib.Path
) -> AsyncIterator[Callable[[str, str], Awaitable[tuple[kr8s.asyncio.Api, str]]]]:
    """Log in as a service account (TokenRequest), as the operator pod would."""
    made: list[kr8s.asyncio.Api] = []

    async def login(namespace: str, name: str) -> tuple[kr8s.asyncio.Api, str]:
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
        status, body = await _call(
            kube, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", request
        )
        assert status == 201, body
        path = tmp_path / f"{name}.kubeconfig"
        devbench.write_kubeconfig(
            path,
            server=bench.apiserver_url,
            ca_file=bench.ca_file,
            token=body["status"]["token"],
            user=name,
        )
        api: kr8s.asyncio.Api = await kr8s.asyncio.Api(kubeconfig=str(path), bypass_factory=True)
        made.append(api)
        return api, str(path)

    yield login
    for api in made:
        if api._session is not None:
            await api._session.aclose()


async def test_leader_election_works_with_the_charts_role(
    install: Installer,
    namespace: str,
    service_account_api: Callable[[str, str], Awaitable[tuple[kr8s.asyncio.Api, str]]],
) -> None:
    objects = await install({"leaderElect": True}, release=_release(), namespace=namespace)
    api, _ = await service_account_api(namespace, _service_account(objects))

    def elector(name: str) -> leader.LeaderElector:
        return leader.LeaderElector(
            api,
            name=name,
            namespace=namespace,
            identity="pod-0",
            lease_duration=3,
            renew_deadline=2,
            retry_period=0.3,
        )

    ours, foreign = elector(leader.DEFAULT_ID), elector("someone-elses-lock")
    tasks = [asyncio.create_task(e.run()) for e in (ours, foreign)]
    try:
        await asyncio.wait_for(ours.leading.wait(), timeout=10)
        await asyncio.sleep(1.0)
        assert ours.is_leader
        assert not foreign.is_leader  # its Lease would need `create`+`get` on another name
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert await ours.release()  # `update` on our own Lease is granted
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_scoped_operator_syncs_with_the_charts_role(
    install: Installer,
    kube: kr8s.asyncio.Api,
    namespace: str,
    service_account_api: Callable[[str, str], Awaitable[tuple[kr8s.asyncio.Api, str]]],
) -> None:
    """The operator, started from the chart's own args, with only the chart's scoped grants."""
    await crdgen.install_crds(kube)
    controller_class = f"chart-{uuid.uuid4().hex[:6]}"  # no other operator touches these
    values = {"scopedNamespace": namespace, "scopedRBAC": True, "controllerClass": controller_class}
    objects = await install(values, release=_release(), namespace=namespace)
    _, kubeconfig = await service_account_api(namespace, _service_account(objects))
    args = [a.replace("$(POD_NAMESPACE)", namespace) for a in container_args(objects)]
    config = cli.settings_from(cli.build_parser().parse_args([*args, f"--kubeconfig={kubeconfig}"]))
    assert config.namespace == namespace
    assert not config.enable_cluster_store_reconciler

    store: dict[str, Any] = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": "fake", "namespace": namespace},
        "spec": {
            "controller": controller_class,
            "provider": {"fake": {"data": [{"key": "db", "value": '{"pw":"from-chart"}'}]}},
        },
    }
    external: dict[str, Any] = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "es", "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
            "data": [{"secretKey": "password", "remoteRef": {"key": "db", "property": "pw"}}],
        },
    }
    for body in (store, external):
        plural = body["kind"].lower() + "s"
        status, created = await _call(
            kube, "POST", f"/apis/external-secrets.io/v1/namespaces/{namespace}/{plural}", body
        )
        assert status == 201, created

    kube_client = await kube_adapter.Kube.connect(config.kubeconfig)
    registry = app.default_registry(kube_client, config)
    operator = app.Operator(config, kube_client, registry)
    task = asyncio.create_task(operator.run())
    try:
        await asyncio.wait_for(operator.ready.wait(), timeout=30)
        secret: dict[str, Any] | None = None
        for _ in range(150):
            status, secret = await _call(kube, "GET", f"/api/v1/namespaces/{namespace}/secrets/es")
            if status == 200:
                break
            await asyncio.sleep(0.1)
        assert secret is not None and "data" in secret, secret
        assert base64.b64decode(secret["data"]["password"]) == b"from-chart"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await registry.close()
        await kube_client.close()
