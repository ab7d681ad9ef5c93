"""The chart's grants and flags for PushSecrets, ClusterExternalSecrets and ClusterPushSecrets
(templates/rbac-push.yaml): exactly what the controllers use, each following its process* value,
and only the namespaced PushSecret rules in scoped mode."""

from __future__ import annotations

from typing import Any

from chart_support import container_args, find, render_chart

from asyncso import cli

ES = "external-secrets.io"


def grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


PUSH = {
    (ES, "pushsecrets", "list"),
    (ES, "pushsecrets", "watch"),
    (ES, "pushsecrets", "patch"),
    (ES, "pushsecrets/status", "patch"),
    ("", "secrets", "get"),
    ("", "secrets", "list"),
    ("", "configmaps", "get"),
}
EVENTS = {("", "events", "create")}
CES = {
    *((ES, "clusterexternalsecrets", v) for v in ("list", "watch", "patch")),
    (ES, "clusterexternalsecrets/status", "patch"),
    (ES, "clusterexternalsecrets/finalizers", "update"),
    *((ES, "externalsecrets", v) for v in ("get", "create", "update", "delete")),
}
CPS = {
    *((ES, "clusterpushsecrets", v) for v in ("list", "watch", "patch")),
    (ES, "clusterpushsecrets/status", "patch"),
    (ES, "clusterpushsecrets/finalizers", "update"),
    *((ES, "pushsecrets", v) for v in ("get", "list", "watch", "create", "update", "delete")),
}


def test_default_grants_are_exactly_what_the_three_controllers_use() -> None:
    (role,) = find(render_chart({}), "ClusterRole", "asyncso-push")
    assert grants(role) == PUSH | EVENTS | CES | CPS
    (binding,) = find(render_chart({}), "ClusterRoleBinding", "asyncso-push")
    assert binding["roleRef"]["name"] == "asyncso-push"
    assert all(rule for rule in role["rules"])


def test_each_controller_can_be_turned_off_with_its_grants() -> None:
    values = {"processClusterExternalSecret": False, "processClusterPushSecret": False}
    objects = render_chart(values)
    (role,) = find(objects, "ClusterRole", "asyncso-push")
    assert grants(role) == PUSH | EVENTS
    config = cli.settings_from(cli.build_parser().parse_args(container_args(objects)))
    assert not config.enable_cluster_external_secret_reconciler
    assert not config.enable_cluster_push_secret_reconciler
    assert config.enable_push_secret_reconciler
    off = render_chart({**values, "processPushSecret": False})
    assert find(off, "ClusterRole", "asyncso-push") == []
    assert "--no-enable-push-secret-reconciler" in container_args(off)


def test_scoped_rbac_keeps_only_pushsecrets_in_a_role() -> None:
    objects = render_chart({"scopedNamespace": "apps", "scopedRBAC": True}, namespace="ops")
    (role,) = find(objects, "Role", "asyncso-push")
    assert role["metadata"]["namespace"] == "apps"
    assert grants(role) == PUSH | EVENTS
    config = cli.settings_from(cli.build_parser().parse_args(container_args(objects)))
    assert not config.enable_cluster_external_secret_reconciler
    assert not config.enable_cluster_push_secret_reconciler
    assert find(objects, "ClusterRole", "asyncso-push") == []
