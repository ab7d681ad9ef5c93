"""Pure: is an ExternalSecret's spec usable at all? One function, every check, before any I/O.

Why one place: these checks were scattered through a sync (policies in one step, durations in
another, names at the HTTP layer). Here they run first, from the spec alone, so an invalid
ExternalSecret is refused with one message naming the field, and no provider or apiserver call is
made for it. Names taken from the spec (target, templateFrom sources, store references) are
checked against Kubernetes' rules (`names`) so that none can point into another namespace; the
path builder checks them again at the edge.
"""

from __future__ import annotations

from asyncso import compat, errors, model, names, syncwindows, timing
from asyncso.generators import refs

MSG_DELETE_NEEDS_OWNER = (
    "spec.target.deletionPolicy: Delete requires creationPolicy Owner or Orphan"
)
MSG_MERGE_NOT_WITH_NONE = (
    "spec.target.deletionPolicy: Merge cannot be used with creationPolicy None"
)
MSG_EXTRACT_OR_FIND = "one of extract or find (or sourceRef.generatorRef) is required"
MSG_TEMPLATE_TARGET = (
    "templateFrom target={target!r} is not allowed when targeting a Secret, "
    'must be one of "Data", "Annotations" or "Labels"'
)
MSG_SA_TOKEN = (
    'template.type="kubernetes.io/service-account-token" with annotation '
    '"kubernetes.io/service-account.name" is not allowed'
)
MSG_SA_TOKEN_TARGET = (
    'template.type="kubernetes.io/service-account-token" with templateFrom '
    'target="Annotations" is not allowed'
)
MSG_BOOTSTRAP = 'template.type="bootstrap.kubernetes.io/token" is not allowed'


def validate(es: model.ExternalSecret) -> None:
    """Raise `errors.InvalidSpecError` (or its `InvalidNameError`) for the first problem."""
    compat.check_externalsecret(es)
    spec = es.spec
    target = spec.target
    if target.deletion_policy == "Delete" and target.creation_policy in (
        "Merge",
        "None",
        "CreateOrMerge",
    ):
        raise errors.InvalidSpecError(MSG_DELETE_NEEDS_OWNER)
    if target.deletion_policy == "Merge" and target.creation_policy == "None":
        raise errors.InvalidSpecError(MSG_MERGE_NOT_WITH_NONE)
    timing.parse_duration(spec.refresh_interval)
    syncwindows.check(es)
    names.check_object(model.target_name(es), kind="Secret", field="spec.target.name")
    _check_store_ref(spec.secret_store_ref, field="spec.secretStoreRef")
    for index, item in enumerate(spec.data):
        _check_source(item.source_ref, where=f"spec.data[{index}]")
    for index, entry in enumerate(spec.data_from):
        where = f"spec.dataFrom[{index}]"
        if _generator_entry(entry, where=where):
            continue
        _check_source(entry.source_ref, where=where)
        if entry.extract is None and entry.find is None:
            raise errors.InvalidSpecError(f"{where}: {MSG_EXTRACT_OR_FIND}")
    template = target.template
    _check_privileged(template)
    for index, source in enumerate(template.template_from if template is not None else []):
        where = f"spec.target.template.templateFrom[{index}]"
        if model.template_target(source.target) is None:
            raise errors.InvalidSpecError(
                f"{where}.target: {MSG_TEMPLATE_TARGET.format(target=source.target)}"
            )
        if source.config_map is not None:
            names.check_object(
                source.config_map.name, kind="ConfigMap", field=f"{where}.configMap.name"
            )
        if source.secret is not None:
            names.check_object(source.secret.name, kind="Secret", field=f"{where}.secret.name")


def _generator_entry(entry: model.ExternalSecretDataFrom, *, where: str) -> bool:
    """A `dataFrom` entry that generates its values: its ref must be one asyncso serves, and
    it takes neither `extract` nor `find` (ESO ignores its generatorRef then; we say so)."""
    ref = entry.source_ref.generator_ref if entry.source_ref is not None else None
    if ref is None:
        return False
    field = f"{where}.sourceRef.generatorRef"
    for what, given in (("extract", entry.extract), ("find", entry.find)):
        if given is not None:
            raise errors.InvalidSpecError(f"{where}: {refs.MSG_NOT_WITH.format(what=what)}")
    refs.check(ref, field=field)
    return True


def _check_privileged(template: model.Template | None) -> None:
    """ESO's `validatePrivilegedTemplate`: no long-lived tokens beyond the user's RBAC."""
    if template is None:
        return
    where = "spec.target.template"
    if template.type == "kubernetes.io/service-account-token":
        metadata = template.metadata or model.TemplateMetadata()
        if "kubernetes.io/service-account.name" in metadata.annotations:
            raise errors.InvalidSpecError(f"{where}: {MSG_SA_TOKEN}")
        if any(model.template_target(s.target) == "Annotations" for s in template.template_from):
            raise errors.InvalidSpecError(f"{where}: {MSG_SA_TOKEN_TARGET}")
    if template.type == "bootstrap.kubernetes.io/token":
        raise errors.InvalidSpecError(f"{where}: {MSG_BOOTSTRAP}")


def _check_source(source: model.SourceRef | None, *, where: str) -> None:
    if source is None:
        return
    if source.generator_ref is not None:
        raise errors.InvalidSpecError(f"{where}.sourceRef.generatorRef: {refs.MSG_IN_DATA}")
    _check_store_ref(source.store_ref, field=f"{where}.sourceRef.storeRef")


def _check_store_ref(ref: model.StoreRef | None, *, field: str) -> None:
    """A named store reference must be a valid name; a missing one is `stores.resolve`'s to
    report (it knows whether the ExternalSecret's default store applies)."""
    if ref is not None and ref.name:
        names.check_object(ref.name, kind=ref.kind, field=f"{field}.name")
