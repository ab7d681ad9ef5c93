"""Issue 10's figures, measured on the bench (skipped unless `ASYNCSO_FIGURES=1`): recovery time
after a 30 s access-denied outage (20 readers), Warning Events per ExternalSecret over that
outage, and syncs per second of a `refreshInterval: 1ns` ExternalSecret (default floor).

    ASYNCSO_FIGURES=1 .venv/bin/python -m pytest -q -p no:cacheprovider \\
        tests/security/test_figures.py -s

Three runs; each prints one JSON line. Not a test of behaviour (test_faults and test_defects
assert the bounds); the numbers are for reports. To measure another build of the operator, put
its `src` first on `PYTHONPATH` (the operator runs as `python -m asyncso.cli`).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
from typing import Any

import kr8s.asyncio
import pytest
import run_artifacts
import tenant_objects as objs
from operator_process import OperatorIdentity
from test_faults import _outage, _Scenario

from devenv import bench as devbench

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.environ.get("ASYNCSO_FIGURES"), reason="set ASYNCSO_FIGURES=1"),
]

HOT_SECONDS = 10.0


async def _hot(s: _Scenario) -> float:
    """Syncs per second of one `1ns` ExternalSecret on the fake provider."""
    await s.setup()
    await objs.create(s.api, objs.fake_store(s.namespace, "fake", {"pw": "x"}, controller=s.cls))
    await objs.create(
        s.api,
        objs.external_secret(
            s.namespace, "hot", store="fake", refresh="1ns", data=[objs.entry("pw", "pw")]
        ),
    )
    operator = s.operator()
    await operator.start()
    try:
        await operator.wait_ready()
        await objs.wait_until(lambda: objs.all_ready(s.api, s.namespace, ["hot"]), within=30)
        await asyncio.sleep(2)
        before = (await operator.sync_calls(s.namespace, "hot"))[0]
        await asyncio.sleep(HOT_SECONDS)
        after = (await operator.sync_calls(s.namespace, "hot"))[0]
    finally:
        await operator.stop()
    return (after - before) / HOT_SECONDS


@pytest.mark.parametrize("run", [1, 2, 3])
async def test_figures(
    bench: devbench.BenchInfo,
    kube: kr8s.asyncio.Api,
    operator_identity: OperatorIdentity,
    run_id: str,
    tmp_path_factory: pytest.TempPathFactory,
    run: int,
) -> None:
    def scenario(name: str) -> _Scenario:
        return _Scenario(
            f"{name}{run}",
            api=kube,
            bench=bench,
            identity=operator_identity,
            workdir=tmp_path_factory.mktemp(name),
            run_id=run_id,
        )

    denied, hot = await asyncio.gather(
        _outage(scenario("fig-denied"), "deny"), _hot(scenario("fig-hot"))
    )
    per_reader: dict[str, tuple[int, int]] = {}
    for name in denied.names:
        warnings = [
            e
            for e in run_artifacts.events_of(denied.events, kind="ExternalSecret", name=name)
            if e.get("type") == "Warning"
        ]
        per_reader[name] = (len(warnings), sum(int(e.get("count") or 1) for e in warnings))
    figures: dict[str, Any] = {
        "run": run,
        "recovery_seconds": denied.recovery_seconds,
        "failed_syncs_per_reader": statistics.median(denied.failures_during.values()),
        "warning_events_per_reader": statistics.median(v[0] for v in per_reader.values()),
        "warning_occurrences_per_reader": statistics.median(v[1] for v in per_reader.values()),
        "one_ns_syncs_per_second": hot,
    }
    print(json.dumps(figures))
