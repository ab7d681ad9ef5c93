"""Label selectors taken from specs: checked, matched in memory, or sent as a query string.

Why here: PushSecrets select their source Secrets (`selector.secret.selector`) and their stores
(`secretStoreRefs[].labelSelector`), and ClusterExternalSecrets / ClusterPushSecrets select
namespaces, all with a `metav1.LabelSelector` written by a user. A selector sent to the apiserver
must say exactly what its author wrote: keys and values are checked against Kubernetes' label
syntax first, so that a key such as `a=b,c` cannot smuggle in another requirement. The
apiserver applies the same rules; checking here names the field instead of a 400 later.

Pure: no I/O. Matching follows `metav1.LabelSelectorAsSelector`: an empty selector selects
everything, requirements are ANDed.
"""

from __future__ import annotations

import re

from asyncso import errors, model, names, stores

_NAME = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)", re.ASCII)
_NAME_MAX = 63


def _check_key(key: str, *, field: str) -> str:
    prefix, _, name = key.rpartition("/")
    ok = 0 < len(name) <= _NAME_MAX and _NAME.fullmatch(name) is not None
    if prefix:
        ok = ok and names.is_valid(prefix, names.SUBDOMAIN)
    if not ok:
        raise errors.InvalidSpecError(f"{field}: {key!r} is not a valid label key")
    return key


def _check_value(value: str, *, field: str) -> str:
    if value and not (len(value) <= _NAME_MAX and _NAME.fullmatch(value)):
        raise errors.InvalidSpecError(f"{field}: {value!r} is not a valid label value")
    return value


def check(selector: model.LabelSelector, *, field: str) -> None:
    """Refuse a selector the apiserver would refuse (`errors.InvalidSpecError` naming `field`)."""
    query(selector, field=field)


def query(selector: model.LabelSelector, *, field: str) -> str:
    """The `labelSelector=` query string for `selector` ("" selects everything)."""
    parts: list[str] = []
    for key, value in sorted(selector.match_labels.items()):
        where = f"{field}.matchLabels"
        parts.append(f"{_check_key(key, field=where)}={_check_value(value, field=where)}")
    for index, req in enumerate(selector.match_expressions):
        where = f"{field}.matchExpressions[{index}]"
        key = _check_key(req.key, field=f"{where}.key")
        values = [_check_value(v, field=f"{where}.values") for v in req.values]
        if req.operator in ("In", "NotIn"):
            if not values:
                raise errors.InvalidSpecError(f"{where}.values: required for {req.operator}")
            op = "in" if req.operator == "In" else "notin"
            parts.append(f"{key} {op} ({','.join(sorted(values))})")
        else:
            if values:
                raise errors.InvalidSpecError(f"{where}.values: must be empty for {req.operator}")
            parts.append(key if req.operator == "Exists" else f"!{key}")
    return ",".join(parts)


def matches(selector: model.LabelSelector, labels: dict[str, str]) -> bool:
    """Whether `labels` satisfy `selector` (every requirement)."""
    return stores.selector_matches(selector, labels)
