"""Set or remove one property of a JSON secret: PushSecret's `remoteRef.property`.

Why: ESO pushes `property: a.b` with `sjson.SetBytes(current, "a.b", value)` — the value lands as
a JSON string at that path, other keys stay, missing objects are created — and deletes it by
removing that key. Both must refuse, before anything is written, a remote secret that is not a
JSON object ("requires a json secret", as ESO says), so a failed push leaves it as it was.

Paths are gjson/sjson dot paths over objects: `a.b` is key `b` inside key `a`; `\\.` is a literal
dot. Wildcards and array indexes (`*`, `#`, `0`) are not supported for writing and are refused.
Output is compact JSON with keys in their existing order (new keys last), like sjson's.
Pure: no I/O; messages never carry values.
"""

from __future__ import annotations

import json
import re
from typing import Any

from asyncso import errors

MSG_NOT_JSON = "a push with a property requires the remote secret to be a JSON object"
_SPLIT = re.compile(r"(?<!\\)\.")


def _path(prop: str) -> list[str]:
    parts = [p.replace("\\.", ".") for p in _SPLIT.split(prop)]
    if not prop or any(not p for p in parts):
        raise errors.InvalidSpecError(f"property {prop!r}: empty path segment")
    for part in parts:
        if part in ("#", "-1") or any(c in part for c in "*?|@"):
            raise errors.InvalidSpecError(f"property {prop!r}: only object keys can be written")
    return parts


def _load(current: bytes | None) -> dict[str, Any]:
    if current is None or not current.strip():
        return {}
    try:
        doc = json.loads(current)
    except (ValueError, UnicodeDecodeError):
        raise errors.PermanentError(MSG_NOT_JSON) from None
    if not isinstance(doc, dict):
        raise errors.PermanentError(MSG_NOT_JSON)
    return doc


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def get(current: bytes | None, prop: str) -> Any:
    """The value at `prop` (None when absent or `current` is not a JSON object)."""
    try:
        node: Any = _load(current)
    except errors.PermanentError:
        return None
    for part in _path(prop):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_value(current: bytes | None, prop: str, value: bytes) -> bytes:
    """`current` with the string `value` at `prop` (objects on the way created)."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.PermanentError(
            f"property {prop!r}: the value is not UTF-8 text, so it cannot go into JSON"
        ) from None
    doc = _load(current)
    parts = _path(prop)
    node = doc
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise errors.PermanentError(f"property {prop!r}: {part!r} is not a JSON object")
        node = child
    node[parts[-1]] = text
    return _dump(doc)


def remove(current: bytes | None, prop: str) -> bytes | None:
    """`current` without `prop`; None when nothing is left (the secret itself may go)."""
    doc = _load(current)
    parts = _path(prop)
    node: Any = doc
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(parts[-1], None)
    return _dump(doc) if doc else None
