"""`examples/generators/`: every manifest decodes with our models and passes validation, and
the ECR example's template makes a dockerconfigjson from an ECR token (fake values)."""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Any

import msgspec
import pytest
import yaml

from asyncso import model, model_generators, secret_data, validation
from asyncso.generators import aws_fake, ecr, password
from asyncso.templates import apply

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "generators"
STRUCTS: dict[str, type[Any]] = {
    **model_generators.OBJECT_TYPES,
    "ClusterGenerator": model_generators.ClusterGenerator,
    "ExternalSecret": model.ExternalSecret,
}


def docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_decode_and_validate(path: pathlib.Path) -> None:
    for doc in docs(path.name):
        decoded = msgspec.convert(doc, STRUCTS[doc["kind"]])
        if isinstance(decoded, model.ExternalSecret):
            validation.validate(decoded)


def test_the_password_example_makes_the_rewritten_key() -> None:
    generator, es = docs("password.yaml")
    spec = msgspec.convert(generator["spec"], model_generators.PasswordSpec)
    external = msgspec.convert(es, model.ExternalSecret)
    values = secret_data.merge(
        external.spec, secret_data.Fetched(data=[], data_from=[password.generate(spec)])
    )
    assert list(values) == ["POSTGRES_PASSWORD"] and len(values["POSTGRES_PASSWORD"]) == 32


async def test_the_ecr_example_renders_a_dockerconfigjson() -> None:
    _, es = docs("ecr-dockerconfigjson.yaml")
    external = msgspec.convert(es, model.ExternalSecret)
    answer = await aws_fake.FakeEcrClient().get_authorization_token()
    values = ecr.private_output(answer).values
    content = apply.apply_template(
        external.spec.target.template, values, sources=apply.TemplateSources({}, {})
    )
    assert content.type == "kubernetes.io/dockerconfigjson"
    auths = json.loads(content.data[".dockerconfigjson"])["auths"]
    entry = auths["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    assert base64.b64decode(entry["auth"]) == b"AWS:ecr-password-1"
    assert content.annotations["expiresAt"] == values["expires_at"].decode()
