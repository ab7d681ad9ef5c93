"""Key mapping: decodingStrategy, conversionStrategy, dataFrom rewrite, Secret key validation.

Expected values are ESO's (its Go unit tests and Go's regexp semantics), worked out by hand.
"""

from __future__ import annotations

import pytest
import re2

from asyncso import errors, keymapping, model


def regexp(source: str, target: str) -> model.Rewrite:
    return model.Rewrite(regexp=model.RewriteRegexp(source=source, target=target))


def transform(template: str) -> model.Rewrite:
    return model.Rewrite(transform=model.RewriteTransform(template=template))


# --- decode ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "value", "expected"),
    [
        ("None", b"Zm9vJV8_YmFy", b"Zm9vJV8_YmFy"),
        ("Base64", b"YmFy", b"bar"),
        ("Base64", b"Zm9vJV8/YmFy", b"foo%_?bar"),
        ("Base64", b"YmFy\r\nYmF6", b"barbaz"),  # Go ignores CR/LF
        ("Base64", b"", b""),
        ("Base64URL", b"Zm9vJV8_YmFy", b"foo%_?bar"),
        ("Auto", b"Zm9vJV8/YmFy", b"foo%_?bar"),
        ("Auto", b"Zm9vJV8_YmFy", b"foo%_?bar"),
        ("Auto", b"foo", b"foo"),
        ("Auto", b"not base64!", b"not base64!"),
        ("Auto", b"\xff\xfe", b"\xff\xfe"),
    ],
)
def test_decode(strategy: model.DecodingStrategy, value: bytes, expected: bytes) -> None:
    assert keymapping.decode(value, strategy) == expected


@pytest.mark.parametrize(
    ("strategy", "value"),
    [
        ("Base64", b"foo"),  # unpadded
        ("Base64", b"Zm9vJV8_YmFy"),  # URL alphabet
        ("Base64", b"s3cr3t value"),
        ("Base64URL", b"foo"),
        ("Base64URL", b"Zm9vJV8/YmFy"),  # standard alphabet
    ],
)
def test_decode_error_names_strategy_not_value(
    strategy: model.DecodingStrategy, value: bytes
) -> None:
    with pytest.raises(errors.InvalidSpecError) as info:
        keymapping.decode(value, strategy)
    assert strategy in str(info.value)
    assert value.decode() not in str(info.value)


# --- convert -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "strategy", "expected"),
    [
        ("plain-key_1.txt", "Default", "plain-key_1.txt"),
        ("path/to/key", "Default", "path_to_key"),
        ("a b:c@d", "Default", "a_b_c_d"),
        ("path/to/key", "Unicode", "path_U002f_to_U002f_key"),
        ("a b", "Unicode", "a_U0020_b"),
        ("smile😀", "Unicode", "smile_U1f600_"),  # five hex digits, as Go's %04x
        ("smile😀", "Default", "smile_"),
        ("café", "Default", "café"),  # ESO keeps Unicode letters (Go's unicode.IsLetter)
        ("٣", "Default", "٣"),  # ... and Unicode digits
    ],
)
def test_convert_key(key: str, strategy: model.ConversionStrategy, expected: str) -> None:
    assert keymapping.convert_key(key, strategy) == expected


def test_convert_keys_collision_is_an_error() -> None:
    with pytest.raises(errors.InvalidSpecError, match="'a/b' and 'a_b' both convert to 'a_b'"):
        keymapping.convert_keys({"a/b": b"1", "a_b": b"2"}, "Default")


def test_convert_keys() -> None:
    assert keymapping.convert_keys({"a/b": b"1", "c": b"2"}, "Default") == {"a_b": b"1", "c": b"2"}


# --- validate ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["a", "A-b_c.d", "..a", "x" * 253, "1"])
def test_valid_secret_keys(key: str) -> None:
    keymapping.validate_secret_key(key)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "must not be empty"),
        (".", "is not allowed"),
        ("..", "is not allowed"),
        ("a b", "'a b' is invalid"),
        ("a/b", "'a/b' is invalid"),
        ("café", "'café' is invalid"),
        ("x" * 254, "is 254 characters long"),
    ],
)
def test_invalid_secret_keys(key: str, message: str) -> None:
    with pytest.raises(errors.InvalidSpecError, match=message):
        keymapping.validate_secret_key(key)


# --- Go regexp replace -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "text", "target", "expected"),
    [
        # Go skips an empty match right after a match: not Python's "dev-foodev-".
        ("(.*)", "foo", "dev-$1", "dev-foo"),
        ("x*", "abc", "-", "-a-b-c-"),
        ("a(x*)", "baaxxb", "[$1|${1}]", "b[|][xx|xx]b"),
        ("a(x*)", "axx", "$1x", ""),  # `$1x` is the (unknown) group named "1x"
        ("a(x*)", "axx", "${1}x", "xxx"),
        ("a", "a", "$$", "$"),
        ("a", "a", "$", "$"),  # malformed reference: a literal $
        ("a", "a", "${1", "${1"),
        ("(a)", "a", "$2", ""),  # no such group
        ("(a)", "a", "$01", ""),  # leading zero: a name, not a number
        ("(?P<first>\\w+) (?P<second>\\w+)", "hello world", "${second} $first", "world hello"),
        ("path/to/my/secrets/(.*)", "path/to/my/secrets/db", "$1", "db"),
        ("[^a-zA-Z0-9 -]", "my.key/x y", "_", "my_key_x y"),
        ("é", "café-é", "e", "cafe-e"),
        ("", "ab", "-", "-a-b-"),
        ("^", "ab", "-", "-ab"),
        ("b*", "abb", "X", "XaX"),
    ],
)
def test_go_replace_all(source: str, text: str, target: str, expected: str) -> None:
    pattern = keymapping.compile_pattern(source, where="t")
    assert keymapping.go_replace_all(pattern, text, target) == expected


def test_catastrophic_pattern_completes() -> None:
    # Exponential on a backtracking engine; linear on RE2.
    pattern = keymapping.compile_pattern("(a+)+$", where="t")
    text = "a" * 5000 + "b"
    assert keymapping.go_replace_all(pattern, text, "x") == text
    assert keymapping.go_replace_all(pattern, "a" * 5000, "x") == "x"
    out = keymapping.rewrite({text: b"v"}, [regexp("(a+)+$", "x"), regexp("^a+", "")])
    assert out == {"b": b"v"}


@pytest.mark.parametrize("source", ["(?=x)", "(?<=a)b", "(a", "a{1001}", "\\1"])
def test_invalid_pattern_names_the_field(source: str) -> None:
    with pytest.raises(
        errors.InvalidSpecError, match=r"^rewrite\[1\]\.regexp\.source: invalid RE2"
    ):
        keymapping.rewrite({"a": b""}, [regexp("a", "b"), regexp(source, "x")])


def test_re2_is_used() -> None:
    assert isinstance(keymapping.compile_pattern("a", where="t"), type(re2.compile("b")))


# --- rewrite -----------------------------------------------------------------------------------


# ESO's rewrite examples (datafrom-rewrite-*.yaml) are in test_eso_examples.py.


def test_rewrites_apply_in_order() -> None:
    out = keymapping.rewrite(
        {"app/db/user": b"u"},
        [regexp("^app/", ""), regexp("/", "-"), transform("{{ .value | upper }}")],
    )
    assert out == {"DB-USER": b"u"}


def test_rewrite_transform_is_jinja_when_the_template_engine_is() -> None:
    rewrites = [transform("{{ value | upper }}")]
    assert keymapping.rewrite({"db-user": b"u"}, rewrites, engine="jinja") == {"DB-USER": b"u"}


def test_rewrite_transform_is_a_go_template_as_in_eso() -> None:
    # ESO: template.New("transform"), default missingkey (a missing key prints "<no value>").
    rewrites = [transform('{{ .value | replace "-" "_" }}{{ if .nope }}x{{ end }}')]
    assert keymapping.rewrite({"db-user": b"u"}, rewrites) == {"db_user": b"u"}
    with pytest.raises(errors.InvalidSpecError, match="<no value>"):
        keymapping.rewrite({"a": b"1"}, [transform("{{ .missing }}")])


def test_rewrite_collision_is_an_error() -> None:
    with pytest.raises(errors.InvalidSpecError, match=r"rewrite\[0\]\.regexp: keys 'a1' and 'a2'"):
        keymapping.rewrite({"a1": b"1", "a2": b"2"}, [regexp("[0-9]", "")])


@pytest.mark.parametrize("target", ["", "$2"])
def test_rewrite_to_empty_key_is_an_error(target: str) -> None:
    with pytest.raises(errors.InvalidSpecError, match="must not be empty"):
        keymapping.rewrite({"abc": b"1"}, [regexp("(.*)", target)])


def test_rewrite_transform_error_names_the_field() -> None:
    with pytest.raises(errors.TemplateError) as info:
        keymapping.rewrite({"a": b"1"}, [transform("{{ .value | nope }}")])
    assert str(info.value) == (
        "rewrite[0].transform.template: transform failed with failed to parse template: "
        'template: transform:1: function "nope" not defined'
    )
    with pytest.raises(errors.TemplateError) as info:
        keymapping.rewrite({"a": b"1"}, [transform('{{ fail "no" }}')])
    assert str(info.value) == (
        "rewrite[0].transform.template: transform failed with failed to execute template for "
        'key "a": template: transform:1:3: executing "transform" at <fail "no">: '
        "error calling fail: no"
    )
    with pytest.raises(errors.TemplateError, match=r"^rewrite\[0\]\.transform\.template: "):
        keymapping.rewrite({"a": b"1"}, [transform("{{ .value }}")], engine="jinja")


def test_no_rewrite_leaves_keys_alone() -> None:
    # Without rewrites ESO converts keys instead; rewrite() validates nothing then.
    assert keymapping.rewrite({"a/b": b"1"}, []) == {"a/b": b"1"}


def test_rewrite_with_neither_operation_is_a_no_op() -> None:
    assert keymapping.rewrite({"a": b"1"}, [model.Rewrite()]) == {"a": b"1"}


@pytest.mark.parametrize(
    "merge",
    [
        model.RewriteMerge(),
        model.RewriteMerge(into="all", strategy="JSON", conflict_policy="Error"),
    ],
)
def test_rewrite_merge_is_not_supported_yet(merge: model.RewriteMerge) -> None:
    with pytest.raises(errors.InvalidSpecError) as info:
        keymapping.rewrite({"a": b"1"}, [regexp("a", "b"), model.Rewrite(merge=merge)])
    assert str(info.value) == (
        "rewrite[1].merge: dataFrom[].rewrite[].merge is not supported yet "
        "(use regexp or transform rewrites, or a template)"
    )
