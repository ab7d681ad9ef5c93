"""Sprig's encodings, hashes, paths and simple crypto (strings.go, crypto.go, functions.go).

Why ports: `b64dec` of bad input returns Go's error text as the *value*
("illegal base64 data at input byte 4"), so the decoders reproduce Go's positions; `path.Clean`
and friends follow Go's rules, which differ from Python's posixpath in corner cases.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import uuid
import zlib
from typing import Any

from asyncso.templates.go import gotypes, limits, strconv
from asyncso.templates.go.functions import INT, STRING, GoError, Registry
from asyncso.templates.go.gotypes import GoType, Kind

registry = Registry()

#: htpasswd's third parameter in ESO's sprig is the named string type `HashAlgorithm`.
HASH_ALGORITHM = GoType(Kind.STRING, "sprig.HashAlgorithm")

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_MAP = {ord(c): i for i, c in enumerate(_B64)}
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_MAP = {ord(c): i for i, c in enumerate(_B32)}


class CorruptInputError(GoError):
    def __init__(self, kind: str, offset: int) -> None:
        super().__init__(f"illegal {kind} data at input byte {offset}")


def b64_decode(data: bytes) -> bytes:
    """base64.StdEncoding.DecodeString."""
    out = bytearray()
    si = 0
    n = len(data)
    while si < n:
        dbuf = [0, 0, 0, 0]
        dlen = 4
        j = 0
        error: CorruptInputError | None = None
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise CorruptInputError("base64", si - j)
            byte = data[si]
            si += 1
            value = _B64_MAP.get(byte)
            if value is not None:
                dbuf[j] = value
                j += 1
                continue
            if byte in (0x0A, 0x0D):
                continue
            if byte != 0x3D:
                raise CorruptInputError("base64", si - 1)
            if j in (0, 1):
                raise CorruptInputError("base64", si - 1)
            if j == 2:
                while si < n and data[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise CorruptInputError("base64", n)
                if data[si] != 0x3D:
                    raise CorruptInputError("base64", si - 1)
                si += 1
            while si < n and data[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                error = CorruptInputError("base64", si)
            dlen = j
            break
        value = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3]
        chunk = bytes([(value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF])
        out += chunk[: dlen - 1]
        if error is not None:
            raise error
    return bytes(out)


def b32_decode(data: bytes) -> bytes:
    """base32.StdEncoding.DecodeString (newlines are stripped first)."""
    src = data.replace(b"\r", b"").replace(b"\n", b"")
    olen = len(src)
    out = bytearray()
    pos = 0
    end = False
    while pos < olen and not end:
        dbuf = [0] * 8
        dlen = 8
        j = 0
        while j < 8:
            if pos == olen:
                raise CorruptInputError("base32", olen - (olen - pos) - j)
            byte = src[pos]
            pos += 1
            remaining = olen - pos
            if byte == 0x3D and j >= 2 and remaining < 8:
                if remaining + j < 7:
                    raise CorruptInputError("base32", olen)
                for k in range(7 - j):
                    if remaining > k and src[pos + k] != 0x3D:
                        raise CorruptInputError("base32", olen - remaining + k - 1)
                dlen, end = j, True
                if dlen in (1, 3, 6):
                    raise CorruptInputError("base32", olen - remaining - 1)
                break
            value = _B32_MAP.get(byte)
            if value is None:
                raise CorruptInputError("base32", olen - remaining - 1)
            dbuf[j] = value
            j += 1
        quantum = 0
        for value in dbuf:
            quantum = quantum << 5 | value
        chunk = quantum.to_bytes(5, "big")
        out += chunk[: {8: 5, 7: 4, 5: 3, 4: 2, 2: 1}.get(dlen, 0)]
    return bytes(out)


def hex_decode(text: str) -> bytes:
    """hex.DecodeString with Go's errors."""
    data = gotypes.to_bytes(text)

    def nibble(byte: int) -> int:
        if 0x30 <= byte <= 0x39:
            return byte - 0x30
        if 0x61 <= byte <= 0x66:
            return byte - 0x61 + 10
        if 0x41 <= byte <= 0x46:
            return byte - 0x41 + 10
        return -1

    def invalid(byte: int) -> GoError:
        text = f"U+{byte:04X}"
        if strconv.is_print(byte):
            text += f" '{chr(byte)}'"
        return GoError(f"encoding/hex: invalid byte: {text}")

    out = bytearray()
    j = 1
    while j < len(data):
        a, b = nibble(data[j - 1]), nibble(data[j])
        if a < 0:
            raise invalid(data[j - 1])
        if b < 0:
            raise invalid(data[j])
        out.append(a << 4 | b)
        j += 2
    if len(data) % 2 == 1:
        if nibble(data[j - 1]) < 0:
            raise invalid(data[j - 1])
        raise GoError("encoding/hex: odd length hex string")
    return bytes(out)


@registry.func("b64enc", params=(STRING,))
def b64enc(text: str) -> str:
    data = gotypes.to_bytes(text)
    limits.check_size(len(data) * 4 // 3 + 4, "b64enc")
    return base64.b64encode(data).decode()


@registry.func("b64dec", params=(STRING,))
def b64dec(text: str) -> str:
    try:
        return gotypes.from_bytes(b64_decode(gotypes.to_bytes(text)))
    except GoError as exc:
        return str(exc)


@registry.func("b32enc", params=(STRING,))
def b32enc(text: str) -> str:
    data = gotypes.to_bytes(text)
    limits.check_size(len(data) * 8 // 5 + 8, "b32enc")
    return base64.b32encode(data).decode()


@registry.func("b32dec", params=(STRING,))
def b32dec(text: str) -> str:
    try:
        return gotypes.from_bytes(b32_decode(gotypes.to_bytes(text)))
    except GoError as exc:
        return str(exc)


@registry.func("hexdec", params=(STRING,))
def hexdec(text: str) -> str:
    try:
        return gotypes.from_bytes(hex_decode(text))
    except GoError as exc:
        return str(exc)


def _digest(name: str) -> Any:
    def run(text: str) -> str:
        return hashlib.new(name, gotypes.to_bytes(text)).hexdigest()

    return run


registry.add("sha1sum", _digest("sha1"), STRING)
registry.add("sha256sum", _digest("sha256"), STRING)
registry.add("sha512sum", _digest("sha512"), STRING)
registry.add("adler32sum", lambda text: str(zlib.adler32(gotypes.to_bytes(text))), STRING)


# --- paths (Go's path; filepath on Linux is the same) ----------------------------------------


def path_clean(path: str) -> str:
    """path.Clean."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for element in path.split("/"):
        if element in ("", "."):
            continue
        if element == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(element)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def path_base(path: str) -> str:
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path.rsplit("/", 1)[-1]


def path_dir(path: str) -> str:
    head = path[: path.rfind("/") + 1]
    return path_clean(head)


def path_ext(path: str) -> str:
    for i in range(len(path) - 1, -1, -1):
        if path[i] == "/":
            break
        if path[i] == ".":
            return path[i:]
    return ""


for _prefix in ("", "os"):
    registry.add(_prefix + ("base" if not _prefix else "Base"), path_base, STRING)
    registry.add(_prefix + ("dir" if not _prefix else "Dir"), path_dir, STRING)
    registry.add(_prefix + ("clean" if not _prefix else "Clean"), path_clean, STRING)
    registry.add(_prefix + ("ext" if not _prefix else "Ext"), path_ext, STRING)
    registry.add(
        _prefix + ("isAbs" if not _prefix else "IsAbs"), lambda p: p.startswith("/"), STRING
    )


# --- simple crypto -------------------------------------------------------------------------


BCRYPT_COST = 10  # Go's bcrypt.DefaultCost


def bcrypt_hash(data: bytes) -> str:
    """Go's `bcrypt.GenerateFromPassword(data, DefaultCost)`: `$2a$10$…`; ValueError past 72
    bytes (Go's ErrPasswordTooLong). Shared with the Jinja engine's `bcrypt`."""
    import bcrypt

    if len(data) > 72:
        raise ValueError("bcrypt: password length exceeds 72 bytes")
    return bcrypt.hashpw(data, bcrypt.gensalt(rounds=BCRYPT_COST, prefix=b"2a")).decode()


def _bcrypt(password: str) -> str:
    try:
        return bcrypt_hash(gotypes.to_bytes(password))
    except ValueError as exc:
        return f"failed to encrypt string with bcrypt: {exc}"


registry.add("bcrypt", _bcrypt, STRING)


@registry.func("htpasswd", params=(STRING, STRING, HASH_ALGORITHM))
def htpasswd(user: str, password: str, algorithm: str) -> str:
    if ":" in user:
        return f"invalid username: {user}"
    if algorithm == "sha":
        digest = hashlib.sha1(gotypes.to_bytes(password)).digest()  # noqa: S324 - htpasswd {SHA}
        return f"{user}:{{SHA}}{base64.b64encode(digest).decode()}"
    return f"{user}:{_bcrypt(password)}"


@registry.func("randBytes", params=(INT,))
def rand_bytes(count: int) -> str:
    if count < 0:
        raise GoError("runtime error: makeslice: len out of range")
    limits.check_size(count, "randBytes")
    return base64.b64encode(secrets.token_bytes(count)).decode()


registry.add("uuidv4", lambda: str(uuid.uuid4()))


_SEED = b"com.lyndir.masterpassword"
_TEMPLATES = {
    "maximum": ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
    "long": [
        "CvcvnoCvcvCvcv",
        "CvcvCvcvnoCvcv",
        "CvcvCvcvCvcvno",
        "CvccnoCvcvCvcv",
        "CvccCvcvnoCvcv",
        "CvccCvcvCvcvno",
        "CvcvnoCvccCvcv",
        "CvcvCvccnoCvcv",
        "CvcvCvccCvcvno",
        "CvcvnoCvcvCvcc",
        "CvcvCvcvnoCvcc",
        "CvcvCvcvCvccno",
        "CvccnoCvccCvcv",
        "CvccCvccnoCvcv",
        "CvccCvccCvcvno",
        "CvcvnoCvccCvcc",
        "CvcvCvccnoCvcc",
        "CvcvCvccCvccno",
        "CvccnoCvcvCvcc",
        "CvccCvcvnoCvcc",
        "CvccCvcvCvccno",
    ],
    "medium": ["CvcnoCvc", "CvcCvcno"],
    "short": ["Cvcn"],
    "basic": ["aaanaaan", "aannaaan", "aaannaaa"],
    "pin": ["nnnn"],
}
_CHARACTERS = {
    "V": "AEIOU",
    "C": "BCDFGHJKLMNPQRSTVWXYZ",
    "v": "aeiou",
    "c": "bcdfghjklmnpqrstvwxyz",
    "A": "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
    "a": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
    "n": "0123456789",
    "o": "@&%?,=[]_:-+*$#!'^~;()/.",
    "x": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
}


@registry.func("derivePassword", params=(gotypes.UINT32, STRING, STRING, STRING, STRING))
def derive_password(counter: int, kind: str, password: str, user: str, site: str) -> str:
    """The Master Password algorithm (scrypt N=32768, r=8, p=2)."""
    templates = _TEMPLATES.get(kind)
    if templates is None:
        return f"cannot find password template {kind}"
    user_b, site_b = gotypes.to_bytes(user), gotypes.to_bytes(site)
    salt = _SEED + len(user_b).to_bytes(4, "big") + user_b
    key = hashlib.scrypt(
        gotypes.to_bytes(password), salt=salt, n=32768, r=8, p=2, dklen=64, maxmem=64 << 20
    )
    message = _SEED + len(site_b).to_bytes(4, "big") + site_b + int(counter).to_bytes(4, "big")
    seed = hmac.new(key, message, hashlib.sha256).digest()
    template = templates[seed[0] % len(templates)]
    out = []
    for i, element in enumerate(template):
        chars = _CHARACTERS[element]
        out.append(chars[seed[i + 1] % len(chars)])
    return "".join(out)


def _aes_key(password: str) -> bytes:
    return (gotypes.to_bytes(password) + bytes(32))[:32]


@registry.func("encryptAES", params=(STRING, STRING))
def encrypt_aes(password: str, plaintext: str) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if plaintext == "":
        return ""
    content = gotypes.to_bytes(plaintext)
    limits.check_size(len(content), "encryptAES")
    padding = 16 - len(content) % 16
    content += bytes([padding]) * padding
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(_aes_key(password)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(content) + encryptor.finalize()).decode()


@registry.func("decryptAES", params=(STRING, STRING))
def decrypt_aes(password: str, crypt64: str) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if crypt64 == "":
        return ""
    raw = gotypes.to_bytes(crypt64)
    data = b64_decode(raw)
    capacity = len(raw) // 4 * 3  # Go's DecodeString buffer: DecodedLen(len(s))
    if len(data) < 16:
        if capacity < 16:
            raise GoError(
                f"runtime error: slice bounds out of range [:16] with capacity {capacity}"
            )
        raise GoError(f"runtime error: slice bounds out of range [16:{len(data)}]")
    iv, body = data[:16], data[16:]
    if len(body) % 16:
        raise GoError("crypto/cipher: input not full blocks")
    decryptor = Cipher(algorithms.AES(_aes_key(password)), modes.CBC(iv)).decryptor()
    plain = decryptor.update(body) + decryptor.finalize()
    if not plain:
        raise GoError("runtime error: index out of range [-1]")
    cut = len(plain) - plain[-1]
    if cut < 0:
        raise GoError(f"runtime error: slice bounds out of range [:{cut}]")
    return gotypes.from_bytes(plain[:cut])
