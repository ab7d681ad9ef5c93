"""PushSecret planning (pure): checks, store selection, data/dataTo expansion, synced state,
timing and status patches; the value a push writes (`push_value`, `json_property`)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from asyncso import (
    errors,
    json_property,
    model,
    model_push,
    push_plan,
    push_report,
    push_value,
    stores,
)


def ps(**spec: Any) -> model_push.PushSecret:
    body = {
        "metadata": {"name": "p", "namespace": "n", "generation": 1},
        "spec": {
            "secretStoreRefs": [{"name": "aws", "kind": "SecretStore"}],
            "selector": {"secret": {"name": "src"}},
            **spec,
        },
    }
    return msgspec.convert(body, model_push.PushSecret)


def store(name: str = "aws", *, kind: str = "SecretStore", **labels: str) -> model.SecretStore:
    return msgspec.convert(
        {
            "metadata": {
                "name": name,
                "namespace": "" if kind != "SecretStore" else "n",
                "labels": labels,
            },
            "spec": {"provider": {"fake": {}}},
            "kind": kind,
        },
        model.SecretStore,
    )


def target(name: str = "aws", **labels: str) -> push_plan.Target:
    return push_plan.Target("SecretStore", name, store(name, **labels))


def entry(key: str, remote: str, prop: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "match": {"secretKey": key, "remoteRef": {"remoteKey": remote, "property": prop}},
        **extra,
    }


DATA = {"user": b"u", "pass": b"p", "host_U002e_name": b"h"}


# --- checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"selector": {}}, "exactly one of secret or generatorRef"),
        (
            {"selector": {"generatorRef": {"name": "g", "kind": "Vault"}}},
            r'spec.selector.generatorRef.kind: generator kind "Vault" is not supported',
        ),
        (
            {"selector": {"generatorRef": {"name": "../g", "kind": "Password"}}},
            "spec.selector.generatorRef.name",
        ),
        (
            {
                "selector": {
                    "secret": {"name": "s"},
                    "generatorRef": {"name": "g", "kind": "Password"},
                }
            },
            "exactly one of secret or generatorRef",
        ),
        ({"selector": {"secret": {}}}, "name or selector is required"),
        ({"selector": {"secret": {"name": "../x"}}}, "not a valid Secret name"),
        ({"refreshInterval": "often"}, "spec.refreshInterval"),
        ({"secretStoreRefs": [{"kind": "SecretStore"}]}, "name or labelSelector is required"),
        ({"data": [entry("k", "")]}, r"spec.data\[0\].match.remoteRef.remoteKey: required"),
        ({"dataTo": [{}]}, "storeRef must specify either name or labelSelector"),
        ({"dataTo": [{"storeRef": {"name": "other"}}]}, "not found in secretStoreRefs"),
        (
            {
                "dataTo": [
                    {
                        "storeRef": {"name": "aws"},
                        "remoteKey": "b",
                        "rewrite": [{"regexp": {"source": "a", "target": "b"}}],
                    }
                ]
            },
            "mutually exclusive",
        ),
        (
            {"dataTo": [{"storeRef": {"name": "aws"}, "rewrite": [{}]}]},
            "exactly one of regexp or transform",
        ),
        ({"dataTo": [{"storeRef": {"name": "aws"}, "match": {"regexp": "("}}]}, "regexp"),
    ],
)
def test_validate_refuses(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.InvalidSpecError, match=message):
        push_plan.validate(ps(**spec))


@pytest.mark.parametrize(
    ("refs", "synced", "key", "uses"),
    [
        ([{"name": "aws"}], {}, ("SecretStore", "n", "aws"), True),
        ([{"name": "aws"}], {}, ("SecretStore", "other", "aws"), False),
        ([{"name": "aws"}], {}, ("ClusterSecretStore", "", "aws"), False),
        ([{"name": "aws"}], {}, ("SecretStore", "n", "gcp"), False),
        (
            [{"name": "aws", "kind": "ClusterSecretStore"}],
            {},
            ("ClusterSecretStore", "", "aws"),
            True,
        ),
        ([{"labelSelector": {"matchLabels": {"a": "b"}}}], {}, ("SecretStore", "n", "x"), True),
        (
            [{"labelSelector": {"matchLabels": {"a": "b"}}}],
            {},
            ("ClusterSecretStore", "", "x"),
            False,
        ),
        ([{"name": "aws"}], {"SecretStore/old": {}}, ("SecretStore", "n", "old"), True),
    ],
)
def test_uses_store(
    refs: list[dict[str, Any]], synced: dict[str, Any], key: stores.StoreKey, uses: bool
) -> None:
    """Which store changes wake a PushSecret: named, maybe selected, or pushed to before."""
    item = msgspec.structs.replace(
        ps(secretStoreRefs=refs),
        status=model_push.PushSecretStatus(synced_push_secrets=synced),
    )
    assert push_plan.uses_store(item, key) is uses


def test_validate_accepts_esos_example() -> None:
    push_plan.validate(ps(data=[entry("user", "db/user")], updatePolicy="IfNotExists"))


# --- stores --------------------------------------------------------------------------------------


def _entries(*items: model.SecretStore, deleting: str = "") -> dict[Any, stores.StoreEntry]:
    out = {}
    for s in items:
        meta = s.metadata
        if meta.name == deleting:
            meta = msgspec.structs.replace(meta, deletion_timestamp="2024-01-01T00:00:00Z")
        key = stores.store_key(s.kind, meta.namespace, meta.name)
        out[key] = stores.StoreEntry(meta=meta, kind=s.kind, store=s)
    return out


def test_select_stores_by_name_and_label_skipping_deleting_and_foreign_ones() -> None:
    foreign = msgspec.structs.replace(
        store("foreign", tier="a"),
        spec=msgspec.structs.replace(store().spec, controller="other"),
    )
    entries = _entries(
        store("aws"),
        store("a1", tier="a"),
        store("a2", tier="a"),
        store("gone", tier="a"),
        foreign,
        store("css", kind="ClusterSecretStore", tier="a"),
        deleting="gone",
    )
    spec = ps(
        secretStoreRefs=[
            {"name": "aws"},
            {"labelSelector": {"matchLabels": {"tier": "a"}}},
            {"labelSelector": {"matchLabels": {"tier": "a"}}, "kind": "ClusterSecretStore"},
        ]
    )
    got = push_plan.select_stores(
        spec, entries=entries, verdicts={}, namespace_labels={}, controller_class="default"
    )
    assert [t.key for t in got] == [
        "SecretStore/aws",
        "SecretStore/a1",
        "SecretStore/a2",
        "ClusterSecretStore/css",
    ]


def test_a_missing_named_store_is_an_error() -> None:
    with pytest.raises(errors.StoreNotFoundError):
        push_plan.select_stores(
            ps(), entries={}, verdicts={}, namespace_labels={}, controller_class="default"
        )


# --- entries -------------------------------------------------------------------------------------


def test_data_entries_carry_their_value_source() -> None:
    planned = push_plan.plan_entries(
        ps(data=[entry("user", "db", "u"), entry("", "whole")]), DATA, target()
    )
    assert [
        (p.entry.remote_key, p.entry.property, p.entry.secret_key) for p in planned if p.entry
    ] == [("db", "u", "user"), ("whole", "", "")]
    assert push_plan.status_ref(planned[0].data) == "db/u"


def test_a_missing_secret_key_fails_that_entry_only() -> None:
    planned = push_plan.plan_entries(
        ps(data=[entry("nope", "x"), entry("user", "y")]), DATA, target()
    )
    assert planned[0].entry is None and "secret key nope does not exist" in str(planned[0].error)
    assert planned[1].entry is not None


def test_reverse_unicode() -> None:
    assert push_plan.reverse_key("host_U002e_name", "ReverseUnicode") == "host.name"
    assert push_plan.reverse_key("a_Ud800_", "ReverseUnicode") == "a\ufffd"
    assert push_plan.reverse_key("host_U002e_name", "None") == "host_U002e_name"
    planned = push_plan.plan_entries(
        ps(data=[entry("host.name", "h", conversionStrategy="ReverseUnicode")]), DATA, target()
    )
    assert planned[0].entry is not None and planned[0].entry.data["host.name"] == b"h"


@pytest.mark.parametrize(
    ("template", "transform"),
    [
        (None, "{{ .value | upper }}"),  # ESO's: a Go template over .value
        ({"engineVersion": "jinja"}, "{{ value | upper }}"),  # the engine the template picks
    ],
)
def test_data_to_per_key_with_match_and_rewrite(
    template: dict[str, Any] | None, transform: str
) -> None:
    spec = ps(
        dataTo=[
            {
                "storeRef": {"name": "aws"},
                "match": {"regexp": "^(user|pass)$"},
                "rewrite": [
                    {"regexp": {"source": "(.*)", "target": "app/$1"}},
                    {"transform": {"template": transform}},
                ],
            }
        ],
        **({"template": template} if template is not None else {}),
    )
    planned = push_plan.plan_entries(spec, DATA, target())
    assert [(p.data.match.secret_key, p.data.match.remote_ref.remote_key) for p in planned] == [
        ("pass", "APP/PASS"),
        ("user", "APP/USER"),
    ]


def test_a_jinja_transform_without_engine_version_says_how_to_choose_jinja() -> None:
    rewrite = [{"transform": {"template": "{{ value | upper }}"}}]
    spec = ps(dataTo=[{"storeRef": {"name": "aws"}, "rewrite": rewrite}])
    with pytest.raises(errors.TemplateError, match="engineVersion: jinja"):
        push_plan.plan_entries(spec, DATA, target())


def test_data_to_bundle_carries_only_the_matched_keys() -> None:
    spec = ps(
        dataTo=[{"storeRef": {"name": "aws"}, "remoteKey": "bundle", "match": {"regexp": "^u"}}]
    )
    (planned,) = push_plan.plan_entries(spec, DATA, target())
    assert planned.entry is not None and planned.entry.secret_key == ""
    assert dict(planned.entry.data) == {"user": b"u"}
    assert push_value.desired(None, [planned.entry], whole=push_value.whole_as_text) == (
        b'{"user":"u"}'
    )


def test_data_to_for_other_stores_is_left_out_and_explicit_data_wins() -> None:
    spec = ps(
        secretStoreRefs=[{"name": "aws"}, {"labelSelector": {"matchLabels": {"t": "b"}}}],
        dataTo=[
            {"storeRef": {"name": "aws"}},
            {"storeRef": {"labelSelector": {"matchLabels": {"t": "b"}}}, "remoteKey": "all"},
        ],
        data=[entry("user", "explicit-user")],
    )
    aws = push_plan.plan_entries(spec, DATA, target())
    assert sorted(push_plan.status_ref(p.data) for p in aws) == [
        "explicit-user",
        "host_U002e_name",
        "pass",
    ]
    other = push_plan.plan_entries(spec, DATA, target("b", t="b"))
    assert sorted(push_plan.status_ref(p.data) for p in other) == ["all", "explicit-user"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"data": [entry("user", "x"), entry("pass", "x")]}, "duplicate remote key 'x'"),
        (
            {
                "dataTo": [
                    {
                        "storeRef": {"name": "aws"},
                        "rewrite": [{"regexp": {"source": ".*", "target": "same"}}],
                    }
                ]
            },
            "duplicate remote key 'same'",
        ),
        (
            {
                "dataTo": [
                    {
                        "storeRef": {"name": "aws"},
                        "rewrite": [{"regexp": {"source": ".*", "target": ""}}],
                    }
                ]
            },
            "empty remote key",
        ),
    ],
)
def test_two_entries_may_not_write_one_place(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.InvalidSpecError, match=message):
        push_plan.plan_entries(ps(**spec), DATA, target())


def test_a_data_to_selector_matching_no_store_is_an_error() -> None:
    spec = ps(dataTo=[{"storeRef": {"labelSelector": {"matchLabels": {"t": "zzz"}}}}])
    with pytest.raises(errors.InvalidSpecError, match="does not match any store"):
        push_plan.check_data_to_matches(spec, [target()])


# --- synced state, deletes, timing, status -------------------------------------------------------


def _data(remote: str, prop: str = "") -> model_push.PushSecretData:
    return msgspec.convert(entry("k", remote, prop), model_push.PushSecretData)


def test_merge_and_deletes_follow_esos_bookkeeping() -> None:
    old = {
        "SecretStore/a": {"x": _data("x"), "y/p": _data("y", "p")},
        "SecretStore/gone": {"z": _data("z")},
    }
    new = {"SecretStore/a": {"x": _data("x")}}
    assert push_report.to_delete(old, new) == {
        "SecretStore/a": {"y/p": model_push.RemoteLocation("y", "p")},
        "SecretStore/gone": {"z": model_push.RemoteLocation("z")},
    }
    merged = push_report.merge_synced(new, old)
    assert set(merged["SecretStore/a"]) == {"x", "y/p"} and "SecretStore/gone" in merged
    assert push_report.store_of_key("ClusterSecretStore/c") == model.StoreRef(
        name="c", kind="ClusterSecretStore"
    )
    with pytest.raises(errors.InvalidSpecError):
        push_report.store_of_key("Nope/x")


def test_timing_is_esos_should_refresh() -> None:
    fresh = ps(refreshInterval="1h")
    assert push_report.is_due(fresh, now=0)  # never synced
    synced = msgspec.structs.replace(
        fresh,
        status=model_push.PushSecretStatus(
            refresh_time="1970-01-01T00:00:00Z",
            synced_resource_version=push_report.synced_version(fresh),
        ),
    )
    assert not push_report.is_due(synced, now=3599)
    assert push_report.is_due(synced, now=3600)
    assert push_report.due_at_start(synced, now=10, jitter=0, rand=0) == (False, 3600)
    relabelled = msgspec.structs.replace(
        synced, metadata=msgspec.structs.replace(synced.metadata, labels={"a": "b"})
    )
    assert push_report.is_due(relabelled, now=10)
    once = msgspec.structs.replace(
        synced, spec=msgspec.structs.replace(synced.spec, refresh_interval="0")
    )
    assert not push_report.is_due(once, now=10**9)


def test_status_patch_shrinks_the_synced_map_and_skips_a_repeated_failure() -> None:
    old = ps()
    old = msgspec.structs.replace(
        old,
        status=model_push.PushSecretStatus(
            synced_push_secrets={"SecretStore/a": {"x": _data("x"), "y": _data("y")}}
        ),
    )
    report = push_report.Report(
        True, "Synced", push_report.MSG_SYNCED, synced={"SecretStore/a": {"x": _data("x")}}
    )
    patch = push_report.status_patch(old, report, now=0, started=0)
    assert patch is not None
    assert patch["syncedPushSecrets"] == {"SecretStore/a": {"y": None}}
    assert patch["refreshTime"] == "1970-01-01T00:00:00Z"
    assert patch["conditions"][0]["reason"] == "Synced"
    failing = msgspec.structs.replace(
        old,
        status=msgspec.structs.replace(
            old.status,
            conditions=[
                model.Condition(type="Ready", status="False", reason="Errored", message="boom")
            ],
        ),
    )
    assert push_report.status_patch(failing, push_report.failed("boom"), now=5, started=5) is None


def test_push_failure_messages_are_esos() -> None:
    data = _data("x")
    assert push_report.push_failure([(data, "aws", errors.PermanentError("nope"))]) == (
        "set secret failed: could not write remote ref k to target secretstore aws: nope"
    )
    two = [(data, "aws", errors.InvalidSpecError("secret key k does not exist"))] * 2
    assert push_report.push_failure(two) == (
        "set secret failed: secret key k does not exist (and 1 more)"
    )


# --- values --------------------------------------------------------------------------------------


def test_whole_secret_serialisations_are_gos() -> None:
    data = {"b": b"<&>", "a": b"\xff", "c": "\u2028".encode()}
    assert push_value.whole_as_text(data) == '{"a":"\ufffd","b":"<&>","c":"\\u2028"}'.encode()
    assert push_value.whole_as_base64({"k": b"v"}) == b'{"k":"dg=="}'


def test_property_merge_keeps_other_keys_and_refuses_non_json() -> None:
    assert json_property.set_value(b'{"a": "1"}', "b", b"2") == b'{"a":"1","b":"2"}'
    assert json_property.set_value(None, "x.y", b"v") == b'{"x":{"y":"v"}}'
    assert json_property.set_value(b'{"a":1}', "a\\.b", b"v") == b'{"a":1,"a.b":"v"}'
    with pytest.raises(errors.PermanentError, match="JSON object"):
        json_property.set_value(b"plain text", "a", b"v")
    with pytest.raises(errors.PermanentError, match="not a JSON object"):
        json_property.set_value(b'{"a":"s"}', "a.b", b"v")
    with pytest.raises(errors.InvalidSpecError):
        json_property.set_value(b"{}", "a.*", b"v")
    assert json_property.remove(b'{"a":"1","b":"2"}', "a") == b'{"b":"2"}'
    assert json_property.remove(b'{"a":"1"}', "a") is None
    assert json_property.get(b'{"a":{"b":"c"}}', "a.b") == "c"


def test_desired_applies_entries_in_order() -> None:
    def e(key: str, prop: str = "") -> model_push.PushEntry:
        return model_push.PushEntry("r", prop, key, {"u": b"U", "p": b"P"}, None)

    whole = push_value.whole_as_text
    assert push_value.desired(b'{"x":"1"}', [e("u", "user"), e("p", "pw")], whole=whole) == (
        b'{"x":"1","user":"U","pw":"P"}'
    )
    assert push_value.desired(b"old", [e("u")], whole=whole) == b"U"
    assert push_value.desired(None, [e("")], whole=whole) == b'{"p":"P","u":"U"}'
