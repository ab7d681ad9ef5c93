"""The functions templates may call, named and behaving like ESO's (sprig's) where they overlap.

Why this shape: ESO users know `b64dec`, `toJson`, `filterPEM`, `htpasswd`… by name, so the same
names exist here, usable as a filter (`{{ x | b64enc }}`) or a function (`{{ b64enc(x) }}`). The
value always comes first, so both spellings take the same arguments (sprig puts the piped value
last: `replace "a" "b" .x` is `x | replace("a", "b")` or `replace(x, "a", "b")`).

Every function raises `errors.TemplateError` with a message free of values. Template values are
`str` holding bytes (UTF-8, `surrogateescape`), so `b64dec` of a keystore survives to the output.
Size guards are the sandbox's job (`jinja`), not these functions'.

Where the semantics are Go's own, the implementation is the Go engine's (one library): Go's
`strconv.Quote` for `quote`, `base64.StdEncoding` for `b64dec`, bcrypt with Go's prefix and
cost; certificates and keys are `pki`'s, shared with ESO's functions in `templates.go.eso`.
Not shared where the engines differ on purpose: error handling (sprig writes many errors into
the output, these raise), argument order, and the value model of `toJson`/`toYaml`/`fromYaml`
(Python values here, Go's typed values there).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import jinja2
import yaml

from asyncso import errors
from asyncso.templates import pki
from asyncso.templates.go import strconv
from asyncso.templates.go.sprig import encoding as go_encoding

BCRYPT_COST = go_encoding.BCRYPT_COST  # Go's bcrypt.DefaultCost, as sprig uses


# --- encoding ----------------------------------------------------------------------------------


def b64enc(value: object) -> str:
    return base64.b64encode(pki.to_bytes(value)).decode("ascii")


def b64dec(value: object) -> str:
    """Go's `base64.StdEncoding` (the Go engine's port): padding required, CR/LF ignored."""
    try:
        return pki.to_text(go_encoding.b64_decode(pki.to_bytes(value)))
    except go_encoding.CorruptInputError:
        raise errors.TemplateError("b64dec: input is not valid base64") from None


# --- JSON and YAML -----------------------------------------------------------------------------

# Go's encoding/json escapes these inside strings; so do we, so outputs compare equal.
_GO_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028"}
_GO_JSON_ESCAPES["\u2029"] = "\\u2029"


def _go_jsonable(value: Any) -> Any:
    """Shape a value as Go's `json.Marshal` would print it: sorted keys, `1.0` as `1`."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined: raises the "is undefined" error
    if isinstance(value, Mapping):
        return {str(k): _go_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | range):
        return [_go_jsonable(v) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise errors.TemplateError("toJson: NaN and infinity cannot be encoded")
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
    return value


def _dump_json(value: Any, *, indent: int | None, what: str) -> str:
    separators = (",", ":") if indent is None else (",", ": ")
    try:
        text = json.dumps(
            _go_jsonable(value),
            sort_keys=True,
            ensure_ascii=False,
            indent=indent,
            separators=separators,
        )
    except (TypeError, ValueError):
        raise errors.TemplateError(f"{what}: value cannot be encoded as JSON") from None
    for char, escape in _GO_JSON_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def to_json(value: object) -> str:
    return _dump_json(value, indent=None, what="toJson")


def to_pretty_json(value: object) -> str:
    return _dump_json(value, indent=2, what="toPrettyJson")


def from_json(value: object) -> Any:
    try:
        return json.loads(pki.to_bytes(value))
    except (ValueError, RecursionError):
        raise errors.TemplateError("fromJson: input is not valid JSON") from None


class _Loader(yaml.SafeLoader):
    """Safe YAML without aliases (no "billion laughs") and without timestamp types; mapping
    keys become strings as sigs.k8s.io/yaml makes them (`1` → "1", `true` → "true")."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise errors.TemplateError("YAML aliases are not supported")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        self.flatten_mapping(node)
        mapping: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key is None or isinstance(key, list | dict | tuple | set):
                raise errors.TemplateError("YAML mapping keys must be strings, numbers or bools")
            mapping[go_string(key)] = self.construct_object(value_node, deep=deep)
        return mapping


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# PyYAML quotes pieces of the input in its messages ("found unknown escape character 'q'");
# those may be secret. Its own token names ('<block end>') are kept.
_QUOTED = re.compile(r"'(?!<)[^']*'|\"[^\"]*\"")


def load_yaml(text: str, *, what: str, loader: type[yaml.SafeLoader] | None = None) -> Any:
    """Parse untrusted YAML (with `loader`, a SafeLoader; ours by default); errors name `what`
    and the position, not the content."""
    try:
        return yaml.load(text, Loader=loader or _Loader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = _QUOTED.sub("'…'", exc.problem or "syntax error")
        raise errors.TemplateError(f"{what}: invalid YAML{where}: {problem}") from None
    except (yaml.YAMLError, RecursionError):
        raise errors.TemplateError(f"{what}: invalid YAML") from None


def from_yaml(value: object) -> Any:
    parsed = load_yaml(str(value), what="fromYaml")
    return {} if parsed is None else parsed


def to_yaml(value: object) -> str:
    """sigs.k8s.io/yaml's `Marshal` (sorted keys, block style), without the final newline."""
    try:
        text = yaml.safe_dump(
            _go_jsonable(value), default_flow_style=False, sort_keys=True, allow_unicode=True
        )
    except (yaml.YAMLError, TypeError, ValueError):
        raise errors.TemplateError("toYaml: value cannot be encoded as YAML") from None
    if text.endswith("\n...\n"):
        text = text[: -len("...\n")]
    return text.removesuffix("\n")


def go_string(value: object) -> str:
    """A YAML scalar as the string Go's sigs.k8s.io/yaml makes of it for a string target."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float32(value)
    if isinstance(value, bytes):
        return pki.to_text(value)
    return str(value)


def _go_float32(value: float) -> str:
    """Go's `strconv.FormatFloat(v, 'g', -1, 32)`: shortest float32 digits; %e below 1e-4 or
    from 1e6 up (Go's threshold for shortest %g), as in `1e+06`."""
    if math.isnan(value):
        return "NaN"
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        single = math.inf if value > 0 else -math.inf
    if math.isinf(single):
        return "+Inf" if single > 0 else "-Inf"
    if single == 0:
        return "-0" if math.copysign(1.0, single) < 0 else "0"
    for precision in range(9):
        text = f"{single:.{precision}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    mantissa, exponent_text = text.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    exponent = int(exponent_text)
    if exponent < -4 or exponent >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    point = exponent + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


# --- hashes and passwords ----------------------------------------------------------------------


def sha1sum(value: object) -> str:
    return hashlib.sha1(pki.to_bytes(value), usedforsecurity=False).hexdigest()


def sha256sum(value: object) -> str:
    return hashlib.sha256(pki.to_bytes(value)).hexdigest()


def sha512sum(value: object) -> str:
    return hashlib.sha512(pki.to_bytes(value)).hexdigest()


def bcrypt(value: object) -> str:
    """A bcrypt hash with Go's `$2a$` prefix and default cost (the Go engine's `bcrypt`; an
    error here where sprig writes the error text into the output)."""
    try:
        return go_encoding.bcrypt_hash(pki.to_bytes(value))
    except ValueError:
        raise errors.TemplateError("bcrypt: password is longer than 72 bytes") from None


def htpasswd(username: object, password: object, algorithm: str = "bcrypt") -> str:
    """sprig `htpasswd`: `user:$2a$…` (bcrypt, the default) or `user:{SHA}…` (`"sha"`)."""
    user = str(username)
    if ":" in user:
        raise errors.TemplateError("htpasswd: the username must not contain ':'")
    if algorithm == "sha":
        digest = hashlib.sha1(pki.to_bytes(password), usedforsecurity=False).digest()
        return f"{user}:{{SHA}}{base64.b64encode(digest).decode('ascii')}"
    return f"{user}:{bcrypt(password)}"


# --- strings -----------------------------------------------------------------------------------


def _go_quote(text: str) -> str:
    """Go's `strconv.Quote` (what `%q` prints), the Go engine's port; bytes that were not UTF-8
    become `\\xNN`."""
    return strconv.quote(text)


def _go_str(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def quote(*values: object) -> str:
    """sprig `quote`: each non-null argument Go-quoted, joined by spaces."""
    return " ".join(_go_quote(_go_str(v)) for v in values if v is not None)


def squote(*values: object) -> str:
    return " ".join(f"'{_go_str(v)}'" for v in values if v is not None)


def replace(value: object, old: str, new: str, count: int | None = None) -> str:
    """`x | replace(old, new)`: every occurrence (or the first `count`)."""
    return str(value).replace(str(old), str(new), -1 if count is None else count)


def indent(value: object, width: int) -> str:
    """sprig `indent`: every line, the first included, gets `width` spaces."""
    pad = " " * int(width)
    return pad + str(value).replace("\n", "\n" + pad)


def nindent(value: object, width: int) -> str:
    """sprig `nindent`: a newline, then `indent`."""
    return "\n" + indent(value, width)


def join(value: object, separator: str = "") -> str:
    """`list | join(sep)`."""
    if isinstance(value, str):
        items: list[object] = list(value)
    elif isinstance(value, Mapping):
        items = list(value.keys())
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise errors.TemplateError("join: value is not a list")
    return str(separator).join(_go_str(item) for item in items)


def upper(value: object) -> str:
    return str(value).upper()


def lower(value: object) -> str:
    return str(value).lower()


def trim(value: object) -> str:
    return str(value).strip()


def has_prefix(value: object, prefix: str) -> bool:
    return str(value).startswith(str(prefix))


def has_suffix(value: object, suffix: str) -> bool:
    return str(value).endswith(str(suffix))


def trim_prefix(value: object, prefix: str) -> str:
    return str(value).removeprefix(str(prefix))


def trim_suffix(value: object, suffix: str) -> str:
    return str(value).removesuffix(str(suffix))


def empty(value: object) -> bool:
    """sprig `empty`: undefined, null, false, 0, "" and empty collections."""
    if isinstance(value, jinja2.Undefined) or value is None:
        return True
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset | range):
        return len(value) == 0
    if isinstance(value, bool | int | float):
        return not value
    return False


def default(value: object, fallback: object = "", boolean: bool = True) -> object:
    """sprig `default`: `fallback` when `value` is `empty` (so also for `""`, unlike Jinja's).

    `boolean` is accepted for Jinja's `default(x, y, true)` spelling and changes nothing.
    """
    del boolean
    return fallback if empty(value) else value


# --- the table ---------------------------------------------------------------------------------


def _pkcs12_key(value: object) -> str:
    return pki.pkcs12_key(value)


def _pkcs12_key_pass(value: object, password: str) -> str:
    return pki.pkcs12_key(value, str(password))


def _pkcs12_cert(value: object) -> str:
    return pki.pkcs12_cert(value)


def _pkcs12_cert_pass(value: object, password: str) -> str:
    return pki.pkcs12_cert(value, str(password))


def _pem_to_pkcs12(cert: object, key: object) -> str:
    return pki.pem_to_pkcs12(cert, key, full_chain=False)


def _pem_to_pkcs12_pass(cert: object, key: object, password: str) -> str:
    return pki.pem_to_pkcs12(cert, key, str(password), full_chain=False)


def _full_pem_to_pkcs12(cert: object, key: object) -> str:
    return pki.pem_to_pkcs12(cert, key, full_chain=True)


def _full_pem_to_pkcs12_pass(cert: object, key: object, password: str) -> str:
    return pki.pem_to_pkcs12(cert, key, str(password), full_chain=True)


#: name → function; each is both a filter and a global of the sandbox.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "b64enc": b64enc,
    "b64dec": b64dec,
    "fromJson": from_json,
    "toJson": to_json,
    "toPrettyJson": to_pretty_json,
    "fromYaml": from_yaml,
    "toYaml": to_yaml,
    "sha1sum": sha1sum,
    "sha256sum": sha256sum,
    "sha512sum": sha512sum,
    "bcrypt": bcrypt,
    "htpasswd": htpasswd,
    "upper": upper,
    "lower": lower,
    "trim": trim,
    "quote": quote,
    "squote": squote,
    "replace": replace,
    "indent": indent,
    "nindent": nindent,
    "join": join,
    "hasPrefix": has_prefix,
    "hasSuffix": has_suffix,
    "trimPrefix": trim_prefix,
    "trimSuffix": trim_suffix,
    "default": default,
    "empty": empty,
    "pkcs12key": _pkcs12_key,
    "pkcs12keyPass": _pkcs12_key_pass,
    "pkcs12cert": _pkcs12_cert,
    "pkcs12certPass": _pkcs12_cert_pass,
    "pemToPkcs12": _pem_to_pkcs12,
    "pemToPkcs12Pass": _pem_to_pkcs12_pass,
    "fullPemToPkcs12": _full_pem_to_pkcs12,
    "fullPemToPkcs12Pass": _full_pem_to_pkcs12_pass,
    "filterPEM": pki.filter_pem,
    "filterCertChain": pki.filter_cert_chain,
    "certSANs": pki.cert_sans,
    "jwkPublicKeyPem": pki.jwk_public_key_pem,
    "jwkPrivateKeyPem": pki.jwk_private_key_pem,
}
