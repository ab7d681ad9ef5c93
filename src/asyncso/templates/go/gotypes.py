"""Go's types and values as the template engine sees them (a small `reflect`).

Why: Go's text/template decides by static type whether a value may be passed to a function
(`repeat (add 1 2) "x"` fails because `add` returns int64 and `repeat` wants int), prints values
by kind, and compares them by kind. Python's `int` cannot tell int from int64, so each Go type
that a template can meet has a Python representation here:

- `str` is Go's string (bytes as UTF-8; undecodable bytes are kept as surrogates, so a binary
  value survives), `bool` is bool, `int` is Go's int, `float` is float64, `complex` is
  complex128, and `None` is the untyped nil (an invalid `reflect.Value`);
- the other integer kinds are `int` subclasses (`Int64`, `Uint8`, ...), float32 is `Float32`;
- slices and maps are `GoSlice`/`GoMap` subclasses made per type by `slice_of`/`map_of`, which
  carry their Go type and whether they are nil;
- `NIL_INTERFACE` is a nil stored in an `interface{}` slot, which Go treats differently from an
  invalid value until a pipeline unwraps it;
- values with methods (time.Time, *semver.Version, ...) are `GoObject` subclasses with a method
  table the executor consults, exactly as Go's `MethodByName`.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar


class Kind(enum.IntEnum):
    """reflect.Kind, with its names as Go prints them."""

    INVALID = 0
    BOOL = 1
    INT = 2
    INT8 = 3
    INT16 = 4
    INT32 = 5
    INT64 = 6
    UINT = 7
    UINT8 = 8
    UINT16 = 9
    UINT32 = 10
    UINT64 = 11
    UINTPTR = 12
    FLOAT32 = 13
    FLOAT64 = 14
    COMPLEX64 = 15
    COMPLEX128 = 16
    ARRAY = 17
    CHAN = 18
    FUNC = 19
    INTERFACE = 20
    MAP = 21
    POINTER = 22
    SLICE = 23
    STRING = 24
    STRUCT = 25

    @property
    def go_name(self) -> str:
        if self is Kind.POINTER:
            return "ptr"
        return self.name.lower()


SIGNED_KINDS = frozenset({Kind.INT, Kind.INT8, Kind.INT16, Kind.INT32, Kind.INT64})
UNSIGNED_KINDS = frozenset(
    {Kind.UINT, Kind.UINT8, Kind.UINT16, Kind.UINT32, Kind.UINT64, Kind.UINTPTR}
)
INT_KINDS = SIGNED_KINDS | UNSIGNED_KINDS
FLOAT_KINDS = frozenset({Kind.FLOAT32, Kind.FLOAT64})
COMPLEX_KINDS = frozenset({Kind.COMPLEX64, Kind.COMPLEX128})
NILABLE_KINDS = frozenset(
    {Kind.CHAN, Kind.FUNC, Kind.INTERFACE, Kind.MAP, Kind.POINTER, Kind.SLICE}
)

_INT_BITS = {
    Kind.INT: 64,
    Kind.INT8: 8,
    Kind.INT16: 16,
    Kind.INT32: 32,
    Kind.INT64: 64,
    Kind.UINT: 64,
    Kind.UINT8: 8,
    Kind.UINT16: 16,
    Kind.UINT32: 32,
    Kind.UINT64: 64,
    Kind.UINTPTR: 64,
}


@dataclasses.dataclass(frozen=True, eq=True)
class GoType:
    """A Go type: its kind, its name as `reflect.Type.String()` prints it, key and element."""

    kind: Kind
    name: str
    elem: GoType | None = None
    key: GoType | None = None
    #: True for struct types whose values Go can compare with == (time.Time is).
    comparable: bool = True

    def __str__(self) -> str:
        return self.name


def _basic(kind: Kind, name: str | None = None) -> GoType:
    return GoType(kind, name or kind.go_name)


BOOL = _basic(Kind.BOOL)
INT = _basic(Kind.INT)
INT8 = _basic(Kind.INT8)
INT16 = _basic(Kind.INT16)
INT32 = _basic(Kind.INT32)
INT64 = _basic(Kind.INT64)
UINT = _basic(Kind.UINT)
UINT8 = _basic(Kind.UINT8)
UINT16 = _basic(Kind.UINT16)
UINT32 = _basic(Kind.UINT32)
UINT64 = _basic(Kind.UINT64)
UINTPTR = _basic(Kind.UINTPTR)
FLOAT32 = _basic(Kind.FLOAT32)
FLOAT64 = _basic(Kind.FLOAT64)
COMPLEX64 = _basic(Kind.COMPLEX64)
COMPLEX128 = _basic(Kind.COMPLEX128)
STRING = _basic(Kind.STRING)
INTERFACE = GoType(Kind.INTERFACE, "interface {}")
ERROR = GoType(Kind.INTERFACE, "error")
#: The parameter type of builtins that take `reflect.Value` (and, or, eq, index, ...).
REFLECT_VALUE = GoType(Kind.STRUCT, "reflect.Value")


@functools.cache
def slice_type(elem: GoType) -> GoType:
    return GoType(Kind.SLICE, f"[]{elem.name}", elem=elem, comparable=False)


@functools.cache
def map_type(key: GoType, elem: GoType) -> GoType:
    return GoType(Kind.MAP, f"map[{key.name}]{elem.name}", elem=elem, key=key, comparable=False)


@functools.cache
def pointer_type(elem: GoType) -> GoType:
    return GoType(Kind.POINTER, f"*{elem.name}", elem=elem)


# --- integer and float kinds other than int and float64 ---------------------------------------


class GoInt(int):
    """An integer of a Go kind other than `int`; arithmetic on it gives a plain int."""

    gotype: ClassVar[GoType] = INT

    def __repr__(self) -> str:
        return f"{self.gotype.name}({int(self)})"


def _int_class(gotype: GoType) -> type[GoInt]:
    return type(gotype.name.capitalize(), (GoInt,), {"gotype": gotype, "__slots__": ()})


Int8 = _int_class(INT8)
Int16 = _int_class(INT16)
Int32 = _int_class(INT32)
Int64 = _int_class(INT64)
Uint = _int_class(UINT)
Uint8 = _int_class(UINT8)
Uint16 = _int_class(UINT16)
Uint32 = _int_class(UINT32)
Uint64 = _int_class(UINT64)
Uintptr = _int_class(UINTPTR)

INT_CLASSES: dict[Kind, Callable[[int], int]] = {
    Kind.INT: int,
    Kind.INT8: Int8,
    Kind.INT16: Int16,
    Kind.INT32: Int32,
    Kind.INT64: Int64,
    Kind.UINT: Uint,
    Kind.UINT8: Uint8,
    Kind.UINT16: Uint16,
    Kind.UINT32: Uint32,
    Kind.UINT64: Uint64,
    Kind.UINTPTR: Uintptr,
}


class Float32(float):
    """A float32 value (held exactly, rounded to float32 when made)."""

    gotype: ClassVar[GoType] = FLOAT32
    __slots__ = ()

    def __repr__(self) -> str:
        return f"float32({float(self)})"


def wrap_int(value: int, kind: Kind) -> int:
    """`value` converted to a Go integer of `kind`, wrapping around as Go's conversion does."""
    bits = _INT_BITS[kind]
    mask = (1 << bits) - 1
    value &= mask
    if kind in SIGNED_KINDS and value >> (bits - 1):
        value -= 1 << bits
    return INT_CLASSES[kind](value)


def int_fits(value: int, kind: Kind) -> bool:
    bits = _INT_BITS[kind]
    if kind in SIGNED_KINDS:
        return -(1 << (bits - 1)) <= value < (1 << (bits - 1))
    return 0 <= value < (1 << bits)


# --- containers ------------------------------------------------------------------------------


class GoSlice(list[Any]):
    """A Go slice; the subclass made by `slice_of` carries the element type."""

    gotype: ClassVar[GoType] = slice_type(INTERFACE)
    nil: bool = False

    def __repr__(self) -> str:
        return f"{self.gotype.name}{list.__repr__(self)}"


class GoMap(dict[str, Any]):
    """A Go map with string keys; the subclass made by `map_of` carries key and element type."""

    gotype: ClassVar[GoType] = map_type(STRING, INTERFACE)
    nil: bool = False

    def __repr__(self) -> str:
        return f"{self.gotype.name}{dict.__repr__(self)}"


@functools.cache
def slice_of(elem: GoType) -> type[GoSlice]:
    """The Python class of Go's `[]elem`."""
    gotype = slice_type(elem)
    return type(f"Slice[{elem.name}]", (GoSlice,), {"gotype": gotype})


@functools.cache
def map_of(key: GoType, elem: GoType) -> type[GoMap]:
    """The Python class of Go's `map[key]elem`."""
    gotype = map_type(key, elem)
    return type(f"Map[{key.name}]{elem.name}", (GoMap,), {"gotype": gotype})


IfaceSlice = slice_of(INTERFACE)
StringSlice = slice_of(STRING)
IntSlice = slice_of(INT)
ByteSlice = slice_of(UINT8)
IfaceMap = map_of(STRING, INTERFACE)
StringMap = map_of(STRING, STRING)


def nil_of(cls: type[GoSlice] | type[GoMap]) -> Any:
    """A nil slice or map of the class's type."""
    value = cls()
    value.nil = True
    return value


def iface_slice(items: Iterable[Any] = ()) -> GoSlice:
    return IfaceSlice(items)


def string_slice(items: Iterable[str] = ()) -> GoSlice:
    return StringSlice(items)


def iface_map(items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> GoMap:
    return IfaceMap(items)


class _NilInterface:
    """A nil held in an interface{} slot (a map element, a slice element, a result)."""

    gotype: ClassVar[GoType] = INTERFACE
    __slots__ = ()

    def __repr__(self) -> str:
        return "NIL_INTERFACE"

    def __bool__(self) -> bool:
        return False


NIL_INTERFACE: Any = _NilInterface()


# --- values with methods -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Method:
    """A Go method: parameter types (receiver excluded), variadic element type, the code."""

    params: tuple[GoType, ...]
    impl: Callable[..., Any]
    variadic: GoType | None = None
    returns_error: bool = False
    #: Go signatures that text/template refuses to call, with Go's reason.
    refused: str = ""


class GoObject:
    """A Go value of a named type with methods (time.Time, *semver.Version, time.Month, ...)."""

    gotype: ClassVar[GoType]
    go_methods: ClassVar[Mapping[str, Method]] = {}

    def go_string(self) -> str | None:
        """The result of the value's String() method, or None when it has none."""
        return None

    def go_fields(self) -> list[Any]:
        """The struct fields in order, for printing a struct without a String method."""
        return []

    def go_field(self, name: str) -> tuple[bool, Any]:
        """An exported struct field: (found, value)."""
        return False, None


# --- typing a value ------------------------------------------------------------------------

_PLAIN_TYPES: dict[type, GoType] = {
    str: STRING,
    bool: BOOL,
    int: INT,
    float: FLOAT64,
    complex: COMPLEX128,
    bytes: slice_type(UINT8),
}


def type_of(value: Any) -> GoType | None:
    """The dynamic Go type of a value; None for the untyped nil."""
    plain = _PLAIN_TYPES.get(type(value))
    if plain is not None:
        return plain
    if value is None:
        return None
    gotype: GoType | None = getattr(value, "gotype", None)
    if gotype is None:
        raise TypeError(f"not a Go value: {type(value).__name__}")
    return gotype


def kind_of(value: Any) -> Kind:
    gotype = type_of(value)
    return Kind.INVALID if gotype is None else gotype.kind


def type_name(value: Any) -> str:
    """`%T` of a value: Go's type name, or `<nil>`."""
    gotype = type_of(value)
    return "<nil>" if gotype is None else gotype.name


def is_nil(value: Any) -> bool:
    """Go's `isNil` of funcs.go: invalid, or a nil slice/map/pointer/interface."""
    if value is None or value is NIL_INTERFACE:
        return True
    return bool(getattr(value, "nil", False))


def assignable(value_type: GoType, target: GoType) -> bool:
    """reflect's AssignableTo for the types a template can meet."""
    if value_type == target:
        return True
    return target.kind is Kind.INTERFACE and target.name == "interface {}"


def implements_error(value_type: GoType) -> bool:
    return value_type == ERROR


def go_len(value: Any) -> int:
    """len() of a string (in bytes), slice or map."""
    if type(value) is str:
        return utf8_len(value)
    return len(value)


def utf8_len(text: str) -> int:
    """Length of a Go string in bytes."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogateescape"))


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def from_bytes(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def is_true(value: Any) -> tuple[bool, bool]:
    """Go's isTrue: (truth, ok) of a value, with ok False when it has no truth value."""
    if value is None or value is NIL_INTERFACE:
        return False, True
    kind = kind_of(value)
    if kind in (Kind.STRING, Kind.SLICE, Kind.MAP, Kind.ARRAY):
        return len(value) > 0, True
    if kind is Kind.BOOL or kind in INT_KINDS or kind in FLOAT_KINDS or kind in COMPLEX_KINDS:
        return value != 0, True
    if kind is Kind.POINTER or kind is Kind.INTERFACE or kind is Kind.FUNC:
        return not is_nil(value), True
    if kind is Kind.STRUCT:
        return True, True
    return False, False


def sort_key(key: Any) -> Any:
    """The order of Go's fmtsort for the map keys a template can meet."""
    if type(key) is str:
        return key.encode("utf-8", "surrogateescape")
    return key


def sorted_items(mapping: Mapping[Any, Any]) -> list[tuple[Any, Any]]:
    return sorted(mapping.items(), key=lambda item: sort_key(item[0]))
