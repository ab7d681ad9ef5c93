"""Pure: is a `generatorRef` one asyncso can serve? Checked before any I/O, messages named.

Why: ESO accepts 17 generator kinds (and `ClusterGenerator`); asyncso implements six. A ref to
any other kind must be refused with a condition that names the kind and the field, not fail
somewhere later; and a ref must not point outside the generators API group (ESO's rule).
"""

from __future__ import annotations

from asyncso import errors, model, model_generators, names

#: The kinds a generatorRef (or a ClusterGenerator's `spec.kind`) may name in asyncso.
SUPPORTED = ("ECRAuthorizationToken", "Fake", "Password", "STSSessionToken", "UUID")
CLUSTER_GENERATOR = "ClusterGenerator"

MSG_KIND = 'generator kind "{kind}" is not supported by asyncso (supported: {supported})'
MSG_GROUP = "generatorRef may only reference the generators group, but got {group!r}"
MSG_VERSION = "generatorRef may only reference version {version}, but got {got!r}"
MSG_IN_DATA = (
    "generatorRef is not supported in spec.data[] (ESO does not implement it); use dataFrom"
)
MSG_NOT_WITH = "sourceRef.generatorRef cannot be combined with {what}"


def unsupported_kind(kind: str) -> str:
    return MSG_KIND.format(kind=kind, supported=", ".join((CLUSTER_GENERATOR, *SUPPORTED)))


def check(ref: model.GeneratorRef, *, field: str) -> None:
    """Raise `errors.InvalidSpecError` (or `InvalidNameError`) naming `field` for a ref that
    asyncso cannot serve. An empty `apiVersion` is ESO's CRD default (`v1alpha1`)."""
    if ref.api_version:
        group, _, version = ref.api_version.rpartition("/")
        if group != model_generators.GROUP:
            raise errors.InvalidSpecError(f"{field}.apiVersion: {MSG_GROUP.format(group=group)}")
        if version != model_generators.VERSION:
            raise errors.InvalidSpecError(
                f"{field}.apiVersion: "
                + MSG_VERSION.format(version=model_generators.VERSION, got=version)
            )
    if ref.kind != CLUSTER_GENERATOR and ref.kind not in SUPPORTED:
        raise errors.InvalidSpecError(f"{field}.kind: {unsupported_kind(ref.kind)}")
    names.check_object(ref.name, kind=ref.kind, field=f"{field}.name")


def check_cluster_kind(kind: str, *, name: str) -> None:
    """A ClusterGenerator wraps one kind: refuse the ones asyncso does not implement."""
    if kind not in SUPPORTED:
        raise errors.InvalidSpecError(f"ClusterGenerator {name!r}: {unsupported_kind(kind)}")
