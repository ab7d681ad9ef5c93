"""How a test says "this fails because an issue-10 defect is still there".

Why: a strict xfail also swallows failures of the wrong kind (a fixture that broke, a typo), and
such a test would stay "expected to fail" forever. Tests marked with `defect(...)` raise
`DefectError` only from the assertion that shows the defect; anything else they raise is reported
as a failure. When the fix lands the test passes, strict xfail turns that into a failure, and the
mark must be removed.
"""

from __future__ import annotations

import pytest


class DefectError(AssertionError):
    """An assertion that fails because the defect named by the test's mark is present."""


def defect(reason: str) -> pytest.MarkDecorator:
    """`@defect("issue 10: <defect>")`: a strict xfail that only a `DefectError` satisfies."""
    assert reason.startswith("issue 10: "), reason
    return pytest.mark.xfail(strict=True, raises=DefectError, reason=reason)


def check(condition: object, message: str) -> None:
    """`assert condition, message`, raising `DefectError` (for tests marked with `defect`)."""
    if not condition:
        raise DefectError(message)
