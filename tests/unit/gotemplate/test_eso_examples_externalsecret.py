"""ESO's Go-template examples as whole ExternalSecrets: each manifest in
../shared/eso-reference/examples/ is decoded as the operator decodes it (no `engineVersion` edits,
no translation), its `data`/`dataFrom` filled with realistic provider values, merged
(`secret_data.merge`, rewrites included) and templated (`templates.apply`, with the ConfigMaps
of the same file as `templateFrom` sources) — the path a sync takes — and the Secret compared
with what ESO documents. `test_eso_examples_go.py` renders the same templates one by one.
"""

from __future__ import annotations

import base64
import re

import bcrypt
import msgspec
import pytest
import yaml

from asyncso import errors, model, secret_data
from asyncso.templates import apply

from .eso_fixtures import fixtures
from .test_eso_examples_go import EXAMPLES, _documents

pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="../shared/eso-reference/examples is not present"
)

F = fixtures()
CHAIN = F.leaf_pem + F.intermediate_pem + F.root_pem


def sync(
    example: str,
    *,
    values: dict[str, str | bytes] | None = None,
    extracts: list[dict[str, str]] | None = None,
) -> model.SecretContent:
    """Decode the example's ExternalSecret and run merge + template over provider values.

    `values` are the provider's answers by `data[].secretKey` (or, for snippets with neither
    `data` nor `dataFrom`, the fetched values themselves); `extracts` the maps `dataFrom`
    entries return, in order."""
    docs = _documents(example)
    (doc,) = [d for d in docs if d.get("kind") == "ExternalSecret"]
    doc["metadata"]["namespace"] = "default"
    es = msgspec.convert(doc, model.ExternalSecret)
    spec = es.spec
    given = {k: v.encode() if isinstance(v, str) else v for k, v in (values or {}).items()}
    if spec.data or spec.data_from:
        fetched = secret_data.Fetched(
            data=[given[item.secret_key] for item in spec.data],
            data_from=[{k: v.encode() for k, v in found.items()} for found in (extracts or [])],
        )
        merged = secret_data.merge(spec, fetched)
    else:
        merged = given
    config_maps = {d["metadata"]["name"]: d["data"] for d in docs if d.get("kind") == "ConfigMap"}
    sources = apply.TemplateSources(config_maps=config_maps)
    return apply.apply_template(spec.target.template, merged, sources=sources)


def text(content: model.SecretContent) -> dict[str, str]:
    return {k: v.decode("utf-8", "surrogateescape") for k, v in content.data.items()}


def test_every_go_example_has_engine_v2_or_none() -> None:
    # What an ESO user applies: engineVersion v2, or nothing (the CRD's default).
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in _documents(path.name):
            template = ((doc.get("spec") or {}).get("target") or {}).get("template") or {}
            assert template.get("engineVersion", "v2") == "v2", path.name


def test_cert_sans() -> None:
    out = sync("certsans-template-v2-external-secret.yaml", values={"certificate": CHAIN})
    assert text(out) == {
        "sans": "foo.example.com,10.1.2.3",
        "primary-domain": "foo.example.com",
        "sans-json": '["foo.example.com","10.1.2.3"]',
    }


def test_filter_pem() -> None:
    out = sync(
        "filterpem-template-v2-external-secret.yaml", values={"mysecret": F.key_pem + F.cert_pem}
    )
    assert out.type == "kubernetes.io/tls"
    assert text(out) == {"tls.crt": F.cert_pem, "tls.key": F.key_pem}


def test_helm_escape_sequence() -> None:
    out = sync("helm-template-v2-escape-sequence.yaml", values={"mysecret": "s3cr3t"})
    assert text(out) == {"name": "admin", "password": "{{ .mysecret }}"}


def test_multikey() -> None:
    out = sync("multikey-template-v2-external-secret.yaml", values={"mysecret": "s3cr3t"})
    assert text(out) == {"name": "admin", "password": "s3cr3t"}


def test_multiline() -> None:
    values = {"user": "foobert", "password": "harharhar", "dburl": "postgres://u:p@db:5432/app"}
    out = text(sync("multiline-template-v2-external-secret.yaml", values=values))
    assert set(out) == {"config", "connection"}
    assert out["connection"] == "postgresql://u:p@db:5432/app"
    assert yaml.safe_load(out["config"])["datasources"][0] == {
        "name": "Graphite",
        "type": "graphite",
        "access": "proxy",
        "url": "http://localhost:8080",
        "password": "harharhar",
        "user": "foobert",
    }


def test_merge() -> None:
    values = {"password": base64.b64encode(b"hunter2").decode(), "username": "admin"}
    out = sync("merge-template-v2-external-secret.yaml", values=values)
    assert text(out) == {"name": "admin", "password": "hunter2", "username": "admin"}


def test_pkcs12() -> None:
    # The example gives tls.crt twice; YAML keeps the second (pkcs12certPass "my-password"),
    # so the archive must be protected by "my-password" — and then pkcs12key (no password)
    # fails, in ESO too.
    with pytest.raises(errors.TemplateError) as info:
        sync("pkcs12-template-v2-external-secret.yaml", values={"mysecret": F.pfx_nopass})
    assert "unable to execute template at key tls.crt" in str(info.value)
    assert "error calling pkcs12certPass" in str(info.value)


def test_jwk() -> None:
    # As written (one JWK for both keys) the example fails in ESO: jwkPrivateKeyPem refuses a
    # public JWK and jwkPublicKeyPem a private one.
    example = "jwk-template-v2-external-secret.yaml"
    with pytest.raises(errors.TemplateError, match="unknown key type while marshaling PKCS#8"):
        sync(example, values={"myjwk": F.jwk_pub_rsa})
    with pytest.raises(errors.TemplateError, match="unsupported public key type"):
        sync(example, values={"myjwk": F.jwk_priv_rsa})


def test_template_from_config_map() -> None:
    values = {"user": "grafana", "password": "pw", "uri": "oci://registry/charts"}
    out = sync("template-v2-from-secret.yaml", values=values)
    data = text(out)
    assert set(data) == {"config.yaml", "my-application-grafana", "enableOCI", "application-type"}
    assert 'url: "oci://registry/charts"' in data["config.yaml"]
    assert data["my-application-grafana"] == base64.b64encode(b"pw").decode()
    assert data["enableOCI"] == "true"
    assert data["application-type"] == "grafana"
    # `now` prints Go's time.Time (with its monotonic reading), read back as a YAML string.
    (annotation,) = out.annotations.items()
    assert annotation[0] == "last-synced-for-user/grafana"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC m=\+\d+\.\d{9}", annotation[1]
    )


def test_literal_htpasswd() -> None:
    out = sync("template-v2-literal-example.yaml", extracts=[{"alice": "a", "bob": "b"}])
    users = dict(line.split(":", 1) for line in text(out)["auth"].split("\n"))
    assert set(users) == {"alice", "bob"}
    assert bcrypt.checkpw(b"a", users["alice"].encode())
    assert bcrypt.checkpw(b"b", users["bob"].encode())


def test_scope_and_target() -> None:
    # `.now` is no key of the data {user, password}: ESO fails (missingkey=error), and so do we.
    example = "template-v2-scope-and-target.yaml"
    with pytest.raises(errors.TemplateError) as info:
        sync(example, values={"user": "u", "password": "p"})
    assert str(info.value).endswith(
        'executing "last-sync-for-user/{{ .user }}: {{ .now }}" at '
        '<.now>: map has no entry for key "now"'
    )


def test_rewrite_transform() -> None:
    extracts = [{"db-password": "p", "api-key": "k"}]
    out = sync("datafrom-rewrite-transform.yaml", extracts=extracts)
    assert out.data == {"ENV_DB_PASSWORD": b"p", "ENV_API_KEY": b"k"}


COVERED = {
    "certsans-template-v2-external-secret": test_cert_sans,
    "filterpem-template-v2-external-secret": test_filter_pem,
    "helm-template-v2-escape-sequence": test_helm_escape_sequence,
    "jwk-template-v2-external-secret": test_jwk,
    "merge-template-v2-external-secret": test_merge,
    "multikey-template-v2-external-secret": test_multikey,
    "multiline-template-v2-external-secret": test_multiline,
    "pkcs12-template-v2-external-secret": test_pkcs12,
    "template-v2-from-secret": test_template_from_config_map,
    "template-v2-literal-example": test_literal_htpasswd,
    "template-v2-scope-and-target": test_scope_and_target,
    "datafrom-rewrite-transform": test_rewrite_transform,
}


def test_every_example_with_a_go_template_is_covered() -> None:
    with_go = {
        path.stem
        for path in EXAMPLES.glob("*.yaml")
        if "{{" in path.read_text() and "kind: ExternalSecret" in path.read_text()
    }
    assert with_go == set(COVERED), sorted(with_go ^ set(COVERED))
