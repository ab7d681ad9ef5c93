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

MAX_KEY_LENGTH = 253
# Go's `unicode.IsLetter` and `unicode.IsDigit`, which make up a `${name}` in a rewrite target.
_GO_NAME_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"})
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
    """ESO renders the transform template with the key as `.value`; here it is `value`."""
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
    Works on UTF-8 bytes, as Go does, so offsets and "advance one rune" agree with ESO.
    """
    src = text.encode("utf-8", "surrogateescape")
    names: dict[str, int] = dict(pattern.groupindex)
    groups: int = pattern.groups
    out = bytearray()
    last_end = 0
    pos = 0
    end = len(src)
    while pos <= end:
        match = pattern.search(src, pos)
        if match is None:
            break
        start, stop = match.span()
        out += src[last_end:start]
        if stop > last_end or start == 0:
            out += _expand(template, match, src, groups, names)
        last_end = stop
        width = _rune_width(src, pos)
        if pos + width > stop:
            pos += width
        elif pos + 1 > stop:
            pos += 1
        else:
            pos = stop
    out += src[last_end:]
    return out.decode("utf-8", "surrogateescape")


def _rune_width(src: bytes, pos: int) -> int:
    if pos >= len(src):
        return 0
    lead = src[pos]
    width = 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return min(width, len(src) - pos)


def _expand(template: str, match: Any, src: bytes, groups: int, names: dict[str, int]) -> bytes:
    """Go's `Regexp.expand`: `$$` is `$`; a bad reference is a literal `$`; unknown is empty."""
    out = bytearray()
    rest = template
    while rest:
        before, dollar, after = rest.partition("$")
        out += before.encode("utf-8", "surrogateescape")
        if not dollar:
            break
        rest = after
        if rest[:1] == "$":
            out += b"$"
            rest = rest[1:]
            continue
        parsed = _extract(rest)
        if parsed is None:
            out += b"$"
            continue
        name, num, rest = parsed
        group = num if num >= 0 else names.get(name, -1)
        if 0 <= group <= groups:
            start, stop = match.span(group)
            if start >= 0:
                out += src[start:stop]
    return bytes(out)


def _extract(template: str) -> tuple[str, int, str] | None:
    """Go's `extract`: a name of letters, digits and `_` (Unicode), optionally in braces."""
    brace = template[:1] == "{"
    body = template[1:] if brace else template
    length = 0
    while length < len(body) and (
        body[length] == "_" or unicodedata.category(body[length]) in _GO_NAME_CATEGORIES
    ):
        length += 1
    if length == 0:
        return None
    name = body[:length]
    rest = body[length:]
    if brace:
        if rest[:1] != "}":
            return None
        rest = rest[1:]
    num = -1
    if name.isascii() and name.isdigit() and len(name) <= 9 and (name == "0" or name[0] != "0"):
        num = int(name)
    return name, num, rest
