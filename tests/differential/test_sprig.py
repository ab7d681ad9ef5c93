"""Sprig, builtins and ESO-style templates over ESO's data, compared with the Go oracle."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from cases_sprig import DATA, FUNCTION_ARGS, SHAPES, TEMPLATES
from harness import Case, compare, run_ours


def _cases() -> list[Case]:
    cases: list[Case] = []
    for name, arg_list in FUNCTION_ARGS.items():
        for index, args in enumerate(arg_list):
            call = f"{name} {args}".strip()
            cases.append(Case(name=f"{name}#{index}", template=f"{{{{ {call} }}}}", data=DATA))
            cases.append(
                Case(
                    name=f"{name}#{index}/type",
                    template=f'{{{{ $r := {call} }}}}{{{{ printf "%T" $r }}}}',
                    data=DATA,
                )
            )
    for name, (template, shape) in SHAPES.items():
        cases.append(
            Case(name=f"shape {name}", template=template, data=DATA, compare="shape", shape=shape)
        )
    for index, template in enumerate(TEMPLATES):
        cases.append(Case(name=f"template#{index:03d}", template=template, data=DATA))
        cases.append(
            Case(
                name=f"template#{index:03d}/default",
                template=template,
                data=DATA,
                missingkey="default",
            )
        )
    return cases


#: Cases where ESO's pinned libraries differ from the oracle's (Debian's) versions: the case
#: name, why, and ESO's result.
DIVERGENCES: dict[str, tuple[str, tuple[str, str]]] = {
    "int#4": ('cast 1.10 (ESO) reads "1.5" as 1; cast 1.5 (Debian) as 0', ("ok", "1")),
    "int#15": ('cast 1.10 (ESO) reads "3.75" as 3; cast 1.5 (Debian) as 0', ("ok", "3")),
}


def _with_divergence(case: Case) -> Case:
    known = DIVERGENCES.get(case.name)
    if known is None:
        return case
    reason, expect = known
    return dataclasses.replace(case, divergence=reason, expect=expect)


CASES = [_with_divergence(case) for case in _cases()]


@pytest.fixture(scope="module")
def answers(oracle: Any) -> dict[str, dict[str, Any]]:
    replies = oracle.run([case.request() for case in CASES])
    return {case.name: reply for case, reply in zip(CASES, replies, strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sprig_case(case: Case, answers: dict[str, dict[str, Any]]) -> None:
    compare(case, run_ours(case), answers[case.name])
