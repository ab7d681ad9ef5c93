"""Sprig's numeric functions (numeric.go and the arithmetic in functions.go).

Why exact ports: integer arithmetic is int64 with wrap-around (`add` returns int64, so
`repeat (add 1 2) "x"` is a type error in Go), conversions go through cast, `div 1 0` panics
with Go's runtime message, and the float functions go through shopspring/decimal, whose
division rounds to 16 decimal places.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from asyncso.templates.go import gofmt, gotypes, limits, strconv
from asyncso.templates.go.functions import ANY, FLOAT64, INT, GoError, Registry
from asyncso.templates.go.gotypes import Int64, Kind
from asyncso.templates.go.sprig import values
from asyncso.templates.go.sprig.values import to_float64, to_int, to_int64

registry = Registry()

_DIVIDE_BY_ZERO = "runtime error: integer divide by zero"


def _i64(value: int) -> int:
    return gotypes.wrap_int(value, Kind.INT64)


registry.add("int64", lambda v: Int64(to_int64(v)), ANY)
registry.add("int", lambda v: to_int(v), ANY)
registry.add("float64", lambda v: to_float64(v), ANY)


@registry.func("atoi", params=(gotypes.STRING,))
def atoi(text: str) -> int:
    """strconv.Atoi, errors ignored: 0 for bad syntax, the clamped value out of range."""
    try:
        return strconv.parse_int(text, 10, 64)
    except strconv.RangeErr:
        return (1 << 63) - 1 if not text.startswith("-") else -(1 << 63)
    except ValueError:
        return 0


@registry.func("add1", params=(ANY,))
def add1(value: Any) -> int:
    return _i64(to_int64(value) + 1)


@registry.func("add", variadic=ANY)
def add(*items: Any) -> int:
    total = 0
    for item in items:
        total = gotypes.wrap_int(total + to_int64(item), Kind.INT64)
    return Int64(total)


@registry.func("sub", params=(ANY, ANY))
def sub(a: Any, b: Any) -> int:
    return _i64(to_int64(a) - to_int64(b))


def _go_div(a: int, b: int) -> int:
    if b == 0:
        raise GoError(_DIVIDE_BY_ZERO)
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


@registry.func("div", params=(ANY, ANY))
def div(a: Any, b: Any) -> int:
    return _i64(_go_div(to_int64(a), to_int64(b)))


@registry.func("mod", params=(ANY, ANY))
def mod(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise GoError(_DIVIDE_BY_ZERO)
    return _i64(x - _go_div(x, y) * y)


@registry.func("mul", params=(ANY,), variadic=ANY)
def mul(a: Any, *rest: Any) -> int:
    value = to_int64(a)
    for item in rest:
        value = gotypes.wrap_int(value * to_int64(item), Kind.INT64)
    return Int64(value)


@registry.func("randInt", params=(INT, INT))
def rand_int(low: int, high: int) -> int:
    import secrets

    span = high - low
    if span <= 0:
        raise GoError("invalid argument to Intn")
    return low + secrets.randbelow(span)


# --- shopspring/decimal ----------------------------------------------------------------------


def _decimal_of(value: Any) -> Fraction:
    """decimal.NewFromFloat(cast.ToFloat64(value)): the float's shortest decimal, exactly."""
    number = to_float64(value)
    if math.isnan(number) or math.isinf(number):
        raise GoError(f"Cannot create a Decimal from {strconv.format_float(number, 'g', -1)}")
    return Fraction(repr(number)) if number else Fraction(0)


def _div_round(a: Fraction, b: Fraction) -> Fraction:
    """Decimal.Div: DivRound to 16 places, half away from zero."""
    if b == 0:
        raise GoError("decimal division by 0")
    scale = 10**16
    quotient = a / b
    magnitude = abs(quotient) * scale
    whole = math.floor(magnitude)
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    result = Fraction(whole, scale)
    return result if quotient >= 0 else -result


def _decimal_op(first: Any, rest: tuple[Any, ...], op: str) -> float:
    total = _decimal_of(first)
    for item in rest:
        other = _decimal_of(item)
        if op == "+":
            total += other
        elif op == "-":
            total -= other
        elif op == "*":
            total *= other
        else:
            total = _div_round(total, other)
    return float(total)


@registry.func("add1f", params=(ANY,))
def add1f(value: Any) -> float:
    return _decimal_op(value, (1,), "+")


@registry.func("addf", variadic=ANY)
def addf(*items: Any) -> float:
    return _decimal_op(0.0, items, "+")


@registry.func("subf", params=(ANY,), variadic=ANY)
def subf(first: Any, *rest: Any) -> float:
    return _decimal_op(first, rest, "-")


@registry.func("divf", params=(ANY,), variadic=ANY)
def divf(first: Any, *rest: Any) -> float:
    return _decimal_op(first, rest, "/")


@registry.func("mulf", params=(ANY,), variadic=ANY)
def mulf(first: Any, *rest: Any) -> float:
    return _decimal_op(first, rest, "*")


@registry.func("biggest", "max", params=(ANY,), variadic=ANY)
def biggest(first: Any, *rest: Any) -> int:
    best = to_int64(first)
    for item in rest:
        best = max(best, to_int64(item))
    return Int64(best)


@registry.func("min", params=(ANY,), variadic=ANY)
def smallest(first: Any, *rest: Any) -> int:
    best = to_int64(first)
    for item in rest:
        best = min(best, to_int64(item))
    return Int64(best)


def _go_max(a: float, b: float) -> float:
    """math.Max: NaN wins, +0 beats -0."""
    if (math.isinf(a) and a > 0) or (math.isinf(b) and b > 0):
        return math.inf
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == 0 and b == 0:
        return b if math.copysign(1, a) < 0 else a
    return a if a > b else b


def _go_min(a: float, b: float) -> float:
    """math.Min: NaN wins, -0 beats +0."""
    if (math.isinf(a) and a < 0) or (math.isinf(b) and b < 0):
        return -math.inf
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == 0 and b == 0:
        return a if math.copysign(1, a) < 0 else b
    return a if a < b else b


@registry.func("maxf", params=(ANY,), variadic=ANY)
def maxf(first: Any, *rest: Any) -> float:
    best = to_float64(first)
    for item in rest:
        best = _go_max(best, to_float64(item))
    return best


@registry.func("minf", params=(ANY,), variadic=ANY)
def minf(first: Any, *rest: Any) -> float:
    best = to_float64(first)
    for item in rest:
        best = _go_min(best, to_float64(item))
    return best


def go_ceil(number: float) -> float:
    """math.Ceil (infinities and NaN pass through)."""
    return number if math.isinf(number) or math.isnan(number) else float(math.ceil(number))


def go_floor(number: float) -> float:
    """math.Floor."""
    return number if math.isinf(number) or math.isnan(number) else float(math.floor(number))


def go_pow10(power: float) -> float:
    """math.Pow(10, power) (overflow gives +Inf, underflow 0)."""
    try:
        return math.pow(10.0, power)
    except OverflowError:
        return math.inf


def _go_div_float(a: float, b: float) -> float:
    """IEEE division as Go does it (x/0 is ±Inf or NaN)."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


@registry.func("ceil", params=(ANY,))
def ceil(value: Any) -> float:
    return go_ceil(to_float64(value))


@registry.func("floor", params=(ANY,))
def floor(value: Any) -> float:
    return go_floor(to_float64(value))


@registry.func("round", params=(ANY, INT), variadic=FLOAT64)
def round_(value: Any, places: int, *round_on: float) -> float:
    threshold = round_on[0] if round_on else 0.5
    number = to_float64(value)
    power = go_pow10(float(places))
    undefined = (math.isinf(power) and number == 0) or math.isnan(number)
    digit = math.nan if undefined else power * number
    fraction = math.nan if math.isinf(digit) or math.isnan(digit) else math.modf(digit)[0]
    rounded = go_ceil(digit) if fraction >= threshold else go_floor(digit)
    return _go_div_float(rounded, power)


@registry.func("toDecimal", params=(ANY,))
def to_decimal(value: Any) -> int:
    """strconv.ParseInt(fmt.Sprint(v), 8, 64), 0 on error (an octal string to its value)."""
    try:
        return Int64(strconv.parse_int(gofmt.sprint(value), 8, 64))
    except ValueError:
        return Int64(0)


def until_step(start: int, stop: int, step: int) -> gotypes.GoSlice:
    out = gotypes.IntSlice()
    if stop < start:
        if step >= 0:
            return out
        limits.check_size((start - stop) // -step, "until")
        out.extend(range(start, stop, step))
        return out
    if step <= 0:
        return out
    limits.check_size((stop - start) // step, "until")
    out.extend(range(start, stop, step))
    return out


@registry.func("until", params=(INT,))
def until(count: int) -> gotypes.GoSlice:
    return until_step(0, count, -1 if count < 0 else 1)


@registry.func("untilStep", params=(INT, INT, INT))
def until_step_(start: int, stop: int, step: int) -> gotypes.GoSlice:
    return until_step(start, stop, step)


def _join_ints(items: gotypes.GoSlice) -> str:
    return " ".join(str(i) for i in items)


@registry.func("seq", variadic=INT)
def seq(*params: int) -> str:
    increment = 1
    if len(params) == 1:
        start, end = 1, params[0]
        if end < start:
            increment = -1
        return _join_ints(until_step(start, end + increment, increment))
    if len(params) == 3:
        start, step, end = params
        if end < start:
            increment = -1
            if step > 0:
                return ""
        return _join_ints(until_step(start, end + increment, step))
    if len(params) == 2:
        start, end = params
        step = -1 if end < start else 1
        return _join_ints(until_step(start, end + step, step))
    return ""


__all__ = ["registry", "values"]
