"""Template behaviour where asyncso used to differ from ESO: data keys that are Python keywords
(a Jinja matter: `engineVersion: jinja`), templateFrom targets in any case,
`valuesDecodingStrategy` (ESO's behaviour, so in Go templates, the default engine)."""

from __future__ import annotations

import keyword
from typing import Any

import msgspec
import pytest

from asyncso import errors, model, validation
from asyncso.templates import apply

NO_SOURCES = apply.TemplateSources()


def render(values: dict[str, bytes], **template: Any) -> model.SecretContent:
    return apply.apply_template(model.Template(**template), values, sources=NO_SOURCES)


@pytest.mark.parametrize("word", ["pass", "from", "class", "global", "import", "def", "in", "if"])
def test_a_data_key_that_is_a_python_keyword_is_a_name(word: str) -> None:
    """Real secrets often have a `pass` key; Jinja accepts such names (`{{ pass }}`)."""
    out = render({word: b"s3cret"}, data={"out": f"{{{{ {word} }}}}!"}, engine_version="jinja")
    assert out.data == {"out": b"s3cret!"}


def test_every_python_keyword_but_jinjas_literals_and_not() -> None:
    words = [w for w in keyword.kwlist if w not in ("True", "False", "None")]
    values = {w: w.encode() for w in words}
    data = {w: f"{{{{ {w} }}}}" for w in words if w != "not"}
    out = render(values, data=data, engine_version="jinja")
    assert out.data == {w: w.encode() for w in words if w != "not"}


def test_jinja_literal_words_stay_reachable_through_values() -> None:
    data = {"a": '{{ values["not"] }}{{ values["None"] }}'}
    out = render({"not": b"n", "None": b"x"}, data=data, engine_version="jinja")
    assert out.data == {"a": b"nx"}


# --- templateFrom[].valuesDecodingStrategy ------------------------------------------------------

B64 = {"user": b"YWRtaW4=", "cert": b"LS0tLS1CRUdJTg=="}


def sources(**config_maps: dict[str, str]) -> apply.TemplateSources:
    return apply.TemplateSources(config_maps=config_maps)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("None", {"user": b"YWRtaW4=", "cert": b"LS0tLS1CRUdJTg=="}),
        ("Base64", {"user": b"admin", "cert": b"-----BEGIN"}),
        ("Auto", {"user": b"admin", "cert": b"-----BEGIN"}),
    ],
)
def test_values_decoding_strategy_decodes_each_rendered_value(
    strategy: str, expected: dict[str, bytes]
) -> None:
    """ESO decodes what a templateFrom entry renders (configMap/secret items, literal)."""
    template = model.Template(
        template_from=[
            model.TemplateFrom(
                config_map=model.TemplateRef(name="tpl", items=[model.TemplateRefItem(key="user")]),
                values_decoding_strategy=strategy,  # type: ignore[arg-type]
            ),
            model.TemplateFrom(
                literal="cert: '{{ .cert }}'",
                values_decoding_strategy=strategy,  # type: ignore[arg-type]
            ),
        ]
    )
    out = apply.apply_template(template, B64, sources=sources(tpl={"user": "{{ .user }}"}))
    assert out.data == expected


def test_values_decoding_applies_to_labels_and_annotations_too() -> None:
    template = model.Template(
        template_from=[
            model.TemplateFrom(
                literal="team: '{{ .user }}'", target="labels", values_decoding_strategy="Base64"
            ),
        ]
    )
    assert apply.apply_template(template, B64, sources=NO_SOURCES).labels == {"team": "admin"}


def test_template_data_is_never_decoded() -> None:
    out = render(B64, data={"user": "{{ .user }}"})
    assert out.data == {"user": b"YWRtaW4="}


def test_a_value_that_is_not_base64_is_a_template_error_naming_the_key() -> None:
    template = model.Template(
        template_from=[model.TemplateFrom(literal="k: '%%%'", values_decoding_strategy="Base64")]
    )
    with pytest.raises(errors.TemplateError) as caught:
        apply.apply_template(template, {}, sources=NO_SOURCES)
    assert "failed to decode rendered template value for key 'k'" in str(caught.value)
    assert "%%%" not in str(caught.value)


# --- templateFrom[].target --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "where"), [("data", "data"), ("LABELS", "labels"), ("annotations", "annotations")]
)
def test_template_targets_in_any_case(target: str, where: str) -> None:
    template = model.Template(template_from=[model.TemplateFrom(literal="k: v", target=target)])
    out = apply.apply_template(template, {}, sources=NO_SOURCES)
    got = {"data": out.data, "labels": out.labels, "annotations": out.annotations}[where]
    assert got == ({"k": b"v"} if where == "data" else {"k": "v"})


def test_a_path_target_is_refused_for_a_secret_with_esos_words() -> None:
    es = model.ExternalSecret(
        metadata=model.ObjectMeta(name="es", namespace="ns"),
        spec=model.ExternalSecretSpec(
            secret_store_ref=model.StoreRef(name="s"),
            target=model.Target(
                template=model.Template(
                    template_from=[model.TemplateFrom(literal="k: v", target="metadata.labels")]
                )
            ),
        ),
    )
    with pytest.raises(errors.InvalidSpecError) as caught:
        validation.validate(es)
    assert str(caught.value) == (
        "spec.target.template.templateFrom[0].target: templateFrom target='metadata.labels' is "
        'not allowed when targeting a Secret, must be one of "Data", "Annotations" or "Labels"'
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            {
                "type": "kubernetes.io/service-account-token",
                "metadata": {"annotations": {"kubernetes.io/service-account.name": "default"}},
            },
            validation.MSG_SA_TOKEN,
        ),
        (
            {
                "type": "kubernetes.io/service-account-token",
                "templateFrom": [{"literal": "a: b", "target": "annotations"}],
            },
            validation.MSG_SA_TOKEN_TARGET,
        ),
        ({"type": "bootstrap.kubernetes.io/token"}, validation.MSG_BOOTSTRAP),
    ],
)
def test_privileged_templates_are_refused_as_eso_does(
    template: dict[str, Any], message: str
) -> None:

    es = msgspec.convert(
        {
            "metadata": {"name": "es", "namespace": "ns"},
            "spec": {"secretStoreRef": {"name": "s"}, "target": {"template": template}},
        },
        model.ExternalSecret,
    )
    with pytest.raises(errors.InvalidSpecError) as caught:
        validation.validate(es)
    assert str(caught.value) == f"spec.target.template: {message}"
