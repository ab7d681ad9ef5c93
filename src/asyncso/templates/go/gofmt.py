"""Go's fmt.Sprint, Sprintln and Sprintf over the values of `gotypes` (a port of fmt/print.go).

Why a port: templates print every value through fmt (`{{ . }}` is `fmt.Fprint`), and `printf`
is `fmt.Sprintf`; users see Go's exact text: `map[a:1 b:2]`, `[1 2 3]`, `<nil>`, `1e+06`,
`%!d(string=x)`, `%!(EXTRA int=3)`. The structure follows print.go and format.go so that each
quirk can be traced to its Go origin.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from asyncso.templates.go import gotypes, strconv
from asyncso.templates.go.gotypes import Kind

_LDIGITS = "0123456789abcdefx"
_UDIGITS = "0123456789ABCDEFX"
_MAX_WIDTH = 1_000_000


def _too_large(number: int) -> bool:
    return number > _MAX_WIDTH or number < -_MAX_WIDTH


@dataclasses.dataclass
class _Flags:
    wid_present: bool = False
    prec_present: bool = False
    minus: bool = False
    plus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    plus_v: bool = False
    sharp_v: bool = False
    wid: int = 0
    prec: int = 0


class _Printer:
    """One fmt.pp: an output buffer and the flags of the verb being printed."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.f = _Flags()
        self.arg: Any = None
        self.arg_set = False
        self.value: Any = None
        self.value_set = False
        self.erroring = False
        self.reordered = False
        self.good_arg_num = True

    def text(self) -> str:
        return "".join(self.buf)

    def clear_flags(self) -> None:
        self.f = _Flags()

    # --- format.go ---------------------------------------------------------------------

    def write_padding(self, count: int) -> None:
        if count <= 0:
            return
        pad = "0" if self.f.zero and not self.f.minus else " "
        self.buf.append(pad * count)

    def pad(self, text: str) -> None:
        f = self.f
        if not f.wid_present or f.wid == 0:
            self.buf.append(text)
            return
        width = f.wid - len(text)
        if not f.minus:
            self.write_padding(width)
            self.buf.append(text)
        else:
            self.buf.append(text)
            self.write_padding(width)

    def fmt_boolean(self, value: bool) -> None:
        self.pad("true" if value else "false")

    def fmt_unicode(self, number: int) -> None:
        f = self.f
        prec = 4
        if f.prec_present and f.prec > 4:
            prec = f.prec
        digits = f"{number:X}"
        if len(digits) < prec:
            digits = "0" * (prec - len(digits)) + digits
        text = "U+" + digits
        if f.sharp and number <= strconv.MAX_RUNE and strconv.is_print(number):
            text += " '" + chr(number) + "'"
        old_zero = f.zero
        f.zero = False
        self.pad(text)
        f.zero = old_zero

    def fmt_integer(self, value: int, base: int, signed: bool, verb: str, digits: str) -> None:
        f = self.f
        negative = signed and value < 0
        number = -value if negative else value
        if not signed and number < 0:
            number &= (1 << 64) - 1
        prec = 0
        if f.prec_present:
            prec = f.prec
            if prec == 0 and number == 0:
                old_zero = f.zero
                f.zero = False
                self.write_padding(f.wid)
                f.zero = old_zero
                return
        elif f.zero and not f.minus and f.wid_present:
            prec = f.wid
            if negative or f.plus or f.space:
                prec -= 1
        if base == 10:
            text = str(number)
        elif base == 16:
            text = format(number, "x")
            if digits is _UDIGITS:
                text = text.upper()
        elif base == 8:
            text = format(number, "o")
        else:
            text = format(number, "b")
        if len(text) < prec:
            text = "0" * (prec - len(text)) + text
        if f.sharp:
            if base == 2:
                text = "0b" + text
            elif base == 8:
                if text[0] != "0":
                    text = "0" + text
            elif base == 16:
                text = "0" + digits[16] + text
        if verb == "O":
            text = "0o" + text
        if negative:
            text = "-" + text
        elif f.plus:
            text = "+" + text
        elif f.space:
            text = " " + text
        old_zero = f.zero
        f.zero = False
        self.pad(text)
        f.zero = old_zero

    def truncate(self, text: str) -> str:
        if self.f.prec_present:
            return text[: self.f.prec]
        return text

    def fmt_s(self, text: str) -> None:
        self.pad(self.truncate(text))

    def fmt_sbx(self, data: bytes, digits: str) -> None:
        f = self.f
        length = len(data)
        if f.prec_present and f.prec < length:
            length = f.prec
        width = 2 * length
        if width > 0:
            if f.space:
                if f.sharp:
                    width *= 2
                width += length - 1
            elif f.sharp:
                width += 2
        else:
            if f.wid_present:
                self.write_padding(f.wid)
            return
        if f.wid_present and f.wid > width and not f.minus:
            self.write_padding(f.wid - width)
        out = []
        if f.sharp:
            out.append("0" + digits[16])
        for i in range(length):
            if f.space and i > 0:
                out.append(" ")
                if f.sharp:
                    out.append("0" + digits[16])
            byte = data[i]
            out.append(digits[byte >> 4] + digits[byte & 0xF])
        self.buf.append("".join(out))
        if f.wid_present and f.wid > width and f.minus:
            self.write_padding(f.wid - width)

    def fmt_q(self, text: str) -> None:
        f = self.f
        text = self.truncate(text)
        if f.sharp and strconv.can_backquote(text):
            self.pad("`" + text + "`")
            return
        self.pad(strconv.quote(text, ascii_only=f.plus))

    def fmt_c(self, number: int) -> None:
        code = number if 0 <= number <= strconv.MAX_RUNE else strconv.RUNE_ERROR
        if strconv.is_surrogate(code):
            code = strconv.RUNE_ERROR
        self.pad(chr(code))

    def fmt_qc(self, number: int) -> None:
        code = number if 0 <= number <= strconv.MAX_RUNE else strconv.RUNE_ERROR
        self.pad(strconv.quote_rune(code, ascii_only=self.f.plus))

    def fmt_float_raw(self, value: float, size: int, verb: str, prec: int) -> None:
        f = self.f
        if f.prec_present:
            prec = f.prec
        num = strconv.format_float(value, verb, prec, size)
        num = num if num[0] in "+-" else "+" + num
        if f.space and num[0] == "+" and not f.plus:
            num = " " + num[1:]
        if num[1] in "IN":
            old_zero = f.zero
            f.zero = False
            if num[1] == "N" and not f.space and not f.plus:
                num = num[1:]
            self.pad(num)
            f.zero = old_zero
            return
        if f.sharp and verb != "b":
            num = self._sharp_float(num, verb, prec)
        if f.plus or num[0] != "+":
            if f.zero and not f.minus and f.wid_present and f.wid > len(num):
                self.buf.append(num[0])
                self.write_padding(f.wid - len(num))
                self.buf.append(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    @staticmethod
    def _sharp_float(num: str, verb: str, prec: int) -> str:
        digits = 0
        if verb in "vgGx":
            digits = prec
            if digits == -1:
                digits = 6
        tail = ""
        has_point = False
        saw_nonzero = False
        body = list(num)
        i = 1
        while i < len(body):
            ch = body[i]
            if ch == ".":
                has_point = True
            elif ch in "pP" or (ch in "eE" and verb not in "xX"):
                tail = "".join(body[i:])
                body = body[:i]
                break
            else:
                if ch != "0":
                    saw_nonzero = True
                if saw_nonzero:
                    digits -= 1
            i += 1
        if not has_point:
            if len(body) == 2 and body[1] == "0":
                digits -= 1
            body.append(".")
        while digits > 0:
            body.append("0")
            digits -= 1
        return "".join(body) + tail

    # --- print.go --------------------------------------------------------------------------

    def bad_verb(self, verb: str) -> None:
        self.erroring = True
        self.buf.append("%!" + verb + "(")
        if self.arg_set and self.arg is not None:
            self.buf.append(gotypes.type_name(self.arg) + "=")
            self.print_arg(self.arg, "v")
        elif self.value_set and self.value is not None:
            self.buf.append(gotypes.type_name(self.value) + "=")
            self.print_value(self.value, "v", 0)
        else:
            self.buf.append("<nil>")
        self.buf.append(")")
        self.erroring = False

    def fmt_bool(self, value: bool, verb: str) -> None:
        if verb in "tv":
            self.fmt_boolean(value)
        else:
            self.bad_verb(verb)

    def fmt_0x64(self, value: int, leading0x: bool) -> None:
        sharp = self.f.sharp
        self.f.sharp = leading0x
        self.fmt_integer(value, 16, False, "v", _LDIGITS)
        self.f.sharp = sharp

    def fmt_int(self, value: int, signed: bool, verb: str) -> None:
        if verb == "v":
            if self.f.sharp_v and not signed:
                self.fmt_0x64(value, True)
            else:
                self.fmt_integer(value, 10, signed, verb, _LDIGITS)
        elif verb == "d":
            self.fmt_integer(value, 10, signed, verb, _LDIGITS)
        elif verb == "b":
            self.fmt_integer(value, 2, signed, verb, _LDIGITS)
        elif verb in "oO":
            self.fmt_integer(value, 8, signed, verb, _LDIGITS)
        elif verb == "x":
            self.fmt_integer(value, 16, signed, verb, _LDIGITS)
        elif verb == "X":
            self.fmt_integer(value, 16, signed, verb, _UDIGITS)
        elif verb == "c":
            self.fmt_c(value if value >= 0 or not signed else value & ((1 << 64) - 1))
        elif verb == "q":
            self.fmt_qc(value if value >= 0 or not signed else value & ((1 << 64) - 1))
        elif verb == "U":
            self.fmt_unicode(value & ((1 << 64) - 1))
        else:
            self.bad_verb(verb)

    def fmt_float(self, value: float, size: int, verb: str) -> None:
        if verb == "v":
            self.fmt_float_raw(value, size, "g", -1)
        elif verb in "bgGxX":
            self.fmt_float_raw(value, size, verb, -1)
        elif verb in "feE":
            self.fmt_float_raw(value, size, verb, 6)
        elif verb == "F":
            self.fmt_float_raw(value, size, "f", 6)
        else:
            self.bad_verb(verb)

    def fmt_complex(self, value: complex, size: int, verb: str) -> None:
        if verb in "vbgGxXfFeE":
            old_plus = self.f.plus
            self.buf.append("(")
            self.fmt_float(value.real, size // 2, verb)
            self.f.plus = True
            self.fmt_float(value.imag, size // 2, verb)
            self.buf.append("i)")
            self.f.plus = old_plus
        else:
            self.bad_verb(verb)

    def fmt_string(self, text: str, verb: str) -> None:
        if verb == "v":
            if self.f.sharp_v:
                self.fmt_q(text)
            else:
                self.fmt_s(text)
        elif verb == "s":
            self.fmt_s(text)
        elif verb == "x":
            self.fmt_sbx(gotypes.to_bytes(text), _LDIGITS)
        elif verb == "X":
            self.fmt_sbx(gotypes.to_bytes(text), _UDIGITS)
        elif verb == "q":
            self.fmt_q(text)
        else:
            self.bad_verb(verb)

    def fmt_bytes(self, data: bytes, verb: str, type_string: str, value: Any) -> None:
        if verb in "vd":
            if self.f.sharp_v:
                self.buf.append(type_string)
                if getattr(value, "nil", False):
                    self.buf.append("(nil)")
                    return
                self.buf.append("{")
                for i, byte in enumerate(data):
                    if i > 0:
                        self.buf.append(", ")
                    self.fmt_0x64(byte, True)
                self.buf.append("}")
            else:
                self.buf.append("[")
                for i, byte in enumerate(data):
                    if i > 0:
                        self.buf.append(" ")
                    self.fmt_integer(byte, 10, False, verb, _LDIGITS)
                self.buf.append("]")
        elif verb == "s":
            self.pad(self.truncate(gotypes.from_bytes(data)))
        elif verb == "x":
            self.fmt_sbx(data, _LDIGITS)
        elif verb == "X":
            self.fmt_sbx(data, _UDIGITS)
        elif verb == "q":
            self.fmt_q(gotypes.from_bytes(data))
        else:
            self.print_slice(value, verb, 0)

    def fmt_pointer(self, value: Any, verb: str) -> None:
        kind = gotypes.kind_of(value)
        if kind not in (Kind.CHAN, Kind.FUNC, Kind.MAP, Kind.POINTER, Kind.SLICE):
            self.bad_verb(verb)
            return
        address = 0 if gotypes.is_nil(value) else 0xC000010000 + (id(value) & 0xFFFFFF) * 8
        if verb == "v":
            if self.f.sharp_v:
                self.buf.append("(" + gotypes.type_name(value) + ")(")
                if address == 0:
                    self.buf.append("nil")
                else:
                    self.fmt_0x64(address, True)
                self.buf.append(")")
            elif address == 0:
                self.pad("<nil>")
            else:
                self.fmt_0x64(address, not self.f.sharp)
        elif verb == "p":
            self.fmt_0x64(address, not self.f.sharp)
        elif verb in "bodxX":
            self.fmt_int(address, False, verb)
        else:
            self.bad_verb(verb)

    def handle_methods(self, verb: str) -> bool:
        if self.erroring:
            return False
        arg = self.arg
        if not isinstance(arg, gotypes.GoObject):
            return False
        if self.f.sharp_v:
            return False
        if verb in "vsxXq":
            text = arg.go_string()
            if text is not None:
                self.fmt_string(text, verb)
                return True
        return False

    def print_arg(self, arg: Any, verb: str) -> None:
        self.arg = arg
        self.arg_set = True
        self.value = None
        self.value_set = False
        if arg is None or arg is gotypes.NIL_INTERFACE:
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(verb)
            return
        if verb == "T":
            self.fmt_s(gotypes.type_name(arg))
            return
        if verb == "p":
            self.fmt_pointer(arg, "p")
            return
        kind = type(arg)
        if kind is str:
            self.fmt_string(arg, verb)
        elif kind is int:
            self.fmt_int(arg, True, verb)
        elif kind is bool:
            self.fmt_bool(arg, verb)
        elif kind is float:
            self.fmt_float(arg, 64, verb)
        elif kind is complex:
            self.fmt_complex(arg, 128, verb)
        elif kind is bytes:
            self.fmt_bytes(arg, verb, "[]byte", arg)
        elif isinstance(arg, gotypes.GoInt):
            self.fmt_int(int(arg), arg.gotype.kind in gotypes.SIGNED_KINDS, verb)
        elif isinstance(arg, gotypes.Float32):
            self.fmt_float(float(arg), 32, verb)
        elif isinstance(arg, gotypes.GoSlice) and arg.gotype.elem == gotypes.UINT8:
            self.fmt_bytes(bytes(arg), verb, "[]byte", arg)
        elif not self.handle_methods(verb):
            self.print_value(arg, verb, 0)

    def print_value(self, value: Any, verb: str, depth: int) -> None:
        if depth > 0 and value is not None:
            self.arg = value
            self.arg_set = True
            if self.handle_methods(verb):
                return
        self.arg = None
        self.arg_set = False
        self.value = value
        self.value_set = True
        if value is None or value is gotypes.NIL_INTERFACE:
            if depth == 0 and value is None:
                self.buf.append("<invalid reflect.Value>")
            elif self.f.sharp_v:
                self.buf.append("interface {}(nil)")
            else:
                self.buf.append("<nil>")
            return
        kind = gotypes.kind_of(value)
        if kind is Kind.BOOL:
            self.fmt_bool(value, verb)
        elif kind in gotypes.SIGNED_KINDS:
            self.fmt_int(int(value), True, verb)
        elif kind in gotypes.UNSIGNED_KINDS:
            self.fmt_int(int(value), False, verb)
        elif kind is Kind.FLOAT32:
            self.fmt_float(float(value), 32, verb)
        elif kind is Kind.FLOAT64:
            self.fmt_float(float(value), 64, verb)
        elif kind is Kind.COMPLEX128 or kind is Kind.COMPLEX64:
            self.fmt_complex(complex(value), 128 if kind is Kind.COMPLEX128 else 64, verb)
        elif kind is Kind.STRING:
            self.fmt_string(str(value), verb)
        elif kind is Kind.MAP:
            self.print_map(value, verb, depth)
        elif kind is Kind.SLICE or kind is Kind.ARRAY:
            self.print_slice(value, verb, depth)
        elif kind is Kind.STRUCT:
            self.print_struct(value, verb, depth)
        elif kind is Kind.POINTER:
            fields = value.go_fields() if isinstance(value, gotypes.GoObject) else None
            if depth == 0 and fields is not None and not gotypes.is_nil(value):
                self.buf.append("&")
                self.print_struct(value, verb, depth + 1)
                return
            self.fmt_pointer(value, verb)
        elif kind is Kind.FUNC or kind is Kind.CHAN:
            self.fmt_pointer(value, verb)
        else:
            self.buf.append("?" + gotypes.type_name(value) + "?")

    def print_map(self, value: Any, verb: str, depth: int) -> None:
        sharp_v = self.f.sharp_v
        if sharp_v:
            self.buf.append(gotypes.type_name(value))
            if getattr(value, "nil", False):
                self.buf.append("(nil)")
                return
            self.buf.append("{")
        else:
            self.buf.append("map[")
        iface_elems = value.gotype.elem.kind is Kind.INTERFACE
        for i, (key, elem) in enumerate(gotypes.sorted_items(value)):
            if i > 0:
                self.buf.append(", " if sharp_v else " ")
            self.print_value(key, verb, depth + 1)
            self.buf.append(":")
            if elem is None and iface_elems:
                elem = gotypes.NIL_INTERFACE
            self.print_value(elem, verb, depth + 1)
        self.buf.append("}" if sharp_v else "]")

    def print_slice(self, value: Any, verb: str, depth: int) -> None:
        gotype = gotypes.type_of(value)
        assert gotype is not None
        if verb in "sqxX" and gotype.elem == gotypes.UINT8:
            self.fmt_bytes(bytes(value), verb, gotype.name, value)
            return
        iface_elems = gotype.elem is not None and gotype.elem.kind is Kind.INTERFACE
        if self.f.sharp_v:
            self.buf.append(gotype.name)
            if getattr(value, "nil", False):
                self.buf.append("(nil)")
                return
            self.buf.append("{")
            for i, elem in enumerate(value):
                if i > 0:
                    self.buf.append(", ")
                if elem is None and iface_elems:
                    elem = gotypes.NIL_INTERFACE
                self.print_value(elem, verb, depth + 1)
            self.buf.append("}")
        else:
            self.buf.append("[")
            for i, elem in enumerate(value):
                if i > 0:
                    self.buf.append(" ")
                if elem is None and iface_elems:
                    elem = gotypes.NIL_INTERFACE
                self.print_value(elem, verb, depth + 1)
            self.buf.append("]")

    def print_struct(self, value: Any, verb: str, depth: int) -> None:
        if self.f.sharp_v:
            self.buf.append(gotypes.type_name(value))
        self.buf.append("{")
        fields = value.go_fields() if isinstance(value, gotypes.GoObject) else []
        for i, (name, field) in enumerate(fields):
            if i > 0:
                self.buf.append(", " if self.f.sharp_v else " ")
            if self.f.plus_v or self.f.sharp_v:
                self.buf.append(name + ":")
            self.print_value(field, verb, depth + 1)
        self.buf.append("}")

    # --- Printf ----------------------------------------------------------------------------

    def do_printf(self, fmt: str, args: list[Any]) -> None:
        end = len(fmt)
        arg_num = 0
        after_index = False
        self.reordered = False
        i = 0
        while i < end:
            self.good_arg_num = True
            last = i
            while i < end and fmt[i] != "%":
                i += 1
            if i > last:
                self.buf.append(fmt[last:i])
            if i >= end:
                break
            i += 1
            self.clear_flags()
            f = self.f
            simple_done = False
            while i < end:
                ch = fmt[i]
                if ch == "#":
                    f.sharp = True
                elif ch == "0":
                    f.zero = True
                elif ch == "+":
                    f.plus = True
                elif ch == "-":
                    f.minus = True
                elif ch == " ":
                    f.space = True
                else:
                    if "a" <= ch <= "z" and arg_num < len(args):
                        if ch in "vw":
                            f.sharp_v = f.sharp
                            f.sharp = False
                            f.plus_v = f.plus
                            f.plus = False
                        self.print_arg(args[arg_num], ch)
                        arg_num += 1
                        i += 1
                        simple_done = True
                    break
                i += 1
            if simple_done:
                continue
            arg_num, i, after_index = self.arg_number(arg_num, fmt, i, len(args))
            if i < end and fmt[i] == "*":
                i += 1
                f.wid, f.wid_present, arg_num = _int_from_arg(args, arg_num)
                if not f.wid_present:
                    self.buf.append("%!(BADWIDTH)")
                if f.wid < 0:
                    f.wid = -f.wid
                    f.minus = True
                    f.zero = False
                after_index = False
            else:
                f.wid, f.wid_present, i = _parse_num(fmt, i, end)
                if after_index and f.wid_present:
                    self.good_arg_num = False
            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after_index:
                    self.good_arg_num = False
                arg_num, i, after_index = self.arg_number(arg_num, fmt, i, len(args))
                if i < end and fmt[i] == "*":
                    i += 1
                    f.prec, f.prec_present, arg_num = _int_from_arg(args, arg_num)
                    if f.prec < 0:
                        f.prec = 0
                        f.prec_present = False
                    if not f.prec_present:
                        self.buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    f.prec, f.prec_present, i = _parse_num(fmt, i, end)
                    if not f.prec_present:
                        f.prec = 0
                        f.prec_present = True
            if not after_index:
                arg_num, i, after_index = self.arg_number(arg_num, fmt, i, len(args))
            if i >= end:
                self.buf.append("%!(NOVERB)")
                break
            verb = fmt[i]
            i += 1
            if verb == "%":
                self.buf.append("%")
            elif not self.good_arg_num:
                self.buf.append("%!" + verb + "(BADINDEX)")
            elif arg_num >= len(args):
                self.buf.append("%!" + verb + "(MISSING)")
            else:
                if verb in "vw":
                    f.sharp_v = f.sharp
                    f.sharp = False
                    f.plus_v = f.plus
                    f.plus = False
                self.print_arg(args[arg_num], verb)
                arg_num += 1
        if not self.reordered and arg_num < len(args):
            self.clear_flags()
            self.buf.append("%!(EXTRA ")
            for index, arg in enumerate(args[arg_num:]):
                if index > 0:
                    self.buf.append(", ")
                if arg is None or arg is gotypes.NIL_INTERFACE:
                    self.buf.append("<nil>")
                else:
                    self.buf.append(gotypes.type_name(arg) + "=")
                    self.print_arg(arg, "v")
            self.buf.append(")")

    def arg_number(self, arg_num: int, fmt: str, i: int, num_args: int) -> tuple[int, int, bool]:
        if len(fmt) <= i or fmt[i] != "[":
            return arg_num, i, False
        self.reordered = True
        index, width, ok = _parse_arg_number(fmt[i:])
        if ok and 0 <= index < num_args:
            return index, i + width, True
        self.good_arg_num = False
        return arg_num, i + width, ok


def _parse_num(fmt: str, start: int, end: int) -> tuple[int, bool, int]:
    if start >= end:
        return 0, False, end
    number = 0
    isnum = False
    i = start
    while i < end and "0" <= fmt[i] <= "9":
        if _too_large(number):
            return 0, False, end
        number = number * 10 + ord(fmt[i]) - 0x30
        isnum = True
        i += 1
    return number, isnum, i


def _parse_arg_number(fmt: str) -> tuple[int, int, bool]:
    if len(fmt) < 3:
        return 0, 1, False
    for i in range(1, len(fmt)):
        if fmt[i] == "]":
            width, ok, newi = _parse_num(fmt, 1, i)
            if not ok or newi != i:
                return 0, i + 1, False
            return width - 1, i + 1, True
    return 0, 1, False


def _int_from_arg(args: list[Any], arg_num: int) -> tuple[int, bool, int]:
    if arg_num >= len(args):
        return 0, False, arg_num
    arg = args[arg_num]
    number, is_int = 0, False
    kind = gotypes.kind_of(arg) if arg is not gotypes.NIL_INTERFACE else Kind.INVALID
    if kind in gotypes.SIGNED_KINDS:
        number, is_int = int(arg), True
        if not gotypes.int_fits(number, Kind.INT):
            number, is_int = 0, False
    elif kind in gotypes.UNSIGNED_KINDS:
        number, is_int = int(arg), True
        if number >= 1 << 63:
            number, is_int = 0, False
    if _too_large(number):
        number, is_int = 0, False
    return number, is_int, arg_num + 1


# --- public API ---------------------------------------------------------------------------


def sprint(*args: Any) -> str:
    """fmt.Sprint: spaces between operands when neither side is a string."""
    printer = _Printer()
    prev_string = False
    for index, arg in enumerate(args):
        is_string = arg is not None and gotypes.kind_of(arg) is Kind.STRING
        if index > 0 and not is_string and not prev_string:
            printer.buf.append(" ")
        printer.print_arg(arg, "v")
        prev_string = is_string
    return printer.text()


def sprintln(*args: Any) -> str:
    """fmt.Sprintln."""
    printer = _Printer()
    for index, arg in enumerate(args):
        if index > 0:
            printer.buf.append(" ")
        printer.print_arg(arg, "v")
    printer.buf.append("\n")
    return printer.text()


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf."""
    printer = _Printer()
    printer.do_printf(fmt, list(args))
    return printer.text()


def print_value(value: Any) -> str:
    """fmt.Sprint of one value (the fast path of template output)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    return sprint(value)
