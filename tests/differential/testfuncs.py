"""The FuncMap of Go's exec_test.go (as the oracle's funcs "test"), as Go functions here."""

from __future__ import annotations

from typing import Any

from asyncso.templates.go import gofmt, gotypes
from asyncso.templates.go.functions import ANY, INT, STRING, GoError, GoFunc


def _add(*args: int) -> int:
    return gotypes.wrap_int(sum(args), gotypes.Kind.INT)


def _ddd(a: int, *b: str) -> str:
    return gofmt.sprintln(a, gotypes.StringSlice(b))


def _die() -> bool:
    raise GoError("die")


def _makemap(*args: str) -> Any:
    if len(args) % 2:
        raise GoError("bad makemap")
    return gotypes.StringMap(zip(args[::2], args[1::2], strict=True))


FUNCS: dict[str, GoFunc] = {
    "add": GoFunc("add", (), _add, variadic=INT),
    "dddArg": GoFunc("dddArg", (INT,), _ddd, variadic=STRING),
    "die": GoFunc("die", (), _die),
    "echo": GoFunc("echo", (ANY,), lambda arg: arg),
    "makemap": GoFunc("makemap", (), _makemap, variadic=STRING),
    "mapOfThree": GoFunc(
        "mapOfThree", (), lambda: gotypes.map_of(gotypes.STRING, gotypes.INT)({"three": 3})
    ),
    "oneArg": GoFunc("oneArg", (STRING,), lambda a: "oneArg=" + a),
    "returnInt": GoFunc("returnInt", (), lambda: 7),
    "twoArgs": GoFunc("twoArgs", (STRING, STRING), lambda a, b: "twoArgs=" + a + b),
    "typeOf": GoFunc("typeOf", (ANY,), lambda arg: gofmt.sprintf("%T", arg)),
    "valueString": GoFunc("valueString", (STRING,), lambda v: "value is ignored"),
    "zeroArgs": GoFunc("zeroArgs", (), lambda: "zeroArgs"),
}
