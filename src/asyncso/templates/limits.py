"""Limits of template rendering: the time budget, value weights, and the size pre-checks.

Why a module: these are the numbers and checks that keep an untrusted template from hanging or
exhausting the operator, kept apart from the Jinja plumbing in `jinja` that calls them.
A value's *weight* is about the number of characters it prints to; every value a template builds
is kept under `MAX_WEIGHT`, so printing, comparing or serialising it is bounded too.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from asyncso import errors

MAX_OUTPUT_BYTES = 1 << 20  # Kubernetes' Secret size limit, per value and in total
MAX_WEIGHT = 4 << 20  # a value's printed size, roughly; see `weight`
MAX_TEMPLATE_CHARS = 256 << 10
MAX_RANGE = 10_000
MAX_CALL_DEPTH = 32
MAX_INT_BITS = 1 << 14
MAX_PRINTF_WIDTH = 10_000
RENDER_SECONDS = 5.0

_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")

# --- the per-render budget ---------------------------------------------------------------------


@dataclasses.dataclass
class _Budget:
    deadline: float
    seconds: float
    secrets: frozenset[str]
    depth: int = 0


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "asyncso_template_budget", default=None
)


@contextlib.contextmanager
def budget(seconds: float = RENDER_SECONDS, *, secrets: Iterable[str] = ()) -> Iterator[None]:
    """One time budget for every render inside; `secrets` are redacted from error messages.

    Nested uses keep the outermost budget, so one ExternalSecret's templates share one deadline.
    """
    if _BUDGET.get() is not None:
        yield
        return
    state = _Budget(
        deadline=time.monotonic() + seconds, seconds=seconds, secrets=frozenset(secrets)
    )
    token = _BUDGET.set(state)
    try:
        yield
    finally:
        _BUDGET.reset(token)


def is_secret(name: object) -> bool:
    """Whether `name` is one of the budget's secret values (so a message must not show it)."""
    state = _BUDGET.get()
    return isinstance(name, str) and state is not None and name in state.secrets


@contextlib.contextmanager
def nested_call() -> Iterator[None]:
    """Count call nesting (macros calling macros); refuse past `MAX_CALL_DEPTH`."""
    state = _BUDGET.get()
    if state is None:
        yield
        return
    state.depth += 1
    try:
        if state.depth > MAX_CALL_DEPTH:
            raise errors.TemplateError(f"calls nested deeper than {MAX_CALL_DEPTH}; refused")
        yield
    finally:
        state.depth -= 1


def tick() -> None:
    state = _BUDGET.get()
    if state is not None and time.monotonic() > state.deadline:
        raise errors.TemplateError(f"rendering took longer than {state.seconds:g}s; refused")


# --- measuring values --------------------------------------------------------------------------


def weight(value: Any, limit: int = MAX_WEIGHT) -> int:
    """About how many characters `value` prints to, counting shared parts each time they print.

    Stops counting once past `limit`, so measuring is itself bounded.
    """
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        total += 1
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, range):
            total += len(item)
    return total


def refuse_heavy(value: Any, what: str) -> Any:
    if weight(value) > MAX_WEIGHT:
        raise errors.TemplateError(f"{what} would be larger than {MAX_WEIGHT >> 20} MiB; refused")
    return value


def refuse_longer(size: int, what: str) -> None:
    if size > MAX_OUTPUT_BYTES:
        raise errors.TemplateError(f"{what} would be larger than 1 MiB; refused")


def printf_check(fmt: object) -> None:
    if isinstance(fmt, bytes):
        fmt = fmt.decode("latin-1")
    if not isinstance(fmt, str):
        return
    for match in _PRINTF_SPEC.finditer(fmt):
        for width in match.groups():
            if width == "*" or (width and int(width) > MAX_PRINTF_WIDTH):
                raise errors.TemplateError("printf width or precision too large; refused")


def _replace_size(text: object, old: object, new: object, count: object = -1) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * len(new)


def _indent_size(text: object, width: object) -> int:
    if not isinstance(text, str) or not isinstance(width, int):
        return 0
    return len(text) + (text.count("\n") + 2) * width


# Size checks before calling the filters/functions whose output size is a number in the template.
_PRECHECKS: dict[str, Callable[..., None]] = {
    "center": lambda value, width=80, *_: refuse_longer(
        width if isinstance(width, int) else 0, "center"
    ),
    "indent": lambda value, width=0, *_: refuse_longer(_indent_size(value, width), "indent"),
    "nindent": lambda value, width=0, *_: refuse_longer(_indent_size(value, width), "nindent"),
    "replace": lambda value, old="", new="", count=None, *_: refuse_longer(
        _replace_size(value, old, new, -1 if count is None else count), "replace"
    ),
    "format": lambda value, *_, **__: printf_check(value),
}

_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def guard(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter or global: deadline, size pre-check, weight of the result."""
    precheck = _PRECHECKS.get(name)
    offset = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        if precheck is not None:
            precheck(*args[offset:], **kwargs)
        return refuse_heavy(function(*args, **kwargs), f"the result of {name}")

    return guarded


def bounded_range(*args: int) -> range:
    """`range()`, refusing more than `MAX_RANGE` items."""
    try:
        items = range(*args)
        size = len(items)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise errors.TemplateError(f"range() is limited to {MAX_RANGE} items; refused")
    return items


_SIZED = (str, bytes, list, tuple)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `*`, `+`, `**`, `%` whose result would be huge, before computing it."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, _SIZED) and isinstance(times, int)
            if sized and weight(seq) * max(times, 0) > MAX_WEIGHT:
                raise errors.TemplateError("repetition with * is too large; refused")
    elif operator == "+":
        both = isinstance(left, _SIZED) and isinstance(right, type(left))
        if both and weight(left) + weight(right) > MAX_WEIGHT:
            raise errors.TemplateError("concatenation with + is too large; refused")
    elif operator == "**":
        ints = isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
        if ints and right * math.log2(abs(left)) > MAX_INT_BITS:
            raise errors.TemplateError("power with ** is too large; refused")
    elif operator == "%":
        printf_check(left)


def check_str_method(text: str, name: str, args: tuple[Any, ...]) -> None:
    if name in _WIDTH_METHODS and args and isinstance(args[0], int):
        refuse_longer(args[0], f"str.{name}")
    elif name == "replace" and len(args) >= 2:
        refuse_longer(_replace_size(text, *args[:3]), "str.replace")
