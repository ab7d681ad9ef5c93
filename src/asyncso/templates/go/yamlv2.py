"""sigs.k8s.io/yaml for ESO's toYaml/fromYaml: JSON first, then go-yaml v2's block emitter.

Why: ESO's `toYaml` is `yaml.Marshal(v)`, which encodes to JSON with Go's encoding/json and
re-emits that JSON as YAML with go-yaml v2: map keys in go-yaml's "natural" order (`a2` before
`a10`), sequences not indented under their key, strings plain when they read back as strings,
else double-quoted, single-quoted when plain is not allowed, literal blocks for multi-line text.
`fromYaml` reads YAML 1.1 (as go-yaml v2 does) into JSON types (all numbers float64).
"""

from __future__ import annotations

import contextlib
import dataclasses
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
        return True  # no hint (`<` among them): go-yaml v2 never looks "<<" up, a string
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


# --- go-yaml v2's emitter (a port of emitterc.go for block style, as yaml.Marshal uses it) ----

_BEST_INDENT = 2
_BEST_WIDTH = 80
_PLAIN, _SINGLE, _DOUBLE, _LITERAL = range(4)
_BREAKS = "\r\n\x85\u2028\u2029"


def _printable(ch: str) -> bool:
    code = ord(ch)
    return (
        code == 0x0A
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
    )


@dataclasses.dataclass
class _Analysis:
    multiline: bool = False
    flow_plain: bool = True
    block_plain: bool = True
    single_quoted: bool = True
    block: bool = True


def _analyze(value: str) -> _Analysis:
    """yaml_emitter_analyze_scalar."""
    if value == "":
        return _Analysis(False, False, True, True, False)
    block_ind = flow_ind = line_breaks = special = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = False
    previous_space = previous_break = False
    if value.startswith(("---", "...")):
        block_ind = flow_ind = True
    preceded_by_ws = True
    n = len(value)
    for i, ch in enumerate(value):
        followed_by_ws = i + 1 >= n or value[i + 1] in " \t" or value[i + 1] in _BREAKS
        if i == 0:
            if ch in "#,[]{}&*!|>'\"%@`":
                flow_ind = block_ind = True
            elif ch in "?:":
                flow_ind = True
                if followed_by_ws:
                    block_ind = True
            elif ch == "-" and followed_by_ws:
                flow_ind = block_ind = True
        elif ch in ",?[]{}":
            flow_ind = True
        elif ch == ":":
            flow_ind = True
            if followed_by_ws:
                block_ind = True
        elif ch == "#" and preceded_by_ws:
            flow_ind = block_ind = True
        if not _printable(ch):
            special = True
        if ch == " ":
            if i == 0:
                leading_space = True
            if i == n - 1:
                trailing_space = True
            if previous_break:
                break_space = True
            previous_space, previous_break = True, False
        elif ch in _BREAKS:
            line_breaks = True
            if i == 0:
                leading_break = True
            if i == n - 1:
                trailing_break = True
            if previous_space:
                space_break = True
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_by_ws = ch in " \t" or ch in _BREAKS
    result = _Analysis(multiline=line_breaks)
    if leading_space or leading_break or trailing_space or trailing_break:
        result.flow_plain = result.block_plain = False
    if trailing_space:
        result.block = False
    if break_space:
        result.flow_plain = result.block_plain = result.single_quoted = False
    if space_break or special:
        result.flow_plain = result.block_plain = result.single_quoted = result.block = False
    if line_breaks:
        result.flow_plain = result.block_plain = False
    if flow_ind:
        result.flow_plain = False
    if block_ind:
        result.block_plain = False
    return result


class _Emitter:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.indent = -1
        self.indents: list[int] = []
        self.whitespace = True
        self.indention = True
        self.root = self.sequence_ctx = self.mapping_ctx = self.simple_key_ctx = False

    def put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0

    def write_break(self, ch: str) -> None:
        if ch == "\n":
            self.put_break()
        else:
            self.out.append(ch)
            self.column = 0

    def increase_indent(self, *, flow: bool, indentless: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = _BEST_INDENT if flow else 0
        elif not indentless:
            self.indent += _BEST_INDENT

    def pop_indent(self) -> None:
        self.indent = self.indents.pop()

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if (
            not self.indention
            or self.column > indent
            or (self.column == indent and not self.whitespace)
        ):
            self.put_break()
        while self.column < indent:
            self.put(" ")
        self.whitespace = True
        self.indention = True

    def indicator(self, text: str, *, need_ws: bool, is_ws: bool, is_indention: bool) -> None:
        if need_ws and not self.whitespace:
            self.put(" ")
        self.put(text)
        self.whitespace = is_ws
        self.indention = self.indention and is_indention

    # --- nodes ---

    def node(self, value: Any, *, root: bool = False, sequence: bool = False,
             mapping: bool = False, simple_key: bool = False) -> None:  # fmt: skip
        self.root, self.sequence_ctx = root, sequence
        self.mapping_ctx, self.simple_key_ctx = mapping, simple_key
        if isinstance(value, list):
            self.sequence(value)
        elif isinstance(value, dict):
            self.mapping(value)
        else:
            self.scalar(value)

    def sequence(self, items: list[Any]) -> None:
        if not items:
            self.indicator("[", need_ws=True, is_ws=True, is_indention=False)
            self.increase_indent(flow=True, indentless=False)
            self.pop_indent()
            self.indicator("]", need_ws=False, is_ws=False, is_indention=False)
            return
        self.increase_indent(flow=False, indentless=self.mapping_ctx and not self.indention)
        for item in items:
            self.write_indent()
            self.indicator("-", need_ws=True, is_ws=False, is_indention=True)
            self.node(item, sequence=True)
        self.pop_indent()

    def mapping(self, mapping: dict[str, Any]) -> None:
        if not mapping:
            self.indicator("{", need_ws=True, is_ws=True, is_indention=False)
            self.increase_indent(flow=True, indentless=False)
            self.pop_indent()
            self.indicator("}", need_ws=False, is_ws=False, is_indention=False)
            return
        self.increase_indent(flow=False, indentless=False)
        for key in _sorted_keys(list(mapping)):
            self.write_indent()
            text = _scalar_text(key)
            simple = not _analyze(text).multiline and len(gotypes.to_bytes(text)) <= 128
            if simple:
                self.node(key, mapping=True, simple_key=True)
                self.indicator(":", need_ws=False, is_ws=False, is_indention=False)
            else:
                self.indicator("?", need_ws=True, is_ws=False, is_indention=True)
                self.node(key, mapping=True)
                self.write_indent()
                self.indicator(":", need_ws=True, is_ws=False, is_indention=True)
            self.node(mapping[key], mapping=True)
        self.pop_indent()

    def scalar(self, value: Any) -> None:
        text, style = _scalar_request(value)
        analysis = _analyze(text)
        if self.simple_key_ctx and analysis.multiline:
            style = _DOUBLE
        if style == _PLAIN:
            if not analysis.block_plain:
                style = _SINGLE
            if text == "" and self.simple_key_ctx:
                style = _SINGLE
        if style == _SINGLE and not analysis.single_quoted:
            style = _DOUBLE
        if style == _LITERAL and (not analysis.block or self.simple_key_ctx):
            style = _DOUBLE
        self.increase_indent(flow=True, indentless=False)
        allow_breaks = not self.simple_key_ctx
        if style == _PLAIN:
            self.write_plain(text, allow_breaks)
        elif style == _SINGLE:
            self.write_single(text, allow_breaks)
        elif style == _DOUBLE:
            self.write_double(text, allow_breaks)
        else:
            self.write_literal(text)
        self.pop_indent()

    # --- scalar writers ---

    def write_plain(self, value: str, allow_breaks: bool) -> None:
        if not self.whitespace:
            self.put(" ")
        spaces = breaks = False
        n = len(value)
        for i, ch in enumerate(value):
            if ch == " ":
                nxt_space = i + 1 < n and value[i + 1] == " "
                if allow_breaks and not spaces and self.column > _BEST_WIDTH and not nxt_space:
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif ch in _BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                spaces = breaks = False
        self.whitespace = False
        self.indention = False

    def write_single(self, value: str, allow_breaks: bool) -> None:
        self.indicator("'", need_ws=True, is_ws=False, is_indention=False)
        spaces = breaks = False
        n = len(value)
        for i, ch in enumerate(value):
            if ch == " ":
                nxt_space = i + 1 < n and value[i + 1] == " "
                if (
                    allow_breaks
                    and not spaces
                    and self.column > _BEST_WIDTH
                    and 0 < i < n - 1
                    and not nxt_space
                ):
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif ch in _BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                if ch == "'":
                    self.put("'")
                self.put(ch)
                self.indention = False
                spaces = breaks = False
        self.indicator("'", need_ws=False, is_ws=False, is_indention=False)
        self.whitespace = False
        self.indention = False

    def write_double(self, value: str, allow_breaks: bool) -> None:
        spaces = False
        self.indicator('"', need_ws=True, is_ws=False, is_indention=False)
        n = len(value)
        for i, ch in enumerate(value):
            code = ord(ch)
            if not _printable(ch) or code == 0xFEFF or ch in _BREAKS or ch in '"\\':
                escape = _ESCAPES.get(code)
                if escape is None:
                    if code <= 0xFF:
                        escape = f"x{code:02X}"
                    elif code <= 0xFFFF:
                        escape = f"u{code:04X}"
                    else:
                        escape = f"U{code:08X}"
                self.put("\\" + escape)
                spaces = False
            elif ch == " ":
                if allow_breaks and not spaces and self.column > _BEST_WIDTH and 0 < i < n - 1:
                    self.write_indent()
                    if i + 1 < n and value[i + 1] == " ":
                        self.put("\\")
                else:
                    self.put(ch)
                spaces = True
            else:
                self.put(ch)
                spaces = False
        self.indicator('"', need_ws=False, is_ws=False, is_indention=False)
        self.whitespace = False
        self.indention = False

    def write_literal(self, value: str) -> None:
        self.indicator("|", need_ws=True, is_ws=False, is_indention=False)
        if value[:1] == " " or (value and value[:1] in _BREAKS):
            self.indicator(str(_BEST_INDENT), need_ws=False, is_ws=False, is_indention=False)
        if value == "" or value[-1] not in _BREAKS:
            chomp = "-"
        elif len(value) == 1 or value[-2] in _BREAKS:
            chomp = "+"
        else:
            chomp = ""
        if chomp:
            self.indicator(chomp, need_ws=False, is_ws=False, is_indention=False)
        self.put_break()
        self.indention = True
        self.whitespace = True
        breaks = True
        for ch in value:
            if ch in _BREAKS:
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                breaks = False


_ESCAPES = {
    0x00: "0",
    0x07: "a",
    0x08: "b",
    0x09: "t",
    0x0A: "n",
    0x0B: "v",
    0x0C: "f",
    0x0D: "r",
    0x1B: "e",
    0x22: '"',
    0x5C: "\\",
    0x85: "N",
    0xA0: "_",
    0x2028: "L",
    0x2029: "P",
}


def _scalar_text(value: Any) -> str:
    return _scalar_request(value)[0]


def _scalar_request(value: Any) -> tuple[str, int]:
    """The text and the style go-yaml v2's encoder asks for (encode.go)."""
    if value is None:
        return "null", _PLAIN
    if value is True:
        return "true", _PLAIN
    if value is False:
        return "false", _PLAIN
    if isinstance(value, int):
        return str(value), _PLAIN
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan", _PLAIN
        if math.isinf(value):
            return (".inf" if value > 0 else "-.inf"), _PLAIN
        return strconv.format_float(value, "g", -1), _PLAIN
    text = str(value)
    if "\n" in text:
        return text, _LITERAL
    if _resolves_to_string(text):
        return text, _PLAIN
    return text, _DOUBLE


def _number(text: str) -> Any:
    """go-yaml v2's resolution of a JSON number (int if it fits, else float64)."""
    if re.fullmatch(r"-?[0-9]+", text):
        value = int(text)
        if -(1 << 63) <= value < (1 << 64):
            return value
    return float(text)


def marshal(value: Any) -> str:
    """sigs.k8s.io/yaml.Marshal of a template value (with its final newline)."""
    encoded = gojson.marshal(value)
    data = json.loads(encoded, parse_int=_number, parse_float=_number)
    emitter = _Emitter()
    emitter.node(data, root=True)
    emitter.write_indent()
    return "".join(emitter.out)


# --- fromYaml ---------------------------------------------------------------------------------


# --- go-yaml v2's resolve, for decoding ----------------------------------------------------------

TAG_STR = "tag:yaml.org,2002:str"
TAG_INT = "tag:yaml.org,2002:int"
TAG_FLOAT = "tag:yaml.org,2002:float"
TAG_BOOL = "tag:yaml.org,2002:bool"
TAG_NULL = "tag:yaml.org,2002:null"
TAG_MERGE = "tag:yaml.org,2002:merge"
TAG_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_GO_PLAIN_TAG = "tag:asyncso,2024:go-plain"
_RESOLVED: dict[str, tuple[str, Any]] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE"), (TAG_BOOL, True)),
    **dict.fromkeys(("on", "On", "ON"), (TAG_BOOL, True)),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE"), (TAG_BOOL, False)),
    **dict.fromkeys(("off", "Off", "OFF"), (TAG_BOOL, False)),
    **{text: (TAG_NULL, None) for text in ("", "~", "null", "Null", "NULL")},
    **{text: (TAG_FLOAT, math.nan) for text in (".nan", ".NaN", ".NAN")},
    **{text: (TAG_FLOAT, math.inf) for text in (".inf", ".Inf", ".INF", "+.inf", "+.Inf")},
    "+.INF": (TAG_FLOAT, math.inf),
    **{text: (TAG_FLOAT, -math.inf) for text in ("-.inf", "-.Inf", "-.INF")},
}
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}
#: Longer numbers than this cannot fit 64 bits in any base; they are not parsed digit by digit
#: (Python's big-integer parsing is quadratic, and a rendered text can be 1 MiB).
_LONGEST_INT = 80


def _parse_int(text: str, *, unsigned: bool) -> int:
    """strconv.ParseInt/ParseUint(text, 0, 64), raising SyntaxErr or RangeErr; long inputs are
    classified without building the number."""
    if len(text) <= _LONGEST_INT:
        if unsigned:
            return strconv.parse_uint(text, 0, 64)
        return strconv.parse_int(text, 0, 64)
    body = text[1:] if text[:1] in "+-" and not unsigned else text
    base, digits = 10, body
    if body[:1] == "0" and len(body) > 1:
        prefixes = {"b": 2, "o": 8, "x": 16}
        base = prefixes.get(body[1].lower(), 8)
        digits = body[2:] if body[1].lower() in prefixes else body[1:]
    if not digits or any(ch not in _DIGITS[base] for ch in digits):
        raise strconv.SyntaxErr
    raise strconv.RangeErr


def resolve_plain(text: str) -> tuple[str, Any]:
    """go-yaml v2's `resolve("", text)` for a plain scalar: its tag and value.

    Unlike YAML 1.1 as PyYAML reads it: no base-60 numbers (`12:30` is a string), floats need
    no dot (`1e3`, `09`), integers parse as Go's `strconv.ParseInt(s, 0, 64)` (`0o17`, `0b1`),
    a number too large for 64 bits is a float when it looks like one, and a timestamp stays its
    text (decoded into `interface{}`, go-yaml v2 keeps the string).
    """
    if text in _RESOLVED:
        return _RESOLVED[text]
    hint = text[:1]
    if hint == ".":
        if re.fullmatch(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?", text):
            with contextlib.suppress(ValueError):
                return TAG_FLOAT, strconv.parse_float(text)
        return TAG_STR, text
    if not hint or hint not in "+-0123456789":
        return TAG_STR, text
    if _is_timestamp(text):
        return TAG_TIMESTAMP, text
    plain = text.replace("_", "")
    with contextlib.suppress(ValueError):
        return TAG_INT, _parse_int(plain, unsigned=False)
    range_error = False
    try:
        return TAG_INT, _parse_int(plain, unsigned=True)
    except strconv.RangeErr:
        range_error = True
    except ValueError:
        pass
    if _YAML_FLOAT.match(plain):
        with contextlib.suppress(ValueError):
            number = strconv.parse_float(plain)
            if not math.isinf(number):
                return TAG_FLOAT, number
    if plain.startswith("0b"):
        for unsigned in (False, True):
            with contextlib.suppress(ValueError):
                return TAG_INT, _parse_int("0b" + plain[2:], unsigned=unsigned)
    elif plain.startswith("-0b"):
        with contextlib.suppress(ValueError):
            return TAG_INT, _parse_int("-0b" + plain[3:], unsigned=False)
    if range_error:  # Go: a big.Int; as JSON it is a number too large for int64 and uint64
        with contextlib.suppress(ValueError):
            return TAG_FLOAT, float(plain) if plain.isdigit() else math.inf
    return TAG_STR, text


class Loader(yaml.SafeLoader):
    """YAML as go-yaml v2 reads it: its plain-scalar resolution (`resolve_plain`), aliases
    refused (a billion laughs stays small)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("yaml: aliases are not supported")
        return super().compose_node(parent, index)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            # A plain `<<` key merges (go-yaml v2's decoder checks the text, not its tag); as a
            # value it is the string "<<" (`resolve` never looks it up: `<` has no hint).
            return TAG_MERGE if value == "<<" else _GO_PLAIN_TAG
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        """Keys become JSON keys as sigs.k8s.io/yaml makes them (so `1` and `true` stay two
        keys, as in Go); a later duplicate wins."""
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            mapping[json_key(key)] = self.construct_object(value_node, deep=deep)
        return mapping


def json_key(key: Any) -> str:
    """sigs.k8s.io/yaml's map key conversion: strings as they are, ints in decimal, floats as
    float32 `%g` (`.inf`, `-.inf`, `.nan`), bools; any other key is an error."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        text = strconv.format_float(key, "g", -1, 32)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)
    kind = "<nil>" if key is None else type(key).__name__
    raise yaml.YAMLError(f"unsupported map key of type: {kind}")


def _construct_plain(loader: yaml.SafeLoader, node: Any) -> Any:
    return resolve_plain(str(loader.construct_scalar(node)))[1]


def _construct_text(loader: yaml.SafeLoader, node: Any) -> str:
    return str(loader.construct_scalar(node))


def _construct_bool(loader: yaml.SafeLoader, node: Any) -> bool:
    return str(loader.construct_scalar(node)).lower() in ("y", "yes", "true", "on")


def _construct_int(loader: yaml.SafeLoader, node: Any) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return strconv.parse_int(text, 0, 64)
    except ValueError:
        return int(yaml.SafeLoader.construct_yaml_int(loader, node))


Loader.add_constructor(_GO_PLAIN_TAG, _construct_plain)
Loader.add_constructor(TAG_BOOL, _construct_bool)
Loader.add_constructor(TAG_INT, _construct_int)
Loader.add_constructor(TAG_TIMESTAMP, _construct_text)
Loader.add_constructor(TAG_MERGE, _construct_text)  # `<<` anywhere but as a key
_Loader = Loader


def _to_go(value: Any) -> Any:
    if isinstance(value, dict):
        return gotypes.IfaceMap((k, _to_go(v)) for k, v in value.items())
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
