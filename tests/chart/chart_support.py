"""Render the Helm chart with Helm's own engine, and apply what it renders to an apiserver.

Why Helm's engine (helm-python-sdk, which binds Helm v4's Go SDK) and not a re-implementation:
the templates use sprig and Helm built-ins (`.Files.Glob`, `fromYaml`, `semverCompare`,
Capabilities); only the real engine says what `helm install` would send.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import helm_python as helm
import kr8s.asyncio
import yaml
from helm_python import _native

CHART_DIR = pathlib.Path(__file__).resolve().parents[2] / "charts" / "asyncso"
CONTAINER = "asyncso"
FIELD_MANAGER = "asyncso-chart-test"

#: kind → (plural, namespaced) for every kind the chart renders.
_KINDS: dict[str, tuple[str, bool]] = {
    "CustomResourceDefinition": ("customresourcedefinitions", False),
    "ServiceAccount": ("serviceaccounts", True),
    "Service": ("services", True),
    "Deployment": ("deployments", True),
    "ClusterRole": ("clusterroles", False),
    "ClusterRoleBinding": ("clusterrolebindings", False),
    "Role": ("roles", True),
    "RoleBinding": ("rolebindings", True),
    "PodDisruptionBudget": ("poddisruptionbudgets", True),
    "ServiceMonitor": ("servicemonitors", True),
}


def render_manifests(
    values: dict[str, Any],
    *,
    release: str = "asyncso",
    namespace: str = "asyncso-system",
    kube_version: str | None = None,
    api_versions: list[str] | None = None,
    chart_dir: pathlib.Path = CHART_DIR,
) -> dict[str, str]:
    """Template path → rendered text, as `helm template` would produce it.

    `kube_version` and `api_versions` play `helm template --kube-version/--api-versions`
    (Capabilities). `Chart.render` does not expose them, so those go through the SDK's C ABI
    (`helm_render` accepts them in its options document).
    """
    options: dict[str, Any] = {"name": release, "namespace": namespace, "is_install": True}
    if kube_version is not None:
        options["kube_version"] = kube_version
    if api_versions is not None:
        options["api_versions"] = api_versions
    with helm.Chart.load(chart_dir) as chart:
        rendered = _native.call_string(
            "helm_render", chart._raw(), json.dumps(values), json.dumps(options)
        )
    manifests: dict[str, str] = json.loads(rendered)
    return manifests


def render_chart(values: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
    """Every object the chart renders for `values` (NOTES.txt and empty documents left out).

    Keyword options are those of `render_manifests` (release, namespace, kube_version, ...).
    """
    objects: list[dict[str, Any]] = []
    for path, text in sorted(render_manifests(values, **options).items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def notes(values: dict[str, Any], **options: Any) -> str:
    """The rendered NOTES.txt."""
    manifests = render_manifests(values, **options)
    return next(text for path, text in manifests.items() if path.endswith("NOTES.txt"))


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def deployment(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = find(objects, "Deployment")
    return found


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = deployment(objects)["spec"]["template"]["spec"]["containers"]
    found: list[dict[str, Any]] = [c for c in containers if c["name"] == CONTAINER]
    (only,) = found
    return only


def container_args(objects: list[dict[str, Any]]) -> list[str]:
    """The operator container's args, e.g. ["run", "--log-level=info", ...]."""
    return [str(a) for a in container(objects).get("args", [])]


def object_path(obj: dict[str, Any]) -> str:
    """The REST path of one rendered object."""
    plural, namespaced = _KINDS[obj["kind"]]
    api_version = obj["apiVersion"]
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    meta = obj["metadata"]
    if namespaced:
        return f"{base}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"
    return f"{base}/{plural}/{meta['name']}"


async def apply(api: kr8s.asyncio.Api, obj: dict[str, Any], *, force: bool = False) -> None:
    """Server-side apply one object (what `kubectl apply --server-side` does)."""
    params = {"fieldManager": FIELD_MANAGER}
    if force:
        params["force"] = "true"
    async with api.call_api(
        "PATCH",
        version="",
        base=object_path(obj),
        url="",
        content=json.dumps(obj),
        headers={"Content-Type": "application/apply-patch+yaml"},
        params=params,
    ):
        pass


async def delete(api: kr8s.asyncio.Api, obj: dict[str, Any]) -> None:
    async with api.call_api(
        "DELETE", version="", base=object_path(obj), url="", raise_for_status=False
    ):
        pass
