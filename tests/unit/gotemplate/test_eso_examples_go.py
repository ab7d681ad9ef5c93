"""Every Go template in ESO's documentation examples (../shared/eso-reference/examples/),
rendered unchanged by the Go engine over realistic values, against what ESO produces.

The examples are read from the reference copy when it is present (it is in CI); each template
found there must parse, and the ones whose output the example states or implies are compared
with that output. Key material comes from eso_fixtures (made with `cryptography`).
"""

from __future__ import annotations

import base64
import json
import pathlib
import re
from typing import Any

import bcrypt
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from asyncso.templates import go

from .eso_fixtures import fixtures

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / ".." / "shared" / "eso-reference"
EXAMPLES = EXAMPLES.resolve() / "examples"

pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="../shared/eso-reference/examples is not present"
)

F = fixtures()


_QUOTED_LINE = re.compile(r'^(\s+)([\w.-]+): "(.*)"\s*(#.*)?$')


def _documents(name: str) -> list[dict[str, Any]]:
    text = (EXAMPLES / name).read_text()
    text = re.sub(r"\{%-?\s*(end)?raw\s*-?%\}", "", text)
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc]
    except yaml.YAMLError:
        # Some snippets put unescaped quotes inside "...": read those lines literally.
        lines = []
        for line in text.splitlines():
            match = _QUOTED_LINE.match(line)
            if match and '"' in match.group(3):
                indent, key, value = match.group(1), match.group(2), match.group(3)
                line = f"{indent}{key}: '{value.replace(chr(39), chr(39) * 2)}'"
            lines.append(line)
        return [doc for doc in yaml.safe_load_all("\n".join(lines)) if doc]


def _go_templates(doc: dict[str, Any]) -> dict[str, str]:
    """Every Go template of a manifest: template data, templateFrom literals, ConfigMap data,
    rewrite transforms."""
    found: dict[str, str] = {}
    if doc.get("kind") == "ConfigMap":
        found.update({f"configmap/{k}": v for k, v in (doc.get("data") or {}).items()})
    spec = doc.get("spec") or {}
    template = (spec.get("target") or {}).get("template") or {}
    for key, value in (template.get("data") or {}).items():
        found[f"data/{key}"] = value
    for index, source in enumerate(template.get("templateFrom") or []):
        if "literal" in source:
            found[f"templateFrom/{index}"] = source["literal"]
    for index, item in enumerate(spec.get("dataFrom") or []):
        for rewrite in item.get("rewrite") or []:
            if "transform" in rewrite:
                found[f"rewrite/{index}"] = rewrite["transform"]["template"]
    return {k: v for k, v in found.items() if isinstance(v, str) and "{{" in v}


def _all_examples() -> list[tuple[str, str, str]]:
    if not EXAMPLES.is_dir():
        return []
    out = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in _documents(path.name):
            for key, text in _go_templates(doc).items():
                out.append((path.name, key, text))
    return out


@pytest.mark.parametrize(("example", "key", "text"), _all_examples())
def test_every_example_template_parses(example: str, key: str, text: str) -> None:
    assert go.check(key, text) is None


def _render(example: str, key: str, data: dict[str, Any]) -> str:
    templates = {k: t for doc in _documents(example) for k, t in _go_templates(doc).items()}
    return go.render(key, templates[key], data).decode("utf-8", "surrogateescape")


CHAIN = F.leaf_pem + F.intermediate_pem + F.root_pem


def test_cert_sans_example() -> None:
    example = "certsans-template-v2-external-secret.yaml"
    data = {"certificate": F.leaf_key_pem + CHAIN}
    sans = "foo.example.com,10.1.2.3"
    assert _render(example, "data/sans", data) == sans
    assert _render(example, "data/primary-domain", data) == "foo.example.com"
    assert _render(example, "data/sans-json", data) == json.dumps(
        sans.split(","), separators=(",", ":")
    )


def test_filter_pem_example() -> None:
    example = "filterpem-template-v2-external-secret.yaml"
    data = {"mysecret": F.key_pem + F.cert_pem}
    assert _render(example, "data/tls.crt", data) == F.cert_pem
    assert _render(example, "data/tls.key", data) == F.key_pem


def test_helm_escape_sequence_example() -> None:
    out = _render("helm-template-v2-escape-sequence.yaml", "data/password", {"mysecret": "x"})
    assert out == "{{ .mysecret }}"


def test_jwk_example() -> None:
    example = "jwk-template-v2-external-secret.yaml"
    assert _render(example, "data/jwk_pub", {"myjwk": F.jwk_pub_rsa}) == F.jwk_pub_rsa_pkix
    assert _render(example, "data/jwk_priv", {"myjwk": F.jwk_priv_rsa}) == F.jwk_priv_rsa_pkcs8


def test_merge_example() -> None:
    data = {"password": base64.b64encode(b"hunter2").decode(), "username": "admin"}
    assert _render("merge-template-v2-external-secret.yaml", "data/password", data) == "hunter2"


def test_multikey_example() -> None:
    out = _render("multikey-template-v2-external-secret.yaml", "data/password", {"mysecret": "pw"})
    assert out == "pw"


def test_multiline_example() -> None:
    example = "multiline-template-v2-external-secret.yaml"
    data = {"user": "foobert", "password": "harharhar", "dburl": "postgres://u:p@h:5432/db"}
    config = _render(example, "data/config", data)
    assert 'password: "harharhar"' in config and 'user: "foobert"' in config
    assert _render(example, "data/connection", data) == "postgresql://u:p@h:5432/db"


def test_pkcs12_example() -> None:
    example = "pkcs12-template-v2-external-secret.yaml"
    assert _render(example, "data/tls.key", {"mysecret": F.pfx_nopass}) == F.key_pem
    # tls.crt appears twice in the example; YAML keeps the last: pkcs12certPass "my-password".
    key = serialization.load_pem_private_key(F.key_pem.encode(), None)
    cert = x509.load_pem_x509_certificate(F.cert_pem.encode())
    archive = pkcs12.serialize_key_and_certificates(
        b"x",
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(b"my-password"),  # type: ignore[arg-type]
    )
    assert _render(example, "data/tls.crt", {"mysecret": archive}) == F.cert_pem
    with pytest.raises(go.GoTemplateError, match="unable to decode pkcs12 certificate"):
        _render(example, "data/tls.crt", {"mysecret": F.pfx_withpass})


def test_template_from_configmap_example() -> None:
    example = "template-v2-from-secret.yaml"
    data = {"user": "grafana", "password": "pw", "uri": "oci://registry/x"}
    config = _render(example, "configmap/config.yaml", data)
    assert 'url: "oci://registry/x"' in config
    templated = yaml.safe_load(_render(example, "configmap/templated", data))
    assert templated == {
        "my-application-grafana": base64.b64encode(b"pw").decode(),
        "enableOCI": True,
        "application-type": "grafana",
    }
    annotations = _render(example, "configmap/annotations", data)
    assert re.fullmatch(
        r"(#.*\n)?last-synced-for-user/grafana: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC "
        r"m=\+\d+\.\d{9}\n",
        annotations,
    )


def test_literal_htpasswd_example() -> None:
    out = _render("template-v2-literal-example.yaml", "templateFrom/0", {"alice": "a", "bob": "b"})
    auth = yaml.safe_load(out)["auth"]
    users = dict(line.split(":", 1) for line in auth.split("\n"))
    assert set(users) == {"alice", "bob"}
    assert bcrypt.checkpw(b"a", users["alice"].encode())
    assert bcrypt.checkpw(b"b", users["bob"].encode())


def test_scope_and_target_example() -> None:
    example = "template-v2-scope-and-target.yaml"
    out = _render(example, "templateFrom/0", {"user": "u", "now": "later"})
    assert out == "last-sync-for-user/u: later"
    with pytest.raises(go.GoTemplateError, match='map has no entry for key "now"'):
        _render(example, "templateFrom/0", {"user": "u"})


def test_rewrite_transform_example() -> None:
    out = _render("datafrom-rewrite-transform.yaml", "rewrite/0", {"value": "db-password"})
    assert out == "ENV_DB_PASSWORD"
