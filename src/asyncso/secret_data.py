"""Pure: provider payloads → the Secret data of an ExternalSecret, and ESO's hash of Secret data.

Why pure: the order in which `dataFrom` and `data` merge, where conversion, rewrite and decoding
apply, and the data hash ESO writes on the Secret decide what users see; they are table-tested
here without a cluster. Templates (`templates.apply`) run on the result.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping

from asyncso import errors, keymapping, model


@dataclasses.dataclass(frozen=True)
class Fetched:
    """What the providers returned, index-aligned with `spec.data` and `spec.dataFrom`.

    `None` marks an entry whose remote secret does not exist and that the deletion policy allows
    to drop (`Delete`/`Merge`); with `Retain` a missing secret is an error before we get here.
    """

    data: list[bytes | None]
    data_from: list[dict[str, bytes] | None]


#: Fetched data up to this many bytes (keys and values) is merged on the event loop; beyond it,
#: in a worker thread (decoding and key checks grow with the data).
INLINE_BYTES = 64 * 1024


def merge_inline(spec: model.ExternalSecretSpec, fetched: Fetched) -> bool:
    """Whether `merge` is cheap enough to run on the event loop: no `rewrite` (transforms are
    templates, and regexps are the user's), no template, and at most `INLINE_BYTES` of data.

    Why: a thread hop costs more than merging two small values, and at thousands of refreshes
    a cycle it was ~5 % of the operator's CPU; the large or user-programmable cases keep the
    thread, so that one of them never holds the loop."""
    if spec.target.template is not None or any(entry.rewrite for entry in spec.data_from):
        return False
    size = 0
    for value in fetched.data:
        if value is not None:
            size += len(value)
    for payload in fetched.data_from:
        if payload is None:
            continue
        for key, item in payload.items():
            size += len(key) + len(item)
        if size > INLINE_BYTES:
            return False
    return size <= INLINE_BYTES


def merge(spec: model.ExternalSecretSpec, fetched: Fetched) -> dict[str, bytes]:
    """ESO's merge order: each `dataFrom` in order (later wins), then `data` entries on top."""
    out: dict[str, bytes] = {}
    engine = spec.target.template.engine_version if spec.target.template else "v2"
    for index, entry in enumerate(spec.data_from):
        payload = fetched.data_from[index]
        if payload is None:
            continue
        out.update(_data_from_entry(entry, payload, index=index, engine=engine))
    for index, item in enumerate(spec.data):
        value = fetched.data[index]
        if value is None:
            continue
        where = f"spec.data[{index}]"
        try:
            keymapping.validate_secret_key(item.secret_key)
        except errors.InvalidSpecError as exc:
            raise errors.InvalidSpecError(f"{where}.secretKey: {exc}") from None
        try:
            decoded = keymapping.decode(value, item.remote_ref.decoding_strategy)
        except errors.AsyncsoError as exc:
            raise type(exc)(f"{where}.remoteRef.decodingStrategy: {exc}") from None
        check_null_bytes({item.secret_key: decoded}, item.remote_ref.null_byte_policy, where=where)
        out[item.secret_key] = decoded
    return out


MSG_NULL_BYTES = (
    "fetched secret value for key {key!r} contains null bytes; use a text-safe format such as "
    "PEM/base64 or leave nullBytePolicy unset for intentional binary data"
)


def check_null_bytes(
    values: Mapping[str, bytes], policy: model.NullBytePolicy, *, where: str
) -> None:
    """ESO's `nullBytePolicy: Fail`: a fetched value (after decoding) with a NUL byte fails the
    sync, naming the first such key in sorted order (never the value)."""
    if policy != "Fail":
        return
    for key in sorted(values):
        if b"\0" in values[key]:
            raise errors.InvalidSpecError(f"{where}: {MSG_NULL_BYTES.format(key=key)}")


def _data_from_entry(
    entry: model.ExternalSecretDataFrom,
    payload: Mapping[str, bytes],
    *,
    index: int,
    engine: model.TemplateEngine,
) -> dict[str, bytes]:
    where = f"spec.dataFrom[{index}]"
    ref = entry.extract if entry.extract is not None else entry.find
    conversion: model.ConversionStrategy = ref.conversion_strategy if ref else "Default"
    decoding: model.DecodingStrategy = ref.decoding_strategy if ref else "None"
    null_bytes: model.NullBytePolicy = ref.null_byte_policy if ref else "Ignore"
    try:
        if entry.rewrite:
            mapped = keymapping.rewrite(payload, entry.rewrite, engine=engine)
        elif ref is None:  # a generator's keys: ESO neither converts nor decodes them
            mapped = dict(payload)
        else:
            mapped = keymapping.convert_keys(payload, conversion)
        for key in mapped:
            keymapping.validate_secret_key(key)
        decoded = {key: keymapping.decode(value, decoding) for key, value in mapped.items()}
    except errors.AsyncsoError as exc:
        raise type(exc)(f"{where}: {exc}") from None
    check_null_bytes(decoded, null_bytes, where=where)
    return decoded


def go_map_repr(data: Mapping[str, bytes]) -> str:
    """Go's `fmt.Sprintf("%+v", map[string][]byte)`: keys sorted, bytes as decimal lists."""
    parts = []
    for key in sorted(data):
        parts.append(f"{key}:[{' '.join(str(b) for b in data[key])}]")
    return "map[" + " ".join(parts) + "]"


def data_hash(data: Mapping[str, bytes]) -> str:
    """ESO's `utils.ObjectHash(secret.Data)`: sha3-224 over the Go rendering of the map.

    Using ESO's exact function means Secrets written by ESO validate here (and back), so a
    migration does not rewrite every Secret.
    """
    return hashlib.sha3_224(go_map_repr(data).encode()).hexdigest()
