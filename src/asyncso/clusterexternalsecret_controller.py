"""ClusterExternalSecret: ESO's fan-out of one ExternalSecret spec to many namespaces.

Why this module: it says what is specific to this kind (ESO's
`pkg/controllers/clusterexternalsecret`) for the generic `fanout_controller`: the ExternalSecret's
name (`externalSecretName`, default the ClusterExternalSecret's), its labels and annotations
(`externalSecretMetadata`, plus the `force-sync` annotation copied from the parent, as ESO does),
the namespaces (`namespaceSelectors`, the deprecated `namespaceSelector` and `namespaces`, ORed),
`refreshTime` (default 1h), and ESO's status: `externalSecretName`, `provisionedNamespaces`,
`failedNamespaces` and a `Ready` condition without reason ("one or more namespaces failed").

Differences from ESO, on purpose: no finalizer is put on namespaces (ESO adds
`externalsecrets.external-secrets.io/ces-<name>` to each, which needs `update` on every
Namespace; the namespace watch here sees a terminating namespace at once); a namespace that
stops matching loses its ExternalSecret on the namespace event, not at the next refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from asyncso import (
    errors,
    fanout,
    fanout_controller,
    metrics,
    model,
    model_cluster,
    names,
    ports,
    selectors,
    settings,
    status,
    timing,
)

KIND = fanout.FanoutKind(
    kind=model_cluster.KIND,
    api_version=model.API_VERSION,
    child_kind="ExternalSecret",
    child_api_version=model.API_VERSION,
    finalizer=model_cluster.FINALIZER,
    msg_exists="external secret already exists in namespace",
)

_decoder = msgspec.json.Decoder(model_cluster.ClusterExternalSecret)


class ClusterExternalSecretRules:
    kind = KIND
    gauges = fanout_controller.ParentGauges(
        metrics.CLUSTEREXTERNALSECRET_STATUS_CONDITION,
        metrics.CLUSTEREXTERNALSECRET_RECONCILE_DURATION,
    )

    def decode(self, raw: bytes) -> fanout.Parent:
        ces = _decoder.decode(raw)
        generic = fanout.raw_parent(raw)
        spec = ces.spec
        child_name = names.check_object(
            spec.external_secret_name or ces.metadata.name,
            kind="ExternalSecret",
            field="spec.externalSecretName",
        )
        meta = spec.external_secret_metadata or model_cluster.ExternalSecretMetadata()
        annotations = dict(meta.annotations)
        forced = ces.metadata.annotations.get(model_cluster.ANNOTATION_FORCE_SYNC)
        if forced is not None:
            annotations[model_cluster.ANNOTATION_FORCE_SYNC] = forced
        else:
            annotations.pop(model_cluster.ANNOTATION_FORCE_SYNC, None)
        chosen = ([spec.namespace_selector] if spec.namespace_selector else []) + list(
            spec.namespace_selectors
        )
        for index, selector in enumerate(chosen):
            selectors.check(selector, field=f"spec.namespaceSelectors[{index}]")
        for index, namespace in enumerate(spec.namespaces):
            names.check_namespace(namespace, field=f"spec.namespaces[{index}]")
        refresh = timing.parse_duration(
            spec.refresh_time or model_cluster.DEFAULT_REFRESH, field="spec.refreshTime"
        )
        return fanout.Parent(
            meta=ces.metadata,
            child_name=child_name,
            child_labels=dict(meta.labels),
            child_annotations=annotations,
            child_spec=generic.spec.get("externalSecretSpec") or {},
            selectors=tuple(chosen),
            names=tuple(spec.namespaces),
            refresh_seconds=refresh,
            last_child_name=ces.status.external_secret_name,
            provisioned=tuple(ces.status.provisioned_namespaces),
            status=generic.status,
        )

    def status(
        self, parent: fanout.Parent, *, provisioned: list[str], failed: dict[str, str], now: float
    ) -> dict[str, Any]:
        ready: dict[str, Any] = {"type": status.READY, "status": "True"}
        if failed:
            ready = {
                "type": status.READY,
                "status": "False",
                "message": fanout.MSG_NAMESPACES_FAILED,
            }
        return {
            "externalSecretName": parent.child_name,
            "provisionedNamespaces": sorted(provisioned) or None,
            "failedNamespaces": fanout.failures(failed),
            "conditions": [*_other_conditions(parent.status), ready],
        }

    def invalid_status(self, item: fanout.InvalidParent, *, now: float) -> dict[str, Any]:
        message = f"invalid ClusterExternalSecret: {errors.redact(item.error)}"
        return {"conditions": [{"type": status.READY, "status": "False", "message": message}]}


def _other_conditions(current: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in current.get("conditions") or [] if c.get("type") != status.READY]


def controller(
    kube_client: ports.FanoutKube,
    config: settings.Settings,
    *,
    may_write: Callable[[], bool] | None = None,
) -> fanout_controller.FanoutController:
    """The ClusterExternalSecret controller (children: ExternalSecrets)."""
    return fanout_controller.FanoutController(
        ClusterExternalSecretRules(), kube_client=kube_client, config=config, may_write=may_write
    )
