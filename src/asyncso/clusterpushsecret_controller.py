"""ClusterPushSecret: ESO's fan-out of one PushSecret spec to the namespaces its selectors pick.

Why this module: it says what is specific to this kind (ESO's `pkg/controllers/clusterpushsecret`)
for the generic `fanout_controller`: the PushSecret's name (`pushSecretName`, default the
ClusterPushSecret's), its labels and annotations (`pushSecretMetadata`), the namespaces
(`namespaceSelectors`, ORed), `refreshTime` (default 1h) and ESO's status (`pushSecretName`,
`provisionedNamespaces`, `failedNamespaces`, a `Ready` condition, "one or more namespaces failed").

Difference from ESO, on purpose: ESO relies on the garbage collector to remove the PushSecrets
when the ClusterPushSecret goes; here a finalizer (`model_push.CLUSTER_FINALIZER`) deletes them
first, so each PushSecret's own `deletionPolicy` runs while the operator is there to run it.
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
    model_push,
    names,
    ports,
    selectors,
    settings,
    status,
    timing,
)

KIND = fanout.FanoutKind(
    kind=model_push.CLUSTER_KIND,
    api_version=model_push.API_VERSION,
    child_kind=model_push.KIND,
    child_api_version=model_push.API_VERSION,
    finalizer=model_push.CLUSTER_FINALIZER,
    msg_exists="push secret already exists in namespace",
    msg_delete_failed="failed to delete push secret",
)
DEFAULT_REFRESH = "1h"

_decoder = msgspec.json.Decoder(model_push.ClusterPushSecret)


class ClusterPushSecretRules:
    kind = KIND
    gauges = fanout_controller.ParentGauges(
        metrics.CLUSTERPUSHSECRET_STATUS_CONDITION, metrics.CLUSTERPUSHSECRET_RECONCILE_DURATION
    )

    def decode(self, raw: bytes) -> fanout.Parent:
        cps = _decoder.decode(raw)
        generic = fanout.raw_parent(raw)
        spec = cps.spec
        child_name = names.check_object(
            spec.push_secret_name or cps.metadata.name,
            kind=model_push.KIND,
            field="spec.pushSecretName",
        )
        meta = spec.push_secret_metadata or model_push.PushSecretMetadata()
        for index, selector in enumerate(spec.namespace_selectors):
            selectors.check(selector, field=f"spec.namespaceSelectors[{index}]")
        refresh = timing.parse_duration(
            spec.refresh_time or DEFAULT_REFRESH, field="spec.refreshTime"
        )
        return fanout.Parent(
            meta=cps.metadata,
            child_name=child_name,
            child_labels=dict(meta.labels),
            child_annotations=dict(meta.annotations),
            child_spec=generic.spec.get("pushSecretSpec") or {},
            selectors=tuple(spec.namespace_selectors),
            names=(),
            refresh_seconds=refresh,
            last_child_name=cps.status.push_secret_name,
            provisioned=tuple(cps.status.provisioned_namespaces),
            status=generic.status,
        )

    def status(
        self, parent: fanout.Parent, *, provisioned: list[str], failed: dict[str, str], now: float
    ) -> dict[str, Any]:
        message = fanout.MSG_NAMESPACES_FAILED if failed else ""
        condition = status.ready(not failed, "", message)
        return {
            "pushSecretName": parent.child_name,
            "provisionedNamespaces": sorted(provisioned) or None,
            "failedNamespaces": fanout.failures(failed),
            "conditions": _conditions(parent.status, condition, now=now),
        }

    def invalid_status(self, item: fanout.InvalidParent, *, now: float) -> dict[str, Any]:
        message = f"invalid ClusterPushSecret: {errors.redact(item.error)}"
        condition = status.ready(False, "Errored", message)
        return {"conditions": msgspec.to_builtins(status.set_condition([], condition, now=now))}


def _conditions(
    current: dict[str, Any], condition: model.Condition, *, now: float
) -> list[dict[str, Any]]:
    """The conditions with `condition` set (its transition time kept when the status holds)."""
    old = msgspec.convert(current.get("conditions") or [], list[model.Condition])
    conditions: list[dict[str, Any]] = msgspec.to_builtins(
        status.set_condition(old, condition, now=now)
    )
    return conditions


def controller(
    kube_client: ports.FanoutKube,
    config: settings.Settings,
    *,
    may_write: Callable[[], bool] | None = None,
) -> fanout_controller.FanoutController:
    """The ClusterPushSecret controller (children: PushSecrets)."""
    return fanout_controller.FanoutController(
        ClusterPushSecretRules(), kube_client=kube_client, config=config, may_write=may_write
    )
