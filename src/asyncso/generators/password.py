"""ESO's `Password` generator: random passwords from the operating system's CSPRNG (`secrets`).

A port of ESO's `generators/v1/password` and the library it calls (sethvargo/go-password):
`length` characters (default 24) of which `digits` are digits and `symbols` are symbols (each
default a quarter of the length, rounded down), the rest letters (lower case, plus upper case
unless `noUpper`); no character twice unless `allowRepeat`; the characters in random order; one
password per key of `secretKeys` (default `password`), encoded as `encoding` says.

Two deliberate differences from ESO, both refusals of input that ESO mishandles: negative
counts (ESO then makes a password longer than `length`), and, without `allowRepeat`, symbol
characters that are also letters or digits (ESO may then loop forever, or fail by chance).
Sizes are capped so that a manifest cannot make the operator allocate without bound, and a
large request is drawn in a worker thread so that it does not stall the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import secrets
import string
from typing import Any

from asyncso import errors, model_generators

KIND = "Password"
DEFAULT_LENGTH = 24
DEFAULT_KEY = "password"
DEFAULT_SYMBOLS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./'
DIGITS = string.digits
LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
FACTOR = 0.25
MAX_LENGTH = 4096
MAX_TOTAL = 64 * 1024
"""Characters over all `secretKeys` together (drawing 64 Ki characters costs ~0.5 s of CPU)."""
INLINE_MAX = 1024
"""Up to this many characters are drawn on the event loop (a default password: under 1 ms)."""

MSG_TOO_LONG = f"length may be at most {MAX_LENGTH}"
MSG_TOO_MUCH = f"secretKeys x length may be at most {MAX_TOTAL} characters"
MSG_NEGATIVE = "{field} must not be negative"
MSG_EXCEEDS = "number of digits and symbols must be less than total length"
MSG_KEYS = "secretKeys must be non-empty and unique"
MSG_NO_REPEAT = "number of {what} exceeds available {what} and repeats are not allowed"
MSG_OVERLAP = "may not contain letters or digits unless allowRepeat is true"


@dataclasses.dataclass(frozen=True)
class Config:
    """A `PasswordSpec` with ESO's defaults applied."""

    length: int
    digits: int
    symbols: int
    symbol_characters: str
    no_upper: bool
    allow_repeat: bool
    keys: tuple[str, ...]
    encoding: model_generators.PasswordEncoding


def config_of(spec: model_generators.PasswordSpec) -> Config:
    """ESO's defaults, and every refusal, before anything is drawn."""
    length = spec.length if spec.length > 0 else DEFAULT_LENGTH
    if length > MAX_LENGTH:
        raise errors.InvalidSpecError(f"spec.length: {MSG_TOO_LONG}")
    digits = int(length * FACTOR) if spec.digits is None else spec.digits
    symbols = int(length * FACTOR) if spec.symbols is None else spec.symbols
    for field, value in (("spec.digits", digits), ("spec.symbols", symbols)):
        if value < 0:
            raise errors.InvalidSpecError(MSG_NEGATIVE.format(field=field))
    keys = tuple(spec.secret_keys) or (DEFAULT_KEY,)
    if any(not key for key in keys) or len(set(keys)) != len(keys):
        raise errors.InvalidSpecError(f"spec.secretKeys: {MSG_KEYS}")
    if length * len(keys) > MAX_TOTAL:
        raise errors.InvalidSpecError(f"spec.secretKeys: {MSG_TOO_MUCH}")
    config = Config(
        length=length,
        digits=digits,
        symbols=symbols,
        symbol_characters=spec.symbol_characters or DEFAULT_SYMBOLS,
        no_upper=spec.no_upper,
        allow_repeat=spec.allow_repeat,
        keys=keys,
        encoding=spec.encoding,
    )
    _check_counts(config)
    return config


def _letters(config: Config) -> str:
    return LOWER if config.no_upper else LOWER + UPPER


def _check_counts(config: Config) -> None:
    """go-password's refusals; and ours for symbols that are also letters or digits without
    repeats (go-password may then loop forever, or fail by chance)."""
    letters = config.length - config.digits - config.symbols
    if letters < 0:
        raise errors.InvalidSpecError(MSG_EXCEEDS)
    if config.allow_repeat:
        return
    symbols = set(config.symbol_characters)
    if symbols & set(_letters(config) + DIGITS):
        raise errors.InvalidSpecError(f"spec.symbolCharacters: {MSG_OVERLAP}")
    for what, count, pool in (
        ("letters", letters, set(_letters(config))),
        ("digits", config.digits, set(DIGITS)),
        ("symbols", config.symbols, symbols),
    ):
        if count > len(pool):
            raise errors.InvalidSpecError(MSG_NO_REPEAT.format(what=what))


def _draw(pool: str, count: int, *, used: set[str], allow_repeat: bool) -> list[str]:
    """`count` characters from `pool`, uniformly; without repeats, only characters not yet
    used (go-password's rule, without its retry loop; `_check_counts` made sure they suffice)."""
    out = []
    for _ in range(count):
        choices = pool if allow_repeat else "".join(sorted(set(pool) - used))
        char = secrets.choice(choices)
        used.add(char)
        out.append(char)
    return out


def password(config: Config) -> str:
    """One password: letters, digits and symbols drawn from `secrets`, then shuffled (the same
    distribution as go-password's insertion of each character at a random position)."""
    used: set[str] = set()
    letters = config.length - config.digits - config.symbols
    chars = _draw(_letters(config), letters, used=used, allow_repeat=config.allow_repeat)
    chars += _draw(DIGITS, config.digits, used=used, allow_repeat=config.allow_repeat)
    chars += _draw(
        config.symbol_characters, config.symbols, used=used, allow_repeat=config.allow_repeat
    )
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def encode(value: bytes, encoding: model_generators.PasswordEncoding) -> bytes:
    """ESO's encodings (Go's padded standard alphabets; hex in lower case)."""
    if encoding == "base64":
        return base64.b64encode(value)
    if encoding == "base64url":
        return base64.urlsafe_b64encode(value)
    if encoding == "base32":
        return base64.b32encode(value)
    if encoding == "hex":
        return value.hex().encode()
    return value


def generate(spec: model_generators.PasswordSpec) -> dict[str, bytes]:
    """One fresh password per key."""
    return _passwords(config_of(spec))


def _passwords(config: Config) -> dict[str, bytes]:
    return {key: encode(password(config).encode(), config.encoding) for key in config.keys}


class PasswordGenerator:
    """`ports.Generator` for `Password`: pure, stateless, never expires."""

    kind = KIND
    spec_type: type[Any] = model_generators.PasswordSpec

    async def generate(self, spec: Any, *, namespace: str, name: str) -> model_generators.Output:
        config = config_of(spec)  # refusals first, on the loop
        if config.length * len(config.keys) <= INLINE_MAX:
            return model_generators.Output(values=_passwords(config))
        return model_generators.Output(values=await asyncio.to_thread(_passwords, config))

    async def cleanup(self, spec: Any, state: Any, *, namespace: str) -> None:
        return None
