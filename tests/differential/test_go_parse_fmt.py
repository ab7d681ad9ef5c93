"""parse_test.go, lex_test.go and fmt_test.go inputs, rendered by us and by Go, compared."""

from __future__ import annotations

from typing import Any

import pytest
from cases_fmt import FMT_TESTS
from cases_parse import (
    ERROR_TESTS,
    LEX_DELIM_TESTS,
    LEX_POS_TESTS,
    LEX_TESTS,
    NUMBER_TESTS,
    PARSE_TESTS,
)
from harness import Case, compare, run_ours

from asyncso.templates.go import strconv


def _cases() -> list[Case]:
    cases: list[Case] = []
    for table, rows in (
        ("parse", PARSE_TESTS),
        ("error", ERROR_TESTS),
        ("lex", LEX_TESTS),
        ("lexpos", LEX_POS_TESTS),
    ):
        for index, (name, template) in enumerate(rows):
            cases.append(Case(name=f"{table}{index:03d} {name}/eso", template=template))
            cases.append(
                Case(
                    name=f"{table}{index:03d} {name}/test",
                    template=template,
                    funcs="test",
                    missingkey="default",
                )
            )
    for index, (name, template) in enumerate(LEX_DELIM_TESTS):
        cases.append(
            Case(name=f"delim{index:03d} {name}", template=template, left="$$", right="@@")
        )
    for index, number in enumerate(NUMBER_TESTS):
        for form, template in (
            ("print", f"{{{{print {number}}}}}"),
            ("type", f"{{{{printf `%T %v` {number} {number}}}}}"),
            ("int", f"{{{{add {number}}}}}"),
            ("chain", f"{{{{{number} | printf `%v`}}}}"),
        ):
            cases.append(
                Case(name=f"number{index:03d} {number} {form}", template=template, funcs="test")
            )
    for index, (fmt, value, source) in enumerate(FMT_TESTS):
        cases.append(
            Case(
                name=f"fmt{index:03d} {fmt} {source}",
                template=f"{{{{printf {strconv.quote(fmt)} .v}}}}",
                data={"v": value},
                kind="typed",
                funcs="none",
            )
        )
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def answers(oracle: Any) -> dict[str, dict[str, Any]]:
    replies = oracle.run([case.request() for case in CASES])
    return {case.name: reply for case, reply in zip(CASES, replies, strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_parse_lex_fmt_case(case: Case, answers: dict[str, dict[str, Any]]) -> None:
    compare(case, run_ours(case), answers[case.name])
