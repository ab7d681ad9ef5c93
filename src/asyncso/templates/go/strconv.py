"""Go's strconv as templates use it: quoting, unquoting, number syntax, float formatting.

Why a port: template literals follow Go's syntax (`0x1F`, `1_000`, `'a'`, `"\u00e9"`, raw
strings), `printf "%q"` quotes the way `strconv.Quote` does, and `print 1.5e6` prints the way
`strconv.FormatFloat` does; Python's own repr/format differ in many small ways. Go strings are
bytes; here they are `str` with undecodable bytes as surrogates (see `gotypes`).
"""

from __future__ import annotations

import math
import struct

LOWER_HEX = "0123456789abcdef"
UPPER_HEX = "0123456789ABCDEF"
RUNE_ERROR = 0xFFFD
MAX_RUNE = 0x10FFFF


class SyntaxErr(ValueError):
    """strconv.ErrSyntax."""

    def __init__(self) -> None:
        super().__init__("invalid syntax")


class RangeErr(ValueError):
    """strconv.ErrRange."""

    def __init__(self) -> None:
        super().__init__("value out of range")


def is_surrogate(code: int) -> bool:
    return 0xD800 <= code <= 0xDFFF


def is_print(code: int) -> bool:
    """unicode.IsPrint / strconv.IsPrint: letters, marks, numbers, punctuation, symbols, ' '."""
    if code < 0x80:
        return 0x20 <= code < 0x7F
    if is_surrogate(code) or code > MAX_RUNE:
        return False
    return chr(code).isprintable()


def valid_rune(code: int) -> bool:
    return 0 <= code <= MAX_RUNE and not is_surrogate(code)


# --- quoting ------------------------------------------------------------------------------


def _escaped_rune(code: int, quote: str, ascii_only: bool) -> str:
    if code == ord(quote) or code == 0x5C:
        return "\\" + chr(code)
    if ascii_only:
        if code < 0x80 and is_print(code):
            return chr(code)
    elif is_print(code):
        return chr(code)
    simple = _SIMPLE_ESCAPES.get(code)
    if simple is not None:
        return simple
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if not valid_rune(code):
        code = RUNE_ERROR
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


_SIMPLE_ESCAPES = {
    0x07: "\\a",
    0x08: "\\b",
    0x0C: "\\f",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x0B: "\\v",
}


def quote(text: str, *, ascii_only: bool = False, quote_char: str = '"') -> str:
    """strconv.Quote (or QuoteToASCII): undecodable bytes become `\\xNN`."""
    out = [quote_char]
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte
            out.append(f"\\x{code - 0xDC00:02x}")
            continue
        if 0x20 <= code < 0x7F and ch != quote_char and ch != "\\":
            out.append(ch)
            continue
        out.append(_escaped_rune(code, quote_char, ascii_only))
    out.append(quote_char)
    return "".join(out)


def quote_rune(code: int, *, ascii_only: bool = False) -> str:
    """strconv.QuoteRune."""
    if not valid_rune(code):
        code = RUNE_ERROR
    return "'" + _escaped_rune(code, "'", ascii_only) + "'"


def can_backquote(text: str) -> bool:
    """strconv.CanBackquote."""
    for ch in text:
        code = ord(ch)
        if code == 0xFEFF:
            return False
        if code >= 0x80:
            if is_surrogate(code):
                return False
            continue
        if (code < 0x20 and code != 0x09) or code == 0x60 or code == 0x7F:
            return False
    return True


# --- unquoting -----------------------------------------------------------------------------


def _unhex(byte: int) -> int:
    if 0x30 <= byte <= 0x39:
        return byte - 0x30
    if 0x61 <= byte <= 0x66:
        return byte - 0x61 + 10
    if 0x41 <= byte <= 0x46:
        return byte - 0x41 + 10
    return -1


def unquote_char(data: bytes, quote: int) -> tuple[int, bool, bytes]:
    """strconv.UnquoteChar on bytes: (value, multibyte, tail); raises SyntaxErr."""
    if not data:
        raise SyntaxErr
    first = data[0]
    if first == quote and quote in (0x27, 0x22):
        raise SyntaxErr
    if first >= 0x80:
        code, size = decode_rune(data)
        return code, True, data[size:]
    if first != 0x5C:
        return first, False, data[1:]
    if len(data) <= 1:
        raise SyntaxErr
    escape = data[1]
    rest = data[2:]
    simple = {0x61: 7, 0x62: 8, 0x66: 12, 0x6E: 10, 0x72: 13, 0x74: 9, 0x76: 11}
    if escape in simple:
        return simple[escape], False, rest
    if escape in (0x78, 0x75, 0x55):  # x u U
        size = {0x78: 2, 0x75: 4, 0x55: 8}[escape]
        if len(rest) < size:
            raise SyntaxErr
        value = 0
        for byte in rest[:size]:
            digit = _unhex(byte)
            if digit < 0:
                raise SyntaxErr
            value = value << 4 | digit
        rest = rest[size:]
        if escape == 0x78:
            return value, False, rest
        if not valid_rune(value):
            raise SyntaxErr
        return value, True, rest
    if 0x30 <= escape <= 0x37:
        value = escape - 0x30
        if len(rest) < 2:
            raise SyntaxErr
        for byte in rest[:2]:
            digit = byte - 0x30
            if digit < 0 or digit > 7:
                raise SyntaxErr
            value = value << 3 | digit
        if value > 255:
            raise SyntaxErr
        return value, False, rest[2:]
    if escape == 0x5C:
        return 0x5C, False, rest
    if escape in (0x27, 0x22):
        if escape != quote:
            raise SyntaxErr
        return escape, False, rest
    raise SyntaxErr


def decode_rune(data: bytes) -> tuple[int, int]:
    """utf8.DecodeRune: (rune, size); (RuneError, 1) for an invalid sequence."""
    if not data:
        return RUNE_ERROR, 0
    first = data[0]
    if first < 0x80:
        return first, 1
    for size in (2, 3, 4):
        if len(data) >= size:
            try:
                text = data[:size].decode("utf-8")
            except UnicodeDecodeError:
                continue
            return ord(text), size
    return RUNE_ERROR, 1


def unquote(text: str) -> str:
    """strconv.Unquote of a Go string literal ("...", `...` or '...'); raises SyntaxErr."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) < 2:
        raise SyntaxErr
    quote_byte = data[0]
    if quote_byte != data[-1]:
        raise SyntaxErr
    body = data[1:-1]
    if quote_byte == 0x60:
        if 0x60 in body:
            raise SyntaxErr
        return body.replace(b"\r", b"").decode("utf-8", "surrogateescape")
    if quote_byte not in (0x22, 0x27):
        raise SyntaxErr
    if 0x0A in body:
        raise SyntaxErr
    if 0x5C not in body and quote_byte not in body:
        if quote_byte == 0x22:
            return body.decode("utf-8", "surrogateescape")
        code, size = decode_rune(body)
        if size == len(body) and size > 0 and not (code == RUNE_ERROR and size == 1):
            return body.decode("utf-8", "surrogateescape")
    out = bytearray()
    rest = body
    while rest:
        code, multibyte, rest = unquote_char(rest, quote_byte)
        if code < 0x80 or not multibyte:
            out.append(code)
        else:
            out += chr(code).encode("utf-8")
        if quote_byte == 0x27 and rest:
            raise SyntaxErr
    if quote_byte == 0x27 and not body:
        raise SyntaxErr
    return bytes(out).decode("utf-8", "surrogateescape")


# --- number syntax -----------------------------------------------------------------------


def underscore_ok(text: str) -> bool:
    """strconv.underscoreOK: underscores only between digits (a base prefix counts as one)."""
    saw = "^"
    i = 0
    if text[:1] in ("+", "-"):
        text = text[1:]
    hexa = False
    if len(text) >= 2 and text[0] == "0" and text[1].lower() in "box":
        i = 2
        saw = "0"
        hexa = text[1].lower() == "x"
    while i < len(text):
        ch = text[i]
        if "0" <= ch <= "9" or (hexa and "a" <= ch.lower() <= "f"):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def parse_uint(text: str, base: int = 0, bits: int = 64) -> int:
    """strconv.ParseUint; raises SyntaxErr or RangeErr."""
    if not text:
        raise SyntaxErr
    base0 = base == 0
    digits = text
    if base == 0:
        base = 10
        if text[0] == "0":
            if len(text) >= 3 and text[1].lower() == "b":
                base, digits = 2, text[2:]
            elif len(text) >= 3 and text[1].lower() == "o":
                base, digits = 8, text[2:]
            elif len(text) >= 3 and text[1].lower() == "x":
                base, digits = 16, text[2:]
            else:
                base, digits = 8, text[1:]
    value = 0
    underscores = False
    for ch in digits:
        if ch == "_" and base0:
            underscores = True
            continue
        digit = _digit_value(ch)
        if digit < 0 or digit >= base:
            raise SyntaxErr
        value = value * base + digit
    if underscores and not underscore_ok(text):
        raise SyntaxErr
    if value >= 1 << bits:
        raise RangeErr
    return value


def _digit_value(ch: str) -> int:
    if "0" <= ch <= "9":
        return ord(ch) - 0x30
    if "a" <= ch <= "z":
        return ord(ch) - 0x61 + 10
    if "A" <= ch <= "Z":
        return ord(ch) - 0x41 + 10
    return -1


def parse_int(text: str, base: int = 0, bits: int = 64) -> int:
    """strconv.ParseInt; raises SyntaxErr or RangeErr."""
    if not text:
        raise SyntaxErr
    sign = 1
    body = text
    if text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        body = text[1:]
    magnitude = parse_uint(body, base, 64)
    value = sign * magnitude
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise RangeErr
    return value


def parse_float(text: str) -> float:
    """strconv.ParseFloat(text, 64); raises SyntaxErr or RangeErr."""
    body = text
    sign = ""
    if body[:1] in ("+", "-"):
        sign, body = body[0], body[1:]
    low = body.lower()
    if low in ("inf", "infinity"):
        return -math.inf if sign == "-" else math.inf
    if low == "nan":
        return math.nan
    if not body or ("_" in body and not underscore_ok(body)):
        raise SyntaxErr
    clean = body.replace("_", "")
    if clean.lower().startswith("0x"):
        mantissa = clean[2:]
        if "p" not in mantissa.lower() or not mantissa or mantissa[0].lower() == "p":
            raise SyntaxErr
        try:
            value = float.fromhex(sign + "0x" + mantissa)
        except (ValueError, OverflowError) as exc:
            raise RangeErr from exc
        return value
    for ch in clean:
        if not (ch.isdigit() and ch.isascii()) and ch not in ".eE+-":
            raise SyntaxErr
    try:
        value = float(sign + clean)
    except ValueError as exc:
        raise SyntaxErr from exc
    if math.isinf(value):
        raise RangeErr
    return value


# --- float formatting ------------------------------------------------------------------------


def _shortest_digits(value: float, bits: int) -> tuple[str, int]:
    """(digits, decimal point position) of the shortest representation; value > 0."""
    if bits == 32:
        target = struct.pack(">f", value)
        for precision in range(1, 10):
            text = f"{value:.{precision - 1}e}"
            if struct.pack(">f", float(text)) == target:
                return _digits_from_e(text)
        text = f"{value:.8e}"
    else:
        text = f"{value!r}"
        if "e" not in text and "." in text:
            return _digits_from_f(text)
        text = f"{value:.16e}" if "e" not in text else text
    return _digits_from_e(text)


def _digits_from_e(text: str) -> tuple[str, int]:
    mantissa, _, exponent = text.partition("e")
    digits = mantissa.replace(".", "").lstrip("0")
    leading = len(mantissa.replace(".", "")) - len(mantissa.replace(".", "").lstrip("0"))
    digits = digits.rstrip("0")
    if not digits:
        return "", 0
    return digits, int(exponent) + 1 - leading


def _digits_from_f(text: str) -> tuple[str, int]:
    whole, _, fraction = text.partition(".")
    whole = whole.lstrip("0")
    if whole:
        digits = (whole + fraction).rstrip("0")
        return digits, len(whole)
    stripped = fraction.lstrip("0")
    digits = stripped.rstrip("0")
    if not digits:
        return "", 0
    return digits, -(len(fraction) - len(stripped))


def _fixed_digits(value: float, fmt: str, prec: int) -> tuple[str, int]:
    """Digits rounded as Go rounds for a given precision (value >= 0)."""
    if value == 0:
        return "", 0
    if fmt in "eE":
        return _digits_from_e(f"{value:.{prec}e}")
    if fmt == "f":
        return _digits_from_f(f"{value:.{prec}f}")
    # g/G: prec significant digits
    return _digits_from_e(f"{value:.{max(prec, 1) - 1}e}")


def format_float(value: float, fmt: str, prec: int, bits: int = 64) -> str:
    """strconv.FormatFloat(value, fmt, prec, bits) for fmt in b e E f g G x X."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if bits == 32:
        value = struct.unpack(">f", struct.pack(">f", value))[0]
    negative = math.copysign(1.0, value) < 0
    magnitude = abs(value)
    if fmt == "b":
        return _format_b(value, bits)
    if fmt in "xX":
        return _format_x(magnitude, negative, fmt, prec, bits)
    shortest = prec < 0
    if shortest:
        digits, point = _shortest_digits(magnitude, bits) if magnitude else ("", 0)
        if fmt in "eE":
            prec = max(len(digits) - 1, 0)
        elif fmt == "f":
            prec = max(len(digits) - point, 0)
        else:
            prec = len(digits)
    else:
        if fmt in "gG" and prec == 0:
            prec = 1
        digits, point = _fixed_digits(magnitude, fmt, prec)
    return _format_digits(negative, digits, point, prec, fmt, shortest=shortest)


def _format_digits(
    negative: bool, digits: str, point: int, prec: int, fmt: str, *, shortest: bool
) -> str:
    if fmt in "eE":
        return _fmt_e(negative, digits, point, prec, fmt)
    if fmt == "f":
        return _fmt_f(negative, digits, point, prec)
    count = len(digits)
    eprec = prec
    if eprec > count and count >= point:
        eprec = count
    if shortest:
        eprec = 6
    exp = point - 1
    if exp < -4 or exp >= eprec:
        prec = min(prec, count)
        return _fmt_e(negative, digits, point, prec - 1, "e" if fmt == "g" else "E")
    if prec > point:
        prec = count
    return _fmt_f(negative, digits, point, max(prec - point, 0))


def _fmt_e(negative: bool, digits: str, point: int, prec: int, fmt: str) -> str:
    out = ["-"] if negative else []
    out.append(digits[0] if digits else "0")
    if prec > 0:
        out.append(".")
        tail = digits[1 : prec + 1]
        out.append(tail + "0" * (prec - len(tail)))
    exp = point - 1 if digits else 0
    out.append(fmt)
    out.append("-" if exp < 0 else "+")
    exp = abs(exp)
    out.append(f"{exp:02d}")
    return "".join(out)


def _fmt_f(negative: bool, digits: str, point: int, prec: int) -> str:
    out = ["-"] if negative else []
    if point > 0:
        whole = digits[:point]
        out.append(whole + "0" * (point - len(whole)))
    else:
        out.append("0")
    if prec > 0:
        out.append(".")
        fraction = []
        for i in range(prec):
            j = point + i
            fraction.append(digits[j] if 0 <= j < len(digits) else "0")
        out.append("".join(fraction))
    return "".join(out)


def _float_parts(value: float, bits: int) -> tuple[bool, int, int, int, int]:
    """(negative, mantissa, exponent, mantbits, bias) as genericFtoa computes them."""
    if bits == 32:
        raw = struct.unpack(">I", struct.pack(">f", value))[0]
        expbits, mantbits, bias = 8, 23, -127
    else:
        raw = struct.unpack(">Q", struct.pack(">d", value))[0]
        expbits, mantbits, bias = 11, 52, -1023
    negative = raw >> (expbits + mantbits) != 0
    exp = (raw >> mantbits) & ((1 << expbits) - 1)
    mant = raw & ((1 << mantbits) - 1)
    if exp == 0:
        exp += 1
    else:
        mant |= 1 << mantbits
    return negative, mant, exp + bias, mantbits, bias


def _format_b(value: float, bits: int) -> str:
    negative, mant, exp, mantbits, _ = _float_parts(value, bits)
    exp -= mantbits
    sign = "-" if negative else ""
    return f"{sign}{mant}p{'+' if exp >= 0 else ''}{exp}"


def _format_x(magnitude: float, negative: bool, fmt: str, prec: int, bits: int) -> str:
    _, mant, exp, mantbits, _ = _float_parts(magnitude, bits)
    if mant == 0:
        exp = 0
    mant <<= 60 - mantbits
    while mant != 0 and mant & (1 << 60) == 0:
        mant <<= 1
        exp -= 1
    if 0 <= prec < 15:
        shift = prec * 4
        extra = (mant << shift) & ((1 << 60) - 1)
        mant >>= 60 - shift
        if extra | (mant & 1) > 1 << 59:
            mant += 1
        mant <<= 60 - shift
        if mant & (1 << 61):
            mant >>= 1
            exp += 1
    digits = LOWER_HEX if fmt == "x" else UPPER_HEX
    out = ["-"] if negative else []
    out.append("0" + fmt + str((mant >> 60) & 1))
    mant = (mant << 4) & ((1 << 64) - 1)
    if prec < 0 and mant != 0:
        out.append(".")
        while mant != 0:
            out.append(digits[(mant >> 60) & 15])
            mant = (mant << 4) & ((1 << 64) - 1)
    elif prec > 0:
        out.append(".")
        for _ in range(prec):
            out.append(digits[(mant >> 60) & 15])
            mant = (mant << 4) & ((1 << 64) - 1)
    out.append("p" if fmt == "x" else "P")
    out.append("-" if exp < 0 else "+")
    exp = abs(exp)
    out.append(f"{exp:02d}")
    return "".join(out)
