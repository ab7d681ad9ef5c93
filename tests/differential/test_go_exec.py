"""Go's exec_test.go cases, each under missingkey=default and missingkey=error, vs the oracle."""

from __future__ import annotations

from typing import Any

import pytest
from cases_exec import EXEC_TESTS
from harness import Case, compare, run_ours

CASES = [
    Case(
        name=f"{index:03d} {name}/{mode}",
        template=template,
        data=data,
        kind="typed",
        funcs="test",
        missingkey=mode,
    )
    for index, (name, template, data) in enumerate(EXEC_TESTS)
    for mode in ("default", "error")
]


@pytest.fixture(scope="module")
def answers(oracle: Any) -> dict[str, dict[str, Any]]:
    replies = oracle.run([case.request() for case in CASES])
    return {case.name: reply for case, reply in zip(CASES, replies, strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_exec_case(case: Case, answers: dict[str, dict[str, Any]]) -> None:
    compare(case, run_ours(case), answers[case.name])
