"""text/template's builtin functions (a port of text/template/funcs.go).

Why a port: `eq`, `lt`, `index`, `len`, `print*`, `html`, `js`, `urlquery` and friends are
used in almost every template, and their corner cases are Go's: `eq` with several arguments,
comparisons across int kinds, `incompatible types for comparison`, `index out of range: 5`.
Functions taking `reflect.Value` get values possibly still held in an interface slot (`Boxed`,
`NIL_INTERFACE`) and unwrap them as Go's `indirectInterface` does.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from asyncso.templates.go import gofmt, gotypes, strconv
from asyncso.templates.go.functions import (
    ANY,
    STRING,
    VALUE,
    GoError,
    GoFunc,
)
from asyncso.templates.go.gotypes import Kind


class Boxed:
    """A non-nil value held in an interface{} slot (a reflect.Value of kind Interface)."""

    __slots__ = ("value",)
    gotype = gotypes.INTERFACE

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Boxed({self.value!r})"


def box(value: Any) -> Any:
    """A value read from an interface-typed slot."""
    if value is None:
        return gotypes.NIL_INTERFACE
    return Boxed(value)


def indirect_interface(value: Any) -> Any:
    """Go's indirectInterface: the concrete value, or None for a nil interface."""
    if type(value) is Boxed:
        return value.value
    if value is gotypes.NIL_INTERFACE:
        return None
    return value


def indirect(value: Any) -> tuple[Any, bool]:
    """Go's indirect: through interfaces and pointers; (value, True) when one is nil."""
    if type(value) is Boxed:
        value = value.value
    elif value is gotypes.NIL_INTERFACE:
        return value, True
    is_pointer = isinstance(value, gotypes.GoObject) and value.gotype.kind is Kind.POINTER
    if is_pointer and gotypes.is_nil(value):
        return value, True
    return value, False


def truth(value: Any) -> bool:
    result, _ = gotypes.is_true(indirect_interface(value))
    return result


def zero_value(gotype: gotypes.GoType) -> Any:
    """reflect.Zero for the types a template meets."""
    kind = gotype.kind
    if kind is Kind.STRING:
        return ""
    if kind is Kind.BOOL:
        return False
    if kind in gotypes.INT_KINDS:
        return gotypes.INT_CLASSES[kind](0)
    if kind is Kind.FLOAT64:
        return 0.0
    if kind is Kind.FLOAT32:
        return gotypes.Float32(0.0)
    if kind in gotypes.COMPLEX_KINDS:
        return 0j
    if kind is Kind.INTERFACE:
        return gotypes.NIL_INTERFACE
    if kind is Kind.SLICE:
        assert gotype.elem is not None
        return gotypes.nil_of(gotypes.slice_of(gotype.elem))
    if kind is Kind.MAP:
        assert gotype.elem is not None and gotype.key is not None
        return gotypes.nil_of(gotypes.map_of(gotype.key, gotype.elem))
    return None


def can_be_nil(gotype: gotypes.GoType) -> bool:
    if gotype.kind in gotypes.NILABLE_KINDS:
        return True
    return gotype == gotypes.REFLECT_VALUE


def _element(container: Any, index: int) -> Any:
    """container[index] as reflect.Value.Index gives it (interface elements stay boxed)."""
    gotype = gotypes.type_of(container)
    assert gotype is not None
    if gotype.kind is Kind.STRING:
        data = gotypes.to_bytes(container)
        if index >= len(data):
            raise GoError("reflect: string index out of range")
        return gotypes.Uint8(data[index])
    if index >= len(container):
        raise GoError("reflect: slice index out of range")
    item = container[index]
    if type(container) is bytes:
        return gotypes.Uint8(item)
    if gotype.elem is not None and gotype.elem.kind is Kind.INTERFACE:
        return box(item)
    return item


def _index_arg(index: Any, cap: int) -> int:
    kind = gotypes.kind_of(index) if index is not None else Kind.INVALID
    if kind in gotypes.INT_KINDS:
        number = int(index)
    elif kind is Kind.INVALID:
        raise GoError("cannot index slice/array with nil")
    else:
        raise GoError(f"cannot index slice/array with type {gotypes.type_name(index)}")
    if number < 0 or number > cap:
        raise GoError(f"index out of range: {number}")
    return number


def prepare_arg(value: Any, target: gotypes.GoType) -> Any:
    """funcs.go prepareArg: a value for a map key or a `call` argument."""
    if value is None:
        if not can_be_nil(target):
            raise GoError(f"value is nil; should be of type {target}")
        return zero_value(target)
    value_type = gotypes.type_of(value)
    assert value_type is not None
    if gotypes.assignable(value_type, target):
        return value
    if value_type.kind in gotypes.INT_KINDS and target.kind in gotypes.INT_KINDS:
        return gotypes.wrap_int(int(value), target.kind)
    raise GoError(f"value has type {value_type}; should be {target}")


def index(item: Any, *indexes: Any) -> Any:
    item = indirect_interface(item)
    if item is None:
        raise GoError("index of untyped nil")
    for raw in indexes:
        position = indirect_interface(raw)
        item, nil = indirect(item)
        if nil:
            raise GoError("index of nil pointer")
        kind = gotypes.kind_of(item)
        if kind in (Kind.ARRAY, Kind.SLICE, Kind.STRING):
            item = _element(item, _index_arg(position, gotypes.go_len(item)))
        elif kind is Kind.MAP:
            gotype = item.gotype
            key = prepare_arg(position, gotype.key)
            if key in item:
                found = item[key]
                item = box(found) if gotype.elem.kind is Kind.INTERFACE else found
            else:
                item = zero_value(gotype.elem)
        else:
            raise GoError(f"can't index item of type {gotypes.type_name(item)}")
    return item


def slice_(item: Any, *indexes: Any) -> Any:
    item = indirect_interface(item)
    if item is None:
        raise GoError("slice of untyped nil")
    if len(indexes) > 3:
        raise GoError(f"too many slice indexes: {len(indexes)}")
    kind = gotypes.kind_of(item)
    if kind is Kind.STRING:
        if len(indexes) == 3:
            raise GoError("cannot 3-index slice a string")
        cap = gotypes.go_len(item)
    elif kind in (Kind.ARRAY, Kind.SLICE):
        cap = len(item)
    else:
        raise GoError(f"can't slice item of type {gotypes.type_name(item)}")
    idx = [0, gotypes.go_len(item), 0]
    for i, raw in enumerate(indexes):
        idx[i] = _index_arg(indirect_interface(raw), cap)
    if idx[0] > idx[1]:
        raise GoError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise GoError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if kind is Kind.STRING:
        return gotypes.from_bytes(gotypes.to_bytes(item)[idx[0] : idx[1]])
    result = type(item)(item[idx[0] : idx[1]])
    return result


def length(item: Any) -> int:
    item, nil = indirect(item)
    if nil:
        raise GoError("len of nil pointer")
    if item is None:
        raise GoError("reflect: call of reflect.Value.Type on zero Value")
    kind = gotypes.kind_of(item)
    if kind in (Kind.ARRAY, Kind.CHAN, Kind.MAP, Kind.SLICE, Kind.STRING):
        return gotypes.go_len(item)
    raise GoError(f"len of type {gotypes.type_name(item)}")


def not_(arg: Any) -> bool:
    return not truth(arg)


# --- comparison --------------------------------------------------------------------------

_BAD_TYPE = "invalid type for comparison"
_BAD_COMPARISON = "incompatible types for comparison"
_NO_COMPARISON = "missing argument for comparison"


def _basic_kind(value: Any) -> str:
    if value is None:
        return ""
    kind = gotypes.kind_of(value)
    if kind is Kind.BOOL:
        return "bool"
    if kind in gotypes.SIGNED_KINDS:
        return "int"
    if kind in gotypes.UNSIGNED_KINDS:
        return "uint"
    if kind in gotypes.FLOAT_KINDS:
        return "float"
    if kind in gotypes.COMPLEX_KINDS:
        return "complex"
    if kind is Kind.STRING:
        return "string"
    return ""


def _type_string(value: Any) -> str:
    return "<nil>" if value is None else gotypes.type_name(value)


def eq(arg1: Any, *arg2: Any) -> bool:
    arg1 = indirect_interface(arg1)
    if not arg2:
        raise GoError(_NO_COMPARISON)
    k1 = _basic_kind(arg1)
    for raw in arg2:
        arg = indirect_interface(raw)
        k2 = _basic_kind(arg)
        result = False
        if k1 != k2:
            if k1 == "int" and k2 == "uint":
                result = int(arg1) >= 0 and int(arg1) == int(arg)
            elif k1 == "uint" and k2 == "int":
                result = int(arg) >= 0 and int(arg1) == int(arg)
            elif arg1 is not None and arg is not None:
                raise GoError(_BAD_COMPARISON)
        elif k1 in ("bool", "complex", "float", "int", "string", "uint"):
            result = arg1 == arg
        else:
            result = _eq_other(arg1, arg)
        if result:
            return True
    return False


def _eq_other(arg1: Any, arg: Any) -> bool:
    kind1 = gotypes.kind_of(arg1) if arg1 is not None else Kind.INVALID
    kind2 = gotypes.kind_of(arg) if arg is not None else Kind.INVALID
    if kind1 != kind2 and Kind.INVALID not in (kind1, kind2):
        raise GoError(
            gofmt.sprintf(
                "non-comparable types %s: %v, %s: %v",
                arg1,
                _type_string(arg1),
                _type_string(arg),
                arg,
            )
        )
    nil1, nil2 = gotypes.is_nil(arg1), gotypes.is_nil(arg)
    if nil1 or nil2:
        return nil1 == nil2
    arg_type = gotypes.type_of(arg)
    assert arg_type is not None
    if not arg_type.comparable:
        raise GoError(gofmt.sprintf("non-comparable type %s: %v", arg, arg_type.name))
    if gotypes.type_of(arg1) != arg_type:
        return False
    return bool(arg1 == arg)


def ne(arg1: Any, arg2: Any) -> bool:
    return not eq(arg1, arg2)


def lt(arg1: Any, arg2: Any) -> bool:
    arg1 = indirect_interface(arg1)
    k1 = _basic_kind(arg1)
    if not k1:
        raise GoError(_BAD_TYPE)
    arg2 = indirect_interface(arg2)
    k2 = _basic_kind(arg2)
    if not k2:
        raise GoError(_BAD_TYPE)
    if k1 != k2:
        if k1 == "int" and k2 == "uint":
            return int(arg1) < 0 or int(arg1) < int(arg2)
        if k1 == "uint" and k2 == "int":
            return int(arg2) >= 0 and int(arg1) < int(arg2)
        raise GoError(_BAD_COMPARISON)
    if k1 in ("bool", "complex"):
        raise GoError(_BAD_TYPE)
    if k1 == "string":
        return bool(gotypes.sort_key(arg1) < gotypes.sort_key(arg2))
    return bool(arg1 < arg2)


def le(arg1: Any, arg2: Any) -> bool:
    if lt(arg1, arg2):
        return True
    return eq(arg1, arg2)


def gt(arg1: Any, arg2: Any) -> bool:
    return not le(arg1, arg2)


def ge(arg1: Any, arg2: Any) -> bool:
    return not lt(arg1, arg2)


# --- escapers ----------------------------------------------------------------------------


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and type(args[0]) is str:
        return str(args[0])
    printable = ["<no value>" if arg is None else arg for arg in args]
    return gofmt.sprint(*printable)


_HTML_ESCAPES = {"\0": "\ufffd", '"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}


def html_escape(text: str) -> str:
    """template.HTMLEscapeString."""
    if not any(ch in text for ch in "'\"&<>\0"):
        return text
    return "".join(_HTML_ESCAPES.get(ch, ch) for ch in text)


def html(*args: Any) -> str:
    return html_escape(_eval_args(args))


_JS_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "=": "\\u003D",
}


def js_escape(text: str) -> str:
    """template.JSEscapeString."""
    out = []
    for ch in text:
        code = ord(ch)
        escaped = _JS_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif code < 0x20:
            out.append(f"\\u00{code:02X}")
        elif code < 0x80 or 0xDC80 <= code <= 0xDCFF or strconv.is_print(code):
            out.append(ch)
        else:
            out.append(f"\\u{code:04X}")
    return "".join(out)


def js(*args: Any) -> str:
    return js_escape(_eval_args(args))


def query_escape(text: str) -> str:
    """url.QueryEscape."""
    return urllib.parse.quote_plus(gotypes.to_bytes(text), safe="-_.~")


def urlquery(*args: Any) -> str:
    return query_escape(_eval_args(args))


def _call(*_: Any) -> Any:  # replaced by the executor's special case
    raise GoError("unreachable")


def _sprintf(fmt: str, *args: Any) -> str:
    return gofmt.sprintf(fmt, *args)


BUILTINS: dict[str, GoFunc] = {
    "and": GoFunc("and", (VALUE,), _call, variadic=VALUE),
    "or": GoFunc("or", (VALUE,), _call, variadic=VALUE),
    "call": GoFunc("call", (VALUE,), _call, variadic=VALUE),
    "html": GoFunc("html", (), html, variadic=ANY),
    "index": GoFunc("index", (VALUE,), index, variadic=VALUE),
    "slice": GoFunc("slice", (VALUE,), slice_, variadic=VALUE),
    "js": GoFunc("js", (), js, variadic=ANY),
    "len": GoFunc("len", (VALUE,), length),
    "not": GoFunc("not", (VALUE,), not_),
    "print": GoFunc("print", (), gofmt.sprint, variadic=ANY),
    "printf": GoFunc("printf", (STRING,), _sprintf, variadic=ANY),
    "println": GoFunc("println", (), gofmt.sprintln, variadic=ANY),
    "urlquery": GoFunc("urlquery", (), urlquery, variadic=ANY),
    "eq": GoFunc("eq", (VALUE,), eq, variadic=VALUE),
    "ge": GoFunc("ge", (VALUE, VALUE), ge),
    "gt": GoFunc("gt", (VALUE, VALUE), gt),
    "le": GoFunc("le", (VALUE, VALUE), le),
    "lt": GoFunc("lt", (VALUE, VALUE), lt),
    "ne": GoFunc("ne", (VALUE, VALUE), ne),
}
