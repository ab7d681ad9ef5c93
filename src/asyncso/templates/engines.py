"""The two template engines behind one call: Go's text/template (ESO's `v2`, the default) and Jinja.

Why: `apply` follows ESO's applyTemplate order whatever `engineVersion` says; only the rendering
of one text differs. `Engine.render(name, text, where=)` is that one step, returning the rendered
text (bytes that are not UTF-8 kept as surrogates) or raising `TemplateError` with the message a
user reads in the status, the Event and the log.

The Go engine follows ESO's `execute` (runtime/template/v2/template.go) around the engine: one
template per key named like the key (in the KeysAndValues scope the whole text is the name), the
data is every key as `map[string]string`, `missingkey=error`, the configured delimiters; errors
are wrapped as ESO wraps them (`unable to execute template at key K: unable to parse template at
key K: template: K:1: ...`, twice in both scopes). Then, unlike ESO, every secret value the sync
knows is taken out of the message (Go's errors can quote data: `fail .password`,
`mustToDate "2006" .x`) by `errors.KnownValues`, the one redaction of values, with Go's quoting
among the forms it knows; and a long name (a whole KeysAndValues text) is shortened. All the
renders of one ExternalSecret share one wall-time budget, as the Jinja engine's do.

A Go parse error on a text that Jinja compiles gets `jinja_hint(field)`: asyncso's Jinja templates
written before Go templates became the default need `engineVersion: jinja`, at the field of the
kind being rendered (`ENGINE_FIELD_EXTERNALSECRET`, `ENGINE_FIELD_PUSHSECRET`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from asyncso import errors
from asyncso.templates import go, jinja, limits
from asyncso.templates.go import limits as go_limits
from asyncso.templates.go import strconv

JINJA_HINT = (
    " — this looks like a Jinja template: Go templates are the default (engineVersion v2, as in "
    "ESO); set {field}: jinja to render it with Jinja "
    "(see docs/templates.md)"
)
#: Where each kind says its engine (ESO: ExternalSecret `spec.target.template`, PushSecret
#: `spec.template`, both an `ExternalSecretTemplate`).
ENGINE_FIELD_EXTERNALSECRET = "spec.target.template.engineVersion"
ENGINE_FIELD_PUSHSECRET = "spec.template.engineVersion"


def jinja_hint(field: str = ENGINE_FIELD_EXTERNALSECRET) -> str:
    """The hint for a Jinja-looking text under the Go engine, naming the engine's `field`."""
    return JINJA_HINT.format(field=field)


#: The time limit, as the Go engine says it (one budget for all the templates of an ES).
MSG_TIME = go_limits.MSG_TIME
MSG_TOO_LONG = "template is longer than {limit} KiB"
#: ESO's messages (runtime/template/v2/template.go, runtime/esutils/utils.go).
ESO_PARSE = "unable to parse template at key {key}: {error}"
ESO_EXECUTE = "unable to execute template at key {key}: {error}"
ESO_TRANSFORM_PARSE = "transform failed with failed to parse template: {error}"
ESO_TRANSFORM_EXECUTE = "transform failed with failed to execute template for key {key}: {error}"

#: Names (KeysAndValues texts) longer than this, or with a newline, are shown shortened.
_NAME_CHARS = 64


@dataclasses.dataclass(frozen=True)
class Delimiters:
    """`--template-left-delimiter` / `--template-right-delimiter` (ESO's flags; Go engine only)."""

    left: str = "{{"
    right: str = "}}"


DEFAULT_DELIMITERS = Delimiters()


class Engine(Protocol):
    """Renders one template text; `name` is what Go calls the template (the key, or the text)."""

    def render(self, name: str, text: str, *, where: str) -> str: ...


class JinjaEngine:
    """`engineVersion: jinja`: the sandboxed Jinja engine over a prepared context."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context

    def render(self, name: str, text: str, *, where: str) -> str:
        return jinja.render(text, self.context, where=where)


class GoEngine:
    """`engineVersion: v2` (or none): Go's text/template as ESO runs it."""

    def __init__(
        self,
        values: Mapping[str, str],
        *,
        delimiters: Delimiters = DEFAULT_DELIMITERS,
        secrets: Iterable[str] = (),
        seconds: float = limits.RENDER_SECONDS,
        engine_field: str = ENGINE_FIELD_EXTERNALSECRET,
    ) -> None:
        self.values = dict(values)
        self.engine_field = engine_field
        self.delimiters = delimiters
        self.secrets = [*values.values(), *secrets]  # redacted from messages (`_message`)
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def render(self, name: str, text: str, *, where: str) -> str:
        if time.monotonic() > self.deadline:
            raise errors.TemplateError(f"{where}: {MSG_TIME.format(limit=self.seconds)}")
        if len(text) > limits.MAX_TEMPLATE_CHARS:
            limit = limits.MAX_TEMPLATE_CHARS >> 10
            raise errors.TemplateError(f"{where}: {MSG_TOO_LONG.format(limit=limit)}")
        budget = go.Limits(max_seconds=self.seconds, deadline=self.deadline)
        try:
            out = go.render(
                name,
                text,
                self.values,
                left=self.delimiters.left,
                right=self.delimiters.right,
                limits=budget,
            )
        except go.GoTemplateError as exc:
            raise errors.TemplateError(f"{where}: {self._message(exc, name, text)}") from None
        return out.decode("utf-8", "surrogateescape")

    def _message(self, exc: go.GoTemplateError, name: str, text: str) -> str:
        shown = short_name(name)
        detail = exc.message
        if shown != name:  # Go names the template as is and quoted (`executing "…"`)
            detail = detail.replace(strconv.quote(name), strconv.quote(shown))
            detail = detail.replace(name, shown)
        inner = (ESO_PARSE if exc.phase == go.PHASE_PARSE else ESO_EXECUTE).format(
            key=shown, error=detail
        )
        known = errors.KnownValues(quoters=(strconv.quote,))
        known.add_all(self.secrets)
        message = known.redact(ESO_EXECUTE.format(key=shown, error=inner))
        if exc.phase == go.PHASE_PARSE and looks_like_jinja(text):
            message += jinja_hint(self.engine_field)
        return message


def short_name(name: str) -> str:
    """A template name as messages show it: a whole KeysAndValues text is cut to its start."""
    if len(name) <= _NAME_CHARS and "\n" not in name:
        return name
    return name.split("\n", 1)[0][: _NAME_CHARS // 2].rstrip() + "…"


def looks_like_jinja(text: str) -> bool:
    """A text that Go cannot parse but Jinja compiles, and that has no Go-only syntax (`{{ if }}`
    compiles in Jinja too), is one of our older Jinja templates."""
    if "{{" not in text and "{%" not in text:
        return False
    return not jinja.looks_like_go(text[: limits.MAX_TEMPLATE_CHARS]) and jinja.compiles(text)


def go_transform(
    source: str, *, where: str, engine_field: str = ENGINE_FIELD_EXTERNALSECRET
) -> Callable[[str], str]:
    """ESO's `dataFrom[].rewrite[].transform` (runtime/esutils RewriteTransform): a Go template
    named "transform", default delimiters and missingkey, over `{"value": key}`; the key it
    renders is the new key. One time budget for all the keys of one rewrite. `engine_field`:
    where the owner's kind chooses the engine (named in the Jinja hint)."""
    try:
        template = go.parse("transform", source)
    except go.GoTemplateError as exc:
        message = ESO_TRANSFORM_PARSE.format(error=exc.message)
        if looks_like_jinja(source):
            message += jinja_hint(engine_field)
        raise errors.TemplateError(f"{where}: {message}") from None
    deadline = time.monotonic() + limits.RENDER_SECONDS
    budget = go.Limits(max_seconds=limits.RENDER_SECONDS, deadline=deadline)

    def rename(key: str) -> str:
        if time.monotonic() > deadline:
            limit = limits.RENDER_SECONDS
            raise errors.TemplateError(f"{where}: {MSG_TIME.format(limit=limit)}")
        data = go.string_data({"value": key})
        try:
            out = template.execute(data, limits_=budget, missing_key="default")
        except go.GoTemplateError as exc:
            message = ESO_TRANSFORM_EXECUTE.format(key=strconv.quote(key), error=exc.message)
            raise errors.TemplateError(f"{where}: {message}") from None
        return out.decode("utf-8", "surrogateescape")

    return rename
