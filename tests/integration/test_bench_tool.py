"""`python -m bench` (what `make bench` runs) works end to end at N = 20 and writes every figure.

No timed assertions: the figures are checked for presence, shape and the values that follow
from W(20) (counts of writes, of readers, of files), never for speed.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import pathlib
import sys

import pytest
from aiobotocore.session import get_session

from bench import promtext, report
from bench import run as bench_run
from bench.workload import Workload
from devenv import bench as devbench

TOOLS = pathlib.Path(__file__).resolve().parents[2] / "tools"
N = 20
PROBES = 2


# --- pure parts, no sockets ----------------------------------------------------------------------


def test_workload_readers_are_exactly_the_entries_that_read_a_remote_secret() -> None:
    for count in (1, 2, 3, 20, 1000):
        workload = Workload(count=count, run_id="t")
        u = workload.remote_count
        assert u == math.ceil(count / 3)
        by_scan: dict[int, set[int]] = {}
        for i in range(count):
            for j in workload.remotes_of(i):
                by_scan.setdefault(j, set()).add(i)
        for j in range(u):
            assert workload.readers(j) == sorted(by_scan.get(j, set()))


def test_workload_expected_values_follow_the_remote_versions() -> None:
    workload = Workload(count=20, run_id="t")
    first, second = workload.remotes_of(7)
    assert workload.expected(7) == {
        "username": workload.remote_value(first)["username"],
        "password": workload.remote_value(second)["password"],
    }
    changed = workload.expected(7, {second: 2})
    assert changed["password"] == workload.remote_value(second, 2)["password"]
    assert changed["username"] == workload.expected(7)["username"]
    es = workload.external_secret(7)
    assert es["spec"]["refreshInterval"] == "60s"
    assert [d["remoteRef"]["key"] for d in es["spec"]["data"]] == [
        workload.remote_name(first),
        workload.remote_name(second),
    ]


def test_ideal_calls_per_store_counts_each_namespace_batch() -> None:
    workload = Workload(count=1000, run_id="t")
    assert workload.ideal_calls() == 17  # ceil(334 / 20), issue 14's figure
    assert 17 <= workload.ideal_calls_per_store() <= 17 + workload.namespace_count
    single = Workload(count=1000, run_id="t", store_kind="ClusterSecretStore")
    assert single.ideal_calls_per_store() == 17


def test_apiserver_request_counts_are_summed_per_verb_and_resource() -> None:
    page = "\n".join(
        [
            "# HELP apiserver_request_total Counter",
            'apiserver_request_total{code="201",resource="secrets",subresource="",verb="POST"} 3',
            'apiserver_request_total{code="409",resource="secrets",subresource="",verb="POST"} 1',
            'apiserver_request_total{code="200",resource="externalsecrets",'
            'subresource="status",verb="PATCH"} 4',
            'apiserver_request_total{code="200",resource="",subresource="",verb="GET"} 9',
            'apiserver_request_total_other{resource="secrets",verb="POST"} 100',
        ]
    )
    before = promtext.apiserver_requests(page)
    assert before == {"POST secrets": 4.0, "PATCH externalsecrets/status": 4.0}
    after = dict(before, **{"POST secrets": 10.0})
    assert promtext.diff(after, before) == {"POST secrets": 6.0}


def test_report_shows_a_missed_freshness_bound_and_an_early_stop() -> None:
    figures = bench_run.RunFigures(
        run_id="t",
        n=3,
        u=1,
        namespaces=1,
        store_kind="SecretStore",
        refresh_interval_s=60,
        concurrent=16,
        ideal_aws_calls=1,
        ideal_aws_calls_per_store=1,
        load_avg_start=1.0,
        cold_sync_s=2.5,
        cold_aws_calls={"BatchGetSecretValue": 2, "GetSecretValue": 1},
        freshness=bench_run.Freshness(
            changed=1,
            readers=3,
            bound_s=61,
            waited_s=150,
            late=2,
            never=1,
            median_s=70.0,
            max_s=None,
            within_bound=False,
        ),
        error="TrackingError: 3 of 3 Secrets not right",
    )
    options = bench_run.Options(count=3, freshness=True)
    rows = {key: values for key, _, values, _ in report.rows([figures])}
    assert rows["AWS calls during cold sync (proxy)"] == [3]
    assert rows["AWS calls during cold sync (proxy): GetSecretValue"] == [1]
    assert rows["freshness: late"] == [2] and rows["freshness: never"] == [1]
    assert rows["freshness: max (s)"] == [None]
    text = report.markdown([figures], options=options, command="make bench", host=report.machine())
    assert "| &nbsp;&nbsp;AWS change → all readers updated, max (s) | - | ≤ 61 |" in text
    assert "Run 1 stopped early" in text and "TrackingError" in text
    assert (
        report.document([figures], options=options, command="x", host={})["median"][
            "cold sync: start → all N Secrets right (s)"
        ]
        == 2.5
    )


# --- the tool, end to end ------------------------------------------------------------------------


async def _bench_secrets_left(info: devbench.BenchInfo, run_id: str) -> list[str]:
    async with get_session().create_client(
        "secretsmanager",
        endpoint_url=info.aws_endpoint_url,
        region_name=info.aws_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as sm:
        page = await sm.list_secrets(
            Filters=[{"Key": "name", "Values": [f"bench-{run_id}/"]}], MaxResults=100
        )
    return [s["Name"] for s in page.get("SecretList", [])]


async def test_bench_tool_runs_and_writes_every_figure(
    bench: devbench.BenchInfo, tmp_path: pathlib.Path
) -> None:
    # The tool starts its own etcd + kube-apiserver, and reuses the suite's LocalStack
    # (AWS_ENDPOINT_URL, exported by the `bench` fixture), as `make bench` reuses a given one.
    assert os.environ.get("AWS_ENDPOINT_URL") == bench.aws_endpoint_url
    out = tmp_path / "results"
    argv = [
        sys.executable,
        "-m",
        "bench",
        "--count",
        str(N),
        "--refresh-interval",
        "3",
        "--probes",
        str(PROBES),
        "--freshness",
        "--profile",
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(TOOLS), "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    raw, _ = await asyncio.wait_for(proc.communicate(), timeout=240)
    output = raw.decode()
    assert proc.returncode == 0, output[-4000:]
    assert "cold sync" in output and "bare writer" in output

    (json_path,) = out.glob("bench-n20-*.json")
    (md_path,) = out.glob("bench-n20-*.md")
    assert (out / json_path.stem / "run1-logs" / "operator.log").exists()
    doc = json.loads(json_path.read_text())
    assert doc["schema"] == "asyncso-bench/1"
    assert doc["options"]["count"] == N and doc["machine"]["cpus"] >= 1
    (run,) = doc["runs"]
    workload = Workload(count=N, run_id=run["run_id"])
    assert (run["n"], run["u"], run["namespaces"]) == (N, 7, 4)
    assert (run["ideal_aws_calls"], run["ideal_aws_calls_per_store"]) == (1, 4)

    # Every figure is present and has a sensible value.
    for field in (
        "setup_s",
        "operator_ready_s",
        "cold_sync_s",
        "steady_window_s",
        "peak_rss_mib",
        "end_rss_mib",
        "bare_writer_s",
        "cold_to_bare_ratio",
    ):
        assert run[field] > 0, field
    assert run["steady_cpu_percent"] >= 0
    assert run["end_rss_mib"] <= run["peak_rss_mib"]
    assert run["cold_to_bare_ratio"] == pytest.approx(
        run["cold_sync_s"] / run["bare_writer_s"], rel=0.02
    )

    # AWS calls: counted by the proxy on the wire and by the operator's metric.
    proxy_cold = sum(run["cold_aws_calls"].values())
    metric_cold = sum(run["cold_aws_calls_metric"].values())
    assert run["cold_aws_calls"].get("BatchGetSecretValue", 0) >= 1
    assert proxy_cold >= metric_cold >= 1
    assert sum(run["steady_aws_calls_per_cycle"].values()) >= 1
    assert run["steady_syncs_per_cycle"] >= 1

    # apiserver requests from its own metrics: the operator created the N Secrets.
    assert run["cold_apiserver_requests"]["POST secrets"] >= N
    # (statuses may still be in flight when the last Secret is right: cold sync ends there)
    assert run["cold_apiserver_requests"]["PATCH externalsecrets/status"] >= 1
    assert run["steady_apiserver_requests_per_cycle"]["POST externalsecrets"] == PROBES

    # Latency probes, freshness, bare writer, profile.
    assert len(run["new_es_latency_s"]) == PROBES and run["new_es_not_synced"] == 0
    assert run["new_es_latency_max_s"] >= run["new_es_latency_median_s"] > 0
    fresh = run["freshness"]
    changed = range(workload.remote_count)  # 20 asked for, all 7 changed
    assert fresh["changed"] == len(changed)
    assert fresh["readers"] == len({i for j in changed for i in workload.readers(j)}) == N
    assert fresh["bound_s"] == 4 and fresh["waited_s"] == 36
    assert 0 <= fresh["late"] <= fresh["readers"] and fresh["never"] <= fresh["late"]
    assert fresh["within_bound"] == (fresh["late"] == 0)
    if fresh["never"] == 0:
        assert fresh["max_s"] >= fresh["median_s"] > 0
    assert run["bare_writer_requests"] == 2 * N
    assert run["sync_errors"] == 0
    profile = run["profile"]
    assert profile is not None and (out / profile["file"]).exists()
    assert set(profile) == {"file", "samples", "top_self", "top_total"}

    # Medians and the markdown table carry the same figures.
    assert doc["median"]["cold sync: start → all N Secrets right (s)"] == run["cold_sync_s"]
    table = md_path.read_text()
    for label in ("cold sync", "bare writer", "AWS calls per steady cycle (proxy)", "freshness"):
        assert label in table

    # Teardown: the run's AWS secrets are gone from the LocalStack it shared.
    assert await _bench_secrets_left(bench, run["run_id"]) == []
