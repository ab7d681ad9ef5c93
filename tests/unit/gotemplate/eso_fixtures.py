"""Key material for ESO's template tests, generated here (ESO's `_testdata` is not copied).

Equivalent to ESO's fixtures: a self-signed certificate for gooble.com with its key (the
`pkcs12Cert`/`pkcs12Key` pair), PKCS#12 archives of it with and without a password, a root →
intermediate → leaf chain linked by key identifiers, a disjunct second leaf, a certificate with
every kind of SAN, RSA/EC JWKs with their PEM forms, and RSA-OAEP ciphertexts.
"""

from __future__ import annotations

import base64
import datetime
import functools
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

_NOW = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _pem_pkcs8(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_pkcs1(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _cert(
    subject: str,
    key: Any,
    *,
    issuer: tuple[str, Any] | None = None,
    ca: bool = False,
    sans: list[x509.GeneralName] | None = None,
    ski: bool = True,
) -> x509.Certificate:
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW)
        .not_valid_after(_NOW + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _b64url(number: int, length: int | None = None) -> str:
    size = length or (number.bit_length() + 7) // 8
    return base64.urlsafe_b64encode(number.to_bytes(size, "big")).rstrip(b"=").decode()


@dataclass(frozen=True)
class Fixtures:
    key_pem: str
    cert_pem: str
    pfx_nopass: bytes
    pfx_withpass: bytes
    pfx_chain: bytes
    pfx_disjunct: bytes
    root_pem: str
    intermediate_pem: str
    leaf_pem: str
    disjunct_leaf_pem: str
    leaf_key_pem: str
    all_sans_pem: str
    jwk_pub_rsa: str
    jwk_priv_rsa: str
    jwk_pub_rsa_pkix: str
    jwk_priv_rsa_pkcs8: str
    jwk_pub_ec: str
    jwk_priv_ec: str
    jwk_pub_ec_pkix: str
    jwk_priv_ec_pkcs8: str
    rsa_pkcs8_pem: str
    rsa_pkcs1_pem: str
    rsa_ec_pem: str
    oaep_sha1_pkcs8_b64: str
    oaep_sha256_pkcs1_b64: str
    oaep_sha256_pkcs1_bin: bytes


@functools.cache
def fixtures() -> Fixtures:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _cert("gooble", key, sans=[x509.DNSName("gooble.com")], ski=False)

    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    other_root_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert("root-ca", root_key, ca=True)
    intermediate = _cert("intermediate-ca", inter_key, issuer=("root-ca", root_key), ca=True)
    leaf = _cert(
        "foo",
        leaf_key,
        issuer=("intermediate-ca", inter_key),
        sans=[x509.DNSName("foo.example.com"), x509.IPAddress(ipaddress.ip_address("10.1.2.3"))],
    )
    disjunct = _cert("bar", leaf_key, issuer=("other-root", other_root_key))

    sans_key = ec.generate_private_key(ec.SECP256R1())
    all_sans = _cert(
        "sans",
        sans_key,
        sans=[
            x509.DNSName("example.com"),
            x509.DNSName("www.example.com"),
            x509.IPAddress(ipaddress.ip_address("192.168.1.10")),
            x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
            x509.RFC822Name("admin@example.com"),
            x509.UniformResourceIdentifier("https://example.com"),
        ],
    )

    def pfx(
        password: bytes | None,
        cert: x509.Certificate,
        key: Any,
        cas: list[x509.Certificate] | None = None,
    ) -> bytes:
        encryption: Any = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(b"foo", key, cert, cas, encryption)

    jwk_rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = jwk_rsa_key.private_numbers()
    public = numbers.public_numbers
    jwk_pub_rsa = {"kty": "RSA", "n": _b64url(public.n), "e": _b64url(public.e)}
    jwk_priv_rsa = {
        **jwk_pub_rsa,
        "d": _b64url(numbers.d),
        "p": _b64url(numbers.p),
        "q": _b64url(numbers.q),
        "dp": _b64url(numbers.dmp1),
        "dq": _b64url(numbers.dmq1),
        "qi": _b64url(numbers.iqmp),
    }
    jwk_ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_numbers = jwk_ec_key.private_numbers()
    jwk_pub_ec = {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(ec_numbers.public_numbers.x, 32),
        "y": _b64url(ec_numbers.public_numbers.y, 32),
    }
    jwk_priv_ec = {**jwk_pub_ec, "d": _b64url(ec_numbers.private_value, 32)}

    def spki(k: Any) -> str:
        return (
            k.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    decrypt_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def oaep(algorithm: Any, message: bytes) -> bytes:
        return decrypt_key.public_key().encrypt(
            message, padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)
        )

    return Fixtures(
        key_pem=_pem_pkcs8(key),
        cert_pem=_pem_cert(cert),
        pfx_nopass=pfx(None, cert, key),
        pfx_withpass=pfx(b"123456", cert, key),
        pfx_chain=pfx(None, leaf, leaf_key, [root, intermediate]),
        pfx_disjunct=pfx(None, leaf, leaf_key, [root, disjunct]),
        root_pem=_pem_cert(root),
        intermediate_pem=_pem_cert(intermediate),
        leaf_pem=_pem_cert(leaf),
        disjunct_leaf_pem=_pem_cert(disjunct),
        leaf_key_pem=_pem_pkcs8(leaf_key),
        all_sans_pem=_pem_cert(all_sans),
        jwk_pub_rsa=json.dumps(jwk_pub_rsa),
        jwk_priv_rsa=json.dumps(jwk_priv_rsa),
        jwk_pub_rsa_pkix=spki(jwk_rsa_key),
        jwk_priv_rsa_pkcs8=_pem_pkcs8(jwk_rsa_key),
        jwk_pub_ec=json.dumps(jwk_pub_ec),
        jwk_priv_ec=json.dumps(jwk_priv_ec),
        jwk_pub_ec_pkix=spki(jwk_ec_key),
        jwk_priv_ec_pkcs8=_pem_pkcs8(jwk_ec_key),
        rsa_pkcs8_pem=_pem_pkcs8(decrypt_key),
        rsa_pkcs1_pem=_pem_pkcs1(decrypt_key),
        rsa_ec_pem=_pem_pkcs8(ec.generate_private_key(ec.SECP256R1())),
        oaep_sha1_pkcs8_b64=base64.b64encode(oaep(hashes.SHA1(), b"a1b2c3d4")).decode(),
        oaep_sha256_pkcs1_b64=base64.b64encode(oaep(hashes.SHA256(), b"hellopkcs1sha256")).decode(),
        oaep_sha256_pkcs1_bin=oaep(hashes.SHA256(), b"hellopkcs1sha256"),
    )
