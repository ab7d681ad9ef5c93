"""ESO's own template tests (runtime/template/v2/*_test.go) ported as data, over fixtures made
here with `cryptography` (eso_fixtures) instead of ESO's `_testdata` files."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from asyncso.templates import go
from asyncso.templates.go import eso

from .eso_fixtures import fixtures

F = fixtures()


def render(text: str, data: dict[str, Any], *, left: str = "{{", right: str = "}}") -> str:
    return go.render("key", text, data, left=left, right=right).decode("utf-8", "surrogateescape")


# (name, template, data, expected output or None, expected error substring or None)
TEMPLATE_TESTS: list[tuple[str, str, dict[str, Any], str | None, str | None]] = [
    ("b64dec func", "{{ .secret | b64dec }}", {"secret": "MTIzNA=="}, "1234", None),
    (
        "fromJson func",
        "{{ $var := .secret | fromJson }}{{ $var.foo }}",
        {"secret": '{"foo": "bar"}'},
        "bar",
        None,
    ),
    (
        "from & toJson func",
        "{{ $var := .secret | fromJson }}{{ $var.foo | toJson }}",
        {"secret": '{"foo": {"baz":"bang"}}'},
        '{"baz":"bang"}',
        None,
    ),
    (
        "fromJson & toYaml func",
        "{{ $var := .secret | fromJson | toYaml }}{{ $var }}",
        {"secret": '{"foo": "bar"}'},
        "foo: bar",
        None,
    ),
    (
        "fromYaml & toJson func",
        "{{ $var := .secret | fromYaml | toJson }}{{ $var }}",
        {"secret": "foo: bar"},
        '{"foo":"bar"}',
        None,
    ),
    ("use sprig functions", "{{ .path | ext }}", {"path": "foo/bar/baz.exe"}, ".exe", None),
    (
        "use replace function",
        '{{ .conn | replace "postgres://" "db+postgresql://"}}',
        {"conn": "postgres://user:pass@db.host:5432/dbname"},
        "db+postgresql://user:pass@db.host:5432/dbname",
        None,
    ),
    ("use upper function", "{{ .value | upper }}", {"value": "username"}, "USERNAME", None),
    (
        "multiline template",
        '\n\t\tdatasources:\n\t\t- name: Graphite\n\t\t\tpassword: "{{ .password }}"\n'
        '\t\t\tuser: "{{ .user }}"',
        {"user": "foobert", "password": "harharhar"},
        '\n\t\tdatasources:\n\t\t- name: Graphite\n\t\t\tpassword: "harharhar"\n'
        '\t\t\tuser: "foobert"',
        None,
    ),
    ("base64 pipeline", '{{ "123412341234" | b64enc | b64dec }}', {}, "123412341234", None),
    (
        "base64 pkcs12 extract key",
        "{{ .secret | b64dec | pkcs12key }}",
        {"secret": base64.b64encode(F.pfx_nopass).decode()},
        F.key_pem,
        None,
    ),
    (
        "base64 pkcs12 extract cert",
        "{{ .secret | b64dec | pkcs12cert }}",
        {"secret": base64.b64encode(F.pfx_nopass).decode()},
        F.cert_pem,
        None,
    ),
    (
        "base64 pkcs12 extract key with password",
        '{{ .secret | b64dec | pkcs12keyPass "123456" }}',
        {"secret": base64.b64encode(F.pfx_withpass).decode()},
        F.key_pem,
        None,
    ),
    (
        "base64 pkcs12 extract cert with password",
        '{{ .secret | b64dec | pkcs12certPass "123456" }}',
        {"secret": base64.b64encode(F.pfx_withpass).decode()},
        F.cert_pem,
        None,
    ),
    (
        "base64 decode error",
        "{{ .example | b64dec }}",
        {"example": "iam_no_base64"},
        "illegal base64 data at input byte 3",
        None,
    ),
    (
        "hexdec",
        "{{ .example | sha256sum | hexdec | b64enc }}",
        {"example": "example"},
        "UNhY4JhezH9gQYqvDMWrWH9CwlcKiECVqejMrND2VFw=",
        None,
    ),
    (
        "pkcs12 key wrong password",
        '{{ .secret | b64dec | pkcs12keyPass "wrong" }}',
        {"secret": base64.b64encode(F.pfx_withpass).decode()},
        None,
        "unable to decode pkcs12",
    ),
    (
        "pkcs12 cert wrong password",
        '{{ .secret | b64dec | pkcs12certPass "wrong" }}',
        {"secret": base64.b64encode(F.pfx_withpass).decode()},
        None,
        "unable to decode pkcs12",
    ),
    ("fromJson error", '{{ "{ # no json # }" | fromJson }}', {}, "<no value>", None),
    ("template syntax error", "{{ #xx }}", {}, None, 'template: key:1: unexpected "#" in command'),
    (
        "unknown key error",
        "{{ .unknown }}",
        {},
        None,
        'template: key:1:3: executing "key" at <.unknown>: map has no entry for key "unknown"',
    ),
    (
        "jwk rsa pub pem",
        "{{ .secret | jwkPublicKeyPem }}",
        {"secret": F.jwk_pub_rsa},
        F.jwk_pub_rsa_pkix,
        None,
    ),
    (
        "jwk rsa priv pem",
        "{{ .secret | jwkPrivateKeyPem }}",
        {"secret": F.jwk_priv_rsa},
        F.jwk_priv_rsa_pkcs8,
        None,
    ),
    (
        "jwk ecdsa pub pem",
        "{{ .secret | jwkPublicKeyPem }}",
        {"secret": F.jwk_pub_ec},
        F.jwk_pub_ec_pkix,
        None,
    ),
    (
        "jwk ecdsa priv pem",
        "{{ .secret | jwkPrivateKeyPem }}",
        {"secret": F.jwk_priv_ec},
        F.jwk_priv_ec_pkcs8,
        None,
    ),
    (
        "jwk private key to public pem fails as in ESO",
        "{{ .secret | jwkPublicKeyPem }}",
        {"secret": F.jwk_priv_rsa},
        None,
        "x509: unsupported public key type: *rsa.PrivateKey",
    ),
    (
        "filter pem certificate",
        '{{ .secret | filterPEM "CERTIFICATE" }}',
        {"secret": F.jwk_priv_rsa_pkcs8 + F.cert_pem},
        F.cert_pem,
        None,
    ),
    (
        "rsa decrypt rsa-oaep sha1 pkcs8 data base64",
        '{{ .private_key | rsaDecrypt "RSA-OAEP" "SHA1" (.data_crypted_base64 | b64dec) }}',
        {"private_key": F.rsa_pkcs8_pem, "data_crypted_base64": F.oaep_sha1_pkcs8_b64},
        "a1b2c3d4",
        None,
    ),
    (
        "rsa decrypt rsa-oaep sha256 pkcs1 data base64",
        '{{ .private_key | rsaDecrypt "RSA-OAEP" "SHA256" (.data_crypted_base64 | b64dec) }}',
        {"private_key": F.rsa_pkcs1_pem, "data_crypted_base64": F.oaep_sha256_pkcs1_b64},
        "hellopkcs1sha256",
        None,
    ),
    (
        "rsa decrypt rsa-oaep sha256 pkcs1 data bin",
        '{{ .private_key | rsaDecrypt "RSA-OAEP" "SHA256" .data_crypted_bin }}',
        {"private_key": F.rsa_pkcs1_pem, "data_crypted_bin": F.oaep_sha256_pkcs1_bin},
        "hellopkcs1sha256",
        None,
    ),
    (
        "certSANs extract DNS SANs as comma-separated string",
        '{{ .certificate | certSANs | join "," }}',
        {"certificate": F.cert_pem},
        "gooble.com",
        None,
    ),
    (
        "certSANs extract first SAN with index",
        "{{ index (.certificate | certSANs) 0 }}",
        {"certificate": F.cert_pem},
        "gooble.com",
        None,
    ),
    (
        "certSANs with toJson",
        "{{ .certificate | certSANs | toJson }}",
        {"certificate": F.cert_pem},
        '["gooble.com"]',
        None,
    ),
    (
        "certSANs combined with filterPEM pipeline",
        '{{ .secret | filterPEM "CERTIFICATE" | certSANs | join "," }}',
        {"secret": F.key_pem + F.cert_pem},
        "gooble.com",
        None,
    ),
    (
        "certSANs with invalid PEM",
        "{{ .certificate | certSANs }}",
        {"certificate": "not-a-pem"},
        None,
        "failed to decode PEM block",
    ),
    (
        "htpasswd with sha1",
        '{{ htpasswd .username .password "sha" }}',
        {"username": "foo1", "password": "FZ4jR;l]ON;pHKi=_'zh79P"},
        "foo1:{SHA}wtdJD6OIjUniEJkTlewnKzfFxA4=",
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "template", "data", "expected", "error"),
    TEMPLATE_TESTS,
    ids=[case[0] for case in TEMPLATE_TESTS],
)
def test_eso_template(
    name: str, template: str, data: dict[str, Any], expected: str | None, error: str | None
) -> None:
    if error is not None:
        with pytest.raises(go.GoTemplateError) as caught:
            render(template, data)
        assert error in str(caught.value)
    else:
        assert render(template, data) == expected


def test_non_standard_delimiters() -> None:
    assert render("<< .secret | b64dec >>", {"secret": "MTIzNA=="}, left="<<", right=">>") == "1234"


# --- pem_test.go: filterPEM ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "pem_type", "data", "want", "error"),
    [
        ("extract cert / cert first", "CERTIFICATE", F.cert_pem + F.key_pem, F.cert_pem, False),
        ("extract cert / key first", "CERTIFICATE", F.key_pem + F.cert_pem, F.cert_pem, False),
        (
            "extract multiple certs",
            "CERTIFICATE",
            F.key_pem + F.cert_pem + F.key_pem + F.leaf_pem,
            F.cert_pem + F.leaf_pem,
            False,
        ),
        ("extract key", "PRIVATE KEY", F.key_pem + F.cert_pem, F.key_pem, False),
        (
            "key with junk",
            "PRIVATE KEY",
            F.cert_pem + F.key_pem + "some ---junk---",
            F.key_pem,
            False,
        ),
        (
            "begin/end with junk",
            "PRIVATE KEY",
            "some junk" + F.cert_pem + F.key_pem + "some ---junk---",
            F.key_pem,
            False,
        ),
        ("interleaved junk", "PRIVATE KEY", F.cert_pem + "some junk" + F.key_pem, "", True),
        ("err when junk", "PRIVATE KEY", "---junk---", "", True),
    ],
)
def test_filter_pem(name: str, pem_type: str, data: str, want: str, error: bool) -> None:
    if error:
        with pytest.raises(eso.GoError, match="error filtering pem: found junk"):
            eso.filter_pem(pem_type, data)
    else:
        assert eso.filter_pem(pem_type, data) == want


# --- pem_test.go: filterCertChain ---------------------------------------------------------

_LEAF, _INTER, _ROOT = F.leaf_pem, F.intermediate_pem, F.root_pem


@pytest.mark.parametrize(
    ("name", "chain", "cert_type", "want", "error"),
    [
        ("extract leaf cert / empty cert chain", [], "leaf", "", "no leaf certificate found"),
        (
            "extract leaf cert / cert chain with pkey",
            [_LEAF, F.leaf_key_pem],
            "leaf",
            "",
            "x509: malformed certificate",
        ),
        ("extract leaf cert / leaf cert only", [_LEAF], "leaf", _LEAF, None),
        ("extract leaf cert / cert chain without root", [_LEAF, _INTER], "leaf", _LEAF, None),
        ("extract leaf cert / root cert only", [_ROOT], "leaf", "", None),
        ("extract leaf cert / full cert chain", [_LEAF, _INTER, _ROOT], "leaf", _LEAF, None),
        ("extract intermediate cert / leaf cert only", [_LEAF], "intermediate", "", None),
        (
            "extract intermediate cert / cert chain without root",
            [_LEAF, _INTER],
            "intermediate",
            _INTER,
            None,
        ),
        (
            "extract intermediate cert / full cert chain",
            [_LEAF, _INTER, _ROOT],
            "intermediate",
            _INTER,
            None,
        ),
        ("extract root cert / leaf cert only", [_LEAF], "root", "", None),
        ("extract root cert / root cert only", [_ROOT], "root", _ROOT, None),
        ("extract root cert / full cert chain", [_LEAF, _INTER, _ROOT], "root", _ROOT, None),
        (
            "disjunct chain",
            [_LEAF, F.disjunct_leaf_pem],
            "leaf",
            "",
            "found multiple leaf or disjunct certificates",
        ),
    ],
)
def test_filter_cert_chain(
    name: str, chain: list[str], cert_type: str, want: str, error: str | None
) -> None:
    if error is not None:
        with pytest.raises(eso.GoError, match=error):
            eso.filter_cert_chain(cert_type, "".join(chain))
    else:
        assert eso.filter_cert_chain(cert_type, "".join(chain)) == want


# --- pem_test.go: certSANs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "want", "error"),
    [
        (F.cert_pem, ["gooble.com"], False),
        ("not a pem", None, True),
        ("", None, True),
        ("some junk\n" + F.cert_pem, ["gooble.com"], False),
        (
            F.all_sans_pem,
            [
                "example.com",
                "www.example.com",
                "192.168.1.10",
                "10.0.0.1",
                "admin@example.com",
                "https://example.com",
            ],
            False,
        ),
    ],
)
def test_cert_sans(data: str, want: list[str] | None, error: bool) -> None:
    if error:
        with pytest.raises(eso.GoError, match="failed to decode PEM block"):
            eso.cert_sans(data)
    else:
        assert list(eso.cert_sans(data)) == want


# --- template_test.go: pkcs12certPass chain ordering ----------------------------------------


@pytest.mark.parametrize(
    ("name", "archive", "password", "want", "error"),
    [
        (
            "chain in one archive, ordered leaf to root",
            "pfx_chain",
            "",
            [_LEAF, _INTER, _ROOT],
            False,
        ),
        (
            "disjunct chain stays in bag order",
            "pfx_disjunct",
            "",
            [_LEAF, _ROOT, F.disjunct_leaf_pem],
            False,
        ),
        ("wrong password", "pfx_withpass", "wrongpass", [], True),
    ],
)
def test_pkcs12_cert_pass(
    name: str, archive: str, password: str, want: list[str], error: bool
) -> None:
    data = getattr(F, archive).decode("latin-1").encode("latin-1")
    text = data.decode("utf-8", "surrogateescape")
    if error:
        with pytest.raises(eso.GoError, match="unable to decode pkcs12 certificate with password"):
            eso.pkcs12_cert_pass(password, text)
    else:
        assert eso.pkcs12_cert_pass(password, text) == "".join(want)


# --- pkcs12_test.go: the archives decode back to what went in ------------------------------
# ESO compares exact bytes with go-pkcs12's random source mocked; the archives here come from
# OpenSSL, so the test checks their content instead.


def _load(b64: str, password: bytes | None) -> Any:
    return pkcs12.load_pkcs12(base64.b64decode(b64), password)


def test_pem_to_pkcs12_round_trips() -> None:
    out = render(
        '{{ pemToPkcs12Pass .cert .key "password" }}', {"cert": F.cert_pem, "key": F.key_pem}
    )
    archive = _load(out, b"password")
    assert archive.cert.certificate.public_bytes(serialization.Encoding.PEM).decode() == F.cert_pem
    back = render('{{ .p | b64dec | pkcs12keyPass "password" }}', {"p": out})
    assert back == F.key_pem


def test_full_pem_to_pkcs12_keeps_the_chain() -> None:
    out = render(
        '{{ fullPemToPkcs12Pass .cert .key "password" }}',
        {"cert": _LEAF + "\n" + _INTER, "key": F.leaf_key_pem},
    )
    archive = _load(out, b"password")
    assert len(archive.additional_certs) == 1
    assert render('{{ .p | b64dec | pkcs12certPass "password" }}', {"p": out}) == _LEAF + _INTER


def test_pem_to_pkcs12_without_password() -> None:
    out = render("{{ pemToPkcs12 .cert .key }}", {"cert": F.cert_pem, "key": F.key_pem})
    assert render("{{ .p | b64dec | pkcs12cert }}", {"p": out}) == F.cert_pem


def test_pem_truststore_to_pkcs12() -> None:
    out = render('{{ pemTruststoreToPKCS12Pass .certs "password" }}', {"certs": _ROOT + _INTER})
    archive = _load(out, b"password")
    assert archive.key is None
    assert len(archive.additional_certs) == 2


def test_pem_to_pkcs12_without_pem_panics_as_go() -> None:
    with pytest.raises(go.GoTemplateError, match="nil pointer dereference"):
        render("{{ pemToPkcs12 .cert .key }}", {"cert": "junk", "key": F.key_pem})


# --- decrypt_test.go -------------------------------------------------------------------


def test_rsa_decrypt_none_scheme() -> None:
    assert eso.rsa_decrypt("None", "SHA256", "plaintext", "irrelevant") == "plaintext"


@pytest.mark.parametrize(
    ("scheme", "key", "message"),
    [
        ("RSA-OAEP", "not-a-valid-pem", "failed to decode PEM block"),
        (
            "RSA-OAEP",
            "-----BEGIN CERTIFICATE-----\naW52YWxpZA==\n-----END CERTIFICATE-----\n",
            "could not parse private key: unable to parse private key type",
        ),
        ("Unsupported", F.rsa_pkcs1_pem, "decryption scheme Unsupported is not supported"),
        ("RSA-OAEP", F.rsa_pkcs1_pem, "error decrypting data with RSA"),
        ("RSA-OAEP", F.rsa_ec_pem, "could not parse RSA private key"),
    ],
)
def test_rsa_decrypt_errors(scheme: str, key: str, message: str) -> None:
    with pytest.raises(eso.GoError, match=message):
        eso.rsa_decrypt(scheme, "SHA256", "not-encrypted-data", key)


# --- yaml.go: fromYaml / toYaml -----------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "data", "want"),
    [
        (
            "{{ (fromYaml .y).a }}|{{ (fromYaml .y).b }}|{{ (fromYaml .y).c }}",
            "a: 1\nb: [x, y]\nc: yes\n",
            "1|[x true]|true",
        ),
        ("{{ fromYaml .y | toJson }}", "a: 1.5\nb: {c: null}\n", '{"a":1.5,"b":{"c":null}}'),
        (
            "{{ fromYaml .y }}",
            "[1, 2]",
            "map[Error:error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array "
            "into Go value of type map[string]interface {}]",
        ),
        ("{{ fromYaml .y }}", "", "map[]"),
        ('{{ printf "%T" (fromYaml .y).a }}', "a: 3", "float64"),
        ("{{ (fromYaml .y).k1 }}|{{ (fromYaml .y).k2 }}", "1: x\nk1: y\nk2: 'y'", "true|y"),
    ],
)
def test_from_yaml(template: str, data: str, want: str) -> None:
    assert render(template, {"y": data}) == want


def test_from_yaml_reports_syntax_errors_in_the_map() -> None:
    out = render("{{ (fromYaml .y).Error }}", {"y": "a: ["})
    assert out.startswith("error converting YAML to JSON: yaml: line")
