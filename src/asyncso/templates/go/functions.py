"""How a Go function looks to the template engine: its signature and its Go error.

Why: text/template checks every call against the function's Go signature (number of arguments,
variadic tail, parameter types), converts constants to the parameter's type, and wraps a
returned error as `error calling NAME: ...`. Each function of the library is declared here with
the Go signature of the function ESO registers, so those checks behave as in Go.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from asyncso.templates.go import gotypes
from asyncso.templates.go.gotypes import GoType


class GoError(Exception):
    """An error a Go function returned, or the value it panicked with; str() is the text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclasses.dataclass(frozen=True)
class GoFunc:
    """A function in the template's FuncMap.

    `params` are the fixed parameter types, `variadic` the element type of a final `...T`
    parameter. `impl` gets the arguments converted to those types and returns the result, or
    raises `GoError` for a returned error or a panic.
    """

    name: str
    params: tuple[GoType, ...]
    impl: Callable[..., Any]
    variadic: GoType | None = None
    #: text/template's goodFunc complaint for a signature it cannot call, or "".
    refused: str = ""


FuncMap = Mapping[str, GoFunc]

# Short names for parameter types in signature tables.
ANY = gotypes.INTERFACE
STRING = gotypes.STRING
INT = gotypes.INT
INT64 = gotypes.INT64
FLOAT64 = gotypes.FLOAT64
BOOL = gotypes.BOOL
VALUE = gotypes.REFLECT_VALUE
ANY_SLICE = gotypes.slice_type(gotypes.INTERFACE)
STRING_SLICE = gotypes.slice_type(gotypes.STRING)
ANY_MAP = gotypes.map_type(gotypes.STRING, gotypes.INTERFACE)


class Registry:
    """Collects functions declared with `@registry.func(...)` into a FuncMap."""

    def __init__(self) -> None:
        self.funcs: dict[str, GoFunc] = {}

    def func(
        self, *names: str, params: Iterable[GoType] = (), variadic: GoType | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register `impl` under each name with the given Go signature."""

        def register(impl: Callable[..., Any]) -> Callable[..., Any]:
            for name in names:
                self.funcs[name] = GoFunc(name, tuple(params), impl, variadic)
            return impl

        return register

    def add(self, name: str, impl: Callable[..., Any], *params: GoType) -> None:
        self.funcs[name] = GoFunc(name, tuple(params), impl)


def unbox(value: Any) -> Any:
    """The value inside an interface slot: a nil interface becomes the untyped nil."""
    if value is gotypes.NIL_INTERFACE:
        return None
    return value
