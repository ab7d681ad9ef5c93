"""The value a push writes to one remote key, from the entries aimed at it and what is there now.

Why one place for every provider: ESO's providers agree on the shape — `secretKey` picks one
key of the source Secret, no `secretKey` sends the whole Secret as a JSON object (Go's
`json.Marshal` of the map: sorted keys, no HTML escaping), `property` sets one key of a JSON
document and keeps the others — so the fake, Secrets Manager and Parameter Store pushers build
the value here and differ only in how the whole Secret is serialised (Parameter Store keeps
ESO's base64 of `[]byte` unless `encodeAsDecoded`). Comparing this value with the current one
is what spares a write when nothing changed. Pure: no I/O.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence

from asyncso import json_property, model_push

Whole = Callable[[Mapping[str, bytes]], bytes]

_GO_ESCAPES = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\b": "\\u0008", "\f": "\\u000c"}


def _go_json(mapping: Mapping[str, str]) -> bytes:
    """`json.Marshal` of a Go `map[string]string` with `SetEscapeHTML(false)`."""
    text = json.dumps(dict(sorted(mapping.items())), separators=(",", ":"), ensure_ascii=False)
    for char, escaped in _GO_ESCAPES.items():
        text = text.replace(char, escaped)
    return text.encode()


def whole_as_text(data: Mapping[str, bytes]) -> bytes:
    """The whole Secret as `{"key": "value"}` (ESO's Secrets Manager and fake providers)."""
    return _go_json({k: v.decode("utf-8", errors="replace") for k, v in data.items()})


def whole_as_base64(data: Mapping[str, bytes]) -> bytes:
    """The whole Secret as Go marshals `map[string][]byte`: values base64 (Parameter Store)."""
    return _go_json({k: base64.b64encode(v).decode() for k, v in data.items()})


def source_value(entry: model_push.PushEntry, *, whole: Whole) -> bytes:
    """What the entry takes from its Secret: one key's value, or the whole Secret."""
    if entry.secret_key:
        return entry.data[entry.secret_key]
    return whole(entry.data)


def desired(
    current: bytes | None, entries: Sequence[model_push.PushEntry], *, whole: Whole
) -> bytes:
    """The value to hold after pushing `entries` (in order) onto `current` (None: absent).
    An entry without `property` replaces the value; one with `property` sets that key."""
    value = current
    for entry in entries:
        pushed = source_value(entry, whole=whole)
        value = json_property.set_value(value, entry.property, pushed) if entry.property else pushed
    return b"" if value is None else value
