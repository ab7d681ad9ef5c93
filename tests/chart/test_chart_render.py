"""The chart rendered by Helm's engine: args, security, RBAC, optional objects. No cluster."""

from __future__ import annotations

import pathlib
import shutil
from typing import Any

import helm_python as helm
import pytest
from chart_support import (
    CHART_DIR,
    container,
    container_args,
    deployment,
    find,
    notes,
    render_chart,
)

from asyncso import cli, crdgen, settings

DEFAULT_ARGS = [
    "run",
    "--log-level=info",
    "--log-format=json",
    "--metrics-addr=:8080",
    "--live-addr=:8082",
    "--concurrent=16",
]
IRSA = {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/asyncso"}
#: The "HA in production" set: what a platform team would typically write.
HA_VALUES: dict[str, Any] = {
    "replicaCount": 2,
    "leaderElect": True,
    "scopedNamespace": "apps",
    "controllerClass": "team-a",
    "concurrent": 32,
    "installCRDs": False,
    "serviceMonitor": {"enabled": True, "additionalLabels": {"release": "prom"}},
    "podDisruptionBudget": {"enabled": True},
    "serviceAccount": {"annotations": IRSA},
    "extraArgs": {"store-requeue-interval": "60", "refresh-jitter": 0.2},
    "extraEnv": [{"name": "AWS_REGION", "value": "eu-west-1"}],
    "log": {"level": "debug", "format": "text"},
    "podLabels": {"team": "platform"},
    "priorityClassName": "system-cluster-critical",
    "resources": {"requests": {"cpu": "20m", "memory": "96Mi"}},
}
SM_CAPABILITY = ["monitoring.coreos.com/v1/ServiceMonitor"]


def _parse(args: list[str], **env: str) -> settings.Settings:
    """What `asyncso run` makes of the args, with $(VAR) expanded as the kubelet does."""
    assert args[0] == "run"
    expanded = [a.replace("$(POD_NAMESPACE)", env.get("POD_NAMESPACE", "")) for a in args]
    return cli.settings_from(cli.build_parser().parse_args(expanded))


@pytest.fixture(scope="module")
def chart_with_crds(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A copy of the chart with the generated CRDs where the template reads them."""
    root = tmp_path_factory.mktemp("chart") / "asyncso"
    shutil.copytree(CHART_DIR, root, ignore=shutil.ignore_patterns("crds"))
    crdgen.write(root / "files" / "crds")
    return root


# --- defaults ----------------------------------------------------------------------------------


def test_default_objects() -> None:
    objects = render_chart({})
    kinds = sorted(o["kind"] for o in objects if o["kind"] != "CustomResourceDefinition")
    assert kinds == [  # the second role and binding: push and fan-out (test_chart_push.py)
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "Deployment",
        "ServiceAccount",
    ]


def test_default_args_parse_to_the_binarys_defaults() -> None:
    args = container_args(render_chart({}))
    assert args == DEFAULT_ARGS
    assert _parse(args) == settings.Settings(concurrent=16)


def test_security_context_is_restricted() -> None:
    objects = render_chart({})
    pod = deployment(objects)["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container(objects)["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    mounts = {m["mountPath"] for m in container(objects)["volumeMounts"]}
    assert "/tmp" in mounts  # the only writable path


def test_probes_ports_and_downward_api() -> None:
    c = container(render_chart({}))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": 8080, "live": 8082}
    assert c["livenessProbe"]["httpGet"] == {"port": "live", "path": "/healthz"}
    assert c["readinessProbe"]["httpGet"] == {"port": "live", "path": "/readyz"}
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"


def test_image_defaults_to_app_version() -> None:
    objects = render_chart({})
    app_version = helm.Chart.load(CHART_DIR).metadata["appVersion"]
    assert container(objects)["image"] == f"ghcr.io/asyncso/asyncso:{app_version}"
    tagged = render_chart({"image": {"repository": "registry.local/aso", "tag": "dev"}})
    assert container(tagged)["image"] == "registry.local/aso:dev"


@pytest.mark.parametrize("values", [{}, HA_VALUES], ids=["default", "ha"])
def test_every_object_is_labelled(values: dict[str, Any]) -> None:
    objects = render_chart(values, release="rel", api_versions=SM_CAPABILITY)
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "asyncso", obj["kind"]
        assert labels["app.kubernetes.io/instance"] == "rel", obj["kind"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm", obj["kind"]
        assert labels["helm.sh/chart"].startswith("asyncso-"), obj["kind"]
    dep = deployment(objects)
    selector = dep["spec"]["selector"]["matchLabels"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()


@pytest.mark.parametrize(
    "values",
    [{}, HA_VALUES, {**HA_VALUES, "scopedRBAC": True}],
    ids=["default", "ha", "scoped-rbac"],
)
def test_no_wildcards_in_rbac(values: dict[str, Any]) -> None:
    for obj in render_chart(values):
        for rule in obj.get("rules", []):
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in rule.get(field, []), (obj["metadata"]["name"], rule)
                assert not any("*" in item for item in rule.get(field, [])), rule


ES_GROUP = "external-secrets.io"
#: The exact rules of the default ClusterRole, in order: each is a call the operator makes (see
#: the comment per rule in templates/rbac.yaml). A new call needs a new row here.
EXPECTED_RULES: list[dict[str, list[str]]] = [
    {
        "apiGroups": [ES_GROUP],
        "resources": ["externalsecrets", "secretstores", "clustersecretstores"],
        "verbs": ["list", "watch"],
    },
    {"apiGroups": [ES_GROUP], "resources": ["externalsecrets"], "verbs": ["patch"]},
    {
        "apiGroups": [ES_GROUP],
        "resources": [
            "externalsecrets/status",
            "secretstores/status",
            "clustersecretstores/status",
        ],
        "verbs": ["patch"],
    },
    {"apiGroups": [ES_GROUP], "resources": ["externalsecrets/finalizers"], "verbs": ["update"]},
    {
        "apiGroups": [""],
        "resources": ["secrets"],
        "verbs": ["get", "list", "watch", "create", "update", "delete"],
    },
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
    # generators (their own block in rbac.yaml; test_chart_generators.py)
    {
        "apiGroups": ["generators.external-secrets.io"],
        "resources": [
            "passwords",
            "uuids",
            "fakes",
            "ecrauthorizationtokens",
            "stssessiontokens",
            "clustergenerators",
        ],
        "verbs": ["get"],
    },
    {
        "apiGroups": ["generators.external-secrets.io"],
        "resources": ["generatorstates"],
        "verbs": ["list", "watch", "create", "patch", "delete"],
    },
]


def test_cluster_role_grants_exactly_what_the_operator_uses() -> None:
    (role,) = find(render_chart({}), "ClusterRole", "asyncso-controller")
    assert role["rules"] == EXPECTED_RULES


def test_no_grant_the_code_never_uses() -> None:
    """The grants issue 10 found unused stay gone (each would widen what a bug can reach)."""
    (role,) = find(render_chart({}), "ClusterRole", "asyncso-controller")
    grants = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    unused = {
        (ES_GROUP, "externalsecrets", "update"),
        *((ES_GROUP, f"{k}/status", "update") for k in ("externalsecrets", "secretstores")),
        (ES_GROUP, "clustersecretstores/status", "update"),
        ("", "secrets", "patch"),
        ("", "configmaps", "list"),
        ("", "configmaps", "watch"),
        ("events.k8s.io", "events", "create"),
        ("events.k8s.io", "events", "patch"),
    }
    assert not grants & unused


# --- the non-default set -----------------------------------------------------------------------


def test_ha_values_args() -> None:
    args = container_args(render_chart(HA_VALUES, api_versions=SM_CAPABILITY))
    assert args == [
        "run",
        "--log-level=debug",
        "--log-format=text",
        "--metrics-addr=:8080",
        "--live-addr=:8082",
        "--enable-leader-election",
        "--leader-election-namespace=$(POD_NAMESPACE)",
        "--namespace=apps",
        "--controller-class=team-a",
        "--concurrent=32",
        "--refresh-jitter=0.2",
        "--store-requeue-interval=60",
    ]
    parsed = _parse(args, POD_NAMESPACE="ops")
    assert parsed == settings.Settings(
        log_level="debug",
        log_format="text",
        enable_leader_election=True,
        leader_election_namespace="ops",
        namespace="apps",
        controller_class="team-a",
        concurrent=32,
        refresh_jitter=0.2,
        store_requeue_interval=60.0,
    )


def test_ha_values_objects() -> None:
    objects = render_chart(HA_VALUES, namespace="ops", api_versions=SM_CAPABILITY)
    assert not find(objects, "CustomResourceDefinition")  # installCRDs: false
    dep = deployment(objects)
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert dep["spec"]["template"]["metadata"]["labels"]["team"] == "platform"
    assert {"name": "AWS_REGION", "value": "eu-west-1"} in container(objects)["env"]
    assert container(objects)["resources"] == {"requests": {"cpu": "20m", "memory": "96Mi"}}

    (sa,) = find(objects, "ServiceAccount")
    assert sa["metadata"]["annotations"] == IRSA
    assert pod["serviceAccountName"] == sa["metadata"]["name"]

    (lease_role,) = find(objects, "Role", "asyncso-leaderelection")
    assert lease_role["metadata"]["namespace"] == "ops"
    assert lease_role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["external-secrets-controller"],
            "verbs": ["get", "update"],
        },
    ]
    (binding,) = find(objects, "RoleBinding", "asyncso-leaderelection")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": "ops"}
    ]

    (service,) = find(objects, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    (monitor,) = find(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )

    (pdb,) = find(objects, "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= (
        dep["spec"]["template"]["metadata"]["labels"].items()
    )


def test_leader_election_id_from_extra_args_names_the_lease_role() -> None:
    values = {"leaderElect": True, "extraArgs": {"leader-election-id": "my-lock"}}
    objects = render_chart(values)
    (role,) = find(objects, "Role")
    assert role["rules"][1]["resourceNames"] == ["my-lock"]
    assert _parse(container_args(objects), POD_NAMESPACE="x").leader_election_id == "my-lock"


def test_extra_args_forms() -> None:
    values = {
        "extraArgs": {
            "enable-cluster-store-reconciler": False,
            "enable-leader-election": True,
            "kubeconfig": "",
            "provider-rate-limit": 5,
        }
    }
    args = container_args(render_chart(values))
    assert args[len(DEFAULT_ARGS) :] == [
        "--no-enable-cluster-store-reconciler",
        "--enable-leader-election",
        "--kubeconfig",
        "--provider-rate-limit=5",
    ]


def test_scoped_rbac_uses_a_role_and_disables_cluster_stores() -> None:
    values = {"scopedNamespace": "apps", "scopedRBAC": True}
    objects = render_chart(values, namespace="ops")
    args = container_args(objects)
    assert "--namespace=apps" in args
    assert "--no-enable-cluster-store-reconciler" in args
    assert _parse(args).enable_cluster_store_reconciler is False

    (role,) = find(objects, "Role", "asyncso-controller")
    assert role["metadata"]["namespace"] == "apps"
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert "clustersecretstores" not in resources
    assert "namespaces" not in resources
    (binding,) = find(objects, "RoleBinding", "asyncso-controller")
    assert binding["metadata"]["namespace"] == "apps"
    assert binding["subjects"][0]["namespace"] == "ops"
    # Namespaces are cluster-scoped: reading them is the only cluster-wide grant left.
    namespaced = [r for r in EXPECTED_RULES if r["resources"] != ["namespaces"]]
    without_cluster_stores = [
        {**r, "resources": [x for x in r["resources"] if not x.startswith("clustersecretstores")]}
        for r in namespaced
    ]
    assert role["rules"] == without_cluster_stores
    (cluster_role,) = find(objects, "ClusterRole")
    assert cluster_role["rules"] == [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]}
    ]
    assert not find(objects, "ClusterRole", "asyncso-controller")


def test_rbac_and_service_account_can_be_turned_off() -> None:
    values = {"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "mine"}}
    objects = render_chart(values)
    assert sorted(o["kind"] for o in objects if o["kind"] != "CustomResourceDefinition") == [
        "Deployment"
    ]
    assert deployment(objects)["spec"]["template"]["spec"]["serviceAccountName"] == "mine"


def test_metrics_service_alone() -> None:
    objects = render_chart({"metrics": {"service": {"enabled": True, "annotations": {"a": "b"}}}})
    (service,) = find(objects, "Service")
    assert service["metadata"]["annotations"] == {"a": "b"}
    assert not find(objects, "ServiceMonitor")


def test_fullname_override_names_everything() -> None:
    objects = render_chart({"fullnameOverride": "eso", "leaderElect": True})
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("Deployment", "eso") in names
    assert ("ServiceAccount", "eso") in names
    assert ("ClusterRole", "eso-controller") in names
    assert ("Role", "eso-leaderelection") in names


# --- ServiceMonitor and PDB depend on the cluster's capabilities -------------------------------


def test_service_monitor_render_modes() -> None:
    enabled = {"serviceMonitor": {"enabled": True}}
    assert not find(render_chart(enabled), "ServiceMonitor")  # skipIfMissing
    assert find(render_chart(enabled, api_versions=SM_CAPABILITY), "ServiceMonitor")
    always = {"serviceMonitor": {"enabled": True, "renderMode": "alwaysRender"}}
    assert find(render_chart(always), "ServiceMonitor")
    failing = {"serviceMonitor": {"enabled": True, "renderMode": "failIfMissing"}}
    with pytest.raises(helm.HelmError, match="ServiceMonitor CRD"):
        render_chart(failing)
    # The metrics Service comes with the ServiceMonitor either way.
    assert find(render_chart(enabled), "Service")


@pytest.mark.parametrize(
    ("kube_version", "api_version"),
    [("v1.20.0", "policy/v1beta1"), ("v1.21.0", "policy/v1"), ("v1.30.2", "policy/v1")],
)
def test_pdb_api_version_follows_the_cluster(kube_version: str, api_version: str) -> None:
    values = {"podDisruptionBudget": {"enabled": True, "maxUnavailable": "50%"}}
    (pdb,) = find(render_chart(values, kube_version=kube_version), "PodDisruptionBudget")
    assert pdb["apiVersion"] == api_version
    assert pdb["spec"] == {
        "maxUnavailable": "50%",
        "selector": pdb["spec"]["selector"],
    }


# --- CRDs --------------------------------------------------------------------------------------


def test_install_crds_renders_every_generated_crd(chart_with_crds: pathlib.Path) -> None:
    objects = render_chart({}, chart_dir=chart_with_crds)
    crds = find(objects, "CustomResourceDefinition")
    assert sorted(c["metadata"]["name"] for c in crds) == sorted(
        c["metadata"]["name"] for c in crdgen.crds()
    )
    generated = {c["metadata"]["name"]: c for c in crdgen.crds()}
    for crd in crds:
        assert crd["spec"] == generated[crd["metadata"]["name"]]["spec"]
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    not_kept = render_chart({"crds": {"keep": False}}, chart_dir=chart_with_crds)
    for crd in find(not_kept, "CustomResourceDefinition"):
        assert "helm.sh/resource-policy" not in crd["metadata"]["annotations"]


def test_install_crds_false_renders_none(chart_with_crds: pathlib.Path) -> None:
    objects = render_chart({"installCRDs": False}, chart_dir=chart_with_crds)
    assert not find(objects, "CustomResourceDefinition")
    assert "asyncso crds | kubectl apply" in notes({"installCRDs": False})
    with helm.Chart.load(chart_with_crds) as chart:
        assert chart.crds == []  # nothing Helm would install behind installCRDs' back


def test_crds_are_where_install_crds_controls_them() -> None:
    """Helm installs anything under crds/ unconditionally (and never upgrades it), which would
    ignore installCRDs: false, and with installCRDs: true make `helm install` fail (the CRDs
    created from crds/ lack Helm's ownership labels when the template renders them again).
    The generator must write to charts/asyncso/files/crds/ (`crdgen.DEFAULT_OUT`)."""
    with helm.Chart.load(CHART_DIR) as chart:
        auto_installed = [c["filename"] for c in chart.crds]
    assert auto_installed == [], (
        f"move {auto_installed} from charts/asyncso/crds/ to charts/asyncso/files/crds/"
    )
    files = sorted(p.name for p in (CHART_DIR / "files" / "crds").glob("*.yaml"))
    assert files == sorted(crdgen.files())
    for name, text in crdgen.files().items():
        assert (CHART_DIR / "files" / "crds" / name).read_text() == text, f"{name} is stale"


# --- NOTES and lint ----------------------------------------------------------------------------


def test_notes_warn_about_replicas_without_leader_election() -> None:
    assert "WARNING" in notes({"replicaCount": 2})
    assert "WARNING" not in notes({"replicaCount": 2, "leaderElect": True})


def test_helm_lint_is_clean() -> None:
    report = helm.lint(CHART_DIR, strict=True, kube_version="v1.20.0")
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == []


def test_generic_targets_switch_the_flag_and_the_configmap_rule() -> None:
    def configmap_verbs(values: dict[str, Any]) -> set[str]:
        (role,) = find(render_chart(values), "ClusterRole", "asyncso-controller")
        return {
            verb
            for rule in role["rules"]
            if "configmaps" in rule["resources"]
            for verb in rule["verbs"]
        }

    on = {"genericTargets": {"enabled": True}}
    (deployment,) = find(render_chart(on), "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--unsafe-allow-generic-targets" in args
    assert _parse(args).unsafe_allow_generic_targets is True
    assert configmap_verbs(on) == {"get", "create", "update", "delete"}
    assert configmap_verbs({}) == {"get"}
