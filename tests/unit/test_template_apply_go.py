"""`templates.apply` with Go templates (engineVersion v2 or none, ESO's default): ESO's `Execute`
around the engine — one template per key, data as map[string]string, missingkey=error, the
KeysAndValues scope named by its whole text, ESO's error wrapping — plus the engine choice, the
delimiters and the Jinja hint. The engine itself is tested in `gotemplate/` and against Go in
`tests/differential/`."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest
import yaml

from asyncso import errors, model
from asyncso.templates import apply, engines

NO_SOURCES = apply.TemplateSources()
VALUES = {"user": b"admin", "password": b"p4ssw0rd", "tls.crt": b"CERT"}


def render(
    values: dict[str, bytes] = VALUES,
    sources: apply.TemplateSources = NO_SOURCES,
    *,
    delimiters: engines.Delimiters = engines.DEFAULT_DELIMITERS,
    **template: Any,
) -> model.SecretContent:
    return apply.apply_template(
        model.Template(**template), values, sources=sources, delimiters=delimiters
    )


def failure(values: dict[str, bytes] = VALUES, **template: Any) -> str:
    with pytest.raises(errors.TemplateError) as info:
        render(values, **template)
    return str(info.value)


# --- engine selection --------------------------------------------------------------------------


def test_no_engine_version_means_go_as_in_eso() -> None:
    spec = msgspec.convert(yaml.safe_load("data: {out: '{{ .user }}'}"), model.Template)
    assert spec.engine_version == "v2"
    assert apply.apply_template(spec, VALUES, sources=NO_SOURCES).data == {"out": b"admin"}


@pytest.mark.parametrize(
    ("engine", "text"),
    [
        ("v2", '{{ .user }}/{{ index . "tls.crt" }}'),
        ("jinja", '{{ user }}/{{ values["tls.crt"] }}'),
    ],
)
def test_each_engine_renders_its_own_syntax(engine: str, text: str) -> None:
    out = render(engine_version=engine, data={"out": text})
    assert out.data == {"out": b"admin/CERT"}


# --- ESO's Execute: values scope, data, missing keys -------------------------------------------


def test_values_scope_into_data_labels_annotations() -> None:
    out = render(
        data={"dsn": "postgres://{{ .user }}:{{ .password | urlquery }}@db"},
        metadata=model.TemplateMetadata(
            labels={"owner": "{{ .user | upper }}"},
            annotations={"len": "{{ len .password }}"},
        ),
    )
    assert out.data == {"dsn": b"postgres://admin:p4ssw0rd@db"}
    assert out.labels == {"owner": "ADMIN"}
    assert out.annotations == {"len": "8"}


def test_the_template_is_named_like_its_key() -> None:
    message = failure(data={"tls.crt": "{{ .nope }}"})
    assert 'template: tls.crt:1:3: executing "tls.crt" at <.nope>' in message


def test_binary_values_stay_intact() -> None:
    raw = bytes(range(256))
    out = render({"bin": raw}, data={"same": "{{ .bin }}", "b64": "{{ .bin | b64enc }}"})
    assert out.data["same"] == raw
    assert out.data["b64"] == base64.b64encode(raw)


def test_dockerconfigjson() -> None:
    text = (
        '{"auths":{"{{ .registry }}":{"username":"{{ .user }}","password":"{{ .password }}",'
        '"auth":"{{ printf "%s:%s" .user .password | b64enc }}"}}}'
    )
    out = render(
        {**VALUES, "registry": b"ghcr.io"},
        type="kubernetes.io/dockerconfigjson",
        data={".dockerconfigjson": text},
    )
    auth = base64.b64encode(b"admin:p4ssw0rd").decode()
    assert out.type == "kubernetes.io/dockerconfigjson"
    assert (
        out.data[".dockerconfigjson"]
        == (
            '{"auths":{"ghcr.io":{"username":"admin","password":"p4ssw0rd","auth":"' + auth + '"}}}'
        ).encode()
    )


def test_missing_key_is_an_error_with_esos_wrapping() -> None:
    assert failure(data={"out": "{{ .nope }}"}) == (
        "template.data['out']: unable to execute template at key out: unable to execute template "
        'at key out: template: out:1:3: executing "out" at <.nope>: map has no entry for key "nope"'
    )


def test_parse_error_with_esos_wrapping() -> None:
    assert failure(data={"out": "{{ .a | nope }}"}) == (
        "template.data['out']: unable to execute template at key out: unable to parse template "
        'at key out: template: out:1: function "nope" not defined'
    )


# --- templateFrom and the KeysAndValues scope --------------------------------------------------


def test_template_from_config_map_values_and_keys_and_values() -> None:
    ref = model.TemplateRef(
        name="tpl",
        items=[
            model.TemplateRefItem(key="config.yaml"),
            model.TemplateRefItem(key="pairs", template_as="KeysAndValues"),
        ],
    )
    sources = apply.TemplateSources(
        config_maps={
            "tpl": {
                "config.yaml": "user: {{ .user }}\n",
                "pairs": "{{ .user }}-password: {{ .password | quote }}\nport: 5432",
            }
        }
    )
    out = render(sources=sources, template_from=[model.TemplateFrom(config_map=ref)])
    assert out.data == {
        "config.yaml": b"user: admin\n",
        "admin-password": b"p4ssw0rd",
        "port": b"5432",
    }


def test_literal_keys_and_values_into_annotations() -> None:
    literal = "{{ range $k, $v := . }}seen/{{ $k }}: {{ len $v | quote }}\n{{ end }}"
    out = render(
        {"a": b"xy", "b": b"z"},
        template_from=[model.TemplateFrom(literal=literal, target="Annotations")],
    )
    assert out.annotations == {"seen/a": "2", "seen/b": "1"}
    assert out.data == {}


def test_keys_and_values_template_is_named_by_its_text_shortened_in_messages() -> None:
    literal = "a: {{ .user }}\nb: {{ .nope }}\n" + "c: d\n" * 30
    message = failure(template_from=[model.TemplateFrom(literal=literal)])
    assert message == (
        "template.templateFrom[0].literal: unable to execute template at key a: {{ .user }}…: "
        "unable to execute template at key a: {{ .user }}…: template: a: {{ .user }}…:2:6: "
        'executing "a: {{ .user }}…" at <.nope>: map has no entry for key "nope"'
    )
    short = failure(template_from=[model.TemplateFrom(literal="a: {{ .nope }}")])
    assert "template: a: {{ .nope }}:1:6: " in short


# --- the delimiters ----------------------------------------------------------------------------


def test_delimiters_apply_to_go_templates() -> None:
    brackets = engines.Delimiters(left="[[", right="]]")
    out = render(delimiters=brackets, data={"out": "[[ .user ]] {{ .user }}"})
    assert out.data == {"out": b"admin {{ .user }}"}


def test_delimiters_do_not_apply_to_jinja() -> None:
    brackets = engines.Delimiters(left="[[", right="]]")
    out = render(delimiters=brackets, engine_version="jinja", data={"out": "{{ user }}"})
    assert out.data == {"out": b"admin"}


# --- hints -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{{ user }}",
        '{{ values["tls.crt"] }}',
        '{{ password | replace("p", "P") }}',
        "{% if user %}{{ user }}{% endif %}",
        "{{ user ~ password }}",
    ],
)
def test_a_jinja_template_under_go_gets_the_hint(text: str) -> None:
    message = failure(data={"out": text})
    assert message.startswith("template.data['out']: unable to execute template at key out: ")
    assert message.endswith(engines.jinja_hint())
    assert "set spec.target.template.engineVersion: jinja" in message
    assert "engineVersion: jinja" in message


@pytest.mark.parametrize(
    "text",
    ["{{ .user | nope }}", "{{ .nope }}", "{{ if }}", '{{ fail "stop" }}'],
)
def test_go_errors_have_no_jinja_hint(text: str) -> None:
    assert "Jinja" not in failure(data={"out": text})


def test_the_old_refusal_is_gone() -> None:
    assert render(engine_version="v2", data={"out": "{{ .user }}"}).data == {"out": b"admin"}
    assert not hasattr(apply, "V2_NOT_SUPPORTED")
