"""ESO's own template functions (runtime/template/v2: pkcs12.go, pem.go, pem_chain.go, jwk.go,
yaml.go, decrypt.go) with their Go signatures and ESO's error texts.

Why here and not in `templates.pki`: the Jinja engine's helpers have their own messages and take
arguments in Python order; ESO's functions take the piped value last
(`{{ .p12 | pkcs12keyPass "pw" }}`), return Go errors (`unable to decode pkcs12 with password:
...`), and a few behave differently from the Jinja helpers (a private JWK given to
`jwkPublicKeyPem` fails as in ESO). What has the same semantics is shared with `templates.pki`:
PEM framing (a port of Go's encoding/pem), chain ordering and selection, SANs, the PKCS#12
encryption, JWK decoding.
"""

from __future__ import annotations

import base64
import contextlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from asyncso.templates import pki as template_pki
from asyncso.templates.go import gotypes, yamlv2
from asyncso.templates.go.functions import ANY, STRING, FuncMap, GoError, Registry
from asyncso.templates.go.sprig import gojson

registry = Registry()

ERR_DECODE_PKCS12 = "unable to decode pkcs12 with password: {}"
ERR_DECODE_CERT = "unable to decode pkcs12 certificate with password: {}"
ERR_PARSE_PRIVATE_KEY = "unable to parse private key type"
ERR_JUNK = "error filtering pem: found junk"
ERR_DISJUNCT = "found multiple leaf or disjunct certificates"
ERR_NO_LEAF = "no leaf certificate found"
ERR_CYCLE = "constructing chain resulted in cycle"
ERR_NIL_DEREFERENCE = "runtime error: invalid memory address or nil pointer dereference"
ERR_MALFORMED_CERT = "x509: malformed certificate"


def _bytes(text: str) -> bytes:
    return gotypes.to_bytes(text)


def _text(data: bytes) -> str:
    return gotypes.from_bytes(data)


def _pem(data: bytes, kind: str) -> str:
    return template_pki.pem_encode(template_pki.PemBlock(kind, {}, data))


def _cert_pem(cert: x509.Certificate) -> str:
    return _pem(cert.public_bytes(serialization.Encoding.DER), "CERTIFICATE")


# --- PKCS#12 ---------------------------------------------------------------------------------


def _decode_chain(data: bytes, password: str) -> Any:
    """go-pkcs12 DecodeChain: a key, a leaf certificate, CA certificates."""
    candidates: list[bytes | None] = [_bytes(password)] if password else [b"", None]
    last: Exception | None = None
    for candidate in candidates:
        try:
            archive = pkcs12.load_pkcs12(data, candidate)
        except (ValueError, TypeError) as exc:
            last = exc
            continue
        if archive.key is None:
            raise GoError("pkcs12: private key missing")
        if archive.cert is None:
            raise GoError("pkcs12: certificate missing")
        return archive
    message = str(last) if last else ""
    if "password" in message.lower() or "mac" in message.lower():
        raise GoError("pkcs12: decryption password incorrect")
    raise GoError("pkcs12: error reading P12 data: asn1: structure error")


def pkcs12_key_pass(password: str, data: str) -> str:
    try:
        archive = _decode_chain(_bytes(data), password)
    except GoError as exc:
        raise GoError(ERR_DECODE_PKCS12.format(exc)) from None
    der = archive.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _pem(der, "PRIVATE KEY")


def _order(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """ESO's fetchX509CertChains (leaf to root by key identifiers)."""
    try:
        return template_pki.order_chain(certs)
    except Exception as exc:  # template_pki raises its own TemplateError texts
        text = str(exc)
        if "multiple leaf" in text:
            raise GoError(ERR_DISJUNCT) from None
        if "no leaf" in text:
            raise GoError(ERR_NO_LEAF) from None
        raise GoError(ERR_CYCLE) from None


def pkcs12_cert_pass(password: str, data: str) -> str:
    try:
        archive = _decode_chain(_bytes(data), password)
    except GoError as exc:
        raise GoError(ERR_DECODE_CERT.format(exc)) from None
    certs = [archive.cert.certificate, *(c.certificate for c in archive.additional_certs)]
    with contextlib.suppress(GoError):
        certs = _order(certs)
    return "".join(_cert_pem(cert) for cert in certs)


def _parse_private_key(der: bytes) -> Any:
    """ESO's parsePrivateKey: PKCS#1, PKCS#8 or SEC 1 DER."""
    try:
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        raise GoError(ERR_PARSE_PRIVATE_KEY) from None


def _parse_certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise GoError(ERR_MALFORMED_CERT) from None


def _first_block(text: str) -> tuple[template_pki.PemBlock, str]:
    block, rest = template_pki.pem_decode(text)
    if block is None:
        raise GoError(ERR_NIL_DEREFERENCE)
    return block, rest


def _ca_certs(text: str) -> list[x509.Certificate]:
    certs = []
    rest = text
    while rest:
        block, rest = template_pki.pem_decode(rest)
        if block is None:
            raise GoError(ERR_NIL_DEREFERENCE)
        certs.append(_parse_certificate(block.data))
    return certs


def _encryption(password: str) -> Any:
    return template_pki.pkcs12_encryption(_bytes(password))


def _to_pkcs12(
    cert: x509.Certificate, key_text: str, cas: list[x509.Certificate] | None, password: str
) -> str:
    block, _ = _first_block(key_text)
    key = _parse_private_key(block.data)
    archive = pkcs12.serialize_key_and_certificates(
        name=None, key=key, cert=cert, cas=cas or None, encryption_algorithm=_encryption(password)
    )
    return base64.b64encode(archive).decode()


def pem_to_pkcs12_pass(cert: str, key: str, password: str) -> str:
    block, _ = _first_block(cert)
    return _to_pkcs12(_parse_certificate(block.data), key, None, password)


def full_pem_to_pkcs12_pass(cert: str, key: str, password: str) -> str:
    block, rest = _first_block(cert)
    leaf = _parse_certificate(block.data)
    return _to_pkcs12(leaf, key, _ca_certs(rest), password)


def pem_truststore_to_pkcs12_pass(cert: str, password: str) -> str:
    certs = _ca_certs(cert)
    archive = pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(c, None) for c in certs], _encryption(password)
    )
    return base64.b64encode(archive).decode()


registry.add("pkcs12key", lambda data: pkcs12_key_pass("", data), STRING)
registry.add("pkcs12keyPass", pkcs12_key_pass, STRING, STRING)
registry.add("pkcs12cert", lambda data: pkcs12_cert_pass("", data), STRING)
registry.add("pkcs12certPass", pkcs12_cert_pass, STRING, STRING)
registry.add("pemToPkcs12", lambda c, k: pem_to_pkcs12_pass(c, k, ""), STRING, STRING)
registry.add("pemToPkcs12Pass", pem_to_pkcs12_pass, STRING, STRING, STRING)
registry.add("fullPemToPkcs12", lambda c, k: full_pem_to_pkcs12_pass(c, k, ""), STRING, STRING)
registry.add("fullPemToPkcs12Pass", full_pem_to_pkcs12_pass, STRING, STRING, STRING)
registry.add("pemTruststoreToPKCS12", lambda c: pem_truststore_to_pkcs12_pass(c, ""), STRING)
registry.add("pemTruststoreToPKCS12Pass", pem_truststore_to_pkcs12_pass, STRING, STRING)


# --- PEM -------------------------------------------------------------------------------------


@registry.func("filterPEM", params=(STRING, STRING))
def filter_pem(pem_type: str, data: str) -> str:
    rest = template_pki.trim_junk(data)
    kept: list[str] = []
    while True:
        block, rest = template_pki.pem_decode(rest)
        if block is None:
            break
        if block.type.casefold() == pem_type.casefold():
            kept.append(template_pki.pem_encode(block))
    if not kept and rest:
        raise GoError(ERR_JUNK)
    return "".join(kept)


def _chain(data: str) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    rest = data
    while True:
        block, rest = template_pki.pem_decode(rest)
        if block is None:
            break
        certs.append(_parse_certificate(block.data))
    return _order(certs)


@registry.func("filterCertChain", params=(STRING, STRING))
def filter_cert_chain(cert_type: str, data: str) -> str:
    return "".join(_cert_pem(cert) for cert in template_pki.select_chain(_chain(data), cert_type))


@registry.func("certSANs", params=(STRING,))
def cert_sans(data: str) -> gotypes.GoSlice:
    block, _ = template_pki.pem_decode(template_pki.trim_junk(data))
    if block is None:
        raise GoError("failed to decode PEM block")
    try:
        cert = x509.load_der_x509_certificate(block.data)
    except ValueError:
        raise GoError(f"failed to parse certificate: {ERR_MALFORMED_CERT}") from None
    return gotypes.StringSlice(template_pki.san_values(cert))


# --- JWK -------------------------------------------------------------------------------------


def _go_key_type(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "*rsa.PrivateKey"
    if isinstance(key, rsa.RSAPublicKey):
        return "*rsa.PublicKey"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "*ecdsa.PrivateKey"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "*ecdsa.PublicKey"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519.PrivateKey"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519.PublicKey"
    return type(key).__name__


def _jwk(text: str) -> Any:
    try:
        return template_pki.jwk_key(text)
    except Exception as exc:  # template_pki's own texts: keep them, they hold no values
        raise GoError(f"failed to parse key: {exc}") from None


@registry.func("jwkPublicKeyPem", params=(STRING,))
def jwk_public_key_pem(text: str) -> str:
    key = _jwk(text)
    if hasattr(key, "private_bytes"):
        raise GoError(f"x509: unsupported public key type: {_go_key_type(key)}")
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _pem(der, "PUBLIC KEY")


@registry.func("jwkPrivateKeyPem", params=(STRING,))
def jwk_private_key_pem(text: str) -> str:
    key = _jwk(text)
    if not hasattr(key, "private_bytes"):
        raise GoError(f"x509: unknown key type while marshaling PKCS#8: {_go_key_type(key)}")
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _pem(der, "PRIVATE KEY")


# --- YAML ------------------------------------------------------------------------------------


@registry.func("toYaml", params=(ANY,))
def to_yaml(value: Any) -> str:
    try:
        return yamlv2.marshal(value).removesuffix("\n")
    except GoError:
        return ""


registry.add("fromYaml", yamlv2.unmarshal_map, STRING)


# --- rsaDecrypt ------------------------------------------------------------------------------

_HASHES: dict[str, type[hashes.SHA1 | hashes.SHA256 | hashes.SHA512]] = {
    "SHA1": hashes.SHA1,
    "SHA256": hashes.SHA256,
    "SHA512": hashes.SHA512,
}


@registry.func("rsaDecrypt", params=(STRING, STRING, STRING, STRING))
def rsa_decrypt(scheme: str, hash_name: str, data: str, private_key: str) -> str:
    if scheme == "None":
        return data
    if scheme != "RSA-OAEP":
        raise GoError(f"decryption scheme {scheme} is not supported")
    block, _ = template_pki.pem_decode(private_key)
    if block is None:
        raise GoError("failed to decode PEM block")
    try:
        key = _parse_private_key(block.data)
    except GoError as exc:
        raise GoError(f"could not parse private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise GoError("could not parse RSA private key")
    algorithm = _HASHES.get(hash_name, hashes.SHA256)()
    try:
        plain = key.decrypt(
            _bytes(data),
            padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None),
        )
    except ValueError:
        raise GoError("error decrypting data with RSA: crypto/rsa: decryption error") from None
    return _text(plain)


def functions() -> FuncMap:
    return dict(registry.funcs)


__all__ = ["functions", "gojson"]
