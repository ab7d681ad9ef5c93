"""Fixtures of the security suite: CRDs as the CLI prints them, and the operator's identity.

The operator under test runs as the bench's operator user, bound to exactly the chart's default
ClusterRole: so the suite also proves the chart grants enough, and every request the operator
makes lands in the bench's audit log (tests read it to show which namespaces were touched).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

import kr8s.asyncio
import pytest
import yaml
from operator_process import OperatorIdentity

from chart.chart_support import find, render_chart
from devenv import bench as devbench
from integration.kube_support import request

SUITE_ROLE = "asyncso-security-suite"
ES_GROUP = "external-secrets.io"


@pytest.fixture(scope="session")
async def security_crds(kube: kr8s.asyncio.Api) -> None:
    """`asyncso crds`, server-side applied (what a user does; the CRD schemas come from the
    build under test, so admission rules added by a fix apply here at once)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncso.cli", "crds", stdout=asyncio.subprocess.PIPE
    )
    printed, _ = await proc.communicate()
    assert proc.returncode == 0
    for crd in yaml.safe_load_all(printed):
        if not crd:
            continue
        name = crd["metadata"]["name"]
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
        async with kube.call_api(
            "PATCH",
            version="",
            base=path,
            url="",
            content=json.dumps(crd),
            headers={"Content-Type": "application/apply-patch+yaml"},
            params={"fieldManager": "asyncso-security-suite", "force": "true"},
        ):
            pass
        for _ in range(100):
            status, body = await request(kube, "GET", path)
            conditions = (body.get("status") or {}).get("conditions") or [] if status == 200 else []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                break
            await asyncio.sleep(0.1)


def _rv(current: dict[str, Any]) -> dict[str, str]:
    return {"resourceVersion": current["metadata"]["resourceVersion"]}


async def _allowed(api: kr8s.asyncio.Api, *, verb: str, resource: str, group: str) -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": devbench.OPERATOR_USER,
            "resourceAttributes": {"verb": verb, "resource": resource, "group": group},
        },
    }
    status, body = await request(
        api, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
    )
    assert status == 201, body
    return bool(body["status"].get("allowed"))


@pytest.fixture(scope="session")
async def operator_identity(
    bench: devbench.BenchInfo, kube: kr8s.asyncio.Api, security_crds: None
) -> OperatorIdentity:
    # Every ClusterRole of the default chart: the controller's and the push/fan-out one.
    rules = [rule for role in find(render_chart({}), "ClusterRole") for rule in role["rules"]]
    cluster_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": SUITE_ROLE},
        "rules": rules,
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": SUITE_ROLE},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": SUITE_ROLE,
        },
        "subjects": [
            {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "User",
                "name": devbench.OPERATOR_USER,
            }
        ],
    }
    for obj, plural in ((cluster_role, "clusterroles"), (binding, "clusterrolebindings")):
        collection = f"/apis/rbac.authorization.k8s.io/v1/{plural}"
        status, body = await request(kube, "POST", collection, obj)
        if status == 409:  # from an earlier module or session: replace it
            status, current = await request(kube, "GET", f"{collection}/{SUITE_ROLE}")
            assert status == 200, current
            obj = {**obj, "metadata": {**obj["metadata"], **_rv(current)}}
            status, body = await request(kube, "PUT", f"{collection}/{SUITE_ROLE}", obj)
        assert status in (200, 201), body
    # RBAC reaches the authorizer through an informer: wait for the binding to count.
    for _ in range(100):
        if await _allowed(
            kube, verb="watch", resource="externalsecrets", group="external-secrets.io"
        ):
            break
        await asyncio.sleep(0.1)
    assert bench.audit_log is not None, "the bench writes no audit log"
    return OperatorIdentity(rules=rules, ca_file=bench.ca_file, audit_log=bench.audit_log)


@pytest.fixture(scope="module")
def run_id() -> str:
    """A short unique suffix for cluster-scoped names and remote secret names of one module."""
    return uuid.uuid4().hex[:8]
