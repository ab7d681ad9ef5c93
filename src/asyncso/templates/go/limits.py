"""The sandbox limits of a Go template render, and the per-render budget that enforces them.

Why: a template is hostile input (any tenant writes one), and Go's text/template has no limits
of its own beyond a template recursion depth of 100000. A render here is bounded in output
size, range iterations, `template` depth, the size of any value a function builds, and wall
time; each limit fails with its own message. Time is checked between steps (every node walked,
every call, every iteration; after every function call, so a loop of costly calls such as
`bcrypt` stops at the deadline), and every single step is bounded by the value-size limit, so
one step cannot run for long either.
"""

from __future__ import annotations

import contextvars
import dataclasses
import time


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds of one render (all keys of an ExternalSecret may share one budget)."""

    #: Bytes one render may write (a Secret holds at most 1 MiB in total).
    max_output_bytes: int = 1 << 20
    #: Iterations of all `range` loops of one render together.
    max_range_iterations: int = 100_000
    #: Nesting of `template`/`block` calls (Go's own limit is 100000).
    max_template_depth: int = 100
    #: Characters of a string, or elements of a list or map, a function may build.
    max_value_size: int = 4 << 20
    #: Wall time of one render, in seconds (as the Jinja engine's budget).
    max_seconds: float = 5.0
    #: A `time.monotonic()` deadline shared by several renders (all the templates of one
    #: ExternalSecret); when set, it replaces "now + max_seconds" (messages still say
    #: `max_seconds`).
    deadline: float | None = None


DEFAULT_LIMITS = Limits()

MSG_OUTPUT = "output exceeds the limit of {limit} bytes"
MSG_RANGE = "range iterations exceed the limit of {limit}"
MSG_DEPTH = "exceeded maximum template depth ({limit})"
MSG_VALUE = "{what} would exceed the limit of {limit} characters or elements"
MSG_TIME = "render exceeds the time limit of {limit} seconds"


class LimitError(Exception):
    """A sandbox limit was reached; the message says which (no values)."""


class Budget:
    """The counters of one render; `check_*` raise LimitError."""

    __slots__ = ("deadline", "iterations", "limits", "steps")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        start = time.monotonic()
        self.deadline = start + limits.max_seconds if limits.deadline is None else limits.deadline
        self.iterations = 0
        self.steps = 0

    def step(self) -> None:
        """Called for each node, call and iteration; checks the clock every 64 steps."""
        self.steps += 1
        if self.steps & 63 == 0 and time.monotonic() > self.deadline:
            raise LimitError(MSG_TIME.format(limit=self.limits.max_seconds))

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitError(MSG_TIME.format(limit=self.limits.max_seconds))

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.max_range_iterations:
            raise LimitError(MSG_RANGE.format(limit=self.limits.max_range_iterations))
        self.step()

    def check_size(self, size: int, what: str) -> None:
        if size > self.limits.max_value_size:
            raise LimitError(MSG_VALUE.format(what=what, limit=self.limits.max_value_size))


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "asyncso_go_template_budget", default=None
)


def current() -> Budget:
    """The budget of the render in progress (a default one outside a render)."""
    budget = _CURRENT.get()
    if budget is None:
        return Budget(DEFAULT_LIMITS)
    return budget


def check_size(size: int, what: str) -> None:
    """Refuse to build a value of `size` characters/elements (called before building it)."""
    budget = _CURRENT.get()
    limit = budget.limits.max_value_size if budget is not None else DEFAULT_LIMITS.max_value_size
    if size > limit:
        raise LimitError(MSG_VALUE.format(what=what, limit=limit))


def activate(budget: Budget) -> contextvars.Token[Budget | None]:
    return _CURRENT.set(budget)


def deactivate(token: contextvars.Token[Budget | None]) -> None:
    _CURRENT.reset(token)
