"""The sandbox that renders untrusted Jinja templates: immutable, and bounded in time, size, depth.

Why: template authors are namespace users, while the operator can read every namespace's secrets.
A template must not reach Python internals, must not hang or exhaust the process, and its errors
must not echo secret values. Jinja's `ImmutableSandboxedEnvironment` blocks attribute escapes; on
top of it this module:

- allows only a short list of methods on `str`, `dict`, `list` (no `format`, no `to_bytes`…);
- keeps every value a template builds under a weight (about its printed size): list, tuple and
  dict literals, operator results, filter and function results are all measured, so no value can
  print to gigabytes however it is nested or shared;
- guards the few operations whose result size is a number in the template: `*`, `**`, `%`,
  `center`, `indent`, `replace`, printf widths;
- caps output at 1 MiB per rendered value, including text buffered inside macros and `{% set %}`;
- checks a wall-clock deadline on every call, loop iteration, attribute access and output chunk,
  and caps call nesting, so recursion and nested loops end quickly.

The numbers and checks live in `limits`; this module is the Jinja plumbing.

The loop, buffer and `~` hooks are installed by a small `CodeGenerator` subclass, because Jinja
calls no sandbox method there.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jinja2
import jinja2.compiler
import jinja2.nodes
import jinja2.runtime
import jinja2.sandbox
import jinja2.utils
from jinja2 import filters as jinja_filters

from asyncso import errors
from asyncso.templates import functions, limits

# What only Go's text/template says inside `{{ … }}`: a leading `.field`, `$var`, `/* comment */`
# or action keyword; `.field` or a lone `.` as an argument; `$var`; a `raw string`; `:=`; or a call
# with space-separated arguments (`printf "%s" .a`, `f "arg"`) — not Jinja's operator words.
_GO_ACTION = re.compile(
    r"^-?\s*(?:[.$]|/\*|(?:end|else|if|range|with|define|template|block|break|continue)\b)"
    r"|(?:^|[\s(|,])\.(?:[A-Za-z_]|[\s)]|$)"
    r"|[$`]|:="
    r"|\b(?!(?:if|else|and|or|not|in|is)\b)[A-Za-z_]\w*[ \t]+(?:[\"`$]|\.[A-Za-z_])"
)
GO_HINT = (
    " — this looks like a Go template: remove engineVersion: jinja (Go templates, engineVersion "
    "v2, are the default, as in ESO), or write it in Jinja: {{ username }} for {{ .username }} "
    "(see docs/templates.md)"
)


def looks_like_go(source: str) -> bool:
    """True when some `{{ … }}` action of `source` uses Go template syntax.

    Why: a Go template under `engineVersion: jinja` (ESO's templates are Go templates); Jinja's
    own message for them (`unexpected '.'`) does not say what is wrong. Linear in the size of
    `source` (actions are found with `str.find`, each action's regex starts only at word
    boundaries or fixed tokens).
    """
    pos = 0
    while (start := source.find("{{", pos)) >= 0:
        end = source.find("}}", start + 2)
        action = source[start + 2 : end if end >= 0 else len(source)]
        if _GO_ACTION.search(action):
            return True
        if end < 0:
            return False
        pos = end + 2
    return False


# --- code generation hooks ---------------------------------------------------------------------


class _GuardedBuffer(list[str]):
    """The output buffer of a macro, `{% set %}` block, `{% filter %}` or recursive loop."""

    __slots__ = ("_size",)

    def __init__(self) -> None:
        super().__init__()
        self._size = 0

    def _grow(self, size: int) -> None:
        limits.tick()
        self._size += size
        limits.refuse_longer(self._size, "rendered output")

    def append(self, item: str) -> None:
        self._grow(len(item))
        super().append(item)

    def extend(self, items: Iterable[str]) -> None:
        chunk = tuple(items)
        self._grow(sum(map(len, chunk)))
        super().extend(chunk)


class _GuardedCodeGenerator(jinja2.compiler.CodeGenerator):
    """Routes loops, buffers, `~` and literals through the environment's guards."""

    def buffer(self, frame: jinja2.compiler.Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.asyncso_buffer()")

    def visit_For(self, node: jinja2.nodes.For, frame: jinja2.compiler.Frame) -> None:
        node.iter = jinja2.nodes.Call(
            jinja2.nodes.EnvironmentAttribute("asyncso_iterate"),
            [node.iter],
            [],
            None,
            None,
            lineno=node.iter.lineno,
        )
        super().visit_For(node, frame)

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: jinja2.compiler.Frame) -> None:
        self.write("environment.asyncso_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def _measured(
        self,
        visit: Callable[[Any, jinja2.compiler.Frame], None],
        node: jinja2.nodes.Node,
        frame: jinja2.compiler.Frame,
    ) -> None:
        self.write("environment.asyncso_measure(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: jinja2.nodes.List, frame: jinja2.compiler.Frame) -> None:
        self._measured(super().visit_List, node, frame)

    def visit_Dict(self, node: jinja2.nodes.Dict, frame: jinja2.compiler.Frame) -> None:
        self._measured(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: jinja2.nodes.Tuple, frame: jinja2.compiler.Frame) -> None:
        if node.ctx == "load":
            self._measured(super().visit_Tuple, node, frame)
        else:
            super().visit_Tuple(node, frame)


# --- the environment ---------------------------------------------------------------------------

_STR_METHODS = frozenset(
    {
        *("capitalize", "casefold", "center", "count", "endswith", "find", "index"),
        *("isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "islower", "isnumeric"),
        *("isspace", "istitle", "isupper", "ljust", "lower", "lstrip", "partition"),
        *("removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition"),
        *("rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase"),
        *("title", "upper", "zfill"),
    }
)
_DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_SEQUENCE_METHODS = frozenset({"count", "index"})

# Jinja's own filters that are kept: none of them can grow a value by a number in the template
# (or they are pre-checked: center, format). Dropped: batch, slice (fill), random (not
# repeatable), pprint, urlize, xmlattr, filesizeformat, escape/safe (no autoescape here).
_JINJA_FILTERS = (
    *("abs", "attr", "capitalize", "center", "count", "dictsort", "first", "float"),
    *("format", "groupby", "int", "items", "last", "length", "list", "map", "max", "min"),
    *("reject", "rejectattr", "reverse", "round", "select", "selectattr", "sort", "string"),
    *("striptags", "sum", "title", "tojson", "truncate", "unique", "urlencode", "wordcount"),
    "wordwrap",
)


class _StrictUndefined(jinja2.StrictUndefined):
    """ESO's `missingkey=error`; the message never repeats a secret value used as a key."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        name = self._undefined_name
        if limits.is_secret(name):
            name = "<redacted>"
        if self._undefined_obj is jinja2.utils.missing:
            return f"{name!r} is undefined"
        owner = jinja2.utils.object_type_repr(self._undefined_obj)
        if not isinstance(name, str):
            return f"{owner} has no element {name!r}"
        return f"{owner!r} has no attribute {name!r}"


def _finalize(value: Any) -> Any:
    """Print booleans as Go and YAML do (`true`), not as Python does (`True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(
            autoescape=False,
            undefined=_StrictUndefined,
            keep_trailing_newline=True,
            optimized=False,
            cache_size=0,
            finalize=_finalize,
        )
        chosen = {name: jinja_filters.FILTERS[name] for name in _JINJA_FILTERS}
        chosen.update(functions.FUNCTIONS)
        self.filters = {name: limits.guard(name, f) for name, f in chosen.items()}
        self.globals.clear()
        self.globals.update(
            {name: limits.guard(name, f) for name, f in functions.FUNCTIONS.items()}
        )
        self.globals["range"] = limits.bounded_range

    # hooks called by the generated code (see _GuardedCodeGenerator)

    def asyncso_buffer(self) -> _GuardedBuffer:
        return _GuardedBuffer()

    def asyncso_iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for index, item in enumerate(iterable):
            if not index & 63:
                limits.tick()
            yield item

    def asyncso_concat(self, parts: tuple[Any, ...]) -> str:
        texts = [str(part) for part in parts]
        limits.refuse_longer(sum(map(len, texts)), "the result of ~")
        return "".join(texts)

    def asyncso_measure(self, value: Any) -> Any:
        return limits.refuse_heavy(value, "a list or dict literal")

    # sandbox policy

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, str):
            return attr in _STR_METHODS
        if isinstance(obj, dict):
            return attr in _DICT_METHODS
        if isinstance(obj, tuple) and attr in getattr(type(obj), "_fields", ()):
            return True  # named tuples, e.g. groupby's (grouper, list)
        if isinstance(obj, list | tuple):
            return attr in _SEQUENCE_METHODS
        # Jinja's own objects (`loop`, macros, `caller`); nothing else has attributes.
        return isinstance(obj, jinja2.runtime.LoopContext | jinja2.runtime.Macro)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        return None  # `str.format` is not in _STR_METHODS: refused, not wrapped

    def getattr(self, obj: Any, attribute: str) -> Any:
        limits.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        limits.tick()
        return super().getitem(obj, argument)

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        limits.tick()
        limits.check_binop(operator, left, right)
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, int) and result.bit_length() > limits.MAX_INT_BITS:
            raise errors.TemplateError("integer result is too large; refused")
        return limits.refuse_heavy(result, f"the result of {operator}")

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        limits.tick()
        if isinstance(obj, types.BuiltinMethodType) and isinstance(obj.__self__, str):
            limits.check_str_method(obj.__self__, obj.__name__, args)
        with limits.nested_call():
            result = super().call(context, obj, *args, **kwargs)
        return limits.refuse_heavy(result, "the result of a call")


_ENVIRONMENT = _Sandbox()


# --- compile and render ------------------------------------------------------------------------


def _syntax_message(exc: jinja2.TemplateSyntaxError) -> str:
    return f"{exc.message} (line {exc.lineno})"


_CACHED_TEMPLATE_CHARS = 16 << 10


def _compile(source: str) -> jinja2.Template:
    """Compile, from a cache for the usual small templates (every refresh renders them again)."""
    if len(source) > limits.MAX_TEMPLATE_CHARS:
        limit = limits.MAX_TEMPLATE_CHARS >> 10
        raise errors.TemplateError(f"template is longer than {limit} KiB")
    if len(source) <= _CACHED_TEMPLATE_CHARS:
        return _compile_cached(source)
    return _compile_uncached(source)


def _compile_uncached(source: str) -> jinja2.Template:
    """Parse, refuse what the sandbox does not offer, compile."""
    try:
        tree = _ENVIRONMENT.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise errors.TemplateError(_syntax_message(exc)) from None
    except (RecursionError, MemoryError):
        raise errors.TemplateError("template is nested too deeply") from None
    refused = (
        jinja2.nodes.Extends,
        jinja2.nodes.Include,
        jinja2.nodes.Import,
        jinja2.nodes.FromImport,
    )
    for node in tree.find_all(refused):
        kind = type(node).__name__.lower()
        raise errors.TemplateError(f"{kind} is not supported (line {node.lineno})")
    for name in tree.find_all(jinja2.nodes.Name):
        if name.name == "self":
            raise errors.TemplateError(f"'self' is not available (line {name.lineno})")
    try:
        code = _ENVIRONMENT.compile(tree)
    except jinja2.TemplateSyntaxError as exc:
        raise errors.TemplateError(_syntax_message(exc)) from None
    except (RecursionError, MemoryError, SyntaxError):
        raise errors.TemplateError("template is too complex to compile") from None
    return _ENVIRONMENT.template_class.from_code(
        _ENVIRONMENT, code, _ENVIRONMENT.make_globals(None), None
    )


_compile_cached = functools.lru_cache(maxsize=256)(_compile_uncached)


def compiles(source: str) -> bool:
    """Whether `source` is a Jinja template this sandbox accepts (used to hint at the engine)."""
    try:
        _compile(source)
    except errors.TemplateError:
        return False
    return True


def _template_line(exc: BaseException) -> str:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


def _runtime_message(exc: Exception) -> str:
    if isinstance(exc, errors.TemplateError):
        return str(exc)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"refused by the sandbox: {exc.message}"
    if isinstance(exc, jinja2.exceptions.TemplateError):
        return exc.message or type(exc).__name__
    if isinstance(exc, RecursionError):
        return "recursion too deep; refused"
    if isinstance(exc, MemoryError):
        return "out of memory; refused"
    if isinstance(exc, TypeError | ArithmeticError):
        # Python words these from types, not values ("can only concatenate str ...").
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__} while rendering"


def render(source: str, context: Mapping[str, Any], *, where: str) -> str:
    """Render one template text with `context`; any failure is a `TemplateError` naming `where`.

    A failing template that looks like ESO's Go syntax gets `GO_HINT`: in Jinja most Go actions
    (`{{ .x }}`, `{{ index . "k" }}`, `{{ printf … }}`) are syntax errors and some (`{{ end }}`)
    undefined names, so every Go template fails here — with a message that says why.
    """
    try:
        return _render(source, context)
    except errors.TemplateError as exc:
        hint = GO_HINT if looks_like_go(source[: limits.MAX_TEMPLATE_CHARS]) else ""
        raise errors.TemplateError(f"{where}: {exc}{hint}") from None


def _render(source: str, context: Mapping[str, Any]) -> str:
    with limits.budget():
        try:
            template = _compile(source)
        except errors.TemplateError:
            raise
        except Exception as exc:  # a bug in Jinja's compiler must not crash the reconciler
            kind = type(exc).__name__
            raise errors.TemplateError(f"template could not be compiled ({kind})") from None
        chunks: list[str] = []
        size = 0
        try:
            for chunk in template.generate(context):
                limits.tick()
                size += len(chunk)
                limits.refuse_longer(size, "rendered output")
                chunks.append(chunk)
        except Exception as exc:
            raise errors.TemplateError(f"{_runtime_message(exc)}{_template_line(exc)}") from None
        return "".join(chunks)


def encode(text: str) -> bytes:
    """A rendered text as Secret bytes: bytes that came in undecodable go out unchanged."""
    return text.encode("utf-8", "surrogateescape")


def decode(value: bytes) -> str:
    """Secret bytes as a template value (the inverse of `encode`)."""
    return value.decode("utf-8", "surrogateescape")
