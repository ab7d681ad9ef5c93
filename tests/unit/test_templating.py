"""Golden tests: (values, template) → the Secret ESO would produce.

Several cases are ESO's documentation examples (external-secrets `docs/snippets/*template-v2*`)
hand-translated from Go templates to Jinja; the expected output is what ESO renders for them.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
from typing import Any

import bcrypt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from asyncso import errors, model, templating

NO_SOURCES = templating.TemplateSources()


def render(
    values: dict[str, bytes],
    sources: templating.TemplateSources = NO_SOURCES,
    **template: Any,
) -> templating.Rendered:
    return templating.apply_template(model.Template(**template), values, sources=sources)


def data(values: dict[str, bytes], **template_data: str) -> dict[str, bytes]:
    return render(values, data=template_data).data


# --- certificates made for the tests -----------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: Any,
    *,
    issuer: tuple[str, Any] | None = None,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    def __init__(self) -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _cert("root", self.root_key)
        self.mid_key = ec.generate_private_key(ec.SECP256R1())
        self.mid = _cert("intermediate", self.mid_key, issuer=("root", self.root_key))
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        self.leaf = _cert(
            "leaf.example.com",
            self.leaf_key,
            issuer=("intermediate", self.mid_key),
            sans=[
                x509.DNSName("leaf.example.com"),
                x509.DNSName("www.example.com"),
                x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
                x509.RFC822Name("ops@example.com"),
                x509.UniformResourceIdentifier("spiffe://example.com/app"),
            ],
        )

    @staticmethod
    def pem(cert: x509.Certificate) -> str:
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def leaf_key_pem(self) -> str:
        return self.leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def p12(self, password: bytes | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        # CAs deliberately out of order: pkcs12cert orders leaf → intermediate → root.
        return pkcs12.serialize_key_and_certificates(
            b"leaf", self.leaf_key, self.leaf, [self.root, self.mid], encryption
        )


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


# --- the basics --------------------------------------------------------------------------------


def test_no_template_passes_values_through() -> None:
    out = templating.apply_template(None, {"a": b"1"}, sources=NO_SOURCES)
    assert out == templating.Rendered(data={"a": b"1"}, labels={}, annotations={}, type="Opaque")


def test_type_passes_through_and_defaults_to_opaque() -> None:
    assert render({}, type="kubernetes.io/tls").type == "kubernetes.io/tls"
    assert render({}).type == "Opaque"


@pytest.mark.parametrize(
    ("values", "template", "expected"),
    [
        ({"a": b"x"}, "{{ a }}", b"x"),
        ({"a": b"x"}, "{{ values.a }}", b"x"),
        ({"my-key": b"x"}, '{{ values["my-key"] }}', b"x"),
        ({"tls.crt": b"x"}, '{{ values["tls.crt"] }}', b"x"),
        ({"quote": b"x"}, '{{ values["quote"] }}-{{ quote("q") }}', b'x-"q"'),
        ({"values": b"x"}, '{{ values["values"] }}', b"x"),
        ({"a": b"x"}, "line\n", b"line\n"),  # keep_trailing_newline
        ({"a": b"x"}, "{{ a }}\n", b"x\n"),
        ({"a": b"x"}, "{% if a == 'x' %}yes{% endif %}", b"yes"),
        ({"a": b"x"}, "{{ missing | default('d') }}", b"d"),
        ({"a": b""}, "{{ a | default('d') }}", b"d"),  # sprig: "" is empty too
        ({"a": b"x"}, "{{ default(a, 'd') }}", b"x"),
        ({"a": b"x"}, "{{ values | length }}", b"1"),
        ({"a": b"x"}, "{{ a == 'x' }}|{{ none }}|{{ 1.5 }}", b"true|None|1.5"),
        ({"a": b"x"}, "{{ values.get('nope') }}", b"None"),
        (
            {"b": b"2", "a": b"1"},
            "{% for k, v in values|dictsort %}{{ k }}={{ v }};{% endfor %}",
            b"a=1;b=2;",
        ),
    ],
)
def test_value_access(values: dict[str, bytes], template: str, expected: bytes) -> None:
    assert data(values, out=template) == {"out": expected}


def test_binary_values_round_trip() -> None:
    blob = bytes(range(256)) * 4
    out = data(
        {"blob": blob, "b64": base64.b64encode(blob)},
        raw="{{ blob }}",
        decoded="{{ b64 | b64dec }}",
        encoded="{{ blob | b64enc }}",
        digest="{{ blob | sha256sum }}",
    )
    assert out == {
        "raw": blob,
        "decoded": blob,
        "encoded": base64.b64encode(blob),
        "digest": hashlib.sha256(blob).hexdigest().encode(),
    }


def test_filters_and_functions_are_the_same() -> None:
    out = data(
        {"a": b"hi"}, f="{{ a | b64enc }}", g="{{ b64enc(a) }}", h="{{ a | replace('h', 'H') }}"
    )
    assert out == {"f": b"aGk=", "g": b"aGk=", "h": b"Hi"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'a<b>&c' | toJson }}", b'"a\\u003cb\\u003e\\u0026c"'),  # as Go's json.Marshal
        ('{{ {"b": 1.0, "a": [1, 2.5, "x"]} | toJson }}', b'{"a":[1,2.5,"x"],"b":1}'),
        ('{{ {"a": {"b": 1}} | toPrettyJson }}', b'{\n  "a": {\n    "b": 1\n  }\n}'),
        ('{{ (\'{"a": {"b": [1, 2]}}\' | fromJson).a.b[1] }}', b"2"),
        ('{{ {"b": [1, 2], "a": "x"} | toYaml }}', b"a: x\nb:\n- 1\n- 2"),
        ("{{ 'hello' | toYaml }}", b"hello"),
        ('{{ ("a:\\n  b: c" | fromYaml).a.b }}', b"c"),
        ("{{ 'abc' | sha256sum }}", hashlib.sha256(b"abc").hexdigest().encode()),
        ("{{ 'abc' | sha1sum }}", hashlib.sha1(b"abc").hexdigest().encode()),
        ("{{ 'abc' | sha512sum }}", hashlib.sha512(b"abc").hexdigest().encode()),
        ("{{ ' x ' | trim }}|{{ 'x' | upper }}|{{ 'X' | lower }}", b"x|X|x"),
        ("{{ 'a\"b\\n\\t\\x01é' | quote }}", b'"a\\"b\\n\\t\\x01\xc3\xa9"'),
        ("{{ quote('a', 'b') }}|{{ 'it' | squote }}", b'"a" "b"|\'it\''),
        ("{{ 'a\\nb' | indent(2) }}", b"  a\n  b"),
        ("{{ 'a\\nb' | nindent(2) }}", b"\n  a\n  b"),
        ("{{ 'oci://x' | hasPrefix('oci://') }}|{{ hasSuffix('a.pem', '.pem') }}", b"true|true"),
        ("{{ trimPrefix('v1.2', 'v') }}|{{ trimSuffix('a.pem', '.pem') }}", b"1.2|a"),
        ("{{ [1, 2] | join(', ') }}", b"1, 2"),
        ("{{ empty('') }}|{{ empty('x') }}|{{ empty([]) }}", b"true|false|true"),
        (
            "{{ htpasswd('u', 'p', 'sha') }}",
            b"u:{SHA}" + base64.b64encode(hashlib.sha1(b"p").digest()),
        ),
    ],
)
def test_functions(template: str, expected: bytes) -> None:
    assert data({}, out=template) == {"out": expected}


def test_bcrypt_and_htpasswd_verify() -> None:
    out = data({"pw": b"s3cret"}, hash="{{ pw | bcrypt }}", line="{{ htpasswd('alice', pw) }}")
    assert out["hash"].startswith(b"$2a$10$")
    assert bcrypt.checkpw(b"s3cret", out["hash"])
    user, hashed = out["line"].split(b":", 1)
    assert user == b"alice"
    assert hashed.startswith(b"$2a$10$")
    assert bcrypt.checkpw(b"s3cret", hashed)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 'x:y' | htpasswd('p') }}", "htpasswd: the username must not contain ':'"),
        ("{{ 'not base64' | b64dec }}", "b64dec: input is not valid base64"),
        ("{{ 'nope' | fromJson }}", "fromJson: input is not valid JSON"),
        ("{{ 'a: [' | fromYaml }}", "fromYaml: invalid YAML"),
        ("{{ 'a: &x 1\\nb: *x' | fromYaml }}", "YAML aliases are not supported"),
        ("{{ 'junk' | filterPEM('CERTIFICATE') }}", "filterPEM: input has no PEM blocks"),
        ("{{ 'junk' | pkcs12key }}", "pkcs12key: unable to decode PKCS#12 archive"),
        ("{{ '{}' | jwkPublicKeyPem }}", "JWK: unsupported key type None"),
        ("{{ ('x' * 73) | bcrypt }}", "bcrypt: password is longer than 72 bytes"),
    ],
)
def test_function_errors(template: str, message: str) -> None:
    with pytest.raises(errors.TemplateError, match=r"^template\.data\['out'\]: ") as info:
        data({}, out=template)
    assert message in str(info.value)


# --- merge policy and precedence ---------------------------------------------------------------


def test_replace_keeps_only_templated_keys() -> None:
    out = render({"a": b"1", "b": b"2"}, data={"c": "{{ a }}{{ b }}"})
    assert out.data == {"c": b"12"}


def test_merge_keeps_values_and_template_wins() -> None:
    # merge-template-v2-external-secret.yaml: password overwritten, username preserved.
    values = {"password": base64.b64encode(b"hunter2"), "username": b"admin"}
    out = render(
        values,
        merge_policy="Merge",
        data={"name": "admin", "password": "{{ password | b64dec }}"},
    )
    assert out.data == {"password": b"hunter2", "username": b"admin", "name": b"admin"}


@pytest.mark.parametrize("policy", ["Replace", "Merge"])
def test_template_without_data_passes_values(policy: model.TemplateMergePolicy) -> None:
    out = render(
        {"a": b"1"},
        merge_policy=policy,
        type="kubernetes.io/basic-auth",
        metadata=model.TemplateMetadata(labels={"app": "{{ a }}"}, annotations={"n": "x"}),
    )
    assert out == templating.Rendered(
        data={"a": b"1"},
        labels={"app": "1"},
        annotations={"n": "x"},
        type="kubernetes.io/basic-auth",
    )


def test_template_from_to_annotations_only_leaves_no_data_under_replace() -> None:
    # As ESO: templateFrom is non-empty, so the data is what the templates made: nothing.
    out = render(
        {"user": b"u"},
        template_from=[model.TemplateFrom(target="Annotations", literal="who: '{{ user }}'")],
    )
    assert out.data == {}
    assert out.annotations == {"who": "u"}


def test_template_data_overrides_template_from() -> None:
    out = render(
        {"a": b"1"},
        template_from=[model.TemplateFrom(literal="k: from-literal\nj: '{{ a }}'")],
        data={"k": "from-data"},
    )
    assert out.data == {"k": b"from-data", "j": b"1"}


def test_template_from_order_configmap_secret_literal() -> None:
    sources = templating.TemplateSources(
        config_maps={"cm": {"t": "k: cm"}}, secrets={"s": {"t": b"k: secret"}}
    )
    ref = [model.TemplateRefItem(key="t", template_as="KeysAndValues")]
    both = model.TemplateFrom(
        config_map=model.TemplateRef(name="cm", items=ref),
        secret=model.TemplateRef(name="s", items=ref),
    )
    assert render({}, sources, template_from=[both]).data == {"k": b"secret"}
    with_literal = model.TemplateFrom(
        config_map=model.TemplateRef(name="cm", items=ref), literal="k: literal"
    )
    assert render({}, sources, template_from=[with_literal]).data == {"k": b"literal"}
    later = [both, model.TemplateFrom(config_map=model.TemplateRef(name="cm", items=ref))]
    assert render({}, sources, template_from=later).data == {"k": b"cm"}


def test_metadata_labels_override_template_from_labels() -> None:
    out = render(
        {"env": b"prod"},
        template_from=[model.TemplateFrom(target="Labels", literal="env: from-literal\nx: y")],
        metadata=model.TemplateMetadata(labels={"env": "{{ env }}"}),
    )
    assert out.labels == {"env": "prod", "x": "y"}
    assert out.data == {}


# --- templateFrom ------------------------------------------------------------------------------

GRAFANA_CM = {
    # template-v2-from-secret.yaml, translated: `.uri` → `uri`, `hasPrefix "oci://" .uri` →
    # `hasPrefix(uri, "oci://")`, `{{- if … }}` → `{%- if … %}`.
    "config.yaml": (
        "datasources:\n"
        "  - name: Graphite\n"
        "    type: graphite\n"
        "    access: proxy\n"
        '    url: "{{ uri }}"\n'
        '    password: "{{ password }}"\n'
        '    user: "{{ user }}"\n'
    ),
    "templated": (
        "# key and value templated\n"
        "my-application-{{ user }}: {{ password | b64enc }}\n"
        "# conditional keys\n"
        '{%- if hasPrefix(uri, "oci://") %}\n'
        "enableOCI: true\n"
        "{%- else %}\n"
        "enableOCI: false\n"
        "{%- endif %}\n"
        "# Fixed values\n"
        "application-type: grafana\n"
    ),
    "annotations": "last-synced-for-user/{{ user }}: 'yes'\n",
}


def _grafana(uri: bytes) -> templating.Rendered:
    values = {"user": b"admin", "password": b"p4ss", "uri": uri}
    sources = templating.TemplateSources(config_maps={"grafana-config-tpl": GRAFANA_CM})
    return render(
        values,
        sources,
        template_from=[
            model.TemplateFrom(
                target="Data",
                config_map=model.TemplateRef(
                    name="grafana-config-tpl",
                    items=[
                        model.TemplateRefItem(key="config.yaml", template_as="Values"),
                        model.TemplateRefItem(key="templated", template_as="KeysAndValues"),
                    ],
                ),
            ),
            model.TemplateFrom(
                target="Annotations",
                config_map=model.TemplateRef(
                    name="grafana-config-tpl",
                    items=[model.TemplateRefItem(key="annotations", template_as="KeysAndValues")],
                ),
            ),
        ],
    )


def test_eso_example_template_from_configmap() -> None:
    out = _grafana(b"oci://registry/grafana")
    assert out.data == {
        "config.yaml": (
            b"datasources:\n"
            b"  - name: Graphite\n"
            b"    type: graphite\n"
            b"    access: proxy\n"
            b'    url: "oci://registry/grafana"\n'
            b'    password: "p4ss"\n'
            b'    user: "admin"\n'
        ),
        "my-application-admin": b"cDRzcw==",
        "enableOCI": b"true",
        "application-type": b"grafana",
    }
    assert out.annotations == {"last-synced-for-user/admin": "yes"}
    assert _grafana(b"https://grafana").data["enableOCI"] == b"false"


def test_template_from_secret_values_scope() -> None:
    sources = templating.TemplateSources(secrets={"tpl": {"conn": b"postgres://{{ user }}@db"}})
    out = render(
        {"user": b"app"},
        sources,
        template_from=[
            model.TemplateFrom(
                secret=model.TemplateRef(name="tpl", items=[model.TemplateRefItem(key="conn")])
            )
        ],
    )
    assert out.data == {"conn": b"postgres://app@db"}


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("a: '1'\nb: two", {"a": b"1", "b": b"two"}),
        ('{"a": "1", "b": 2}', {"a": b"1", "b": b"2"}),  # JSON is YAML too
        ("flag: true\nno: no\nn: 10\nhex: 0x1f\nf: 1.50\nwhole: 2.0", None),
        ("empty:", {"empty": b""}),
        ("", {}),
        ("# only a comment", {}),
        ("1: one\ntrue: t", {"1": b"one", "true": b"t"}),
        ("big: 1500000.0\nsmall: 0.00001", {"big": b"1.5e+06", "small": b"1e-05"}),
    ],
)
def test_key_and_value_scalars_as_sigs_yaml(
    literal: str, expected: dict[str, bytes] | None
) -> None:
    out = render({}, template_from=[model.TemplateFrom(literal=literal)]).data
    if expected is None:  # YAML 1.1 scalars, stringified as Go does for a string target
        expected = {
            "flag": b"true",
            "false": b"false",  # `no: no` is a bool key and a bool value in YAML 1.1
            "n": b"10",
            "hex": b"31",
            "f": b"1.5",
            "whole": b"2",
        }
    assert out == expected


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("a: [1, 2]", "the value of 'a' is not a string"),
        ("a: {b: c}", "the value of 'a' is not a string"),
        ("- a\n- b", "not a YAML mapping"),
        ("a: b: c", "invalid YAML at line 1"),
        ("bad key: x", "Secret key 'bad key' is invalid"),
    ],
)
def test_literal_errors(literal: str, message: str) -> None:
    with pytest.raises(
        errors.TemplateError, match=r"^template\.templateFrom\[0\]\.literal"
    ) as info:
        render({}, template_from=[model.TemplateFrom(literal=literal)])
    assert message in str(info.value)


def test_invalid_data_key_from_template_data() -> None:
    with pytest.raises(errors.TemplateError, match="'a b' is invalid"):
        data({}, **{"a b": "x"})


def test_missing_sources_are_spec_errors() -> None:
    ref = model.TemplateRef(name="cm", items=[model.TemplateRefItem(key="t")])
    with pytest.raises(errors.InvalidSpecError, match=r"templateFrom\[0\]\.configMap: .*'cm' not"):
        render({}, template_from=[model.TemplateFrom(config_map=ref)])
    sources = templating.TemplateSources(config_maps={"cm": {"other": ""}})
    with pytest.raises(errors.InvalidSpecError, match=r"items\[0\]: ConfigMap 'cm' has no key 't'"):
        render({}, sources, template_from=[model.TemplateFrom(config_map=ref)])
    with pytest.raises(
        errors.InvalidSpecError, match=r"templateFrom\[0\]\.secret: Secret 'cm' not"
    ):
        render({}, template_from=[model.TemplateFrom(secret=ref)])


def test_referenced_sources() -> None:
    template = model.Template(
        template_from=[
            model.TemplateFrom(config_map=model.TemplateRef(name="a")),
            model.TemplateFrom(secret=model.TemplateRef(name="b")),
            model.TemplateFrom(config_map=model.TemplateRef(name="c"), literal="x: y"),
            model.TemplateFrom(literal="x: y"),
        ]
    )
    assert templating.referenced_sources(template) == ({"a", "c"}, {"b"})
    assert templating.referenced_sources(None) == (set(), set())


def test_metadata_templating() -> None:
    out = render(
        {"team": b"payments", "tier": b"gold"},
        data={"x": "1"},
        metadata=model.TemplateMetadata(
            labels={"team": "{{ team }}", "static": "yes"},
            annotations={"owner": "{{ team | upper }}-{{ tier }}"},
        ),
    )
    assert out.labels == {"team": "payments", "static": "yes"}
    assert out.annotations == {"owner": "PAYMENTS-gold"}


def test_binary_label_value_is_refused() -> None:
    with pytest.raises(errors.TemplateError, match="label 'l' is not valid UTF-8"):
        render(
            {"blob": b"\xff"},
            data={"x": "1"},
            metadata=model.TemplateMetadata(labels={"l": "{{ blob }}"}),
        )


# --- ESO examples, translated ------------------------------------------------------------------


def test_eso_example_multiline() -> None:
    # multiline-template-v2-external-secret.yaml
    config = (
        "datasources:\n"
        "- name: Graphite\n"
        "  type: graphite\n"
        "  access: proxy\n"
        "  url: http://localhost:8080\n"
        '  password: "{{ password }}"\n'
        '  user: "{{ user }}"\n'
    )
    out = render(
        {"user": b"grafana", "password": b"pw", "dburl": b"postgres://db:5432/app"},
        data={
            "config": config,
            "connection": '{{ dburl | replace("postgres://", "postgresql://") }}',
        },
    )
    assert out.data == {
        "config": (
            b"datasources:\n"
            b"- name: Graphite\n"
            b"  type: graphite\n"
            b"  access: proxy\n"
            b"  url: http://localhost:8080\n"
            b'  password: "pw"\n'
            b'  user: "grafana"\n'
        ),
        "connection": b"postgresql://db:5432/app",
    }


def test_eso_example_multikey_and_helm_escape() -> None:
    # multikey-template-v2-external-secret.yaml; the helm variant renders the same once Helm
    # has turned {{ "{{ mysecret }}" }} into {{ mysecret }}.
    out = render({"mysecret": b"s3"}, data={"name": "admin", "password": "{{ mysecret }}"})
    assert out.data == {"name": b"admin", "password": b"s3"}


def test_eso_example_filter_pem(pki: Pki) -> None:
    # filterpem-template-v2-external-secret.yaml: a bundle with key and cert, split for TLS.
    bundle = "some junk first\n" + pki.leaf_key_pem + pki.pem(pki.leaf) + pki.pem(pki.mid)
    out = render(
        {"mysecret": bundle.encode()},
        type="kubernetes.io/tls",
        data={
            "tls.crt": '{{ mysecret | filterPEM("CERTIFICATE") }}',
            "tls.key": '{{ mysecret | filterPEM("PRIVATE KEY") }}',
        },
    )
    assert out.type == "kubernetes.io/tls"
    assert out.data == {
        "tls.crt": (pki.pem(pki.leaf) + pki.pem(pki.mid)).encode(),
        "tls.key": pki.leaf_key_pem.encode(),
    }


def test_filter_pem_is_case_insensitive_and_keeps_headers() -> None:
    block = "-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nB: 2\nA: 1\n\nYWJj\n-----END X-----\n"
    out = data({"v": block.encode()}, out='{{ v | filterPEM("x") }}')
    assert out["out"] == (
        b"-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nA: 1\nB: 2\n\nYWJj\n-----END X-----\n"
    )
    nothing = data({"v": block.encode()}, out='{{ v | filterPEM("CERTIFICATE") }}')
    assert nothing == {"out": b""}


def test_eso_example_pkcs12(pki: Pki) -> None:
    # pkcs12-template-v2-external-secret.yaml
    chain = (pki.pem(pki.leaf) + pki.pem(pki.mid) + pki.pem(pki.root)).encode()
    out = render(
        {"mysecret": pki.p12(), "locked": pki.p12(b"my-password")},
        type="kubernetes.io/tls",
        data={
            "tls.crt": "{{ mysecret | pkcs12cert }}",
            "tls.key": "{{ mysecret | pkcs12key }}",
            "locked.crt": '{{ locked | pkcs12certPass("my-password") }}',
            "locked.key": '{{ pkcs12keyPass(locked, "my-password") }}',
        },
    )
    assert out.data == {
        "tls.crt": chain,
        "tls.key": pki.leaf_key_pem.encode(),
        "locked.crt": chain,
        "locked.key": pki.leaf_key_pem.encode(),
    }


def test_pkcs12_wrong_password(pki: Pki) -> None:
    with pytest.raises(errors.TemplateError, match="unable to decode PKCS#12 archive"):
        data({"p12": pki.p12(b"right")}, out='{{ p12 | pkcs12keyPass("wrong") }}')


def test_pkcs12_from_base64(pki: Pki) -> None:
    out = data({"p12": base64.b64encode(pki.p12())}, key="{{ p12 | b64dec | pkcs12key }}")
    assert out == {"key": pki.leaf_key_pem.encode()}


def test_pem_to_pkcs12_round_trip(pki: Pki) -> None:
    values = {
        "crt": (pki.pem(pki.leaf) + pki.pem(pki.mid)).encode(),
        "key": pki.leaf_key_pem.encode(),
    }
    out = data(
        values,
        plain="{{ crt | pemToPkcs12(key) }}",
        full='{{ fullPemToPkcs12Pass(crt, key, "pw") }}',
    )
    plain = pkcs12.load_pkcs12(base64.b64decode(out["plain"]), None)
    assert plain.cert is not None and plain.cert.certificate == pki.leaf
    assert plain.additional_certs == []
    full = pkcs12.load_pkcs12(base64.b64decode(out["full"]), b"pw")
    assert full.cert is not None and full.cert.certificate == pki.leaf
    assert [c.certificate for c in full.additional_certs] == [pki.mid]


def test_eso_example_cert_sans(pki: Pki) -> None:
    # certsans-template-v2-external-secret.yaml
    bundle = (pki.pem(pki.root) + pki.pem(pki.leaf) + pki.pem(pki.mid)).encode()
    leaf = '(certificate | filterPEM("CERTIFICATE") | filterCertChain("leaf") | certSANs)'
    out = data(
        {"certificate": bundle},
        sans=f'{{{{ {leaf} | join(",") }}}}',
        **{"primary-domain": f"{{{{ {leaf}[0] }}}}", "sans-json": f"{{{{ {leaf} | toJson }}}}"},
    )
    sans = ["leaf.example.com", "www.example.com", "10.0.0.1", "ops@example.com"]
    sans.append("spiffe://example.com/app")
    assert out == {
        "sans": ",".join(sans).encode(),
        "primary-domain": b"leaf.example.com",
        "sans-json": json.dumps(sans, separators=(",", ":")).encode(),
    }


def test_filter_cert_chain(pki: Pki) -> None:
    bundle = (pki.pem(pki.mid) + pki.pem(pki.root) + pki.pem(pki.leaf)).encode()
    out = data(
        {"c": bundle},
        leaf='{{ c | filterCertChain("leaf") }}',
        mid='{{ c | filterCertChain("intermediate") }}',
        root='{{ c | filterCertChain("root") }}',
    )
    assert out == {
        "leaf": pki.pem(pki.leaf).encode(),
        "mid": pki.pem(pki.mid).encode(),
        "root": pki.pem(pki.root).encode(),
    }


def _b64url(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_eso_example_jwk_rsa() -> None:
    # jwk-template-v2-external-secret.yaml
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.private_numbers()
    public_jwk = {"kty": "RSA", "kid": "k1", "use": "sig"}
    public_jwk |= {"n": _b64url(numbers.public_numbers.n), "e": _b64url(numbers.public_numbers.e)}
    private_jwk = public_jwk | {"d": _b64url(numbers.d)}  # no CRT members: recovered
    out = data(
        {"myjwk": json.dumps(private_jwk).encode(), "pubjwk": json.dumps(public_jwk).encode()},
        jwk_pub="{{ pubjwk | jwkPublicKeyPem }}",
        jwk_priv="{{ myjwk | jwkPrivateKeyPem }}",
    )
    assert out["jwk_pub"] == key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert out["jwk_priv"].startswith(b"-----BEGIN PRIVATE KEY-----\n")
    loaded = serialization.load_pem_private_key(out["jwk_priv"], None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == numbers


def test_jwk_ec_and_okp() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pub = ec_key.public_key().public_numbers()
    ec_jwk = {"kty": "EC", "crv": "P-256", "x": _b64url(pub.x), "y": _b64url(pub.y)}
    ec_jwk["d"] = _b64url(ec_key.private_numbers().private_value)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    raw = ed_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    ed_jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
    }
    out = data(
        {"ec": json.dumps(ec_jwk).encode(), "ed": json.dumps(ed_jwk).encode()},
        ec="{{ ec | jwkPublicKeyPem }}",
        ed="{{ ed | jwkPublicKeyPem }}",
    )
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert out["ec"] == ec_key.public_key().public_bytes(serialization.Encoding.PEM, spki)
    assert out["ed"] == ed_key.public_key().public_bytes(serialization.Encoding.PEM, spki)
    with pytest.raises(errors.TemplateError, match="the JWK holds no private key"):
        data({"ed": json.dumps(ed_jwk).encode()}, out="{{ ed | jwkPrivateKeyPem }}")


def test_eso_example_literal_htpasswd() -> None:
    # template-v2-literal-example.yaml. Jinja has no `append` to a list in a loop; collect the
    # lines in a {% set %} block instead. Go ranges over a map in key order: dictsort.
    literal = (
        "{%- set lines %}{% for user, pw in values | dictsort %}"
        "{{ htpasswd(user, pw) }}{% if not loop.last %}{{ '\\n' }}{% endif %}"
        "{% endfor %}{% endset -%}\n"
        "auth: {{ lines | quote }}"
    )
    out = render(
        {"user2": b"password2", "user1": b"password1"},
        template_from=[model.TemplateFrom(target="Data", literal=literal)],
    )
    lines = out.data["auth"].split(b"\n")
    assert [line.split(b":", 1)[0] for line in lines] == [b"user1", b"user2"]
    for line, password in zip(lines, [b"password1", b"password2"], strict=True):
        hashed = line.split(b":", 1)[1]
        assert hashed.startswith(b"$2a$10$")
        assert bcrypt.checkpw(password, hashed)


def test_eso_example_scope_and_target_fails_like_eso() -> None:
    # template-v2-scope-and-target.yaml uses `.now`, which is no key of its data: ESO fails
    # (missingkey=error), and so do we.
    with pytest.raises(errors.TemplateError, match="'now' is undefined"):
        render(
            {"user": b"u", "password": b"p"},
            template_from=[
                model.TemplateFrom(
                    target="Annotations", literal="last-sync-for-user/{{ user }}: {{ now }}"
                )
            ],
        )


# --- engine version and errors -----------------------------------------------------------------


def test_engine_v2_is_refused() -> None:
    with pytest.raises(errors.TemplateError, match=r"^engineVersion v2 \(Go templates\) is not"):
        render({"a": b"1"}, engine_version="v2", data={"x": "{{ .a }}"})


@pytest.mark.parametrize(
    "template",
    ['{{ .mysecret | filterPEM "CERTIFICATE" }}', "{{ .password }}", "{{- range $k, $v := . }}"],
)
def test_go_syntax_gets_a_hint(template: str) -> None:
    with pytest.raises(errors.TemplateError, match="looks like an ESO Go template"):
        data({"mysecret": b"x", "password": b"y"}, out=template)


def test_plain_jinja_syntax_error_has_no_go_hint() -> None:
    with pytest.raises(errors.TemplateError) as info:
        data({}, out="{% if %}")
    assert "Go template" not in str(info.value)
    assert str(info.value).startswith("template.data['out']: ")


def test_missing_key_names_the_key_and_the_line() -> None:
    with pytest.raises(errors.TemplateError) as info:
        data({"a": b"1"}, out="ok\n{{ b }}")
    assert str(info.value) == "template.data['out']: 'b' is undefined (line 2)"


def test_total_size_is_limited() -> None:
    big = b"x" * (600 << 10)
    with pytest.raises(errors.TemplateError, match="larger than 1 MiB"):
        render({"a": big, "b": big}, merge_policy="Merge", data={"c": "1"})
