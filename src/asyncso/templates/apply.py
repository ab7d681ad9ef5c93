"""`spec.target.template` applied to fetched values: the Secret's data, labels, annotations, type.

Why: this is ESO's `applyTemplate` (controller) plus `templating.Parser` and the v2 engine's
`Execute`, in the same order, so an ExternalSecret yields the same Secret here as there:

1. `mergePolicy: Merge` starts from the fetched values; `Replace` (the default) from nothing;
2. each `templateFrom[]` in order — its `configMap` items, then `secret` items, then `literal` —
   renders into its `target` (`Data`, `Labels` or `Annotations`);
3. `template.data` renders into the data, overriding;
4. `template.metadata.labels` / `annotations` render into labels / annotations, overriding;
5. if the template has neither `data` nor `templateFrom`, the data is the fetched values as is.

`templateAs: Values` renders one item's text as the value of the key named like the item;
`KeysAndValues` (and every `literal`) renders the whole text, then reads it as a YAML/JSON mapping
of key → value, as ESO does with `sigs.k8s.io/yaml` into `map[string]string` (go-yaml v2's
scalar resolution: `12:30` stays text, `1e3` is the number 1000, `y` is true).

The engine is `engineVersion`'s: `v2` or none (ESO's default) is Go's text/template, `jinja` our
sandboxed Jinja (`engines`).

Pure: the reconciler fetches the ConfigMaps/Secrets named by `referenced_sources` first. Rendering
is CPU-bound (bcrypt, RSA) and bounded by `limits.RENDER_SECONDS`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from asyncso import errors, keymapping, model
from asyncso.templates import engines, functions, jinja, limits
from asyncso.templates.go import yamlv2

#: A rendered key can be a secret value: it is never quoted back (docs/security.md).
MSG_RENDERED_KEY = (
    "a rendered key is not a valid Secret key (only alphanumerics, '-', '.' and '_'); "
    "keys made from values are not shown"
)

# Keys not offered as top-level names (they stay reachable as values["..."]): our own names,
# and the words Jinja reads as literals or an operator. Python's keywords are fine names in Jinja
# (`{{ pass }}`, `{{ from }}`, `{{ class }}`): real secrets often have a `pass` key.
_NOT_NAMES = frozenset(
    {"values", "loop", "caller", "varargs", "kwargs", "self", "range"}
    | {"true", "false", "none", "True", "False", "None", "not"}
) | frozenset(functions.FUNCTIONS)


@dataclasses.dataclass(frozen=True)
class TemplateSources:
    """ConfigMaps and Secrets named by `templateFrom`, fetched by the reconciler beforehand."""

    config_maps: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    secrets: dict[str, dict[str, bytes]] = dataclasses.field(default_factory=dict)


def referenced_sources(template: model.Template | None) -> tuple[dict[str, str], dict[str, str]]:
    """The ConfigMaps and Secrets that `templateFrom` reads (all in the ExternalSecret's
    namespace), each name → the field that first names it (`...templateFrom[0].secret`)."""
    config_maps: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for index, source in enumerate(template.template_from if template is not None else []):
        where = f"spec.target.template.templateFrom[{index}]"
        if source.config_map is not None:
            config_maps.setdefault(source.config_map.name, f"{where}.configMap")
        if source.secret is not None:
            secrets.setdefault(source.secret.name, f"{where}.secret")
    return config_maps, secrets


def apply_template(
    template: model.Template | None,
    values: dict[str, bytes],
    *,
    sources: TemplateSources,
    delimiters: engines.Delimiters = engines.DEFAULT_DELIMITERS,
    engine_field: str = engines.ENGINE_FIELD_EXTERNALSECRET,
) -> model.SecretContent:
    """Render `template` over `values`; any failure is a `TemplateError`/`InvalidSpecError`.
    `engine_field`: where the owner's kind says `engineVersion` (named in the Jinja hint)."""
    if template is None:
        return model.SecretContent(data=dict(values), labels={}, annotations={}, type="Opaque")
    texts = {key: jinja.decode(value) for key, value in values.items()}
    out = _Output(
        engine=_engine(
            template, texts, sources=sources, delimiters=delimiters, engine_field=engine_field
        ),
        data=dict(values) if template.merge_policy == "Merge" else {},
    )
    with limits.budget(secrets=texts.values()):
        for index, source in enumerate(template.template_from):
            _apply_template_from(
                out, source, where=f"template.templateFrom[{index}]", sources=sources
            )
        for key, text in template.data.items():
            out.render_value("Data", key, text, where=f"template.data[{key!r}]")
        metadata = template.metadata or model.TemplateMetadata()
        for key, text in metadata.labels.items():
            out.render_value("Labels", key, text, where=f"template.metadata.labels[{key!r}]")
        for key, text in metadata.annotations.items():
            where = f"template.metadata.annotations[{key!r}]"
            out.render_value("Annotations", key, text, where=where)
    data = out.data if template.data or template.template_from else dict(values)
    if sum(map(len, data.values())) > limits.MAX_OUTPUT_BYTES:
        raise errors.TemplateError("the templated Secret data is larger than 1 MiB")
    return model.SecretContent(
        data=data,
        labels=out.labels,
        annotations=out.annotations,
        type=template.type or "Opaque",
    )


def _engine(
    template: model.Template,
    texts: dict[str, str],
    *,
    sources: TemplateSources,
    delimiters: engines.Delimiters,
    engine_field: str,
) -> engines.Engine:
    """`engineVersion: jinja` is Jinja; `v2` (ESO's default) is Go's text/template."""
    if template.engine_version == "jinja":
        return engines.JinjaEngine(_context(texts))
    templates_in_secrets = [jinja.decode(v) for s in sources.secrets.values() for v in s.values()]
    return engines.GoEngine(
        texts, delimiters=delimiters, secrets=templates_in_secrets, engine_field=engine_field
    )


def _context(texts: dict[str, str]) -> dict[str, Any]:
    """Each value by its key name where that is a usable name, and all of them as `values`."""
    context: dict[str, Any] = {
        key: text for key, text in texts.items() if key.isidentifier() and key not in _NOT_NAMES
    }
    context["values"] = texts
    return context


@dataclasses.dataclass
class _Output:
    engine: engines.Engine
    data: dict[str, bytes]
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)

    def render_value(
        self,
        target: model.TemplateTarget,
        key: str,
        text: str,
        *,
        where: str,
        decoding: model.DecodingStrategy = "None",
    ) -> None:
        """`templateAs: Values`: the text renders to the value of `key`."""
        rendered = self.engine.render(key, text, where=where)
        self.put(target, key, rendered, where=where, decoding=decoding)

    def render_map(
        self,
        target: model.TemplateTarget,
        text: str,
        *,
        where: str,
        decoding: model.DecodingStrategy = "None",
    ) -> None:
        """`templateAs: KeysAndValues`: the text renders to a mapping of keys to values."""
        rendered = self.engine.render(text, text, where=where)
        for key, value in _string_map(rendered, where=where).items():
            if target == "Data" and not keymapping.is_secret_key(key):
                raise errors.TemplateError(f"{where}: {MSG_RENDERED_KEY}")
            self.put(target, key, value, where=where, decoding=decoding)

    def put(
        self,
        target: model.TemplateTarget,
        key: str,
        value: str,
        *,
        where: str,
        decoding: model.DecodingStrategy = "None",
    ) -> None:
        """Set one rendered value; `decoding` is `templateFrom[].valuesDecodingStrategy`,
        applied to each rendered value as ESO does (after rendering, before the target)."""
        encoded = jinja.encode(value)
        if decoding != "None":
            try:
                encoded = keymapping.decode(encoded, decoding)
            except errors.AsyncsoError as exc:
                raise errors.TemplateError(
                    f"{where}: failed to decode rendered template value for key {key!r}: {exc}"
                ) from None
        if target == "Data":
            try:
                keymapping.validate_secret_key(key)
            except errors.InvalidSpecError as exc:
                raise errors.TemplateError(f"{where}: {exc}") from None
            if len(encoded) > limits.MAX_OUTPUT_BYTES:
                raise errors.TemplateError(f"{where}: rendered value is larger than 1 MiB")
            self.data[key] = encoded
            return
        try:
            text = encoded.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.TemplateError(
                f"{where}: {target.lower()[:-1]} {key!r} is not valid UTF-8 text"
            ) from None
        (self.labels if target == "Labels" else self.annotations)[key] = text


def _apply_template_from(
    out: _Output, source: model.TemplateFrom, *, where: str, sources: TemplateSources
) -> None:
    if source.config_map is not None:
        texts = sources.config_maps.get(source.config_map.name)
        _render_items(out, source, source.config_map, texts, kind="ConfigMap", where=where)
    if source.secret is not None:
        found = sources.secrets.get(source.secret.name)
        texts = None if found is None else {k: jinja.decode(v) for k, v in found.items()}
        _render_items(out, source, source.secret, texts, kind="Secret", where=where)
    if source.literal is not None:
        out.render_map(
            _target(source, where=where),
            source.literal,
            where=f"{where}.literal",
            decoding=source.values_decoding_strategy,
        )


def _render_items(
    out: _Output,
    source: model.TemplateFrom,
    ref: model.TemplateRef,
    texts: dict[str, str] | None,
    *,
    kind: str,
    where: str,
) -> None:
    """The `items` of one `templateFrom[].configMap` or `.secret`, in order."""
    where = f"{where}.{kind[0].lower()}{kind[1:]}"
    if texts is None:
        raise errors.InvalidSpecError(f"{where}: {kind} {ref.name!r} not found")
    for index, item in enumerate(ref.items):
        if item.key not in texts:
            raise errors.InvalidSpecError(
                f"{where}.items[{index}]: {kind} {ref.name!r} has no key {item.key!r}"
            )
        _render_item(out, source, item, texts[item.key], where=where)


def _target(source: model.TemplateFrom, *, where: str) -> model.TemplateTarget:
    target = model.template_target(source.target)
    if target is None:  # `validation` refuses it first; be safe anyway
        raise errors.InvalidSpecError(f"{where}.target: {source.target!r} is not allowed")
    return target


def _render_item(
    out: _Output,
    source: model.TemplateFrom,
    item: model.TemplateRefItem,
    text: str,
    *,
    where: str,
) -> None:
    target = _target(source, where=where)
    decoding = source.values_decoding_strategy
    where = f"{where}[{item.key!r}]"
    if item.template_as == "KeysAndValues":
        out.render_map(target, text, where=where, decoding=decoding)
    else:
        out.render_value(target, item.key, text, where=where, decoding=decoding)


# --- reading a rendered mapping like sigs.k8s.io/yaml into map[string]string -------------------


def _string_map(text: str, *, where: str) -> dict[str, str]:
    parsed = functions.load_yaml(text, what=f"{where} (rendered)", loader=yamlv2.Loader)
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise errors.TemplateError(
            f"{where}: the rendered text is not a YAML mapping of key: value"
        )
    result: dict[str, str] = {}
    for raw_key, value in parsed.items():
        key = _key_string(raw_key, where=where)
        if isinstance(value, list | dict):
            raise errors.TemplateError(
                f"{where}: the value of {key!r} is not a string (a list or mapping)"
            )
        result[key] = "" if value is None else functions.go_string(value)
    return result


def _key_string(key: object, *, where: str) -> str:
    """A mapping key as sigs.k8s.io/yaml makes it a JSON key (`1` → "1", `true` → "true",
    `1.5` → "1.5", `.inf` stays `.inf`); null, list and mapping keys are errors."""
    if isinstance(key, str):
        return key
    if isinstance(key, float) and (key != key or key in (float("inf"), float("-inf"))):
        return ".nan" if key != key else (".inf" if key > 0 else "-.inf")
    if isinstance(key, bool | int | float):
        return functions.go_string(key)
    raise errors.TemplateError(f"{where}: a key of the rendered mapping is not a string")
