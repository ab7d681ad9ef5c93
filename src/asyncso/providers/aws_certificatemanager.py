"""AWS Certificate Manager (`service: CertificateManager`) behind `ports.SecretsProvider`.

Why: ESO reads an exportable ACM certificate by its ARN (`remoteRef.key`) as one PEM bundle —
certificate, chain, then the private key, decrypted — for a `kubernetes.io/tls` Secret. This is
a port of the read path of ESO's `providers/v1/aws/certificatemanager`: `GetCertificate` (its
fingerprint keys a cache, so an unchanged certificate is not exported again: exports are paid
calls), `DescribeCertificate` (it must have `Options.Export: ENABLED`), then
`ExportCertificate` with a random passphrase, whose encrypted PKCS#8 key is decrypted here.
`dataFrom.extract` and `find` are refused, as in ESO; `prefix` and `version` do not apply.
A missing certificate is an error, not "remote secret gone" (ESO's semantics).
"""

from __future__ import annotations

import hashlib
import secrets
import string
from typing import Any

from cryptography.hazmat.primitives import serialization

from asyncso import errors, model
from asyncso.providers import aws_client, aws_reader

PROVIDER = "AWS/CertificateManager"
PASSPHRASE_LENGTH = 32
_PASSPHRASE_CHARS = string.ascii_letters + string.digits  # no #, $ or % (ExportCertificate)
MSG_NOT_SUPPORTED = "operation not supported by AWS Certificate Manager provider"
MSG_NO_ARN = "certificate ARN must be specified in remoteRef.key"


def fingerprint(certificate: str, chain: str) -> str:
    """ESO's `computeCertFingerprint`: SHA-256 over the PEMs without trailing newlines."""
    digest = hashlib.sha256(certificate.rstrip("\r\n").encode())
    if chain.rstrip("\r\n"):
        digest.update(chain.rstrip("\r\n").encode())
    return digest.hexdigest()


def decrypt_key(pem: str, passphrase: bytes) -> str:
    """The exported `ENCRYPTED PRIVATE KEY` as an unencrypted PKCS#8 `PRIVATE KEY` PEM."""
    if "-----BEGIN PRIVATE KEY-----" in pem:
        return pem
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=passphrase)
    except (ValueError, TypeError) as exc:
        raise errors.PermanentError(
            f"failed to decrypt exported private key: {type(exc).__name__}"
        ) from None
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class CertificateManager(aws_reader.AwsReader[aws_client.AcmClient]):
    provider = PROVIDER
    service = "acm"

    def __init__(self, client: aws_client.AcmClient, **options: Any) -> None:
        super().__init__(client, **options)
        #: ARN → (fingerprint of certificate and chain, the exported bundle).
        self._exports: dict[str, tuple[str, bytes]] = {}

    async def read(self, ref: model.RemoteRef) -> bytes:
        arn = ref.key
        if not arn:
            raise errors.InvalidSpecError(MSG_NO_ARN)
        try:
            current = await self._call(
                "GetCertificate", self.client.get_certificate, key=arn, CertificateArn=arn
            )
        except errors.RemoteSecretNotFoundError:
            # ESO: an error like any other, not "the remote secret is gone".
            raise errors.PermanentError(
                f"failed to get certificate {arn}: certificate not found"
            ) from None
        printed = fingerprint(current.get("Certificate", ""), current.get("CertificateChain", ""))
        cached = self._exports.get(arn)
        if cached is not None and cached[0] == printed:
            return cached[1]
        described = await self._call(
            "DescribeCertificate", self.client.describe_certificate, key=arn, CertificateArn=arn
        )
        options = described.get("Certificate", {}).get("Options") or {}
        if options.get("Export") != "ENABLED":
            raise errors.PermanentError(
                f"certificate {arn} is not exportable (Options.Export is not ENABLED)"
            )
        passphrase = "".join(secrets.choice(_PASSPHRASE_CHARS) for _ in range(PASSPHRASE_LENGTH))
        exported = await self._call(
            "ExportCertificate",
            self.client.export_certificate,
            key=arn,
            CertificateArn=arn,
            Passphrase=passphrase.encode(),
        )
        parts = [
            exported[name].rstrip("\r\n")
            for name in ("Certificate", "CertificateChain")
            if exported.get(name)
        ]
        if exported.get("PrivateKey"):
            key = decrypt_key(exported["PrivateKey"], passphrase.encode())
            parts.append(key.rstrip("\r\n"))
        if not parts:
            raise errors.PermanentError(f"no data returned from ExportCertificate for {arn}")
        bundle = ("\n".join(parts) + "\n").encode()
        self._exports[arn] = (printed, bundle)
        return bundle

    async def find(self, find: model.Find) -> dict[str, bytes]:
        raise errors.InvalidSpecError(MSG_NOT_SUPPORTED)
