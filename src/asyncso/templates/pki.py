"""Template functions for certificates and keys: PEM blocks, PKCS#12 archives, JWKs, chains.

Why separate from `functions`: these are ESO's own helpers (`runtime/template/v2/pem.go`,
`pkcs12.go`, `jwk.go`) and must behave like them byte for byte where users compare outputs (PEM
framing, chain order, which blocks are kept). The PEM framing is a port of Go's `encoding/pem`,
because ESO's `filterPEM` keeps and drops blocks exactly where Go's decoder does; everything
cryptographic is `cryptography`'s. Values arrive as `str` holding bytes (UTF-8 with
`surrogateescape`), so binary archives survive the trip through the template.

Shared by both engines where the semantics are ESO's own: PEM framing (`pem_decode`,
`pem_encode`, `trim_junk`), chain ordering and selection (`order_chain`, `select_chain`,
`is_root`), SANs (`san_values`), the PKCS#12 encryption (`pkcs12_encryption`) and JWK decoding
(`jwk_key`). Each engine keeps its own argument order and error texts (the Go engine's are
ESO's, in `templates.go.eso`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.serialization import pkcs12

from asyncso import errors

_PEM_START = "\n-----BEGIN "
_PEM_END = "\n-----END "
_PEM_EOL = "-----"


def to_bytes(value: object) -> bytes:
    """A template value back to the bytes it came from."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


def to_text(value: bytes) -> str:
    """Bytes to a template value; undecodable bytes survive as surrogates."""
    return value.decode("utf-8", "surrogateescape")


# --- PEM framing (Go's encoding/pem) -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PemBlock:
    type: str
    headers: dict[str, str]
    data: bytes


def _get_line(data: str) -> tuple[str, str]:
    index = data.find("\n")
    if index < 0:
        line, rest = data, ""
    else:
        line, rest = data[:index], data[index + 1 :]
    return line.rstrip(" \t\r"), rest


def pem_decode(data: str) -> tuple[PemBlock | None, str]:
    """Go's `pem.Decode`: the first well-formed block and the text after it, or (None, data)."""
    rest = data
    while True:
        if rest.startswith(_PEM_START[1:]):
            rest = rest[len(_PEM_START) - 1 :]
        else:
            index = rest.find(_PEM_START)
            if index < 0:
                return None, data
            rest = rest[index + len(_PEM_START) :]
        type_line, rest = _get_line(rest)
        if not type_line.endswith(_PEM_EOL):
            continue
        block_type = type_line[: -len(_PEM_EOL)]
        headers: dict[str, str] = {}
        while True:
            if not rest:
                return None, data
            line, following = _get_line(rest)
            key, colon, value = line.partition(":")
            if not colon:
                break
            headers[key.strip()] = value.strip()
            rest = following
        if not headers and rest.startswith(_PEM_END[1:]):
            end_index, trailer_index = 0, len(_PEM_END) - 1
        else:
            end_index = rest.find(_PEM_END)
            trailer_index = end_index + len(_PEM_END)
        if end_index < 0:
            continue
        trailer = rest[trailer_index:]
        trailer_len = len(block_type) + len(_PEM_EOL)
        if len(trailer) < trailer_len:
            continue
        rest_of_end_line, trailer = trailer[trailer_len:], trailer[:trailer_len]
        if not trailer.startswith(block_type) or not trailer.endswith(_PEM_EOL):
            continue
        if _get_line(rest_of_end_line)[0]:
            continue
        body = rest[:end_index].replace(" ", "").replace("\t", "")
        body = body.replace("\r", "").replace("\n", "")
        try:
            raw = binascii.a2b_base64(body.encode("ascii"), strict_mode=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
        _, rest = _get_line(rest[end_index + len(_PEM_END) - 1 :])
        return PemBlock(type=block_type, headers=headers, data=raw), rest


def pem_encode(block: PemBlock) -> str:
    """Go's `pem.Encode`: `Proc-Type` header first, the others sorted, 64-column base64."""
    lines = [f"-----BEGIN {block.type}-----\n"]
    if block.headers:
        keys = sorted(block.headers, key=lambda k: (k != "Proc-Type", k))
        lines.extend(f"{key}: {block.headers[key]}\n" for key in keys)
        lines.append("\n")
    encoded = base64.b64encode(block.data).decode("ascii")
    lines.extend(encoded[i : i + 64] + "\n" for i in range(0, len(encoded), 64))
    lines.append(f"-----END {block.type}-----\n")
    return "".join(lines)


def trim_junk(text: str) -> str:
    """ESO's trimJunk: drop anything before the first `-----BEGIN`."""
    index = text.find("-----BEGIN")
    return text if index < 0 else text[index:]


def filter_pem(value: object, pem_type: str) -> str:
    """ESO `filterPEM`: every block of that type (case-insensitive), in order."""
    rest = trim_junk(str(value))
    kept: list[str] = []
    while True:
        block, rest = pem_decode(rest)
        if block is None:
            break
        if block.type.casefold() == str(pem_type).casefold():
            kept.append(pem_encode(block))
    if not kept and rest:
        raise errors.TemplateError("filterPEM: input has no PEM blocks (found junk)")
    return "".join(kept)


def _certificates(text: str) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    rest = text
    while True:
        block, rest = pem_decode(rest)
        if block is None:
            return certs
        try:
            certs.append(x509.load_der_x509_certificate(block.data))
        except ValueError:
            raise errors.TemplateError("PEM block is not a valid X.509 certificate") from None


def _certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


# --- certificate chains ------------------------------------------------------------------------


def authority_key_id(cert: x509.Certificate) -> bytes | None:
    """Go's `cert.AuthorityKeyId`: None (nil) without the extension or its key identifier."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    return ext.value.key_identifier


def subject_key_id(cert: x509.Certificate) -> bytes:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return b""


def order_chain(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """ESO's chain ordering (leaf → intermediates → root) by key identifiers, no verification.

    Raises when there is no single leaf, or the links form a cycle.
    """
    parents: dict[int, int] = {}
    is_parent = [False] * len(certs)
    for i, cert in enumerate(certs):
        for j, other in enumerate(certs):
            if i != j and (authority_key_id(cert) or b"") == subject_key_id(other):
                is_parent[j] = True
                parents[i] = j
                break
    leaves = [i for i, parent in enumerate(is_parent) if not parent]
    if len(leaves) > 1:
        raise errors.TemplateError("found multiple leaf or disjunct certificates")
    if not leaves:
        raise errors.TemplateError("no leaf certificate found")
    ordered: list[x509.Certificate] = []
    node: int | None = leaves[0]
    while node is not None:
        if len(ordered) >= len(certs):
            raise errors.TemplateError("certificate chain has a cycle")
        ordered.append(certs[node])
        node = parents.get(node)
    return ordered


def is_root(cert: x509.Certificate) -> bool:
    """ESO's isRootCertificate: no authority key id, or the subject's own."""
    aki = authority_key_id(cert)
    return aki is None or aki == subject_key_id(cert)


def select_chain(ordered: list[x509.Certificate], cert_type: str) -> list[x509.Certificate]:
    """ESO's filterCertChain on an ordered chain: the `leaf` (when it has an issuer), the
    `intermediate`s up to the first root, or the `root`; nothing for another type."""
    if cert_type == "leaf":
        leaf = ordered[0]
        aki = authority_key_id(leaf)
        return [leaf] if aki is not None and aki != subject_key_id(leaf) else []
    if cert_type == "intermediate":
        kept: list[x509.Certificate] = []
        for cert in ordered[1:]:
            if is_root(cert):
                break
            kept.append(cert)
        return kept
    if cert_type == "root" and is_root(ordered[-1]):
        return [ordered[-1]]
    return []


def filter_cert_chain(value: object, cert_type: str) -> str:
    """ESO `filterCertChain`: the `leaf`, the `intermediate`s or the `root` of a PEM chain."""
    ordered = order_chain(_certificates(str(value)))
    return "".join(_certificate_pem(cert) for cert in select_chain(ordered, cert_type))


def san_values(cert: x509.Certificate) -> list[str]:
    """ESO's certSANs of one certificate: DNS names, IPs, e-mails, URIs, in that order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
        *san.get_values_for_type(x509.RFC822Name),
        *san.get_values_for_type(x509.UniformResourceIdentifier),
    ]


def cert_sans(value: object) -> list[str]:
    """ESO `certSANs`: DNS names, IPs, e-mails, URIs of the first certificate, in that order."""
    block, _ = pem_decode(trim_junk(str(value)))
    if block is None:
        raise errors.TemplateError("certSANs: failed to decode PEM block")
    try:
        cert = x509.load_der_x509_certificate(block.data)
    except ValueError:
        raise errors.TemplateError("certSANs: failed to parse certificate") from None
    return san_values(cert)


# --- PKCS#12 -----------------------------------------------------------------------------------


def _load_pkcs12(value: object, password: str, *, what: str) -> Any:
    data = to_bytes(value)
    candidates: list[bytes | None] = [password.encode("utf-8")] if password else [None, b""]
    for candidate in candidates:
        try:
            return pkcs12.load_pkcs12(data, candidate)
        except (ValueError, TypeError):
            continue
    raise errors.TemplateError(f"{what}: unable to decode PKCS#12 archive (wrong password or data)")


def pkcs12_key(value: object, password: str = "") -> str:
    """ESO `pkcs12key`/`pkcs12keyPass`: the archive's private key as PKCS#8 PEM."""
    archive = _load_pkcs12(value, password, what="pkcs12key")
    if archive.key is None:
        raise errors.TemplateError("pkcs12key: the PKCS#12 archive holds no private key")
    pem: bytes = archive.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")


def pkcs12_cert(value: object, password: str = "") -> str:
    """ESO `pkcs12cert`/`pkcs12certPass`: all certificates, ordered leaf → root when possible."""
    archive = _load_pkcs12(value, password, what="pkcs12cert")
    if archive.cert is None:
        raise errors.TemplateError("pkcs12cert: the PKCS#12 archive holds no certificate")
    certs = [archive.cert.certificate, *(c.certificate for c in archive.additional_certs)]
    with contextlib.suppress(errors.TemplateError):  # unordered when no single chain
        certs = order_chain(certs)
    return "".join(_certificate_pem(cert) for cert in certs)


def _private_key_from_pem(text: str) -> Any:
    """ESO's `parsePrivateKey`: PKCS#1, PKCS#8 or SEC 1, whatever the PEM block's type says."""
    block, _ = pem_decode(text)
    if block is None:
        raise errors.TemplateError("private key: no PEM block found")
    try:
        return serialization.load_der_private_key(block.data, None)
    except (ValueError, TypeError):
        raise errors.TemplateError("private key: unable to parse private key type") from None


def pkcs12_encryption(password: bytes) -> serialization.KeySerializationEncryption:
    """Go's `pkcs12.Modern` (PBES2, AES-256-CBC, SHA-256 MAC, 2048 rounds) with a password;
    an unencrypted archive without one (`cryptography` refuses an empty password)."""
    if not password:
        return serialization.NoEncryption()
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password)
    )


def pem_to_pkcs12(cert: object, key: object, password: str = "", *, full_chain: bool) -> str:
    """ESO `pemToPkcs12`/`fullPemToPkcs12` (+`Pass`): a base64 PKCS#12 archive.

    Encrypted like Go's `pkcs12.Modern` (PBES2, AES-256-CBC, SHA-256 MAC) when a password is
    given; without one the archive is unencrypted (`cryptography` refuses an empty password).
    """
    certs = _certificates(str(cert))
    if not certs:
        raise errors.TemplateError("pemToPkcs12: no certificate found")
    private_key = _private_key_from_pem(str(key))
    encryption = pkcs12_encryption(to_bytes(password))
    archive = pkcs12.serialize_key_and_certificates(
        name=None,
        key=private_key,
        cert=certs[0],
        cas=certs[1:] if full_chain else None,
        encryption_algorithm=encryption,
    )
    return base64.b64encode(archive).decode("ascii")


# --- JWK ---------------------------------------------------------------------------------------

_EC_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
    "secp256k1": ec.SECP256K1(),
}


def _b64url_int(jwk: dict[str, Any], name: str) -> int:
    return int.from_bytes(_b64url(jwk, name), "big")


def _b64url(jwk: dict[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise errors.TemplateError(f"JWK: missing member {name!r}")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise errors.TemplateError(f"JWK: member {name!r} is not base64url") from None


def jwk_key(value: object) -> Any:
    try:
        jwk = json.loads(str(value))
    except ValueError:
        raise errors.TemplateError("JWK: not valid JSON") from None
    if not isinstance(jwk, dict):
        raise errors.TemplateError("JWK: not a JSON object")
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            return _rsa_key(jwk)
        if kty == "EC":
            curve = _EC_CURVES.get(str(jwk.get("crv")))
            if curve is None:
                raise errors.TemplateError(f"JWK: unsupported EC curve {jwk.get('crv')!r}")
            public = ec.EllipticCurvePublicNumbers(
                _b64url_int(jwk, "x"), _b64url_int(jwk, "y"), curve
            )
            if "d" in jwk:
                return ec.EllipticCurvePrivateNumbers(_b64url_int(jwk, "d"), public).private_key()
            return public.public_key()
        if kty == "OKP":
            return _okp_key(jwk)
    except ValueError:
        raise errors.TemplateError(f"JWK: invalid {kty} key") from None
    raise errors.TemplateError(f"JWK: unsupported key type {kty!r}")


def _rsa_key(jwk: dict[str, Any]) -> Any:
    n, e = _b64url_int(jwk, "n"), _b64url_int(jwk, "e")
    public = rsa.RSAPublicNumbers(e, n)
    if "d" not in jwk:
        return public.public_key()
    d = _b64url_int(jwk, "d")
    if "p" in jwk and "q" in jwk:
        p, q = _b64url_int(jwk, "p"), _b64url_int(jwk, "q")
    else:
        p, q = rsa.rsa_recover_prime_factors(n, e, d)
    return rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=public,
    ).private_key()


_OKP: dict[str, tuple[Any, Any]] = {
    "Ed25519": (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey),
    "Ed448": (ed448.Ed448PublicKey, ed448.Ed448PrivateKey),
    "X25519": (x25519.X25519PublicKey, x25519.X25519PrivateKey),
    "X448": (x448.X448PublicKey, x448.X448PrivateKey),
}


def _okp_key(jwk: dict[str, Any]) -> Any:
    kinds = _OKP.get(str(jwk.get("crv")))
    if kinds is None:
        raise errors.TemplateError(f"JWK: unsupported OKP curve {jwk.get('crv')!r}")
    public_kind, private_kind = kinds
    if "d" in jwk:
        return private_kind.from_private_bytes(_b64url(jwk, "d"))
    return public_kind.from_public_bytes(_b64url(jwk, "x"))


def jwk_public_key_pem(value: object) -> str:
    """ESO `jwkPublicKeyPem`: the public key as PKIX `PUBLIC KEY` PEM.

    Unlike ESO, a private JWK works too (its public half is used).
    """
    key = jwk_key(value)
    public = key.public_key() if hasattr(key, "private_bytes") else key
    pem: bytes = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def jwk_private_key_pem(value: object) -> str:
    """ESO `jwkPrivateKeyPem`: the private key as PKCS#8 `PRIVATE KEY` PEM."""
    key = jwk_key(value)
    if not hasattr(key, "private_bytes"):
        raise errors.TemplateError("jwkPrivateKeyPem: the JWK holds no private key")
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")
