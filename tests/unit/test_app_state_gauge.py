"""The per-state gauge of ExternalSecrets: right after every sync, set only when it changes."""

from __future__ import annotations

import collections
import types
from typing import Any

import pytest

from asyncso import app, metrics, view


class Gauge:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.sets = 0

    def labels(self, *, state: str) -> Any:
        gauge = self

        class Child:
            def set(self, value: float) -> None:
                gauge.values[state] = value
                gauge.sets += 1

        return Child()


def test_the_gauge_follows_the_counts_and_is_left_alone_when_they_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gauge = Gauge()
    monkeypatch.setattr(metrics, "EXTERNALSECRETS_BY_STATE", gauge)
    state = view.View()
    for name in ("a", "b", "c"):
        state.externalsecrets[("ns", name)] = None  # type: ignore[assignment]
    operator: Any = types.SimpleNamespace(
        _states={}, _counts=collections.Counter(), _published=None, view=state
    )

    def set_state(name: str, value: str | None) -> None:
        app.Operator._set_state(operator, ("ns", name), value)

    set_state("a", "synced")
    assert gauge.values == {"synced": 1, "error": 0, "pending": 2}
    sets = gauge.sets
    for _ in range(5):  # routine refreshes of a synced one
        set_state("a", "synced")
    assert gauge.sets == sets
    set_state("b", "error")
    assert gauge.values == {"synced": 1, "error": 1, "pending": 1}
    set_state("a", "error")
    assert gauge.values == {"synced": 0, "error": 2, "pending": 1}
    del state.externalsecrets[("ns", "a")]
    set_state("a", None)
    assert gauge.values == {"synced": 0, "error": 1, "pending": 1}
