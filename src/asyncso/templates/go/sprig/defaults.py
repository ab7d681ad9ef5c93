"""Sprig's defaults.go (default, empty, coalesce, all, any, JSON, ternary), reflect.go, and
the dictionary functions of dict.go (with mergo's merge rules for map[string]interface{}).

Why ports: "empty" is Go's zero value by kind (0, "", false, nil, empty collections; structs
never), `default` is the function most ESO templates use, and `merge` follows mergo v1.0.2
(ESO's pin), whose rules for nested maps and empty values are easy to get subtly wrong.
"""

from __future__ import annotations

import copy
from typing import Any

from asyncso.templates.go import gotypes
from asyncso.templates.go.functions import ANY, ANY_MAP, BOOL, STRING, GoError, Registry
from asyncso.templates.go.gotypes import Kind
from asyncso.templates.go.sprig import gojson, values
from asyncso.templates.go.sprig.values import deep_equal, empty, strval

registry = Registry()


@registry.func("default", params=(ANY,), variadic=ANY)
def default(fallback: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return fallback
    return given[0]


registry.add("empty", empty, ANY)


@registry.func("coalesce", variadic=ANY)
def coalesce(*items: Any) -> Any:
    for item in items:
        if not empty(item):
            return item
    return None


@registry.func("all", variadic=ANY)
def all_(*items: Any) -> bool:
    return all(not empty(item) for item in items)


@registry.func("any", variadic=ANY)
def any_(*items: Any) -> bool:
    return any(not empty(item) for item in items)


@registry.func("fromJson", params=(STRING,))
def from_json(text: str) -> Any:
    value, _ = gojson.unmarshal_partial(text)
    return value


@registry.func("mustFromJson", params=(STRING,))
def must_from_json(text: str) -> Any:
    return gojson.unmarshal(text)


@registry.func("toJson", params=(ANY,))
def to_json(value: Any) -> str:
    try:
        return gojson.marshal(value)
    except gojson.JSONError:
        return ""


@registry.func("mustToJson", params=(ANY,))
def must_to_json(value: Any) -> str:
    return gojson.marshal(value)


@registry.func("toPrettyJson", params=(ANY,))
def to_pretty_json(value: Any) -> str:
    try:
        return gojson.marshal_indent(value)
    except gojson.JSONError:
        return ""


@registry.func("mustToPrettyJson", params=(ANY,))
def must_to_pretty_json(value: Any) -> str:
    return gojson.marshal_indent(value)


@registry.func("toRawJson", "mustToRawJson", params=(ANY,))
def to_raw_json(value: Any) -> str:
    return gojson.marshal(value, escape_html=False)


@registry.func("ternary", params=(ANY, ANY, BOOL))
def ternary(if_true: Any, if_false: Any, condition: bool) -> Any:
    return if_true if condition else if_false


def _deep_copy(value: Any) -> Any:
    if isinstance(value, gotypes.GoMap):
        out = type(value)({k: _deep_copy(v) for k, v in value.items()})
        out.nil = value.nil
        return out
    if isinstance(value, gotypes.GoSlice):
        out_list = type(value)(_deep_copy(v) for v in value)
        out_list.nil = value.nil
        return out_list
    return copy.copy(value) if isinstance(value, gotypes.GoObject) else value


@registry.func("deepCopy", "mustDeepCopy", params=(ANY,))
def deep_copy(value: Any) -> Any:
    return _deep_copy(value)


# --- reflect.go -----------------------------------------------------------------------------


def type_of(value: Any) -> str:
    return gotypes.type_name(value)


def kind_of(value: Any) -> str:
    if value is None:
        return "invalid"
    return gotypes.kind_of(value).go_name


registry.add("typeOf", type_of, ANY)
registry.add("kindOf", kind_of, ANY)
registry.add("typeIs", lambda target, value: target == type_of(value), STRING, ANY)
registry.add(
    "typeIsLike",
    lambda target, value: type_of(value) in (target, "*" + target),
    STRING,
    ANY,
)
registry.add("kindIs", lambda target, value: target == kind_of(value), STRING, ANY)
registry.add("deepEqual", deep_equal, ANY, ANY)


# --- dict.go -------------------------------------------------------------------------------


def _new_map() -> gotypes.GoMap:
    return gotypes.IfaceMap()


@registry.func("get", params=(ANY_MAP, STRING))
def get(mapping: gotypes.GoMap, key: str) -> Any:
    return mapping.get(key, "")


def _writable(mapping: gotypes.GoMap) -> gotypes.GoMap:
    if mapping.nil:
        raise GoError("assignment to entry in nil map")
    return mapping


@registry.func("set", params=(ANY_MAP, STRING, ANY))
def set_(mapping: gotypes.GoMap, key: str, value: Any) -> gotypes.GoMap:
    _writable(mapping)[key] = value
    return mapping


@registry.func("unset", params=(ANY_MAP, STRING))
def unset(mapping: gotypes.GoMap, key: str) -> gotypes.GoMap:
    mapping.pop(key, None)
    return mapping


@registry.func("hasKey", params=(ANY_MAP, STRING))
def has_key(mapping: gotypes.GoMap, key: str) -> bool:
    return key in mapping


@registry.func("pluck", params=(STRING,), variadic=ANY_MAP)
def pluck(key: str, *mappings: gotypes.GoMap) -> gotypes.GoSlice:
    return gotypes.IfaceSlice(m[key] for m in mappings if key in m)


@registry.func("keys", variadic=ANY_MAP)
def keys(*mappings: gotypes.GoMap) -> gotypes.GoSlice:
    """Go returns map keys in random order; here each map's keys come sorted."""
    out = gotypes.StringSlice()
    for mapping in mappings:
        out.extend(sorted(mapping, key=gotypes.sort_key))
    return out


@registry.func("pick", params=(ANY_MAP,), variadic=STRING)
def pick(mapping: gotypes.GoMap, *names: str) -> gotypes.GoMap:
    return gotypes.IfaceMap((k, mapping[k]) for k in names if k in mapping)


@registry.func("omit", params=(ANY_MAP,), variadic=STRING)
def omit(mapping: gotypes.GoMap, *names: str) -> gotypes.GoMap:
    dropped = set(names)
    return gotypes.IfaceMap((k, v) for k, v in mapping.items() if k not in dropped)


@registry.func("dict", variadic=ANY)
def dict_(*items: Any) -> gotypes.GoMap:
    out = _new_map()
    for i in range(0, len(items), 2):
        key = strval(items[i])
        out[key] = items[i + 1] if i + 1 < len(items) else ""
    return out


@registry.func("values", params=(ANY_MAP,))
def values_(mapping: gotypes.GoMap) -> gotypes.GoSlice:
    """Go returns map values in random order; here in the order of the sorted keys."""
    return gotypes.IfaceSlice(v for _, v in gotypes.sorted_items(mapping))


def _mergo_empty(value: Any) -> bool:
    """mergo's isEmptyValue (dereferencing interfaces)."""
    if value is None or value is gotypes.NIL_INTERFACE:
        return True
    kind = gotypes.kind_of(value)
    if kind in (Kind.ARRAY, Kind.MAP, Kind.SLICE, Kind.STRING):
        return gotypes.go_len(value) == 0
    if kind is Kind.BOOL or kind in gotypes.INT_KINDS or kind in gotypes.FLOAT_KINDS:
        return bool(value == 0)
    if kind in (Kind.POINTER, Kind.FUNC):
        return gotypes.is_nil(value)
    return False


def merge_maps(dst: gotypes.GoMap, src: gotypes.GoMap, *, overwrite: bool, depth: int = 0) -> None:
    """mergo's deepMerge for two maps of interface{} values (dst changes in place)."""
    if depth > 100:
        raise GoError("merge nested too deeply")
    for key, src_elem in list(src.items()):
        present = key in dst
        dst_elem = dst.get(key)
        if src_elem is None:
            if overwrite:
                dst[key] = None
            continue
        src_kind = gotypes.kind_of(src_elem)
        if src_kind is Kind.SLICE and getattr(src_elem, "nil", False):
            if overwrite:
                dst[key] = src_elem
            continue
        if src_kind is Kind.MAP and getattr(src_elem, "nil", False):
            if overwrite:
                dst[key] = src_elem
            continue
        if src_kind is Kind.MAP:
            if (
                present
                and dst_elem is not None
                and gotypes.kind_of(dst_elem) is Kind.MAP
                and not getattr(dst_elem, "nil", False)
                and type(dst_elem) is type(src_elem)
            ):
                merge_maps(dst_elem, src_elem, overwrite=overwrite, depth=depth + 1)
        elif src_kind is Kind.SLICE:
            if not present or dst_elem is None or getattr(dst_elem, "nil", False):
                dst_slice: Any = type(src_elem)()
            else:
                dst_slice = dst_elem
            if overwrite or len(dst) == 0:
                dst_slice = src_elem
            dst[key] = dst_slice
        if present and not _mergo_empty(dst_elem):
            if src_kind is Kind.SLICE:
                continue
            if src_kind is Kind.MAP and gotypes.kind_of(dst_elem) is Kind.MAP:
                continue
        if overwrite or not present or _mergo_empty(dst_elem):
            dst[key] = src_elem


def _merge(dst: gotypes.GoMap, sources: tuple[gotypes.GoMap, ...], *, overwrite: bool) -> Any:
    if dst.nil:
        dst = _new_map()
    for src in sources:
        merge_maps(dst, src, overwrite=overwrite)
    return dst


@registry.func("merge", "mustMerge", params=(ANY_MAP,), variadic=ANY_MAP)
def merge(dst: gotypes.GoMap, *sources: gotypes.GoMap) -> Any:
    return _merge(dst, sources, overwrite=False)


@registry.func("mergeOverwrite", "mustMergeOverwrite", params=(ANY_MAP,), variadic=ANY_MAP)
def merge_overwrite(dst: gotypes.GoMap, *sources: gotypes.GoMap) -> Any:
    return _merge(dst, sources, overwrite=True)


@registry.func("dig", variadic=ANY)
def dig(*args: Any) -> Any:
    if len(args) < 3:
        raise GoError("dig needs at least three arguments")
    mapping = args[-1]
    if not isinstance(mapping, gotypes.GoMap) or mapping.gotype != gotypes.IfaceMap.gotype:
        raise values.interface_conversion(mapping, "map[string]interface {}")
    fallback = args[-2]
    path = []
    for key in args[:-2]:
        if type(key) is not str:
            raise values.interface_conversion(key, "string")
        path.append(key)
    current: Any = mapping
    for index, key in enumerate(path):
        if key not in current:
            return fallback
        step = current[key]
        if index == len(path) - 1:
            return step
        if not isinstance(step, gotypes.GoMap) or step.gotype != gotypes.IfaceMap.gotype:
            raise values.interface_conversion(step, "map[string]interface {}")
        current = step
    return fallback
