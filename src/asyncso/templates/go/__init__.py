"""Go's text/template as ESO runs it (engineVersion v2), in Python.

ESO (runtime/template/v2/template.go) renders each template key with
`template.New(key).Option("missingkey=error").Funcs(sprig minus env/expandenv/getHostByName +
ESO's own).Delims(left, right).Parse(text)` and executes it over the secret data as
`map[string]string`. `render` does the same here, with sandbox limits Go does not have.

Public API:

- `render(name, text, data, left=, right=, limits=)` -> bytes, or raises `GoTemplateError`
  whose message is Go's error text (`template: key:1:5: executing "key" at <.missing>: map
  has no entry for key "missing"`);
- `parse(name, text, left=, right=)` -> `Template` (cached), raising `GoTemplateError`;
- `check(name, text, ...)` -> the parse error text or None.

A render is synchronous and CPU-bound; it bounds its own wall time (`Limits.max_seconds`),
output and value sizes. A caller on an event loop runs it in a worker thread
(`await asyncio.to_thread(render, ...)`) so that a slow template holds one thread, not the loop.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from asyncso import errors
from asyncso.templates.go import executor, gotypes, limits, parser
from asyncso.templates.go.functions import FuncMap
from asyncso.templates.go.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "DEFAULT_LIMITS",
    "GoTemplateError",
    "Limits",
    "Template",
    "check",
    "parse",
    "render",
]

PHASE_PARSE = "parse"
PHASE_EXEC = "exec"
MSG_NESTED = "template or value nested too deeply"


class GoTemplateError(errors.TemplateError):
    """A Go template failed to parse or execute; str() is Go's message.

    `phase` is "parse" or "exec". `limit` is True when a sandbox limit (not Go) stopped it.
    """

    def __init__(self, message: str, *, phase: str, limit: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.phase = phase
        self.limit = limit

    def __str__(self) -> str:
        return self.message


@functools.cache
def eso_functions() -> FuncMap:
    """ESO's FuncMap: sprig's TxtFuncMap minus env/expandenv/getHostByName, plus ESO's own."""
    from asyncso.templates.go import eso, sprig

    funcs = dict(sprig.functions())
    funcs.update(eso.functions())
    return funcs


@dataclasses.dataclass(frozen=True)
class Template:
    """A parsed template set (the key's template and any it defines)."""

    parsed: parser.Parsed
    funcs: FuncMap

    @property
    def name(self) -> str:
        return self.parsed.name

    def execute(
        self, data: Any, *, limits_: Limits = DEFAULT_LIMITS, missing_key: str = "error"
    ) -> bytes:
        budget = limits.Budget(limits_)
        try:
            text = executor.execute(
                self.parsed, data, funcs=self.funcs, missing_key=missing_key, budget=budget
            )
        except RecursionError:
            raise GoTemplateError(
                f"template: {self.name}: " + MSG_NESTED, phase=PHASE_EXEC, limit=True
            ) from None
        except executor.ExecError as exc:
            limit = any(
                marker in str(exc)
                for marker in ("exceed the limit", "exceeds the limit", "exceeds the time limit")
            ) or "exceeded maximum template depth" in str(exc)
            raise GoTemplateError(str(exc), phase=PHASE_EXEC, limit=limit) from None
        output = text.encode("utf-8", "surrogateescape")
        if len(output) > limits_.max_output_bytes:
            raise GoTemplateError(
                f"template: {self.name}: "
                + limits.MSG_OUTPUT.format(limit=limits_.max_output_bytes),
                phase=PHASE_EXEC,
                limit=True,
            )
        return output


def parse(
    name: str,
    text: str,
    *,
    left: str = "{{",
    right: str = "}}",
    funcs: FuncMap | None = None,
) -> Template:
    """Parse as ESO does (Go's parse errors verbatim); results are cached by their inputs."""
    functions = eso_functions() if funcs is None else funcs
    if funcs is None:
        return _parse_cached(name, text, left, right)
    return _parse(name, text, left, right, functions)


@functools.lru_cache(maxsize=512)
def _parse_cached(name: str, text: str, left: str, right: str) -> Template:
    return _parse(name, text, left, right, eso_functions())


def _parse(name: str, text: str, left: str, right: str, functions: FuncMap) -> Template:
    names = _FunctionNames(functions)
    try:
        parsed = parser.parse(name, text, left=left, right=right, functions=names)
    except parser.ParseError as exc:
        raise GoTemplateError(str(exc), phase=PHASE_PARSE) from None
    except RecursionError:
        raise GoTemplateError(
            f"template: {name}: " + MSG_NESTED, phase=PHASE_PARSE, limit=True
        ) from None
    return Template(parsed=parsed, funcs=functions)


class _FunctionNames:
    """The names a template may call: its functions and Go's builtins."""

    def __init__(self, functions: FuncMap) -> None:
        self.functions = functions

    def __contains__(self, name: object) -> bool:
        from asyncso.templates.go.builtins import BUILTINS

        return name in self.functions or name in BUILTINS


def check(name: str, text: str, *, left: str = "{{", right: str = "}}") -> str | None:
    """Go's parse error for the template, or None when it parses."""
    try:
        parse(name, text, left=left, right=right)
    except GoTemplateError as exc:
        return exc.message
    return None


def string_data(data: Mapping[str, str | bytes]) -> gotypes.GoMap:
    """ESO's data: map[string]string from the secret's values (bytes kept as they are)."""
    out = gotypes.StringMap()
    for key, value in data.items():
        out[key] = value if isinstance(value, str) else gotypes.from_bytes(value)
    return out


def render(
    name: str,
    text: str,
    data: Mapping[str, str | bytes],
    *,
    left: str = "{{",
    right: str = "}}",
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """ESO's `execute(key, template, data)`: the rendered bytes, or GoTemplateError."""
    template = parse(name, text, left=left, right=right)
    return template.execute(string_data(data), limits_=limits)
