"""ESO's `remoteRef.property`: a gjson path into a JSON secret, a literal dotted key first.

Why one place, after the providers: they only read raw values (`ports.SecretsProvider.read`); the
reconciler applies `value` / `value_map` to every provider's answer alike, so the fake, Secrets
Manager and Parameter Store agree exactly, as users moving manifests between them expect.

Semantics as ESO's AWS provider: if the property contains
dots, it is first tried as one literal key (`"a.b"` in `{"a.b": 1}`); otherwise (or if absent)
it is a path through objects and array indexes. Strings come back raw, anything else as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from asyncso import errors, model


def _as_bytes(node: Any) -> bytes:
    if isinstance(node, str):
        return node.encode()
    return json.dumps(node, separators=(",", ":"), ensure_ascii=False).encode()


def _split(path: str) -> list[str]:
    """Split on dots not escaped with a backslash (gjson's `\\.`)."""
    parts, current, escaped = [], "", False
    for char in path:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def parse_json(value: bytes | str, *, key: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        raise errors.PermanentError(f"secret {key!r} is not valid JSON") from None


def select(value: bytes | str, path: str, *, key: str) -> bytes:
    """The property `path` of the JSON document `value` of remote secret `key`."""
    document = parse_json(value, key=key)
    if isinstance(document, dict) and path in document:
        return _as_bytes(document[path])
    node: Any = document
    for part in _split(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise errors.PermanentError(f"key {path!r} does not exist in secret {key!r}")
    return _as_bytes(node)


def as_map(value: bytes | str, *, key: str) -> dict[str, bytes]:
    """`dataFrom.extract`: a JSON object's fields as keys (nested values as JSON text)."""
    document = parse_json(value, key=key)
    if not isinstance(document, dict):
        raise errors.PermanentError(f"secret {key!r} is not a JSON object")
    return {name: _as_bytes(node) for name, node in document.items()}


def value(raw: bytes, ref: model.RemoteRef) -> bytes:
    """`data[].remoteRef`: the value a provider read for `ref`, narrowed to `ref.property`."""
    return select(raw, ref.property, key=ref.key) if ref.property else raw


def value_map(raw: bytes, ref: model.RemoteRef) -> dict[str, bytes]:
    """`dataFrom[].extract`: the value (narrowed to `ref.property`) as a JSON object's fields."""
    return as_map(value(raw, ref), key=ref.key)
