"""Go's encoding/json for template values: Marshal (toJson & co) and Unmarshal into interface{}.

Why a port: `toJson` output is compared byte for byte by users (key order, `\\u003c` escapes,
`1e+21`, base64 for []byte), and `mustFromJson` reports Go's syntax errors (`invalid character
'}' looking for beginning of object key string`). Decoding gives float64 numbers,
map[string]interface{} objects and []interface{} arrays, as Go does.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from asyncso.templates.go import gotypes, limits, strconv
from asyncso.templates.go.functions import GoError
from asyncso.templates.go.gotypes import Kind

MAX_NESTING = 10000


class JSONError(GoError):
    """A json.Marshal/Unmarshal error with Go's text."""


# --- encoding ------------------------------------------------------------------------------

_HEX = "0123456789abcdef"


def append_string(out: list[str], text: str, *, escape_html: bool) -> None:
    out.append('"')
    for ch in text:
        code = ord(ch)
        if code < 0x80:
            if ch == '"' or ch == "\\":
                out.append("\\" + ch)
            elif code < 0x20:
                simple = {8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t"}.get(code)
                out.append(simple or f"\\u00{_HEX[code >> 4]}{_HEX[code & 0xF]}")
            elif escape_html and ch in "<>&":
                out.append(f"\\u00{_HEX[code >> 4]}{_HEX[code & 0xF]}")
            else:
                out.append(ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif code in (0x2028, 0x2029):
            out.append(f"\\u202{code & 0xF}")
        else:
            out.append(ch)
    out.append('"')


def format_float(value: float, bits: int = 64) -> str:
    """encoding/json's floatEncoder: 'f' unless tiny or huge, then 'e' without a leading 0."""
    if math.isnan(value) or math.isinf(value):
        raise JSONError(f"json: unsupported value: {strconv.format_float(value, 'g', -1, bits)}")
    magnitude = abs(value)
    fmt = "f"
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        fmt = "e"
    text = strconv.format_float(value, fmt, -1, bits)
    if fmt == "e" and len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
        text = text[:-2] + text[-1]
    return text


def _encode(value: Any, out: list[str], *, escape_html: bool, depth: int) -> None:
    if depth > MAX_NESTING:
        raise JSONError("json: unsupported value: encountered a cycle")
    if value is None or value is gotypes.NIL_INTERFACE:
        out.append("null")
        return
    kind = type(value)
    if kind is str:
        append_string(out, value, escape_html=escape_html)
        return
    if kind is bool:
        out.append("true" if value else "false")
        return
    if kind is int:
        out.append(str(value))
        return
    if kind is float:
        out.append(format_float(value))
        return
    if isinstance(value, gotypes.GoObject):
        marshal = getattr(value, "marshal_json", None)
        if marshal is not None:
            out.append(marshal())
            return
    gotype = gotypes.type_of(value)
    assert gotype is not None
    k = gotype.kind
    if k in gotypes.INT_KINDS:
        out.append(str(int(value)))
    elif k is Kind.FLOAT32:
        out.append(format_float(float(value), 32))
    elif k in gotypes.COMPLEX_KINDS:
        raise JSONError(f"json: unsupported type: {gotype}")
    elif k is Kind.SLICE:
        if getattr(value, "nil", False):
            out.append("null")
        elif gotype.elem == gotypes.UINT8:
            out.append('"' + base64.b64encode(bytes(value)).decode() + '"')
        else:
            out.append("[")
            for i, item in enumerate(value):
                if i:
                    out.append(",")
                _encode(item, out, escape_html=escape_html, depth=depth + 1)
            out.append("]")
    elif k is Kind.MAP:
        if getattr(value, "nil", False):
            out.append("null")
            return
        out.append("{")
        for i, (key, item) in enumerate(gotypes.sorted_items(value)):
            if i:
                out.append(",")
            append_string(out, key, escape_html=escape_html)
            out.append(":")
            _encode(item, out, escape_html=escape_html, depth=depth + 1)
        out.append("}")
    elif k is Kind.STRUCT:
        out.append("{}")
    else:
        raise JSONError(f"json: unsupported type: {gotype}")


def marshal(value: Any, *, escape_html: bool = True) -> str:
    """json.Marshal (SetEscapeHTML(false) when escape_html is False)."""
    out: list[str] = []
    _encode(value, out, escape_html=escape_html, depth=0)
    text = "".join(out)
    limits.check_size(len(text), "toJson")
    return text


def indent(compact: str, prefix: str = "", step: str = "  ") -> str:
    """json.Indent of a compact encoding (MarshalIndent)."""
    out: list[str] = []
    depth = 0
    need_indent = False
    in_string = False
    escaped = False
    for ch in compact:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if need_indent and ch not in "]}":
            need_indent = False
            depth += 1
            out.append("\n" + prefix + step * depth)
        if ch == '"':
            in_string = True
            out.append(ch)
        elif ch in "[{":
            need_indent = True
            out.append(ch)
        elif ch == ",":
            out.append(ch + "\n" + prefix + step * depth)
        elif ch == ":":
            out.append(": ")
        elif ch in "]}":
            if need_indent:
                need_indent = False
            else:
                depth -= 1
                out.append("\n" + prefix + step * depth)
            out.append(ch)
        else:
            out.append(ch)
    return "".join(out)


def marshal_indent(value: Any) -> str:
    return indent(marshal(value))


# --- decoding ------------------------------------------------------------------------------


def _quote_char(byte: int) -> str:
    if byte == 0x27:
        return "'\\''"
    if byte == 0x22:
        return "'\"'"
    quoted = strconv.quote(chr(byte))
    return "'" + quoted[1:-1] + "'"


def _syntax(byte: int, context: str) -> JSONError:
    return JSONError(f"invalid character {_quote_char(byte)} {context}")


def check_valid(data: bytes) -> None:
    """encoding/json's scanner over the whole input; raises Go's SyntaxError text."""
    stack: list[str] = []
    i = 0
    n = len(data)
    state = "begin"  # begin | end | endtop

    def skip_space(j: int) -> int:
        while j < n and data[j] in b" \t\r\n":
            j += 1
        return j

    def end_value(j: int) -> tuple[int, str]:
        """After a value: the next state."""
        return j, "end" if stack else "endtop"

    while True:
        i = skip_space(i)
        if state == "endtop":
            if i < n:
                raise _syntax(data[i], "after top-level value")
            return
        if i >= n:
            raise JSONError("unexpected end of JSON input")
        c = data[i]
        if state == "begin" or state == "begin_or_empty" or state == "key_or_empty":
            if state == "begin_or_empty" and c == 0x5D:
                stack.pop()
                i += 1
                i, state = end_value(i)
                continue
            if state == "key_or_empty":
                if c == 0x7D:
                    stack.pop()
                    i += 1
                    i, state = end_value(i)
                    continue
                if c != 0x22:
                    raise _syntax(c, "looking for beginning of object key string")
            if c == 0x7B:
                stack.append("key")
                if len(stack) > MAX_NESTING:
                    raise _syntax(c, "exceeded max depth")
                i += 1
                state = "key_or_empty"
                continue
            if c == 0x5B:
                stack.append("array")
                if len(stack) > MAX_NESTING:
                    raise _syntax(c, "exceeded max depth")
                i += 1
                state = "begin_or_empty"
                continue
            i = _scan_literal(data, i)
            i, state = end_value(i)
            continue
        if state == "key":
            if c != 0x22:
                raise _syntax(c, "looking for beginning of object key string")
            i = _scan_literal(data, i)
            state = "end"
            continue
        # state == "end": after a value inside a container
        top = stack[-1]
        if top == "key":
            if c == 0x3A:
                stack[-1] = "value"
                i += 1
                state = "begin"
                continue
            raise _syntax(c, "after object key")
        if top == "value":
            if c == 0x2C:
                stack[-1] = "key"
                i += 1
                state = "key"
                continue
            if c == 0x7D:
                stack.pop()
                i += 1
                i, state = end_value(i)
                continue
            raise _syntax(c, "after object key:value pair")
        if c == 0x2C:
            i += 1
            state = "begin"
            continue
        if c == 0x5D:
            stack.pop()
            i += 1
            i, state = end_value(i)
            continue
        raise _syntax(c, "after array element")


def _scan_literal(data: bytes, i: int) -> int:
    """Scan one string, number or keyword starting at i; the index after it."""
    n = len(data)
    c = data[i]
    if c == 0x22:
        i += 1
        while True:
            if i >= n:
                raise JSONError("unexpected end of JSON input")
            c = data[i]
            if c == 0x22:
                return i + 1
            if c == 0x5C:
                i += 1
                e = data[i] if i < n else 0x20  # at EOF Go's scanner is fed a space

                if e in b'bfnrt\\/"':
                    i += 1
                    continue
                if e == 0x75:
                    for k in range(1, 5):
                        h = data[i + k] if i + k < n else 0x20
                        if h not in b"0123456789abcdefABCDEF":
                            raise _syntax(h, "in \\u hexadecimal character escape")
                    i += 5
                    continue
                raise _syntax(e, "in string escape code")
            if c < 0x20:
                raise _syntax(c, "in string literal")
            i += 1
    if c == 0x2D or 0x30 <= c <= 0x39:
        return _scan_number(data, i)
    for word in (b"true", b"false", b"null"):
        if c == word[0]:
            name = word.decode()
            for k in range(1, len(word)):
                got = data[i + k] if i + k < n else 0x20
                if got != word[k]:
                    raise _syntax(got, f"in literal {name} (expecting {_quote_char(word[k])})")
            return i + len(word)
    raise _syntax(c, "looking for beginning of value")


def _digits(data: bytes, i: int) -> int:
    while i < len(data) and 0x30 <= data[i] <= 0x39:
        i += 1
    return i


def _scan_number(data: bytes, i: int) -> int:
    n = len(data)

    def at(j: int) -> int:
        return data[j] if j < n else 0x20  # at EOF Go's scanner is fed a space

    if data[i] == 0x2D:
        i += 1
        if not 0x30 <= at(i) <= 0x39:
            raise _syntax(at(i), "in numeric literal")
    if data[i] == 0x30:
        i += 1
    else:
        i = _digits(data, i)
    if i < n and data[i] == 0x2E:
        i += 1
        if not 0x30 <= at(i) <= 0x39:
            raise _syntax(at(i), "after decimal point in numeric literal")
        i = _digits(data, i)
    if i < n and data[i] in b"eE":
        i += 1
        if i < n and data[i] in b"+-":
            i += 1
        if not 0x30 <= at(i) <= 0x39:
            raise _syntax(at(i), "in exponent of numeric literal")
        i = _digits(data, i)
    return i


def _clean(text: str) -> str:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


class _Overflow:
    """A number float64 cannot hold: Go stores nil there and reports the first one."""

    def __init__(self, text: str) -> None:
        self.text = text


def _convert(value: Any, errors: list[str]) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, list):
        return gotypes.IfaceSlice(_convert(v, errors) for v in value)
    if isinstance(value, dict):
        return gotypes.IfaceMap((_clean(k), _convert(v, errors)) for k, v in value.items())
    if isinstance(value, _Overflow):
        errors.append(value.text)
        return None
    return value


def _number(text: str) -> Any:
    value = float(text)
    return _Overflow(text) if math.isinf(value) else value


def unmarshal_partial(text: str) -> tuple[Any, str | None]:
    """json.Unmarshal into an interface{}: (value, the first error text or None)."""
    data = gotypes.to_bytes(text)
    limits.check_size(len(data), "fromJson")
    try:
        check_valid(data)
    except JSONError as exc:
        return None, str(exc)
    try:
        raw = json.loads(text, parse_float=_number, parse_int=_number)
    except RecursionError:
        return None, "invalid character '[' exceeded max depth"
    overflows: list[str] = []
    value = _convert(raw, overflows)
    if overflows:
        return value, (
            f"json: cannot unmarshal number {overflows[0]} into Go value of type float64"
        )
    return value, None


def unmarshal(text: str) -> Any:
    """json.Unmarshal into an interface{}; raises JSONError with Go's message."""
    value, error = unmarshal_partial(text)
    if error is not None:
        raise JSONError(error)
    return value
