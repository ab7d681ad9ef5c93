"""sigs.k8s.io/yaml for ESO's toYaml/fromYaml: JSON first, then go-yaml v2's block emitter.

Why: ESO's `toYaml` is `yaml.Marshal(v)`, which encodes to JSON with Go's encoding/json and
re-emits that JSON as YAML with go-yaml v2: map keys in go-yaml's "natural" order (`a2` before
`a10`), sequences not indented under their key, strings plain when they read back as strings,
else double-quoted, single-quoted when plain is not allowed, literal blocks for multi-line text.
`fromYaml` reads YAML 1.1 (as go-yaml v2 does) into JSON types (all numbers float64).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml

from asyncso.templates.go import gotypes, strconv
from asyncso.templates.go.functions import GoError
from asyncso.templates.go.sprig import gojson

_RESOLVE_MAP = {
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "true",
    "True",
    "TRUE",
    "on",
    "On",
    "ON",
    "n",
    "N",
    "no",
    "No",
    "NO",
    "false",
    "False",
    "FALSE",
    "off",
    "Off",
    "OFF",
    "",
    "~",
    "null",
    "Null",
    "NULL",
    ".nan",
    ".NaN",
    ".NAN",
    ".inf",
    ".Inf",
    ".INF",
    "+.inf",
    "+.Inf",
    "+.INF",
    "-.inf",
    "-.Inf",
    "-.INF",
    "<<",
}
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_TIMESTAMP_FORMATS = (
    "2006-1-2T15:4:5.999999999Z07:00",
    "2006-1-2t15:4:5.999999999Z07:00",
    "2006-1-2 15:4:5.999999999",
    "2006-1-2",
)


def _is_timestamp(text: str) -> bool:
    from asyncso.templates.go.sprig import dates

    digits = 0
    while digits < len(text) and "0" <= text[digits] <= "9":
        digits += 1
    if digits != 4 or digits == len(text) or text[digits] != "-":
        return False
    for layout in _TIMESTAMP_FORMATS:
        try:
            dates.parse_time(layout, text, dates.UTC)
        except GoError:
            continue
        return True
    return False


def _resolves_to_string(text: str) -> bool:
    """go-yaml v2's resolve("", s) gives !!str, and s is no base-60 float (stringv)."""
    if _BASE60.match(text):
        return False
    hint = text[:1]
    if text == "":
        return False
    if hint in "+-0123456789":
        kind = "D"
    elif hint in "yYnNtTfFoO~":
        kind = "M"
    elif hint == ".":
        kind = "."
    else:
        return text != "<<"
    if text in _RESOLVE_MAP:
        return False
    if kind == ".":
        try:
            strconv.parse_float(text)
        except ValueError:
            return True
        return False
    if kind == "D":
        if _is_timestamp(text):
            return False
        plain = text.replace("_", "")
        for parse in (strconv.parse_int, strconv.parse_uint):
            try:
                parse(plain, 0, 64)
            except ValueError:
                continue
            return False
        if _YAML_FLOAT.match(plain):
            try:
                strconv.parse_float(plain)
            except ValueError:
                pass
            else:
                return False
        if plain.startswith(("0b", "-0b")):
            digits = plain[2:] if plain.startswith("0b") else plain[3:]
            if digits and all(c in "01" for c in digits):
                return False
    return True


def _plain_allowed(text: str, *, simple_key: bool) -> bool:
    """libyaml's analysis of whether a scalar may be written plain (block context)."""
    if text == "":
        return False
    if text[0] in " \t" or text[-1] in " \t":
        return False
    if text.startswith(("---", "...")):
        return False
    first = text[0]
    if first in "#,[]{}&*!|>'\"%@`":
        return False
    if first in "-?:" and (len(text) == 1 or text[1] in " \t"):
        return False
    for i, ch in enumerate(text):
        if ch in "\n\r\x85\u2028\u2029":
            return False
        if ch == ":" and (i + 1 == len(text) or text[i + 1] in " \t"):
            return False
        if ch == "#" and i > 0 and text[i - 1] in " \t":
            return False
        code = ord(ch)
        if (code < 0x20 and ch != "\t") or code == 0x7F or 0x80 <= code < 0xA0:
            return False
        if code in (0xFEFF,) or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            return False
    return not (simple_key and len(text) > 128)


def _double_quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code == 0:
            out.append("\\0")
        elif code == 0x07:
            out.append("\\a")
        elif code == 0x08:
            out.append("\\b")
        elif code == 0x0B:
            out.append("\\v")
        elif code == 0x0C:
            out.append("\\f")
        elif code == 0x1B:
            out.append("\\e")
        elif code == 0x85:
            out.append("\\N")
        elif code == 0xA0:
            out.append("\\_")
        elif code == 0x2028:
            out.append("\\L")
        elif code == 0x2029:
            out.append("\\P")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or code == 0xFEFF:
            out.append(f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal(text: str, indent: int) -> str:
    chomp = "-" if not text.endswith("\n") else ("+" if text.endswith("\n\n") else "")
    hint = str(2) if text[:1] in " \n" else ""
    pad = " " * indent
    lines = text.split("\n")
    if text.endswith("\n"):
        lines = lines[:-1]
    body = "\n".join((pad + line) if line else "" for line in lines)
    return f"|{hint}{chomp}\n{body}"


def _scalar(value: Any, indent: int, *, key: bool = False) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return strconv.format_float(value, "g", -1)
    text = str(value)
    if "\n" in text and not key:
        return _literal(text, indent)
    if _resolves_to_string(text):
        if _plain_allowed(text, simple_key=key):
            return text
        if "\n" not in text and all(0x20 <= ord(c) < 0x7F or ord(c) >= 0xA0 for c in text):
            return _single_quoted(text)
    return _double_quoted(text)


def _natural_less(a: str, b: str) -> bool:
    """go-yaml v2's keyList.Less for two string keys (digit runs compare as numbers)."""
    ar, br = list(a), list(b)
    for i in range(min(len(ar), len(br))):
        if ar[i] == br[i]:
            continue
        al, bl = ar[i].isalpha(), br[i].isalpha()
        if al and bl:
            return ar[i] < br[i]
        if al or bl:
            return bl
        an = bn = 0
        if ar[i] == "0" or br[i] == "0":
            j = i - 1
            while j >= 0 and ar[j].isdecimal():
                if ar[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(ar) and ar[ai].isdecimal():
            an = an * 10 + (ord(ar[ai]) - 0x30)
            ai += 1
        bi = i
        while bi < len(br) and br[bi].isdecimal():
            bn = bn * 10 + (ord(br[bi]) - 0x30)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ar[i] < br[i]
    return len(ar) < len(br)


def _sorted_keys(keys: list[str]) -> list[str]:
    import functools

    def compare(a: str, b: str) -> int:
        if a == b:
            return 0
        return -1 if _natural_less(a, b) else 1

    return sorted(keys, key=functools.cmp_to_key(compare))


def _emit(value: Any, indent: int, out: list[str], *, in_sequence: bool = False) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        first = True
        for key in _sorted_keys(list(value)):
            item = value[key]
            prefix = "" if (first and in_sequence) else pad
            first = False
            head = prefix + _scalar(key, indent, key=True) + ":"
            if isinstance(item, dict) and item:
                out.append(head + "\n")
                _emit(item, indent + 2, out)
            elif isinstance(item, list) and item:
                out.append(head + "\n")
                _emit(item, indent, out)
            else:
                out.append(head + " ")
                _emit_scalar_or_empty(item, indent + 2, out)
                out.append("\n")
        return
    if isinstance(value, list):
        if not value:
            out.append("[]")
            return
        for index, item in enumerate(value):
            out.append(("" if index == 0 and in_sequence else pad) + "- ")
            if isinstance(item, (dict, list)) and item:
                _emit(item, indent + 2, out, in_sequence=True)
            else:
                _emit_scalar_or_empty(item, indent + 2, out)
                out.append("\n")
        return
    out.append(_scalar(value, indent))


def _emit_scalar_or_empty(value: Any, indent: int, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{}")
    elif isinstance(value, list):
        out.append("[]")
    else:
        out.append(_scalar(value, indent))


def _number(text: str) -> Any:
    """go-yaml v2's resolution of a JSON number (int if it fits, else float64)."""
    if re.fullmatch(r"-?[0-9]+", text):
        value = int(text)
        if -(1 << 63) <= value < (1 << 64):
            return value
    return float(text)


def marshal(value: Any) -> str:
    """sigs.k8s.io/yaml.Marshal of a template value."""
    encoded = gojson.marshal(value)
    data = json.loads(encoded, parse_int=_number, parse_float=_number)
    out: list[str] = []
    if isinstance(data, (dict, list)) and data:
        _emit(data, 0, out)
        return "".join(out)
    out.append(
        _scalar(data, 0)
        if not isinstance(data, (dict, list))
        else ("{}" if isinstance(data, dict) else "[]")
    )
    return "".join(out) + "\n"


# --- fromYaml ---------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without aliases expanding (a billion laughs stays small) and timestamps."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("yaml: aliases are not supported")
        return super().compose_node(parent, index)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return strconv.format_float(key, "g", -1)
    if key is None:
        return "null"
    raise GoError(
        f"error converting YAML to JSON: Unsupported map key of type: {type(key).__name__}"
    )


def _to_go(value: Any) -> Any:
    if isinstance(value, dict):
        return gotypes.IfaceMap((_json_key(k), _to_go(v)) for k, v in value.items())
    if isinstance(value, list):
        return gotypes.IfaceSlice(_to_go(v) for v in value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isinf(number) or math.isnan(number):
            raise GoError(f"json: unsupported value: {strconv.format_float(number, 'g', -1)}")
        return number
    if isinstance(value, bytes):
        return gotypes.from_bytes(value)
    return str(value)


def unmarshal_map(text: str) -> gotypes.GoMap:
    """ESO's fromYaml: a map[string]any, or {"Error": message} when the YAML does not fit."""
    try:
        parsed = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 0
        return gotypes.IfaceMap(
            {"Error": f"error converting YAML to JSON: yaml: line {line}: {exc.problem}"}
        )
    except (yaml.YAMLError, RecursionError) as exc:
        return gotypes.IfaceMap({"Error": f"error converting YAML to JSON: {exc}"})
    if parsed is None:
        return gotypes.IfaceMap()
    if not isinstance(parsed, dict):
        kind = (
            "array"
            if isinstance(parsed, list)
            else (
                "string"
                if isinstance(parsed, str)
                else "number"
                if isinstance(parsed, (int, float)) and not isinstance(parsed, bool)
                else "bool"
            )
        )
        return gotypes.IfaceMap(
            {
                "Error": "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
                f"{kind} into Go value of type map[string]interface {{}}"
            }
        )
    try:
        result = _to_go(parsed)
    except GoError as exc:
        return gotypes.IfaceMap({"Error": str(exc)})
    return result  # type: ignore[no-any-return]
