"""Pure: which of ESO's v1 fields asyncso does not implement, and the refusal that names them.

Why: an ESO manifest that asyncso accepted and then read differently from ESO would be worse than
a refusal: the user believes the Secret is right. So nothing is dropped silently, by
construction:

- the models carry every field of ESO's v1 ExternalSecret, SecretStore and ClusterSecretStore
  (providers asyncso does not implement are kept as written, `model.Opaque`), so our CRDs prune
  nothing a user applies;
- a field the models do not know fails decoding (`model._Spec` forbids unknown fields), and
  `decode_error` words that as the refusal below;
- a field the models know but asyncso does not implement is listed in `NOT_SUPPORTED` (a path
  covers its whole subtree), and `unsupported` finds it in an object that sets it.

Either way the object gets `Ready=False` with `spec.foo is not supported by asyncso`, for
ExternalSecrets (`validation.validate`) and stores (the store controller, hence their readers).
`tests/unit/test_compatibility.py` walks ESO's CRDs so that every ESO field is implemented or
listed here; `docs/compatibility.md` is generated from this module (`tools/compat_doc.py`).

Paths are written as in a CRD schema walk: `.spec.data[].remoteRef.key`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from asyncso import errors, model

MSG_NOT_SUPPORTED = "{field} is not supported by asyncso"
MSG_ONE_PROVIDER = (
    "spec.provider: secret stores must only have exactly one backend specified, found {count}"
)

_PROVIDER = "this provider is not implemented; asyncso implements aws and fake"

#: ExternalSecret fields asyncso does not implement: path → why (shown in the docs).
EXTERNALSECRET: dict[str, str] = {
    ".spec.data[].sourceRef.generatorRef": (
        "ESO does not implement it in data[] either (deprecated there); "
        "use dataFrom[].sourceRef.generatorRef"
    ),
    ".spec.dataFrom[].rewrite[].merge": "the merge rewrite is not implemented yet",
}

#: SecretStore / ClusterSecretStore fields asyncso does not implement: path → why.
STORE: dict[str, str] = {
    ".spec.retrySettings": (
        "the AWS clients retry with botocore's adaptive mode (5 attempts); "
        "ESO's fixed retry interval has no botocore equivalent"
    ),
    **{
        f".spec.provider.{field.encode_name}": _PROVIDER
        for field in msgspec.structs.fields(model.Provider)
        if field.name not in ("aws", "fake")
    },
}

#: Implemented fields whose accepted values differ from ESO's: path → what asyncso accepts.
LIMITS: dict[str, str] = {
    ".spec.target.template.engineVersion": (
        "`v2` (the default, as in ESO: Go's text/template with sprig's and ESO's functions; "
        "the few differences are listed in docs/templates.md), and also `jinja` (asyncso's "
        "sandboxed Jinja, opt-in)"
    ),
    ".spec.provider.aws.service": (
        "`CertificateManager` reads one exportable certificate by ARN (`data[].remoteRef.key`) as "
        "ESO does; `dataFrom` on such a store fails, as in ESO (the bundle is no JSON map)"
    ),
    ".spec.target.manifest": (
        "`v1` `ConfigMap` only, with `--unsafe-allow-generic-targets` (chart: "
        "`genericTargets.enabled`), as ESO; other kinds are refused by name. Drift of the "
        "ConfigMap is repaired on the next refresh (it is not watched); `immutable` is ignored, "
        "as in ESO"
    ),
    ".spec.target.template.templateFrom[].target": (
        "`Data`, `Annotations` or `Labels` in any case, as ESO allows for a Secret; other values "
        "are refused (ESO refuses them for Secrets too)"
    ),
}

#: Behaviour that differs from ESO for fields asyncso implements: what, and why or how.
DIFFERENCES: dict[str, str] = {
    "`creationPolicy: Orphan` targets carry the `created-by` label": (
        "ESO sets it for `Owner` only; asyncso also marks `Orphan` targets so that a second "
        "ExternalSecret writing the same Secret is refused (a condition) instead of fighting"
    ),
    "A renamed `Owner` target is not deleted": (
        "ESO deletes the Secret it created under the old `target.name` at once; asyncso leaves "
        "it to Kubernetes' garbage collection (its owner reference), which removes it when the "
        "ExternalSecret is deleted"
    ),
    "A `target.manifest` ConfigMap is not watched": (
        "ESO repairs a ConfigMap target that someone edits at once (an informer); asyncso "
        "repairs it on the next refresh, and after a restart syncs such ExternalSecrets once"
    ),
    "A `target.manifest` ConfigMap holds text only": (
        "a value that is not UTF-8 is refused by key (ESO writes Go's lossy string of it)"
    ),
}

_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)` - at `\$(?P<at>[^`]*)`$")


def message(field: str) -> str:
    """The refusal for one field, as written by the user (`spec.data[0].sourceRef...`)."""
    return MSG_NOT_SUPPORTED.format(field=field)


def decode_error(exc: msgspec.ValidationError) -> str:
    """A decoding error as the object's condition message: a field the models do not know is
    refused by name like any other unsupported field; other errors are msgspec's own words."""
    text = str(exc)
    found = _UNKNOWN.match(text)
    if found is None:
        return text
    at = found["at"].lstrip(".")
    return message(f"{at}.{found['name']}" if at else found["name"])


def unsupported(obj: msgspec.Struct, table: Mapping[str, str]) -> list[str]:
    """Every field set in `obj` (a decoded ExternalSecret or store) that `table` lists, as the
    user wrote its path (`spec.dataFrom[1].sourceRef.generatorRef`), in document order.

    "Set" means present with a value other than the model's default (defaults are ESO's, so a
    field written with its default value changes nothing and is not refused)."""
    spec = msgspec.to_builtins(obj).get("spec", {})
    return [concrete for _, concrete in _walk(spec, ".spec", "spec", table)]


def check(obj: msgspec.Struct, table: Mapping[str, str]) -> None:
    """Raise `errors.InvalidSpecError` naming the first unsupported field that `obj` sets."""
    found = unsupported(obj, table)
    if found:
        raise errors.InvalidSpecError(message(found[0]))


def check_externalsecret(es: model.ExternalSecret) -> None:
    check(es, EXTERNALSECRET)


def providers(store: model.SecretStore) -> list[str]:
    """The backends `spec.provider` names (ESO: exactly one)."""
    return list(msgspec.to_builtins(store.spec.provider))


def check_store(store: model.SecretStore) -> None:
    """ESO's rule of exactly one backend first (`GetProvider`), then the unsupported fields."""
    count = len(providers(store))
    if count != 1:
        raise errors.StoreConfigError(MSG_ONE_PROVIDER.format(count=count))
    check(store, STORE)


def _walk(
    node: Any, pattern: str, concrete: str, table: Mapping[str, str]
) -> Iterator[tuple[str, str]]:
    if pattern in table:
        yield pattern, concrete
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{pattern}.{key}", f"{concrete}.{key}", table)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pattern}[]", f"{concrete}[{index}]", table)
