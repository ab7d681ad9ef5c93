"""Sprig's key and certificate generators (crypto.go): genPrivateKey, genCA, genSelfSignedCert,
genSignedCert (and their *WithKey forms), buildCustomCert.

Why: ESO users generate CAs and certificates in templates; the results are random, but their
shape is Go's: PEM block types per key kind, the template Go fills in (random 128-bit serial,
CN, SANs, key usages, server+client auth), and a `certificate` value with `.Cert` and `.Key`.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import secrets
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from asyncso.templates.go import gotypes
from asyncso.templates.go.functions import ANY_SLICE, INT, STRING, GoError, Registry
from asyncso.templates.go.gotypes import GoObject, GoType, Kind
from asyncso.templates.go.sprig import dates

registry = Registry()

CERTIFICATE = GoType(Kind.STRUCT, "sprig.certificate")


class Certificate(GoObject):
    """sprig's `certificate` struct: exported fields Cert and Key (PEM text)."""

    gotype: ClassVar[GoType] = CERTIFICATE

    def __init__(self, cert: str = "", key: str = "") -> None:
        self.cert = cert
        self.key = key

    def go_field(self, name: str) -> tuple[bool, Any]:
        if name == "Cert":
            return True, self.cert
        if name == "Key":
            return True, self.key
        return False, None

    def go_fields(self) -> list[Any]:
        return [("Cert", self.cert), ("Key", self.key)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and (other.cert, other.key) == (self.cert, self.key)

    def __hash__(self) -> int:
        return hash((self.cert, self.key))

    def marshal_json(self) -> str:
        from asyncso.templates.go.sprig import gojson

        return '{"Cert":' + gojson.marshal(self.cert) + ',"Key":' + gojson.marshal(self.key) + "}"


def _pem_for_key(key: Any) -> str:
    fmt = serialization.PrivateFormat.TraditionalOpenSSL
    if isinstance(key, ed25519.Ed25519PrivateKey):
        fmt = serialization.PrivateFormat.PKCS8
    pem: bytes = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    return pem.decode()


@registry.func("genPrivateKey", params=(STRING,))
def gen_private_key(kind: str) -> str:
    if kind in ("", "rsa"):
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    elif kind == "dsa":
        key = dsa.generate_private_key(key_size=2048)
    elif kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    elif kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        return "Unknown type " + kind
    return _pem_for_key(key)


def parse_private_key_pem(text: str) -> Any:
    """sprig's parsePrivateKeyPEM, with its error texts."""
    from asyncso.templates import pki as template_pki

    block, _ = template_pki.pem_decode(text)
    if block is None:
        raise GoError("no PEM data in input")
    if block.type == "PRIVATE KEY":
        try:
            return serialization.load_der_private_key(block.data, password=None)
        except (ValueError, TypeError) as exc:
            raise GoError(f"decoding PEM as PKCS#8: {exc}") from None
    if not block.type.endswith(" PRIVATE KEY"):
        raise GoError(f"no private key data in PEM block of type {block.type}")
    kind = block.type[: -len(" PRIVATE KEY")]
    if kind not in ("RSA", "EC", "DSA"):
        raise GoError(f"invalid private key type {block.type}")
    try:
        pem = (
            f"-----BEGIN {block.type}-----\n"
            + base64.encodebytes(block.data).decode()
            + (f"-----END {block.type}-----\n")
        )
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise GoError(f"parsing {kind} private key from PEM: {exc}") from None


def _ips(items: Any) -> list[Any]:
    out = []
    for item in items or []:
        if type(item) is not str:
            from asyncso.templates.go import gofmt

            raise GoError(gofmt.sprintf("error parsing ip: %v is not a string", item))
        try:
            out.append(ipaddress.ip_address(item))
        except ValueError:
            raise GoError(f"error parsing ip: {item}") from None
    return out


def _dns(items: Any) -> list[str]:
    out = []
    for item in items or []:
        if type(item) is not str:
            from asyncso.templates.go import gofmt

            raise GoError(
                gofmt.sprintf("error processing alternate dns name: %v is not a string", item)
            )
        out.append(item)
    return out


def _build(
    cn: str,
    ips: Any,
    dns: Any,
    days: int,
    key: Any,
    *,
    is_ca: bool = False,
    issuer: x509.Certificate | None = None,
    signer: Any = None,
) -> Certificate:
    ip_list, dns_list = _ips(ips), _dns(dns)
    current = dates.now()
    not_before = datetime.datetime.fromtimestamp(current.unix, tz=datetime.UTC)
    not_after = not_before + datetime.timedelta(days=days)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]) if cn else x509.Name([])
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .serial_number(secrets.randbelow(1 << 128) or 1)
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(public)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if is_ca:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public), critical=False
        )
    if issuer is not None:
        try:
            ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier(ski.digest, None, None), critical=False
            )
        except x509.ExtensionNotFound:
            pass
    if ip_list or dns_list:
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_list]
        names += [x509.IPAddress(ip) for ip in ip_list]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    signing_key = signer if signer is not None else key
    algorithm = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    try:
        cert = builder.sign(signing_key, algorithm)
    except (ValueError, TypeError) as exc:
        raise GoError(f"error creating certificate: {exc}") from None
    return Certificate(cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_for_key(key))


def _rsa2048() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@registry.func("genCA", params=(STRING, INT))
def gen_ca(cn: str, days: int) -> Certificate:
    return _build(cn, None, None, days, _rsa2048(), is_ca=True)


@registry.func("genCAWithKey", params=(STRING, INT, STRING))
def gen_ca_with_key(cn: str, days: int, key_pem: str) -> Certificate:
    try:
        key = parse_private_key_pem(key_pem)
    except GoError as exc:
        raise GoError(f"parsing private key: {exc}") from None
    return _build(cn, None, None, days, key, is_ca=True)


@registry.func("genSelfSignedCert", params=(STRING, ANY_SLICE, ANY_SLICE, INT))
def gen_self_signed(cn: str, ips: Any, dns: Any, days: int) -> Certificate:
    return _build(cn, ips, dns, days, _rsa2048())


@registry.func("genSelfSignedCertWithKey", params=(STRING, ANY_SLICE, ANY_SLICE, INT, STRING))
def gen_self_signed_with_key(cn: str, ips: Any, dns: Any, days: int, key_pem: str) -> Certificate:
    try:
        key = parse_private_key_pem(key_pem)
    except GoError as exc:
        raise GoError(f"parsing private key: {exc}") from None
    return _build(cn, ips, dns, days, key)


def _signed(cn: str, ips: Any, dns: Any, days: int, ca: Certificate, key: Any) -> Certificate:
    from asyncso.templates import pki as template_pki

    block, _ = template_pki.pem_decode(ca.cert)
    if block is None:
        raise GoError("unable to decode certificate")
    try:
        issuer = x509.load_der_x509_certificate(block.data)
    except ValueError as exc:
        raise GoError(f"error parsing certificate: decodedSignerCert.Bytes: {exc}") from None
    try:
        signer = parse_private_key_pem(ca.key)
    except GoError as exc:
        raise GoError(f"error parsing private key: {exc}") from None
    return _build(cn, ips, dns, days, key, issuer=issuer, signer=signer)


@registry.func("genSignedCert", params=(STRING, ANY_SLICE, ANY_SLICE, INT, CERTIFICATE))
def gen_signed(cn: str, ips: Any, dns: Any, days: int, ca: Certificate) -> Certificate:
    return _signed(cn, ips, dns, days, ca, _rsa2048())


@registry.func(
    "genSignedCertWithKey", params=(STRING, ANY_SLICE, ANY_SLICE, INT, CERTIFICATE, STRING)
)
def gen_signed_with_key(
    cn: str, ips: Any, dns: Any, days: int, ca: Certificate, key_pem: str
) -> Certificate:
    try:
        key = parse_private_key_pem(key_pem)
    except GoError as exc:
        raise GoError(f"parsing private key: {exc}") from None
    return _signed(cn, ips, dns, days, ca, key)


@registry.func("buildCustomCert", params=(STRING, STRING))
def build_custom_cert(b64cert: str, b64key: str) -> Certificate:
    from asyncso.templates import pki as template_pki
    from asyncso.templates.go.sprig import encoding

    try:
        cert = encoding.b64_decode(gotypes.to_bytes(b64cert))
    except GoError:
        raise GoError("unable to decode base64 certificate") from None
    try:
        key = encoding.b64_decode(gotypes.to_bytes(b64key))
    except GoError:
        raise GoError("unable to decode base64 private key") from None
    block, _ = template_pki.pem_decode(gotypes.from_bytes(cert))
    if block is None:
        raise GoError("unable to decode certificate")
    try:
        x509.load_der_x509_certificate(block.data)
    except ValueError as exc:
        raise GoError(f"error parsing certificate: decodedCert.Bytes: {exc}") from None
    try:
        parse_private_key_pem(gotypes.from_bytes(key))
    except GoError as exc:
        raise GoError(f"error parsing private key: {exc}") from None
    return Certificate(gotypes.from_bytes(cert), gotypes.from_bytes(key))
