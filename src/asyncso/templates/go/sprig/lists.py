"""Sprig's list functions (list.go) and `split`/`splitList`/`join`/`toStrings`.

Why ports: they take `interface{}` and decide by reflect kind, so a string is "Cannot find
first on type string", a nil list is a nil-pointer panic, `rest` of an empty list is a nil
slice, and `uniq`/`has`/`without` compare with reflect.DeepEqual.
"""

from __future__ import annotations

import math
from typing import Any

from asyncso.templates.go import gotypes, limits
from asyncso.templates.go.functions import ANY, INT, STRING, GoError, Registry
from asyncso.templates.go.gotypes import Kind
from asyncso.templates.go.sprig import values
from asyncso.templates.go.sprig.values import deep_equal, elements, empty, strslice, strval

registry = Registry()


def _need_list(value: Any, message: str) -> list[Any]:
    k = values.kind(value)
    if k not in (Kind.SLICE, Kind.ARRAY):
        raise GoError(f"{message} {k.go_name}")
    return elements(value)


@registry.func("list", "tuple", variadic=ANY)
def list_(*items: Any) -> gotypes.GoSlice:
    return gotypes.IfaceSlice(items)


@registry.func("append", "push", "mustAppend", "mustPush", params=(ANY, ANY))
def push(items: Any, value: Any) -> gotypes.GoSlice:
    got = _need_list(items, "Cannot push on type")
    limits.check_size(len(got) + 1, "append")
    return gotypes.IfaceSlice([*got, value])


@registry.func("prepend", "mustPrepend", params=(ANY, ANY))
def prepend(items: Any, value: Any) -> gotypes.GoSlice:
    got = _need_list(items, "Cannot prepend on type")
    limits.check_size(len(got) + 1, "prepend")
    return gotypes.IfaceSlice([value, *got])


_CHUNKS = gotypes.slice_of(gotypes.slice_type(gotypes.INTERFACE))


@registry.func("chunk", "mustChunk", params=(INT, ANY))
def chunk(size: int, items: Any) -> gotypes.GoSlice:
    got = _need_list(items, "Cannot chunk type")
    length = len(got)
    if size == 0:  # Go divides floats by zero and converts the infinity to MinInt64
        raise GoError("runtime error: makeslice: len out of range")
    count = int(math.floor((length - 1) / size) + 1)
    if count < 0:
        raise GoError("runtime error: makeslice: len out of range")
    out = _CHUNKS()
    for i in range(count):
        clen = size
        if i == count - 1:
            clen = math.floor(math.fmod(length, size))
            if clen == 0:
                clen = size
        if clen < 0:
            raise GoError("runtime error: makeslice: len out of range")
        row = gotypes.IfaceSlice()
        for j in range(clen):
            index = i * size + j
            if index >= length:
                raise GoError("reflect: slice index out of range")
            row.append(got[index])
        out.append(row)
    return out


@registry.func("last", "mustLast", params=(ANY,))
def last(items: Any) -> Any:
    got = _need_list(items, "Cannot find last on type")
    return got[-1] if got else None


@registry.func("first", "mustFirst", params=(ANY,))
def first(items: Any) -> Any:
    got = _need_list(items, "Cannot find first on type")
    return got[0] if got else None


@registry.func("rest", "mustRest", params=(ANY,))
def rest(items: Any) -> gotypes.GoSlice:
    got = _need_list(items, "Cannot find rest on type")
    if not got:
        empty: gotypes.GoSlice = gotypes.nil_of(gotypes.IfaceSlice)
        return empty
    return gotypes.IfaceSlice(got[1:])


@registry.func("initial", "mustInitial", params=(ANY,))
def initial(items: Any) -> gotypes.GoSlice:
    got = _need_list(items, "Cannot find initial on type")
    if not got:
        empty: gotypes.GoSlice = gotypes.nil_of(gotypes.IfaceSlice)
        return empty
    return gotypes.IfaceSlice(got[:-1])


@registry.func("sortAlpha", params=(ANY,))
def sort_alpha(items: Any) -> gotypes.GoSlice:
    if items is not None and gotypes.kind_of(items) in (Kind.SLICE, Kind.ARRAY):
        out = gotypes.StringSlice(strslice(items))
        out.sort(key=gotypes.sort_key)
        return out
    return gotypes.StringSlice([strval(items)])


@registry.func("reverse", "mustReverse", params=(ANY,))
def reverse(items: Any) -> gotypes.GoSlice:
    got = _need_list(items, "Cannot find reverse on type")
    return gotypes.IfaceSlice(reversed(got))


@registry.func("compact", "mustCompact", params=(ANY,))
def compact(items: Any) -> gotypes.GoSlice:
    got = _need_list(items, "Cannot compact on type")
    return gotypes.IfaceSlice(item for item in got if not empty(item))


def in_list(haystack: list[Any], needle: Any) -> bool:
    return any(deep_equal(needle, item) for item in haystack)


@registry.func("uniq", "mustUniq", params=(ANY,))
def uniq(items: Any) -> gotypes.GoSlice:
    got = _need_list(items, "Cannot find uniq on type")
    out: list[Any] = []
    for item in got:
        if not in_list(out, item):
            out.append(item)
    return gotypes.IfaceSlice(out)


@registry.func("without", "mustWithout", params=(ANY,), variadic=ANY)
def without(items: Any, *omit: Any) -> gotypes.GoSlice:
    got = _need_list(items, "Cannot find without on type")
    return gotypes.IfaceSlice(item for item in got if not in_list(list(omit), item))


@registry.func("has", "mustHas", params=(ANY, ANY))
def has(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    got = _need_list(haystack, "Cannot find has on type")
    return in_list(got, needle)


@registry.func("slice", "mustSlice", params=(ANY,), variadic=ANY)
def slice_(items: Any, *indices: Any) -> Any:
    k = values.kind(items)
    if k not in (Kind.SLICE, Kind.ARRAY):
        raise GoError(f"list should be type of slice or array but {k.go_name}")
    length = len(items)
    if length == 0:
        return None
    start = values.to_int(indices[0]) if indices else 0
    end = length if len(indices) < 2 else values.to_int(indices[1])
    if start < 0 or end < start or end > length:
        raise GoError("reflect.Value.Slice: slice index out of bounds")
    out = type(items)(items[start:end]) if type(items) is not bytes else items[start:end]
    return out


@registry.func("concat", variadic=ANY)
def concat(*lists: Any) -> gotypes.GoSlice:
    out: gotypes.GoSlice = gotypes.nil_of(gotypes.IfaceSlice)
    for items in lists:
        k = values.kind(items)
        if k not in (Kind.SLICE, Kind.ARRAY):
            raise GoError(f"Cannot concat type {k.go_name} as list")
        limits.check_size(len(out) + len(items), "concat")
        out.extend(elements(items))
        if out:
            out.nil = False
    return out


@registry.func("split", params=(STRING, STRING))
def split(sep: str, text: str) -> gotypes.GoMap:
    return gotypes.StringMap({f"_{i}": part for i, part in enumerate(go_split(text, sep))})


@registry.func("splitn", params=(STRING, INT, STRING))
def splitn(sep: str, count: int, text: str) -> gotypes.GoMap:
    return gotypes.StringMap({f"_{i}": part for i, part in enumerate(go_split(text, sep, count))})


@registry.func("splitList", params=(STRING, STRING))
def split_list(sep: str, text: str) -> gotypes.GoSlice:
    return gotypes.StringSlice(go_split(text, sep))


def go_split(text: str, sep: str, count: int = -1) -> list[str]:
    """strings.Split / SplitN (an empty separator splits into runes)."""
    if count == 0:
        return []
    if sep == "":
        if count < 0 or count > len(text):
            count = len(text)
        limits.check_size(count, "split")
        return [*text[: count - 1], text[count - 1 :]] if count > 0 else []
    limits.check_size(text.count(sep) + 1, "split")
    if count < 0:
        return text.split(sep)
    return text.split(sep, count - 1)


@registry.func("toStrings", params=(ANY,))
def to_strings(value: Any) -> gotypes.GoSlice:
    return strslice(value)


@registry.func("join", params=(STRING, ANY))
def join(sep: str, value: Any) -> str:
    parts = strslice(value)
    limits.check_size(sum(len(p) for p in parts) + len(sep) * len(parts), "join")
    return sep.join(parts)
