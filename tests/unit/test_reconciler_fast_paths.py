"""The cheap paths of a routine refresh, and that they change nothing a sync reports.

At thousands of refreshes a cycle each hop counts: the merge runs on the event loop unless the
work is large or the user's (rewrite, template); these tests pin where it runs and that the
Secret and status come out the same either way.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from test_reconciler import NS, World

from asyncso import plan, secret_data


@pytest.fixture
def merge_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread every `secret_data.merge` ran in."""
    threads: list[int] = []
    real = secret_data.merge

    def spy(spec: Any, fetched: secret_data.Fetched) -> dict[str, bytes]:
        threads.append(threading.get_ident())
        return real(spec, fetched)

    monkeypatch.setattr(secret_data, "merge", spy)
    return threads


async def test_a_plain_merge_runs_on_the_loop(merge_threads: list[int]) -> None:
    world = World()
    assert (await world.sync()).ok
    assert merge_threads == [threading.get_ident()]
    assert world.kube.secrets[(NS, "es1")].data == {"password": b"p"}
    assert world.ready() == ("True", plan.REASON_SYNCED, plan.MSG_SYNCED)


async def test_a_rewrite_merges_in_a_worker_thread(merge_threads: list[int]) -> None:
    world = World()
    rewrite = [{"regexp": {"source": "^pw$", "target": "pass"}}]
    result = await world.sync(data=[], data_from=[{"extract": {"key": "db"}, "rewrite": rewrite}])
    assert result.ok
    assert len(merge_threads) == 1 and merge_threads[0] != threading.get_ident()
    assert world.kube.secrets[(NS, "es1")].data == {"pass": b"p"}


async def test_large_data_merges_in_a_worker_thread(merge_threads: list[int]) -> None:
    big = "x" * (secret_data.INLINE_BYTES + 1)
    world = World({"db": f'{{"pw":"{big}"}}'})
    assert (await world.sync()).ok
    assert len(merge_threads) == 1 and merge_threads[0] != threading.get_ident()
    assert world.kube.secrets[(NS, "es1")].data == {"password": big.encode()}
