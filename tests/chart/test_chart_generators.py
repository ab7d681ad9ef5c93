"""The chart's RBAC for generators (its own block in templates/rbac.yaml): `get` on the
generator kinds asyncso runs, ESO's GeneratorState rights (no `get`: never called), and
ClusterGenerators as ESO's `processClusterGenerator` says; no cluster-wide grant in scoped
mode."""

from __future__ import annotations

from typing import Any

from chart_support import find, render_chart

GEN = "generators.external-secrets.io"
KINDS = {"passwords", "uuids", "fakes", "ecrauthorizationtokens", "stssessiontokens"}


def _grants(role: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (resource, verb)
        for rule in role["rules"]
        if GEN in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_default_grants_read_generators_and_keep_generator_states() -> None:
    (role,) = find(render_chart({}), "ClusterRole", "asyncso-controller")
    assert _grants(role) == {
        *((kind, "get") for kind in (*KINDS, "clustergenerators")),
        *(("generatorstates", v) for v in ("list", "watch", "create", "patch", "delete")),
    }


def test_process_cluster_generator_false_drops_cluster_generators() -> None:
    (role,) = find(
        render_chart({"processClusterGenerator": False}), "ClusterRole", "asyncso-controller"
    )
    assert {r for r, _ in _grants(role)} == {*KINDS, "generatorstates"}


def test_scoped_mode_grants_generators_in_the_role_only() -> None:
    objects = render_chart({"scopedNamespace": "apps", "scopedRBAC": True})
    (role,) = find(objects, "Role", "asyncso-controller")
    assert {r for r, _ in _grants(role)} == {*KINDS, "clustergenerators", "generatorstates"}
    for cluster_role in find(objects, "ClusterRole"):
        assert _grants(cluster_role) == set()
