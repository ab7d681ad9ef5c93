"""The Jinja sandbox against hostile templates: every attempt is a `TemplateError`, never a
crash, a hang, a huge allocation, or a message that repeats a secret value. (The Go engine's
sandbox: `test_template_security_go.py`.)"""

from __future__ import annotations

import time

import pytest

from asyncso import errors, model
from asyncso.templates import apply, jinja, limits

SECRET = "hunter2-s3cr3t"
KILO = "k" * 1024


def render(source: str, **context: object) -> str:
    return jinja.render(source, {"s": KILO, "password": SECRET, **context}, where="t")


def refused(source: str, **context: object) -> str:
    """Render `source`, expecting a TemplateError; return its message."""
    with pytest.raises(errors.TemplateError) as info:
        render(source, **context)
    message = str(info.value)
    assert message.startswith("t: ")
    assert SECRET not in message
    return message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # Python internals
        ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe"),
        ("{{ ().__class__.__base__.__subclasses__() }}", "'__class__' of 'tuple' object is unsafe"),
        ("{{ cycler.__init__.__globals__ }}", "'__init__' of '_StrictUndefined' object is unsafe"),
        ("{{ b64enc.__globals__ }}", "'__globals__' of 'function' object is unsafe"),
        ("{{ b64enc.__wrapped__ }}", "is unsafe"),
        ("{{ range.__self__ }}", "'function object' has no attribute '__self__'"),
        ("{{ loop.__class__ }}", "'__class__' of '_StrictUndefined' object is unsafe"),
        ("{% for x in [1] %}{{ loop.__class__ }}{% endfor %}", "'__class__' of 'LoopContext'"),
        ("{{ self }}", "'self' is not available"),
        ("{{ self.__dict__ }}", "'self' is not available"),
        ("{{ (1).to_bytes(10**9, 'big') }}", "'to_bytes' of 'int' object is unsafe"),
        ("{{ '{0.__class__}'.format('') }}", "'format' of 'str' object is unsafe"),
        ("{{ '{}'.format(1) }}", "'format' of 'str' object is unsafe"),
        ("{{ 'a'.encode() }}", "'encode' of 'str' object is unsafe"),
        ("{{ (range(3) | map('string')).gi_frame }}", "is unsafe"),
        # mutation
        ("{{ values.pop('a') }}", "'pop' of 'dict' object is unsafe"),
        ("{{ values.update({}) }}", "'update' of 'dict' object is unsafe"),
        ("{{ [1].append(2) }}", "'append' of 'list' object is unsafe"),
        # names that do not exist here
        ("{{ lipsum }}", "'lipsum' is undefined"),
        ("{{ lipsum() }}", "'lipsum' is undefined"),
        ("{{ config }}", "'config' is undefined"),
        ("{{ request }}", "'request' is undefined"),
        ("{{ dict(a=1) }}", "'dict' is undefined"),
        ("{{ joiner() }}", "'joiner' is undefined"),
        ("{% set ns = namespace(a=1) %}", "'namespace' is undefined"),
        ("{{ caller() }}", "'caller' is undefined"),
        ("{{ environment }}", "'environment' is undefined"),
        ("{{ 'x' | random }}", "No filter named 'random'"),
        ("{% include 'other' %}", "include is not supported"),
        ("{% extends 'base' %}", "extends is not supported"),
        ("{% import 'lib' as lib %}", "import is not supported"),
        ("{% from 'lib' import m %}", "fromimport is not supported"),
    ],
)
def test_escapes_are_refused(source: str, message: str) -> None:
    assert message in refused(source, values={"a": "1"})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ range(10**9) | list }}", "range() is limited to 10000 items"),
        ("{{ range(10**30) }}", "range() is limited to 10000 items"),
        ("{{ 'x' * 10**9 }}", "repetition with * is too large"),
        ("{{ 10**9 * 'x' }}", "repetition with * is too large"),
        ("{{ [1] * 10**7 }}", "repetition with * is too large"),
        ("{{ ([s] * 5000) | join }}", "repetition with * is too large"),
        ("{{ 10 ** 100000 }}", "power with ** is too large"),
        ("{{ (10 ** 4000) * (10 ** 4000) }}", "integer result is too large"),
        ("{{ '%0999999d' % 1 }}", "printf width or precision too large"),
        ("{{ '%*d' % (10, 1) }}", "printf width or precision too large"),
        ("{{ '%.9999999f' | format(1.0) }}", "printf width or precision too large"),
        ("{{ 'x' | center(10**8) }}", "center would be larger than 1 MiB"),
        ("{{ 'x'.ljust(10**9) }}", "str.ljust would be larger than 1 MiB"),
        ("{{ 'x'.zfill(10**9) }}", "str.zfill would be larger than 1 MiB"),
        ("{{ s | replace('k', s) }}", "replace would be larger than 1 MiB"),
        ("{{ s.replace('k', s) }}", "str.replace would be larger than 1 MiB"),
        ("{{ s | indent(10**6) }}", "indent would be larger than 1 MiB"),
        ("{{ ('x' * 600000) ~ ('x' * 600000) }}", "the result of ~ would be larger than 1 MiB"),
        # output: streamed, and buffered inside macros, {% set %} blocks and filter blocks
        (
            "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
            "1 MiB",
        ),
        ("{% for i in range(2000) %}{{ s }}{% endfor %}", "rendered output would be larger"),
        (
            "{% macro m() %}{% for i in range(2000) %}{{ s }}{% endfor %}{% endmacro %}"
            "{{ m() | length }}",
            "rendered output would be larger",
        ),
        ("{% set x %}{% for i in range(2000) %}{{ s }}{% endfor %}{% endset %}", "1 MiB"),
        ("{% filter upper %}{% for i in range(2000) %}{{ s }}{% endfor %}{% endfilter %}", "1 MiB"),
        # values that would print to gigabytes through sharing
        (
            "{% set a = [s, s] %}{% set a = [a, a] %}{% set a = [a, a] %}{% set a = [a, a] %}"
            "{% set a = [a, a] %}{% set a = [a, a] %}{% set a = [a, a] %}{% set a = [a, a] %}"
            "{% set a = [a, a] %}{% set a = [a, a] %}{% set a = [a, a] %}{% set a = [a, a] %}"
            "{{ a | length }}",
            "a list or dict literal would be larger than 4 MiB",
        ),
        # recursion
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "calls nested deeper than 32"),
        (
            "{% macro f(s, n) %}{% if n %}{{ f(s + s, n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(s, 30) }}",
            "concatenation with + is too large",
        ),
        (
            "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(s, 30) }}",
            "the result of ~ would be larger than 1 MiB",
        ),
        (
            "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
            "calls nested deeper than 32",
        ),
        # parser and data bombs
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nested too deeply"),
        ("{{ ('[' * 100000) | fromJson }}", "fromJson: input is not valid JSON"),
        ("{{ 'a: &a [x, x]\\nb: &b [*a, *a]' | fromYaml }}", "YAML aliases are not supported"),
    ],
)
def test_resource_exhaustion_is_refused(source: str, message: str) -> None:
    assert message in refused(source)


def test_long_templates_are_refused() -> None:
    assert "template is longer than 256 KiB" in refused("x" * (257 << 10))


@pytest.mark.parametrize(
    "source",
    [
        # 2^31 macro calls, each cheap: only the deadline stops it.
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(30) }}",
        # 10^8 empty iterations.
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        # 10^12 iterations over a string.
        "{% for a in s * 900 %}{% for b in s * 900 %}{% endfor %}{% endfor %}",
        # slow functions in a loop
        "{% for i in range(10000) %}{{ (i ~ 'x') | bcrypt | length }}{% endfor %}",
    ],
)
def test_the_deadline_stops_cpu_bombs(source: str) -> None:
    started = time.monotonic()
    with limits.budget(seconds=0.3):
        message = refused(source)
    assert "rendering took longer than 0.3s" in message
    assert time.monotonic() - started < 3


def test_deadline_is_shared_by_one_external_secret() -> None:
    template = model.Template(
        engine_version="jinja",
        data={
            "a": "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        },
    )
    with limits.budget(seconds=0.2), pytest.raises(errors.TemplateError) as info:
        apply.apply_template(template, {}, sources=apply.TemplateSources())
    assert (
        str(info.value) == "template.data['a']: rendering took longer than 0.2s; refused (line 1)"
    )


def test_limits_are_sane() -> None:
    assert limits.RENDER_SECONDS == 5.0
    assert limits.MAX_OUTPUT_BYTES == 1 << 20
    assert limits.MAX_RANGE == 10_000


def test_within_limits_still_renders() -> None:
    assert render("{{ range(10000) | list | length }}") == "10000"
    assert len(render("{% for i in range(1000) %}{{ s }}{% endfor %}")) == 1000 * 1024
    assert render("{{ ('x' * 1000) | length }}") == "1000"
    assert render("{{ 2 ** 100 }}") == str(2**100)
    assert render("{{ '%05d' % 42 }}") == "00042"
    assert render("{{ 'ab'.replace('a', 'c').upper() }}") == "CB"
    assert render("{{ 'a,b'.split(',') | join('-') }}") == "a-b"


# --- no secret values in messages --------------------------------------------------------------


def _message(template: model.Template, values: dict[str, bytes]) -> str:
    with pytest.raises(errors.TemplateError) as info:
        apply.apply_template(template, values, sources=apply.TemplateSources())
    return str(info.value)


@pytest.mark.parametrize(
    "source",
    [
        "{{ values[password] }}",
        "{{ values.get('x')[password] }}",
        "{{ {}[password] }}",
        "{{ password + 1 }}",
        "{{ password | b64dec }}",
        "{{ password | fromJson }}",
        "{{ (password ~ ': [') | fromYaml }}",
        "{{ password | int + password }}",
        "{{ password | filterPEM('CERTIFICATE') }}",
        "{{ password | jwkPublicKeyPem }}",
        "{{ password | pkcs12cert }}",
        "{{ password.index('zz') }}",
        "{{ password['x'] }}",
        "{{ password() }}",
    ],
)
def test_messages_never_contain_values(source: str) -> None:
    template = model.Template(engine_version="jinja", data={"out": source})
    message = _message(template, {"password": SECRET.encode()})
    assert message.startswith("template.data['out']: ")
    assert SECRET not in message


def test_undefined_key_named_by_a_value_is_redacted() -> None:
    template = model.Template(engine_version="jinja", data={"out": "{{ values[password] }}"})
    message = _message(template, {"password": SECRET.encode()})
    assert message == "template.data['out']: 'dict object' has no attribute '<redacted>' (line 1)"


@pytest.mark.parametrize(
    "source", ['"{{ password }}\\q"', "'{{ password }}", "{{ password }}: [", "!{{ password }} x"]
)
def test_yaml_errors_do_not_echo_the_input(source: str) -> None:
    with pytest.raises(errors.TemplateError) as info:
        render("{{ fromYaml(text) }}", text=source.replace("{{ password }}", SECRET))
    assert "fromYaml: invalid YAML" in str(info.value)
    assert SECRET not in str(info.value)
    assert "hunter" not in str(info.value)


def test_key_and_values_yaml_errors_do_not_echo_the_rendered_text() -> None:
    literal = model.TemplateFrom(literal="a: {{ password }}: x")
    template = model.Template(engine_version="jinja", template_from=[literal])
    message = _message(template, {"password": SECRET.encode()})
    assert "invalid YAML at line 1" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    "source",
    [
        "{{" * (limits.MAX_TEMPLATE_CHARS // 2),
        "{{ " + "a " * (limits.MAX_TEMPLATE_CHARS // 2),
        "{{ " + ("w" * 999 + "\t" * 999 + " ") * (limits.MAX_TEMPLATE_CHARS // 2000),
        "{{ " + "a." * (limits.MAX_TEMPLATE_CHARS // 2),
        "{{ ( }}" + "{{a}}" * (limits.MAX_TEMPLATE_CHARS // 5),  # fails on parsing
        "{{ " + "a" * (4 * limits.MAX_TEMPLATE_CHARS),  # too long: refused, still quick
    ],
)
def test_go_syntax_detection_is_linear(source: str) -> None:
    # The Go-template hint scans a failing template: hostile sources must not make it slow.
    start = time.perf_counter()
    refused(source)
    assert time.perf_counter() - start < 2.0
