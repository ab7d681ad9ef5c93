"""Test data as Go values, decoded exactly as the oracle (tools/gooracle) decodes it.

Kinds: "strings" (ESO's map[string]string), "json" (decoded JSON, integral numbers as int) and
"typed" (JSON where {"$t": TYPE, "v": VALUE} or {"$t": TYPE, "nil": true} is a typed value).
"""

from __future__ import annotations

import json
from typing import Any

from asyncso.templates.go import gotypes
from asyncso.templates.go.gotypes import GoType

_BASIC: dict[str, GoType] = {
    "int": gotypes.INT,
    "int8": gotypes.INT8,
    "int16": gotypes.INT16,
    "int32": gotypes.INT32,
    "int64": gotypes.INT64,
    "uint": gotypes.UINT,
    "uint8": gotypes.UINT8,
    "uint16": gotypes.UINT16,
    "uint32": gotypes.UINT32,
    "uint64": gotypes.UINT64,
    "uintptr": gotypes.UINTPTR,
    "float32": gotypes.FLOAT32,
    "float64": gotypes.FLOAT64,
    "bool": gotypes.BOOL,
    "string": gotypes.STRING,
    "complex128": gotypes.COMPLEX128,
    "interface{}": gotypes.INTERFACE,
}


def parse_type(name: str) -> GoType:
    if name.startswith("[]"):
        return gotypes.slice_type(parse_type(name[2:]))
    if name.startswith("map[string]"):
        return gotypes.map_type(gotypes.STRING, parse_type(name[len("map[string]") :]))
    return _BASIC[name]


def _json_scalar(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if -(1 << 63) <= value < (1 << 63):
            return value
        return float(value)
    return float(value)


def from_json(value: Any) -> Any:
    """The oracle's "json" kind: objects map[string]interface{}, arrays []interface{}."""
    if isinstance(value, dict):
        return gotypes.IfaceMap({k: from_json(v) for k, v in value.items()})
    if isinstance(value, list):
        return gotypes.IfaceSlice(from_json(v) for v in value)
    return _json_scalar(value)


def _typed(gotype: GoType | None, value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("$t"), str):
        inner_type = parse_type(value["$t"])
        if "hex" in value:
            return gotypes.from_bytes(bytes.fromhex(value["hex"]))
        if value.get("nil"):
            if inner_type.kind is gotypes.Kind.SLICE:
                assert inner_type.elem is not None
                return gotypes.nil_of(gotypes.slice_of(inner_type.elem))
            if inner_type.kind is gotypes.Kind.MAP:
                assert inner_type.elem is not None and inner_type.key is not None
                return gotypes.nil_of(gotypes.map_of(inner_type.key, inner_type.elem))
            return None
        return _typed(inner_type, value.get("v"))
    if gotype is None or gotype.kind is gotypes.Kind.INTERFACE:
        if isinstance(value, dict):
            return gotypes.IfaceMap({k: _typed(gotypes.INTERFACE, v) for k, v in value.items()})
        if isinstance(value, list):
            return gotypes.IfaceSlice(_typed(gotypes.INTERFACE, v) for v in value)
        return _json_scalar(value)
    kind = gotype.kind
    if kind is gotypes.Kind.SLICE:
        assert gotype.elem is not None
        return gotypes.slice_of(gotype.elem)(_typed(gotype.elem, v) for v in value or [])
    if kind is gotypes.Kind.MAP:
        assert gotype.elem is not None and gotype.key is not None
        cls = gotypes.map_of(gotype.key, gotype.elem)
        return cls({k: _typed(gotype.elem, v) for k, v in (value or {}).items()})
    if kind in gotypes.INT_KINDS:
        return gotypes.INT_CLASSES[kind](int(value))
    if kind is gotypes.Kind.FLOAT32:
        return gotypes.Float32(float(value))
    if kind is gotypes.Kind.FLOAT64:
        return float(value)
    if kind is gotypes.Kind.COMPLEX128:
        return complex(float(value[0]), float(value[1]))
    if kind is gotypes.Kind.BOOL:
        return bool(value)
    if kind is gotypes.Kind.STRING:
        return str(value)
    raise ValueError(f"unsupported type {gotype}")


def decode(data: Any, kind: str) -> Any:
    """Go data of the given kind from its JSON-able form."""
    if kind == "strings":
        return gotypes.StringMap({k: _typed(gotypes.STRING, v) for k, v in (data or {}).items()})
    if kind == "json":
        return from_json(json.loads(json.dumps(data)))
    if kind == "typed":
        return _typed(None, data)
    raise ValueError(f"unknown data kind {kind!r}")
