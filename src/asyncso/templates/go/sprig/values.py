"""Go conversions sprig leans on: spf13/cast's ToInt64/ToInt/ToFloat64, sprig's strval and
strslice, Go's runtime panics for out-of-range slicing, reflect kinds of `interface{}` values,
the zero value by kind (sprig's `empty`) and reflect.DeepEqual.

Why here: nearly every sprig function converts its arguments through these, and their quirks
(`int "0x10"` is 16, `int "08"` is 0, `int 3.9` is 3, a nil list makes sprig panic with a nil
dereference) decide what templates print. cast is the v1.10.0 that ESO's go.mod pins.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from asyncso.templates.go import gofmt, gotypes, strconv
from asyncso.templates.go.functions import GoError

__all__ = ["GoError"]
from asyncso.templates.go.gotypes import Kind

NIL_DEREFERENCE = "runtime error: invalid memory address or nil pointer dereference"

_STRING_NUMBER = re.compile(r"^([-+]?[0-9]*)(\.[0-9]*)?$")


def kind(value: Any) -> Kind:
    """reflect.TypeOf(value).Kind(); a nil value panics as sprig's callers do."""
    if value is None:
        raise GoError(NIL_DEREFERENCE)
    return gotypes.kind_of(value)


def is_list(value: Any) -> bool:
    return kind(value) in (Kind.SLICE, Kind.ARRAY)


def elements(value: Any) -> list[Any]:
    """The items of a slice as `interface{}` values (bytes as uint8)."""
    if type(value) is bytes:
        return [gotypes.Uint8(b) for b in value]
    return list(value)


def _float_to_int(value: float) -> int:
    """Go's float64 -> int64 conversion on amd64 (out of range and NaN give MinInt64)."""
    if math.isnan(value) or math.isinf(value) or not -(2.0**63) <= value < 2.0**63:
        return -(1 << 63)
    return int(value)


def _trim_decimal(text: str) -> str:
    if "." not in text:
        return text
    match = _STRING_NUMBER.match(text)
    if match is None:
        return text
    whole = match.group(1)
    if whole in ("-", "+"):
        return whole + "0"
    if whole == "":
        return "0"
    return whole


def to_int64(value: Any) -> int:
    """cast.ToInt64 (errors give 0)."""
    if value is None:
        return 0
    k = gotypes.kind_of(value)
    if k in gotypes.INT_KINDS:
        return gotypes.wrap_int(int(value), Kind.INT64)
    if k in gotypes.FLOAT_KINDS:
        return _float_to_int(float(value))
    if k is Kind.BOOL:
        return 1 if value else 0
    if k is Kind.STRING:
        if value == "":
            return 0
        try:
            return strconv.parse_int(_trim_decimal(value), 0, 64)
        except ValueError:
            return 0
    return 0


def to_int(value: Any) -> int:
    """cast.ToInt (int is 64-bit), as a Go int."""
    return int(to_int64(value))


def to_float64(value: Any) -> float:
    """cast.ToFloat64 (errors give 0)."""
    if value is None:
        return 0.0
    k = gotypes.kind_of(value)
    if k in gotypes.INT_KINDS or k in gotypes.FLOAT_KINDS:
        return float(value)
    if k is Kind.BOOL:
        return 1.0 if value else 0.0
    if k is Kind.STRING:
        if value == "":
            return 0.0
        try:
            return strconv.parse_float(value)
        except ValueError:
            return 0.0
    return 0.0


def strval(value: Any) -> str:
    """sprig's strval: strings as they are, Stringers by String(), the rest with %v."""
    if type(value) is str:
        return str(value)
    if type(value) is bytes:
        return gotypes.from_bytes(value)
    if isinstance(value, gotypes.GoSlice) and value.gotype.elem == gotypes.UINT8:
        return gotypes.from_bytes(bytes(value))
    if isinstance(value, gotypes.GoObject):
        text = value.go_string()
        if text is not None:
            return text
    return gofmt.sprintf("%v", value)


def strslice(value: Any) -> gotypes.GoSlice:
    """sprig's strslice: a []string of a list's non-nil items, or of one value."""
    if isinstance(value, gotypes.GoSlice) and value.gotype.elem == gotypes.STRING:
        return value
    if value is not None and gotypes.kind_of(value) in (Kind.SLICE, Kind.ARRAY):
        return gotypes.StringSlice(strval(v) for v in elements(value) if v is not None)
    if value is None:
        return gotypes.StringSlice()
    return gotypes.StringSlice([strval(value)])


def slice_bytes(data: bytes, low: int | None, high: int | None) -> bytes:
    """data[low:high] with Go's runtime panics."""
    length = len(data)
    lo = 0 if low is None else low
    hi = length if high is None else high
    if high is not None and (hi < 0):
        raise GoError(f"runtime error: slice bounds out of range [:{hi}]")
    if high is not None and hi > length:
        raise GoError(f"runtime error: slice bounds out of range [:{hi}] with length {length}")
    if low is not None and lo < 0:
        raise GoError(f"runtime error: slice bounds out of range [{lo}:]")
    if lo > hi:
        raise GoError(f"runtime error: slice bounds out of range [{lo}:{hi}]")
    return data[lo:hi]


def slice_string(text: str, low: int | None, high: int | None) -> str:
    return gotypes.from_bytes(slice_bytes(gotypes.to_bytes(text), low, high))


def interface_conversion(value: Any, want: str) -> GoError:
    """The panic of a failed type assertion `value.(want)` on an interface{}."""
    got = "nil" if value is None else gotypes.type_name(value)
    return GoError(f"interface conversion: interface {{}} is {got}, not {want}")


def iface_list(items: Iterable[Any]) -> gotypes.GoSlice:
    return gotypes.IfaceSlice(items)


def empty(value: Any) -> bool:
    """sprig's empty: the zero value of its kind."""
    if value is None or value is gotypes.NIL_INTERFACE:
        return True
    kind = gotypes.kind_of(value)
    if kind in (Kind.ARRAY, Kind.SLICE, Kind.MAP, Kind.STRING):
        return gotypes.go_len(value) == 0
    if kind is Kind.BOOL or kind in gotypes.INT_KINDS or kind in gotypes.FLOAT_KINDS:
        return bool(value == 0)
    if kind in gotypes.COMPLEX_KINDS:
        return bool(value == 0)
    if kind is Kind.STRUCT:
        return False
    return gotypes.is_nil(value)


def deep_equal(a: Any, b: Any) -> bool:
    """reflect.DeepEqual for template values."""
    if a is None or b is None:
        return a is None and b is None
    ta, tb = gotypes.type_of(a), gotypes.type_of(b)
    if ta != tb:
        return False
    kind = ta.kind if ta is not None else Kind.INVALID
    if kind is Kind.SLICE:
        if getattr(a, "nil", False) != getattr(b, "nil", False):
            return False
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if kind is Kind.MAP:
        if getattr(a, "nil", False) != getattr(b, "nil", False):
            return False
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if kind in gotypes.FLOAT_KINDS or kind in gotypes.COMPLEX_KINDS:
        return bool(a == b)
    return bool(a == b)
