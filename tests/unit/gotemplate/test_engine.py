"""The Go engine's own behaviour: public API, sandbox limits, and what ESO's Go/libraries do
where the oracle (Debian's Go 1.23 and sprig 3.2.3) differs."""

from __future__ import annotations

import time

import pytest

from asyncso import errors
from asyncso.templates import go
from asyncso.templates.go import gotypes, limits
from asyncso.templates.go.sprig import text as sprig_text


def render(template: str, data: dict[str, str | bytes] | None = None, **kwargs: object) -> str:
    out = go.render("key", template, data or {}, **kwargs)  # type: ignore[arg-type]
    return out.decode("utf-8", "surrogateescape")


# --- API ------------------------------------------------------------------------------------


def test_render_returns_bytes_and_keeps_binary_values() -> None:
    raw = bytes(range(256))
    assert go.render("key", "{{ .bin }}", {"bin": raw}) == raw


def test_errors_are_go_texts_with_phase() -> None:
    with pytest.raises(go.GoTemplateError) as caught:
        render("{{ .missing }}", {"present": "x"})
    assert str(caught.value) == (
        'template: key:1:3: executing "key" at <.missing>: map has no entry for key "missing"'
    )
    assert caught.value.phase == "exec"
    assert isinstance(caught.value, errors.TemplateError)
    with pytest.raises(go.GoTemplateError) as parse:
        render("{{ if }}")
    assert parse.value.phase == "parse"
    assert str(parse.value) == "template: key:1: missing value for if"


def test_check_reports_parse_errors_only() -> None:
    assert go.check("key", "{{ .missing }}") is None
    assert go.check("key", "{{ .x") == "template: key:1: unclosed action"
    assert go.check("key", "<< .x >>", left="<<", right=">>") is None


def test_the_name_appears_in_messages() -> None:
    with pytest.raises(go.GoTemplateError, match=r'^template: tls\.crt:1:3: executing "tls\.crt"'):
        go.render("tls.crt", "{{ .nope }}", {})


def test_parse_is_cached() -> None:
    assert go.parse("key", "{{ .a }}") is go.parse("key", "{{ .a }}")


# --- Go 1.24+ (ESO runs Go 1.26): range over an integer ------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        ("{{ range $i := 3 }}[{{ $i }}]{{ end }}", "[0][1][2]"),
        ("{{ range 0 }}x{{ else }}none{{ end }}", "none"),
        ("{{ range -2 }}x{{ else }}none{{ end }}", "none"),
        ('{{ range (int64 2) }}{{ printf "%T" . }}{{ end }}', "int64int64"),
        ("{{ range 5 }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}", "01"),
    ],
)
def test_range_over_integer(template: str, expected: str) -> None:
    assert render(template) == expected


def test_range_over_integer_refuses_two_variables() -> None:
    with pytest.raises(
        go.GoTemplateError, match="can't use 3 to iterate over more than one variable"
    ):
        render("{{ range $i, $v := 3 }}{{ end }}")


# --- ESO's pinned libraries ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # xstrings 1.5 ToPascalCase, which ESO's sprig maps `camelcase` to (its doc examples)
        ("some_words", "SomeWords"),
        ("http_server", "HttpServer"),
        ("no_https", "NoHttps"),
        ("_complex__case_", "_Complex_Case_"),
        ("some words", "SomeWords"),
        ("GOLANG_IS_GREAT", "GolangIsGreat"),
        ("a", "A"),
        ("", ""),
    ],
)
def test_camelcase_is_xstrings_pascal_case(source: str, expected: str) -> None:
    assert sprig_text.camelcase(source) == expected


@pytest.mark.parametrize(
    ("source", "snake", "kebab"),
    [
        ("FirstName", "first_name", "first-name"),
        ("HTTPServer", "http_server", "http-server"),
        ("NoHTTPS", "no_https", "no-https"),
        ("GO_PATH", "go_path", "go-path"),
        ("GO PATH", "go_path", "go-path"),
        ("GO-PATH", "go_path", "go-path"),
        ("http2xx", "http_2xx", "http-2xx"),
        ("HTTP20xOK", "http_20x_ok", "http-20x-ok"),
        ("Duration2m3s", "duration_2m3s", "duration-2m3s"),
        ("Bld4Floor3rd", "bld4_floor_3rd", "bld4-floor-3rd"),
    ],
)
def test_snake_and_kebab_case_follow_xstrings(source: str, snake: str, kebab: str) -> None:
    assert sprig_text.snakecase(source) == snake
    assert sprig_text.kebabcase(source) == kebab


def test_htpasswd_takes_an_algorithm_as_in_esos_sprig() -> None:
    out = render('{{ htpasswd "foo1" "FZ4jR;l]ON;pHKi=_\'zh79P" "sha" }}')
    assert out == "foo1:{SHA}wtdJD6OIjUniEJkTlewnKzfFxA4="
    with pytest.raises(go.GoTemplateError, match=r"expected sprig\.HashAlgorithm; got string"):
        render('{{ htpasswd "u" "p" .alg }}', {"alg": "sha"})


def test_sha512sum_and_hexdec_exist_as_in_esos_sprig() -> None:
    assert render('{{ "abc" | sha512sum | trunc 16 }}') == "ddaf35a193617aba"
    assert render('{{ "68690a" | hexdec }}') == "hi\n"


def test_env_functions_are_absent() -> None:
    for name in ("env", "expandenv", "getHostByName"):
        assert (
            go.check("key", f'{{{{ {name} "HOME" }}}}')
            == f'template: key:1: function "{name}" not defined'
        )


# --- sandbox --------------------------------------------------------------------------------


def test_templates_reach_no_python_objects() -> None:
    for template in (
        "{{ .__class__ }}",
        "{{ .user.__class__ }}",
        '{{ index . "__class__" }}',
        "{{ (list).__len__ }}",
        "{{ now.__dict__ }}",
        '{{ (semver "1.0.0").__init__ }}',
    ):
        with pytest.raises(go.GoTemplateError):
            out = render(template, {"user": "x"})
            assert "<" not in out, out  # "<no value>" would be fine; Python reprs are not
            raise go.GoTemplateError("rendered", phase="exec")


def test_output_is_bounded() -> None:
    small = go.Limits(max_output_bytes=1000)
    with pytest.raises(
        go.GoTemplateError, match="output exceeds the limit of 1000 bytes"
    ) as caught:
        render("{{ range until 100 }}0123456789abcdef{{ end }}", limits=small)
    assert caught.value.limit


def test_range_iterations_are_bounded() -> None:
    small = go.Limits(max_range_iterations=50)
    with pytest.raises(go.GoTemplateError, match="range iterations exceed the limit of 50"):
        render("{{ range until 10 }}{{ range until 10 }}{{ end }}{{ end }}", limits=small)


def test_template_recursion_is_bounded() -> None:
    with pytest.raises(go.GoTemplateError, match=r"exceeded maximum template depth \(100\)"):
        render('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}')


def test_values_functions_build_are_bounded() -> None:
    with pytest.raises(go.GoTemplateError, match="repeat would exceed the limit"):
        render('{{ repeat 100000000 "x" }}')
    with pytest.raises(go.GoTemplateError, match="until would exceed the limit"):
        render("{{ until 100000000 | len }}")
    with pytest.raises(go.GoTemplateError, match="would exceed the limit"):
        render("{{ $x := list 1 }}{{ range until 40 }}{{ $x = concat $x $x }}{{ end }}")


def test_printf_width_is_bounded_as_in_go() -> None:
    assert render('{{ printf "%99999999d" 1 }}') == "%!(NOVERB)%!(EXTRA int=1)"
    with pytest.raises(go.GoTemplateError, match="output exceeds the limit"):
        render('{{ printf "%9999999d" 1 }}')


def test_wall_time_is_bounded() -> None:
    quick = go.Limits(max_seconds=0.2, max_range_iterations=10**9)
    started = time.monotonic()
    with pytest.raises(go.GoTemplateError, match=r"time limit of 0\.2 seconds"):
        render("{{ range until 1000000 }}{{ range until 1000 }}{{ end }}{{ end }}", limits=quick)
    assert time.monotonic() - started < 5


def test_deep_nesting_fails_cleanly() -> None:
    deep = "{{ if true }}" * 2000 + "x" + "{{ end }}" * 2000
    with pytest.raises(go.GoTemplateError, match="nested too deeply"):
        render(deep)
    nested = "{{ $x := list }}{{ range until 3000 }}{{ $x = list $x }}{{ end }}{{ $x }}"
    with pytest.raises(go.GoTemplateError, match="nested too deeply"):
        render(nested)
    parens = "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}"
    with pytest.raises(go.GoTemplateError, match="nested too deeply"):
        render(parens)


def test_limits_apply_per_render() -> None:
    small = go.Limits(max_range_iterations=5)
    for _ in range(3):
        assert render("{{ range until 5 }}.{{ end }}", limits=small) == "....."


def test_a_budget_outside_a_render_uses_the_defaults() -> None:
    with pytest.raises(limits.LimitError):
        limits.check_size(limits.DEFAULT_LIMITS.max_value_size + 1, "x")


# --- values -----------------------------------------------------------------------------------


def test_string_length_counts_bytes() -> None:
    assert render("{{ len .u }}", {"u": "é"}) == "2"
    assert gotypes.go_len("é") == 2


def test_semver_setters_validate_as_esos_semver_3_4() -> None:
    # semver 3.4 (ESO) refuses empty identifiers and says "invalid ... string"; Debian's 3.2
    # accepts `a..b` and says "Invalid Metadata string".
    with pytest.raises(go.GoTemplateError, match="error calling SetPrerelease: invalid prerelease"):
        render('{{ (semver "1.2.3").SetPrerelease "a..b" }}')
    with pytest.raises(go.GoTemplateError, match="error calling SetMetadata: invalid metadata"):
        render('{{ (semver "1.2.3").SetMetadata "a_b" }}')
    assert render('{{ (semver "v1.2.3").SetPrerelease "rc.1" }}') == "1.2.3-rc.1"
