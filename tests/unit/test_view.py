"""The view's indexes: whom to wake when a store, a namespace or a target Secret changes."""

from __future__ import annotations

import msgspec
from core_fixtures import es

from asyncso import model, view

STORE = ("SecretStore", "ns", "store")
OTHER = ("SecretStore", "ns", "other")
CLUSTER = ("ClusterSecretStore", "", "css")


def test_readers_and_writers_follow_puts_and_drops() -> None:
    state = view.View()
    a = es(name="a", target={"name": "shared"})
    b = es(
        name="b",
        target={"name": "shared"},
        data=[
            {
                "secretKey": "k",
                "remoteRef": {"key": "x"},
                "sourceRef": {"storeRef": {"name": "other"}},
            }
        ],
    )
    state.put_externalsecret(("ns", "a"), a)
    state.put_externalsecret(("ns", "b"), b)
    assert state.readers_of_store(STORE) == {("ns", "a"), ("ns", "b")}
    assert state.readers_of_store(OTHER) == {("ns", "b")}
    assert state.writers_of(("ns", "shared")) == {("ns", "a"), ("ns", "b")}
    # b changes its target: the old index entry goes
    state.put_externalsecret(("ns", "b"), es(name="b", target={"name": "own"}))
    assert state.writers_of(("ns", "shared")) == {("ns", "a")}
    assert state.readers_of_store(OTHER) == set()
    state.drop_externalsecret(("ns", "a"))
    assert state.writers_of(("ns", "shared")) == set()
    assert ("ns", "a") not in state.externalsecrets
    assert state._by_store.keys() == {STORE}  # no empty index entries left behind


def test_invalid_objects_are_kept_but_not_indexed() -> None:
    state = view.View()
    bad = view.InvalidObject(meta=model.ObjectMeta(name="x", namespace="ns"), error="bad")
    state.put_externalsecret(("ns", "x"), bad)
    assert state.externalsecrets[("ns", "x")] is bad
    assert state.readers_of_store(STORE) == set()


def test_namespace_readers_are_cluster_store_readers_of_that_namespace() -> None:
    state = view.View()
    ref = model.StoreRef(name="css", kind="ClusterSecretStore")
    for namespace in ("team-a", "team-b"):
        item = es(name="e", namespace=namespace)
        spec = msgspec.structs.replace(item.spec, secret_store_ref=ref)
        state.put_externalsecret((namespace, "e"), msgspec.structs.replace(item, spec=spec))
    state.put_externalsecret(("team-a", "local"), es(name="local", namespace="team-a"))
    assert state.readers_of_cluster_stores() == {("team-a", "e"), ("team-b", "e")}
    assert state.namespace_readers("team-a") == {("team-a", "e")}
    assert state.readers_of_store(CLUSTER) == {("team-a", "e"), ("team-b", "e")}


def test_compact_keeps_the_externalsecret_equal_and_shares_repeated_strings() -> None:
    def decoded(name: str) -> model.ExternalSecret:
        body = msgspec.json.encode(
            es(
                name=name,
                data=[{"secretKey": "password", "remoteRef": {"key": "db", "property": "pw"}}],
                status={
                    "refreshTime": "2026-11-30T10:00:00Z",
                    "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced"}],
                },
            )
        )
        return msgspec.json.decode(body, type=model.ExternalSecret)

    first, second = decoded("a"), decoded("b")
    assert view.compact(first) == first
    a, b = view.compact(first), view.compact(second)
    assert a.metadata.namespace is b.metadata.namespace
    assert a.spec.data[0].remote_ref.property is b.spec.data[0].remote_ref.property
    assert a.status.conditions[0].reason is b.status.conditions[0].reason
    assert a.status.refresh_time is b.status.refresh_time


# --- a status write's echo keeps the spec the view holds ---------------------------------------


def test_an_echo_of_the_same_generation_keeps_the_views_spec() -> None:
    state = view.View()
    first = view.compact(es(name="a", status={"refreshTime": "2026-11-30T10:00:00Z"}))
    state.put_externalsecret(("ns", "a"), first)
    echo = es(name="a", status={"refreshTime": "2026-11-30T10:01:00Z"})
    spec = view.same_spec(first, echo)
    assert spec is first.spec
    kept = view.compact(echo, spec=spec)
    assert kept.spec is first.spec and kept == view.compact(echo)
    assert kept.status.refresh_time == "2026-11-30T10:01:00Z"
    state.put_externalsecret(("ns", "a"), kept)
    assert state.externalsecrets[("ns", "a")] is kept
    assert state.readers_of_store(STORE) == {("ns", "a")}
    assert state.writers_of(("ns", "a")) == {("ns", "a")}


def test_another_generation_or_object_gets_its_own_spec() -> None:
    first = view.compact(es(name="a"))
    assert view.same_spec(first, es(name="a", generation=2)) is None
    assert view.same_spec(first, es(name="a", uid="uid-2")) is None
    assert (
        view.same_spec(view.compact(es(name="a", generation=0)), es(name="a", generation=0)) is None
    )
    bad = view.InvalidObject(meta=model.ObjectMeta(name="a", namespace="ns"), error="bad")
    assert view.same_spec(bad, es(name="a")) is None
    assert view.same_spec(None, es(name="a")) is None


def test_a_new_spec_is_indexed_again() -> None:
    state = view.View()
    state.put_externalsecret(("ns", "a"), es(name="a", target={"name": "one"}))
    state.put_externalsecret(("ns", "a"), es(name="a", generation=2, target={"name": "two"}))
    assert state.writers_of(("ns", "one")) == set()
    assert state.writers_of(("ns", "two")) == {("ns", "a")}
