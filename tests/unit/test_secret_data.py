from __future__ import annotations

import hashlib

import pytest
from core_fixtures import es

from asyncso import errors, secret_data


def test_data_hash_matches_eso_objecthash() -> None:
    # ESO: sha3.Sum224 of fmt.Sprintf("%+v", map[string][]byte{...}); keys sorted by fmt.
    data = {"b": b"\x01\x02", "a": b"hi"}
    assert secret_data.go_map_repr(data) == "map[a:[104 105] b:[1 2]]"
    assert secret_data.data_hash(data) == hashlib.sha3_224(b"map[a:[104 105] b:[1 2]]").hexdigest()
    assert secret_data.go_map_repr({}) == "map[]"
    assert secret_data.go_map_repr({"e": b""}) == "map[e:[]]"


def test_data_overrides_data_from_and_later_data_from_wins() -> None:
    spec = es(
        data=[{"secretKey": "user", "remoteRef": {"key": "k"}}],
        data_from=[{"extract": {"key": "a"}}, {"extract": {"key": "b"}}],
    ).spec
    fetched = secret_data.Fetched(
        data=[b"from-data"],
        data_from=[{"user": b"a", "x": b"1"}, {"x": b"2", "y": b"3"}],
    )
    assert secret_data.merge(spec, fetched) == {"user": b"from-data", "x": b"2", "y": b"3"}


def test_missing_entries_are_dropped() -> None:
    spec = es(
        data=[
            {"secretKey": "a", "remoteRef": {"key": "k"}},
            {"secretKey": "b", "remoteRef": {"key": "k2"}},
        ],
        data_from=[{"extract": {"key": "gone"}}],
    ).spec
    assert secret_data.merge(spec, secret_data.Fetched(data=[None, b"2"], data_from=[None])) == {
        "b": b"2"
    }


def test_decoding_strategy_per_entry() -> None:
    spec = es(
        data=[{"secretKey": "a", "remoteRef": {"key": "k", "decodingStrategy": "Base64"}}],
        data_from=[{"extract": {"key": "k", "decodingStrategy": "Base64URL"}}],
    ).spec
    got = secret_data.merge(spec, secret_data.Fetched(data=[b"aGk="], data_from=[{"u": b"_-8="}]))
    assert got == {"a": b"hi", "u": b"\xff\xef"}


def test_conversion_unicode_applies_without_rewrite() -> None:
    spec = es(data_from=[{"extract": {"key": "k", "conversionStrategy": "Unicode"}}]).spec
    got = secret_data.merge(spec, secret_data.Fetched(data=[], data_from=[{"a/b": b"1"}]))
    assert got == {"a_U002f_b": b"1"}


def test_rewrite_replaces_conversion() -> None:
    spec = es(
        data_from=[
            {
                "extract": {"key": "k"},
                "rewrite": [{"regexp": {"source": "^path/(.*)$", "target": "$1"}}],
            }
        ]
    ).spec
    got = secret_data.merge(spec, secret_data.Fetched(data=[], data_from=[{"path/user": b"u"}]))
    assert got == {"user": b"u"}


@pytest.mark.parametrize("key", ["bad/key", "", "a b"])
def test_invalid_keys_name_the_field(key: str) -> None:
    spec = es(data=[{"secretKey": key, "remoteRef": {"key": "k"}}]).spec
    with pytest.raises(errors.InvalidSpecError, match=r"spec\.data\[0\]\.secretKey"):
        secret_data.merge(spec, secret_data.Fetched(data=[b"v"], data_from=[]))


def test_invalid_keys_from_extract_name_the_entry() -> None:
    spec = es(data_from=[{"extract": {"key": "k"}}]).spec
    # Default conversion maps "a/b" to "a_b" (as ESO), but ".." stays invalid.
    assert secret_data.merge(spec, secret_data.Fetched(data=[], data_from=[{"a/b": b"1"}])) == {
        "a_b": b"1"
    }
    with pytest.raises(errors.InvalidSpecError, match=r"spec\.dataFrom\[0\]"):
        secret_data.merge(spec, secret_data.Fetched(data=[], data_from=[{"..": b"1"}]))


# --- where the merge runs: inline when small and plain ---------------------------------------


def test_small_plain_data_merges_inline() -> None:
    spec = es(
        data=[{"secretKey": "a", "remoteRef": {"key": "k"}}],
        data_from=[{"extract": {"key": "e"}}],
    ).spec
    fetched = secret_data.Fetched(data=[b"1"], data_from=[{"x": b"2"}])
    assert secret_data.merge_inline(spec, fetched)
    assert secret_data.merge_inline(spec, secret_data.Fetched(data=[None], data_from=[None]))


@pytest.mark.parametrize(
    "rewrite",
    [
        {"regexp": {"source": "a", "target": "b"}},
        {"transform": {"template": "{{ .value }}"}},
    ],
)
def test_a_rewrite_keeps_the_merge_off_the_loop(rewrite: dict[str, object]) -> None:
    spec = es(data_from=[{"extract": {"key": "e"}, "rewrite": [rewrite]}]).spec
    assert not secret_data.merge_inline(spec, secret_data.Fetched(data=[], data_from=[{"x": b""}]))


def test_a_template_keeps_the_merge_off_the_loop() -> None:
    spec = es(
        data=[{"secretKey": "a", "remoteRef": {"key": "k"}}],
        target={"template": {"data": {"a": "{{ .a }}"}}},
    ).spec
    assert not secret_data.merge_inline(spec, secret_data.Fetched(data=[b"1"], data_from=[]))


def test_data_beyond_the_bound_keeps_the_merge_off_the_loop() -> None:
    spec = es(
        data=[{"secretKey": "a", "remoteRef": {"key": "k"}}],
        data_from=[{"extract": {"key": "e"}}],
    ).spec
    edge = secret_data.INLINE_BYTES
    at_bound = secret_data.Fetched(data=[b"v" * (edge - 2)], data_from=[{"x": b"y"}])
    assert secret_data.merge_inline(spec, at_bound)
    over_in_data = secret_data.Fetched(data=[b"v" * (edge + 1)], data_from=[None])
    assert not secret_data.merge_inline(spec, over_in_data)
    over_in_keys = secret_data.Fetched(data=[None], data_from=[{"k" * edge: b"y"}])
    assert not secret_data.merge_inline(spec, over_in_keys)
