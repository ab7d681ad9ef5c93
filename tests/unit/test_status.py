"""Conditions, status bodies, gauges and events: ESO's shapes, and no needless rewrites."""

from __future__ import annotations

import msgspec
from core_fixtures import es

from asyncso import metrics, model, plan, status

T0 = 1_700_000_000.0


def test_transition_time_moves_only_on_a_real_transition() -> None:
    first = status.set_condition([], status.ready(True, "A", "ok"), now=T0)
    again = status.set_condition(first, status.ready(True, "B", "still ok"), now=T0 + 60)
    flipped = status.set_condition(again, status.ready(False, "C", "bad"), now=T0 + 120)
    assert first[0].last_transition_time == "2023-11-14T22:13:20Z"
    assert again[0].last_transition_time == first[0].last_transition_time
    assert again[0].reason == "B"
    assert flipped[0].last_transition_time == "2023-11-14T22:15:20Z"


def test_other_conditions_are_kept() -> None:
    other = model.Condition(type="Other", status="True")
    out = status.set_condition([other], status.ready(True, "A", "ok"), now=T0)
    assert [c.type for c in out] == ["Other", "Ready"]
    assert status.find(out) is out[1] and status.find(out, "Nope") is None


def test_same_ignores_the_transition_time() -> None:
    a = status.ready(False, "R", "m")
    b = msgspec.structs.replace(a, last_transition_time="x")
    assert status.same(a, b) and not status.same(None, b)
    assert not status.same(a, status.ready(False, "R", "other"))


def test_a_repeated_failure_is_not_rewritten_but_a_success_is() -> None:
    failure = plan.failure(plan.MSG_GET_DATA, "boom")
    item = es()
    body = status.externalsecret_status(item, failure, now=T0, synced=None, binding="")
    assert body is not None
    failed = msgspec.convert({**msgspec.to_builtins(item), "status": body}, model.ExternalSecret)
    assert status.externalsecret_status(failed, failure, now=T0, synced=None, binding="") is None
    ok = plan.Report(True, plan.REASON_SYNCED, plan.MSG_SYNCED)
    synced = status.externalsecret_status(
        failed, ok, now=T0, synced=("2023-11-14T22:13:20Z", "1-abc"), binding="es1"
    )
    assert synced is not None
    assert synced["refreshTime"] == "2023-11-14T22:13:20Z"
    assert synced["syncedResourceVersion"] == "1-abc"
    assert synced["binding"] == {"name": "es1"}
    assert synced["conditions"][-1]["status"] == "True"


def test_store_status_only_when_it_changes() -> None:
    condition = status.ready(True, "Valid", "store validated")
    first = status.store_status(None, condition, now=T0)
    assert first is not None and first["conditions"][0]["reason"] == "Valid"
    store = msgspec.convert(
        {"metadata": {"name": "s"}, "spec": {"provider": {}}, "status": first}, model.SecretStore
    )
    assert status.store_status(store, condition, now=T0 + 1) is None


def test_invalid_status_names_the_problem() -> None:
    body = status.invalid_status("Expected `str` - at `$.spec.target.name`", now=T0)
    [condition] = body["conditions"]
    assert condition["status"] == "False"
    assert condition["message"].startswith("invalid ExternalSecret: Expected")


def test_condition_gauges_for_each_kind() -> None:
    meta = model.ObjectMeta(name="g", namespace="ns")
    for kind, family, labels in [
        ("ExternalSecret", "externalsecret_status_condition", {"namespace": "ns"}),
        ("SecretStore", "secretstore_status_condition", {"namespace": "ns"}),
        ("ClusterSecretStore", "clustersecretstore_status_condition", {}),
    ]:
        status.set_condition_metric(kind, meta, status.ready(False, "R", "m"))
        values = {
            value: metrics.REGISTRY.get_sample_value(
                family, {"name": "g", "condition": "Ready", "status": value, **labels}
            )
            for value in ("True", "False")
        }
        assert values == {"True": 0.0, "False": 1.0}, kind


def test_events_follow_the_report() -> None:
    assert status.event_for(plan.Report(True, "r", "m")) is None
    created = plan.Report(True, "r", "m", "Created", "Created Secret")
    assert status.event_for(created) == status.Event("Normal", "Created", "Created Secret")
    failed = plan.failure("could not", "why")
    assert status.event_for(failed) == status.Event("Warning", "UpdateFailed", "could not: why")
