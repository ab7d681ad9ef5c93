"""Kubernetes object name rules: which names and namespaces may go into an apiserver path.

Why a module of its own: every name the operator sends to the apiserver is ultimately typed by a
tenant (`spec.target.name`, `templateFrom[].secret.name`, `auth.secretRef.*.name`, ...). A name
such as `../../b/secrets/x` joined into a URL reaches another namespace, because HTTP clients
resolve `..` segments. Checking each name against the apiserver's own rules (RFC 1123 labels and
subdomains) before a path is built closes that door for every encoding trick at once: the rules
allow only `[a-z0-9.-]`, so no `/`, no `%`, no `..` segment and no look-alike character survives.
The same patterns go into the CRDs (`crdgen`), so the apiserver refuses such names at admission.

Pure: no I/O. `fullmatch` on ASCII-only patterns (a `$` would let a trailing newline through).
"""

from __future__ import annotations

import dataclasses
import re

from asyncso import errors

#: RFC 1123 label (namespaces, and ESO's `conditions[].namespaces`): ESO's CRD pattern.
DNS_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_LABEL_MAX = 63
#: RFC 1123 subdomain (Secrets, ConfigMaps, ServiceAccounts, custom resources, Leases, Events).
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_SUBDOMAIN_MAX = 253
#: A key of a Secret or ConfigMap (ESO's CRD pattern for `secretKey` and template item keys).
KEY_PATTERN = "^[-._a-zA-Z0-9]+$"
KEY_MAX = 253

_LABEL = re.compile(DNS_LABEL_PATTERN.strip("^$"), re.ASCII)
_SUBDOMAIN = re.compile(DNS_SUBDOMAIN_PATTERN.strip("^$"), re.ASCII)


@dataclasses.dataclass(frozen=True)
class Rule:
    """How one kind of name is checked: its pattern and maximum length."""

    pattern: re.Pattern[str]
    max_length: int


LABEL = Rule(_LABEL, DNS_LABEL_MAX)
SUBDOMAIN = Rule(_SUBDOMAIN, DNS_SUBDOMAIN_MAX)


def is_valid(value: str, rule: Rule) -> bool:
    return 0 < len(value) <= rule.max_length and rule.pattern.fullmatch(value) is not None


def check(value: str, rule: Rule, *, field: str, what: str) -> str:
    """`value` when it is a valid name by `rule`; else `errors.InvalidNameError` naming `field`
    (e.g. `spec.target.name`) and `what` it should have been (e.g. `Secret name`)."""
    if not is_valid(value, rule):
        raise errors.InvalidNameError(field=field, value=value, what=what)
    return value


def check_namespace(value: str, *, field: str) -> str:
    return check(value, LABEL, field=field, what="namespace")


def check_object(value: str, *, kind: str, field: str) -> str:
    """A namespaced or cluster-scoped object name (a DNS subdomain) of `kind`."""
    return check(value, SUBDOMAIN, field=field, what=f"{kind} name")
