"""Golden tests of the Jinja engine (`engineVersion: jinja`): (values, template) → the Secret.

ESO's documentation examples, hand-translated to Jinja, are in `test_eso_examples.py`; this file
covers the functions, the values scope, the merge policy and `templateFrom` one rule at a time.
The same rules under Go templates (the default engine) are in `test_template_apply_go.py`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import pathlib
import re
from typing import Any

import bcrypt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from asyncso import errors, model
from asyncso.templates import apply, jinja

NO_SOURCES = apply.TemplateSources()


def render(
    values: dict[str, bytes],
    sources: apply.TemplateSources = NO_SOURCES,
    **template: Any,
) -> model.SecretContent:
    template.setdefault("engine_version", "jinja")
    return apply.apply_template(model.Template(**template), values, sources=sources)


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
    out = apply.apply_template(None, {"a": b"1"}, sources=NO_SOURCES)
    assert out == model.SecretContent(data={"a": b"1"}, labels={}, annotations={}, type="Opaque")


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
    assert out == model.SecretContent(
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
    sources = apply.TemplateSources(
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
    assert out.labels == {"env": "prod", "x": "true"}  # `y` is a YAML 1.1 bool, as in ESO
    assert out.data == {}


# --- templateFrom ------------------------------------------------------------------------------


def test_template_from_secret_values_scope() -> None:
    sources = apply.TemplateSources(secrets={"tpl": {"conn": b"postgres://{{ user }}@db"}})
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
        # go-yaml v2's resolution (ESO), not PyYAML's YAML 1.1: no base 60, floats without a dot
        (
            "t: 12:30\ne: 1e3\nz: 09\no: 0o17\nv: y",
            {"t": b"12:30", "e": b"1000", "z": b"9", "o": b"15", "v": b"true"},
        ),
        ("1.5: a\n.inf: b\n0.1: c", {"1.5": b"a", ".inf": b"b", "0.1": b"c"}),
    ],
)
def test_key_and_value_scalars_as_sigs_yaml(
    literal: str, expected: dict[str, bytes] | None
) -> None:
    out = render({}, template_from=[model.TemplateFrom(literal=literal)]).data
    if expected is None:  # YAML 1.1 scalars, stringified as Go does for a string target
        expected = {
            "flag": b"true",
            # `no` and `n` are bool keys in go-yaml v2: both become "false", the later wins
            "false": b"10",
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
        ("bad key: x", "a rendered key is not a valid Secret key"),
    ],
)
def test_literal_errors(literal: str, message: str) -> None:
    with pytest.raises(
        errors.TemplateError, match=r"^template\.templateFrom\[0\]\.literal"
    ) as info:
        render({}, template_from=[model.TemplateFrom(literal=literal)])
    assert message in str(info.value)
    assert "bad key" not in str(info.value)  # a rendered key may be a value: never shown


def test_invalid_data_key_from_template_data() -> None:
    with pytest.raises(errors.TemplateError, match="'a b' is invalid"):
        data({}, **{"a b": "x"})


def test_missing_sources_are_spec_errors() -> None:
    ref = model.TemplateRef(name="cm", items=[model.TemplateRefItem(key="t")])
    with pytest.raises(errors.InvalidSpecError, match=r"templateFrom\[0\]\.configMap: .*'cm' not"):
        render({}, template_from=[model.TemplateFrom(config_map=ref)])
    sources = apply.TemplateSources(config_maps={"cm": {"other": ""}})
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
    config_maps, secrets = apply.referenced_sources(template)
    assert set(config_maps) == {"a", "c"} and set(secrets) == {"b"}
    assert config_maps["a"] == "spec.target.template.templateFrom[0].configMap"
    assert apply.referenced_sources(None) == ({}, {})


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


# --- certificates and keys --------------------------------------------------------------------


def test_filter_pem_is_case_insensitive_and_keeps_headers() -> None:
    block = "-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nB: 2\nA: 1\n\nYWJj\n-----END X-----\n"
    out = data({"v": block.encode()}, out='{{ v | filterPEM("x") }}')
    assert out["out"] == (
        b"-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nA: 1\nB: 2\n\nYWJj\n-----END X-----\n"
    )
    nothing = data({"v": block.encode()}, out='{{ v | filterPEM("CERTIFICATE") }}')
    assert nothing == {"out": b""}


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


# --- engine version and errors -----------------------------------------------------------------


def test_engine_v2_is_go() -> None:
    assert render({"a": b"1"}, engine_version="v2", data={"x": "{{ .a }}"}).data == {"x": b"1"}


GO_VALUES = {"username": b"sup3r-s3cret", "data": b"c2VjcmV0", "key": b"v", "a": b"1"}


@pytest.mark.parametrize(
    ("template", "jinja_says"),
    [
        # Go syntax that Jinja cannot parse
        ("{{ .username }}", "unexpected '.' (line 1)"),
        ("{{ .data | b64dec }}", "unexpected '.' (line 1)"),
        ('{{ index . "key" }}', "expected name or number (line 1)"),
        ('{{ index .secrets "key" }}', "expected token 'end of print statement'"),
        ("{{- range $k, $v := . }}{{ $k }}{{- end }}", "unexpected char '$'"),
        ('{{ printf "%s-%s" .a .a }}', "expected token 'end of print statement'"),
        ('{{ .data | filterPEM "CERTIFICATE" }}', "unexpected '.'"),
        ('{{ if hasPrefix "oci://" .username }}y{{ end }}', "expected token"),
        ("{{/* a comment */}}", "unexpected '/'"),
        ("{{ `raw` }}", "unexpected char '`'"),
        ('{{ upper "x" }}', "expected token 'end of print statement'"),
        # Go syntax that Jinja parses (`f .x` is `f.x`, `end` a name), and that fails running
        ("{{ b64dec .data }}", "'function object' has no attribute 'data'"),
        ("{{ username }}{{ end }}", "'end' is undefined (line 1)"),
        ("{{ if .a }}x{{ else }}y{{ end }}", "'if' is undefined (line 1)"),
    ],
)
def test_go_syntax_fails_with_a_hint(template: str, jinja_says: str) -> None:
    # A Go template never renders under Jinja: it fails, and the message says what to do.
    with pytest.raises(errors.TemplateError) as info:
        data(GO_VALUES, out=template)
    message = str(info.value)
    assert message.startswith("template.data['out']: ")
    assert jinja_says in message
    assert message.endswith(jinja.GO_HINT)
    assert "remove engineVersion: jinja" in message and "docs/templates.md" in message
    assert "sup3r-s3cret" not in message


@pytest.mark.parametrize(
    "template",
    [
        "{% if %}",
        "{{ missing }}",
        '{{ "a" if missing else "b" }}',
        '{{ missing in "abc" }}',
        "{{ values.nope.deeper }}",
        '{{ username | replace("a") }}',
        "{% for k, v in values | dictsort %}{{ k.nope }}{% endfor %}",
    ],
)
def test_jinja_errors_have_no_go_hint(template: str) -> None:
    with pytest.raises(errors.TemplateError) as info:
        data(GO_VALUES, out=template)
    assert "Go template" not in str(info.value)
    assert str(info.value).startswith("template.data['out']: ")


def test_go_hint_in_metadata_and_template_from() -> None:
    with pytest.raises(errors.TemplateError, match=r"^template\.metadata\.labels\['l'\]: ") as info:
        render(GO_VALUES, metadata=model.TemplateMetadata(labels={"l": "{{ .a }}"}))
    assert str(info.value).endswith(jinja.GO_HINT)
    literal = r"^template\.templateFrom\[0\]\.literal: "
    with pytest.raises(errors.TemplateError, match=literal) as info:
        render(GO_VALUES, template_from=[model.TemplateFrom(literal="k: {{ .a }}")])
    assert str(info.value).endswith(jinja.GO_HINT)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ .x }}", True),
        ("{{- .x -}}", True),
        ("{{ $x }}", True),
        ("{{ end }}", True),
        ("{{ toJson . }}", True),
        ("{{ f (.x) }}", True),
        ('{{ f "a" }}', True),
        ("{{ x := 1 }}", True),
        ("{{ x", False),
        ("{{ x }}", False),
        ("{{ loop.index }}", False),
        ("{{ values['a-b'] }}", False),
        ('{{ x | replace("a", "b") }}', False),
        ('{{ "a" if x else "b" }}', False),
        ('{{ x in "abc" }}', False),
        ("{{ (x | f).y }}", False),
        ("{% if x %}{{ x }}{% endif %}", False),
        ("no template at all: .x $y", False),
    ],
)
def test_looks_like_go(source: str, expected: bool) -> None:
    assert jinja.looks_like_go(source) is expected


def test_missing_key_names_the_key_and_the_line() -> None:
    with pytest.raises(errors.TemplateError) as info:
        data({"a": b"1"}, out="ok\n{{ b }}")
    assert str(info.value) == "template.data['out']: 'b' is undefined (line 2)"


def test_total_size_is_limited() -> None:
    big = b"x" * (600 << 10)
    with pytest.raises(errors.TemplateError, match="larger than 1 MiB"):
        render({"a": big, "b": big}, merge_policy="Merge", data={"c": "1"})


# --- docs/templates.md stays true --------------------------------------------------------------

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "templates.md"
_CELL = re.compile(r"(?<!\\)\|")
_CODE = re.compile(r"`([^`]+)`")
DOC_VALUES = {"user": b"admin", "password": b"s3cr3t", "uri": b"oci://r/app", "x": b""}


def _doc_rows(section: str) -> list[tuple[list[str], str, str]]:
    """(names, first example, result cell) of each table row in a `### section` of the docs."""
    text = DOCS.read_text(encoding="utf-8")
    body = text.split(f"\n### {section}\n", 1)[1].split("\n#", 1)[0]
    rows = []
    for line in body.splitlines():
        cells = [cell.strip().replace("\\|", "|") for cell in _CELL.split(line)[1:-1]]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        examples = _CODE.findall(cells[1])
        rows.append((_CODE.findall(cells[0]), examples[0] if examples else "", cells[2]))
    return rows


def test_docs_show_every_filter_and_function_with_an_example() -> None:
    rows = _doc_rows("Jinja: functions and filters")
    documented = {name: example for names, example, _ in rows for name in names}
    environment = jinja._ENVIRONMENT
    for name in set(environment.filters) | set(environment.globals):
        if name == "range":
            continue  # documented in prose, with its example
        assert name in documented, f"{name} is not in docs/templates.md"
        assert "{{" in documented[name] or "{%" in documented[name], f"{name} has no example"


def test_docs_examples_render_as_documented() -> None:
    checked = 0
    for names, example, result in _doc_rows("Jinja: functions and filters"):
        expected = re.fullmatch(r"`([^`]+)`(?: \(.*\))?", result)
        if expected is None or "…" in expected.group(1):
            continue  # a described result ("the PEM blocks of that type…")
        out = data(DOC_VALUES, out=example)["out"].decode()
        assert out == expected.group(1), f"{names}: {example}"
        checked += 1
    assert checked >= 35  # the rest describe their result in words


def test_docs_values_access_table() -> None:
    rows = _doc_rows("Jinja: how values reach the template")
    assert len(rows) >= 5
    for pairs, example, result in rows:
        values = dict(pair.split(": ", 1) for pair in pairs)
        expected = re.fullmatch(r"`([^`]+)`", result)
        assert expected is not None
        out = data({k: v.encode() for k, v in values.items()}, out=example)["out"].decode()
        assert out == expected.group(1), example
