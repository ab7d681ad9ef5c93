"""Key mapping: how provider keys and values become Secret keys and values, as ESO does it.

Why a module of its own: ESO applies these steps in a fixed order per `dataFrom` entry, and every
one of them can turn a working ExternalSecret into a broken one when it differs by a character:

    rewrite (if any) → else convert keys (conversionStrategy) → validate keys → decode values

`decode`, `convert_key` and the Go-flavoured regexp replace follow ESO's Go code exactly
(`runtime/decoding`, `runtime/esutils.convert`, `regexp.ReplaceAllString`). Regexps run on RE2, so a
hostile `rewrite[].regexp.source` cannot hang the operator. Nothing here does I/O; messages name
keys and fields, never values.
"""

from __future__ import annotations

import binascii
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import re2

from asyncso import errors, model
from asyncso.templates import engines, jinja, limits
from asyncso.templates.go import limits as go_limits
from asyncso.templates.go.sprig import regex as go_regex

MAX_KEY_LENGTH = 253
# Go's `unicode.IsLetter` and `unicode.IsDigit`, which make up a `${name}` in a rewrite target.
_VALID_KEY = re.compile(r"[-._a-zA-Z0-9]+")


# --- decoding ----------------------------------------------------------------------------------


def decode(value: bytes, strategy: model.DecodingStrategy) -> bytes:
    """Decode one value per `decodingStrategy`; the error names the strategy, never the value."""
    if strategy == "None":
        return value
    if strategy == "Base64":
        return _b64decode(value, strategy="Base64", urlsafe=False)
    if strategy == "Base64URL":
        return _b64decode(value, strategy="Base64URL", urlsafe=True)
    if strategy == "Auto":
        for urlsafe in (False, True):
            try:
                return _b64decode(value, strategy="Auto", urlsafe=urlsafe)
            except errors.InvalidSpecError:
                continue
        return value
    raise errors.InvalidSpecError(f"decodingStrategy {strategy!r} is not supported")


def _b64decode(value: bytes, *, strategy: str, urlsafe: bool) -> bytes:
    """Go's `base64.StdEncoding`/`URLEncoding`: padding required, CR/LF ignored, nothing else."""
    data = value.replace(b"\r", b"").replace(b"\n", b"")
    if urlsafe:
        if b"+" in data or b"/" in data:
            raise errors.InvalidSpecError(f"decodingStrategy {strategy}: value is not valid base64")
        data = data.replace(b"-", b"+").replace(b"_", b"/")
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        kind = "base64url" if urlsafe else "base64"
        raise errors.InvalidSpecError(
            f"decodingStrategy {strategy}: value is not valid {kind}"
        ) from None


# --- key conversion ----------------------------------------------------------------------------


def _keeps(char: str) -> bool:
    """ESO keeps Unicode letters and numbers (Go's `unicode.IsLetter`/`IsNumber`) and `-._`."""
    return char in "-._" or unicodedata.category(char)[0] in ("L", "N")


def convert_key(key: str, strategy: model.ConversionStrategy) -> str:
    """ESO's `conversionStrategy` for one key.

    `Default` replaces each other character with `_`; `Unicode` with `_U%04x_` (its code point).
    Like ESO, non-ASCII letters and digits are kept: Kubernetes then rejects them, and
    `validate_secret_key` says so first.
    """
    if strategy == "Default":
        return "".join(c if _keeps(c) else "_" for c in key)
    if strategy == "Unicode":
        return "".join(c if _keeps(c) else f"_U{ord(c):04x}_" for c in key)
    raise errors.InvalidSpecError(f"conversionStrategy {strategy!r} is not supported")


def convert_keys(data: Mapping[str, bytes], strategy: model.ConversionStrategy) -> dict[str, bytes]:
    """`convert_key` over a map; two keys converting to the same name is an error (as ESO)."""
    out: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    for key, value in data.items():
        new = convert_key(key, strategy)
        if new in out:
            raise errors.InvalidSpecError(
                f"conversionStrategy {strategy}: keys {origin[new]!r} and {key!r} "
                f"both convert to {new!r}"
            )
        out[new] = value
        origin[new] = key
    return out


# --- validation --------------------------------------------------------------------------------


def is_secret_key(key: str) -> bool:
    """Kubernetes' rule for Secret (and ConfigMap) data keys, as a yes or no."""
    return (
        0 < len(key) <= MAX_KEY_LENGTH
        and key not in (".", "..")
        and bool(_VALID_KEY.fullmatch(key))
    )


def validate_secret_key(key: str) -> None:
    """Kubernetes' rule for Secret (and ConfigMap) data keys."""
    if not key:
        raise errors.InvalidSpecError("Secret key must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise errors.InvalidSpecError(
            f"Secret key {key[:64]!r}... is {len(key)} characters long, "
            f"the maximum is {MAX_KEY_LENGTH}"
        )
    if key in (".", ".."):
        raise errors.InvalidSpecError(f"Secret key {key!r} is not allowed")
    if not _VALID_KEY.fullmatch(key):
        raise errors.InvalidSpecError(
            f"Secret key {key!r} is invalid: only alphanumerics, '-', '.' and '_' are allowed"
        )


# --- rewrite -----------------------------------------------------------------------------------


def rewrite(
    data: Mapping[str, bytes],
    rewrites: Sequence[model.Rewrite],
    *,
    engine: model.TemplateEngine = "v2",
) -> dict[str, bytes]:
    """ESO's `dataFrom[].rewrite`: each operation renames every key, in order.

    A `transform` is a Go template, as in ESO, unless the ExternalSecret's template says
    `engineVersion: jinja` (`engine`): then it is a Jinja template with the key as `value`.

    Two keys renamed to the same name are an error (ESO keeps one of them at random). When there
    is at least one operation, the final keys must be valid Secret keys: ESO skips the
    `conversionStrategy` step for a rewritten `dataFrom` entry.

    `merge` (ESO's JSON hoisting with conflict policies) is refused before anything is renamed:
    silently skipping it would write a Secret with other keys than ESO's.
    """
    for index, operation in enumerate(rewrites):
        if operation.merge is not None:
            raise errors.InvalidSpecError(
                f"rewrite[{index}].merge: dataFrom[].rewrite[].merge is not supported yet "
                "(use regexp or transform rewrites, or a template)"
            )
    out = dict(data)
    for index, operation in enumerate(rewrites):
        if operation.regexp is not None:
            where = f"rewrite[{index}].regexp"
            pattern = compile_pattern(operation.regexp.source, where=f"{where}.source")
            out = _rename(out, _regexp_renamer(pattern, operation.regexp.target), where=where)
        elif operation.transform is not None:
            where = f"rewrite[{index}].transform.template"
            source = operation.transform.template
            if engine == "jinja":
                with limits.budget():
                    out = _rename(out, _transform_renamer(source, where=where), where=where)
            else:
                out = _rename(out, engines.go_transform(source, where=where), where=where)
    if rewrites:
        for key in out:
            try:
                validate_secret_key(key)
            except errors.InvalidSpecError as exc:
                raise errors.InvalidSpecError(f"rewrite: {exc}") from None
    return out


def _rename(
    data: dict[str, bytes], rename: Callable[[str], str], *, where: str
) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    for key, value in data.items():
        new = rename(key)
        if new in out:
            raise errors.InvalidSpecError(
                f"{where}: keys {origin[new]!r} and {key!r} both become {new!r}"
            )
        out[new] = value
        origin[new] = key
    return out


def _regexp_renamer(pattern: Any, target: str) -> Callable[[str], str]:
    return lambda key: go_replace_all(pattern, key, target)


def _transform_renamer(source: str, *, where: str) -> Callable[[str], str]:
    """A Jinja transform (`engineVersion: jinja`): the key is `value` (ESO's `.value`)."""
    return lambda key: jinja.render(source, {"value": key}, where=where)


def find_pattern(find: model.Find) -> Any:
    """`dataFrom.find.name.regexp`, compiled (None when absent); every provider uses this."""
    if find.name is None or not find.name.regexp:
        return None
    return compile_pattern(find.name.regexp, where="find.name.regexp")


def compile_pattern(source: str, *, where: str) -> Any:
    """Compile an RE2 pattern; an invalid one is an `InvalidSpecError` naming `where`."""
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(source, options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise errors.InvalidSpecError(f"{where}: invalid RE2 pattern: {detail}") from None


def go_replace_all(pattern: Any, text: str, template: str) -> str:
    """Go's `Regexp.ReplaceAllString`, including its `$1`, `${1}`, `${name}`, `$$` expansion.

    Go differs from Python's `re.sub` in one way that matters here: an empty match right after
    a previous match is not replaced, so `(.*)` → `dev-$1` gives `dev-foo`, not `dev-foodev-`.
    The implementation is the Go template engine's (sprig's `regexReplaceAll`), one port of Go's
    regexp for both.
    """
    compiled = go_regex.wrap(pattern)
    try:
        return go_regex.replace_all(compiled, text, template, literal=False)
    except go_limits.LimitError:
        raise errors.InvalidSpecError("a rewritten key would be longer than 4 MiB") from None
