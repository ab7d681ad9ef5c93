"""Turns the runs' figures into the table (console and markdown), the medians and the JSON.

Why medians and ratios: the machines are shared and noisy; one run's absolute time says little,
the median over runs and the ratio to the bare writer measured in the same run say more.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import pathlib
import platform
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from bench.run import Options, RunFigures

SCHEMA = "asyncso-bench/1"

Row = tuple[str, str, list[float | None], str]  # key, figure, value per run, ideal/bound


def machine() -> dict[str, Any]:
    """What the figures were measured on (the cores are shared with the bench's servers)."""
    memory_kib = 0
    meminfo = pathlib.Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    os_name = platform.system()
    release = pathlib.Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024**2, 1),
        "os": os_name,
        "python": platform.python_version(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _keys(runs: Sequence[RunFigures], pick: Callable[[RunFigures], dict[str, float]]) -> list[str]:
    found: set[str] = set()
    for run in runs:
        found |= set(pick(run))
    return sorted(found, key=lambda k: (-max(pick(r).get(k, 0.0) for r in runs), k))


def rows(runs: Sequence[RunFigures]) -> list[Row]:
    """The table: one row per figure, one value per run (per-operation rows indented)."""
    first = runs[0]
    out: list[Row] = []

    def add(
        label: str, pick: Callable[[RunFigures], float | None], ideal: str = "", key: str = ""
    ) -> None:
        out.append((key or label, label, [pick(r) for r in runs], ideal))

    def add_split(
        label: str, pick: Callable[[RunFigures], dict[str, float]], ideal: str = ""
    ) -> None:
        add(label, lambda r: sum(pick(r).values()), ideal)
        for key in _keys(runs, pick):
            add(
                f"  {key}",
                lambda r, key=key: pick(r).get(key, 0.0),  # type: ignore[misc]
                key=f"{label}: {key}",
            )

    ideal_calls = f"{first.ideal_aws_calls} (per store: {first.ideal_aws_calls_per_store})"
    steady_ideal = ideal_calls
    if first.change_detection:
        changed = math.ceil(first.churn_per_cycle / 20)
        steady_ideal = f"{first.ideal_listing_calls} ListSecrets + ≥{changed} batch"
    add("ExternalSecrets N", lambda r: r.n)
    add("AWS secrets U", lambda r: r.u)
    add("set-up: create W(N) (s)", lambda r: r.setup_s)
    add("operator start → /readyz (s)", lambda r: r.operator_ready_s)
    add("cold sync: start → all N Secrets right (s)", lambda r: r.cold_sync_s)
    add("bare writer, same writes (s)", lambda r: r.bare_writer_s)
    add("cold sync / bare writer", lambda r: r.cold_to_bare_ratio, "≤ 1.3")
    add_split("AWS calls during cold sync (proxy)", lambda r: r.cold_aws_calls, ideal_calls)
    add(
        "AWS calls during cold sync (operator metric)",
        lambda r: sum(r.cold_aws_calls_metric.values()),
    )
    add_split(
        "AWS calls per steady cycle (proxy)", lambda r: r.steady_aws_calls_per_cycle, steady_ideal
    )
    add(
        "AWS calls per steady cycle (operator metric)",
        lambda r: sum(r.steady_aws_calls_metric_per_cycle.values()),
    )
    add("syncs per steady cycle", lambda r: r.steady_syncs_per_cycle, f"{first.n}")
    add("operator CPU, steady (% of a core)", lambda r: r.steady_cpu_percent)
    add("operator peak RSS (MiB)", lambda r: r.peak_rss_mib)
    add("operator RSS at end (MiB)", lambda r: r.end_rss_mib)
    add("new ExternalSecret → Secret, median (s)", lambda r: r.new_es_latency_median_s)
    add("new ExternalSecret → Secret, max (s)", lambda r: r.new_es_latency_max_s, "≤ 2")
    add("new ExternalSecrets not synced within 2 intervals", lambda r: r.new_es_not_synced, "0")
    if any(r.freshness for r in runs):
        bound = f"≤ {first.refresh_interval_s + 1:g}"
        add("freshness: readers of the changed AWS secrets", lambda r: _fresh(r, "readers"))
        add(
            "  readers not updated within the bound",
            lambda r: _fresh(r, "late"),
            "0",
            key="freshness: late",
        )
        add(
            "  readers not updated within 2 intervals + 30 s",
            lambda r: _fresh(r, "never"),
            "0",
            key="freshness: never",
        )
        add(
            "  AWS change → reader updated, median (s)",
            lambda r: _fresh(r, "median_s"),
            key="freshness: median (s)",
        )
        add(
            "  AWS change → all readers updated, max (s)",
            lambda r: _fresh(r, "max_s"),
            bound,
            key="freshness: max (s)",
        )
    if any(r.churn for r in runs):
        add("churn: AWS secrets changed per cycle", lambda r: r.churn_per_cycle)
        add(
            "  readers of the changed secrets", lambda r: _churn(r, "readers"), key="churn: readers"
        )
        add(
            "  readers not updated within the bound",
            lambda r: _churn(r, "late"),
            "0",
            key="churn: late",
        )
        add(
            "  AWS change → reader updated, median (s)",
            lambda r: _churn(r, "median_s"),
            key="churn: median (s)",
        )
        add(
            "  AWS change → reader updated, max (s)",
            lambda r: _churn(r, "max_s"),
            f"≤ {first.refresh_interval_s + 1:g}",
            key="churn: max (s)",
        )
    add_split(
        "apiserver requests per steady cycle", lambda r: r.steady_apiserver_requests_per_cycle
    )
    add_split("apiserver requests during cold sync", lambda r: r.cold_apiserver_requests)
    add("sync errors (operator metric)", lambda r: r.sync_errors, "0")
    return out


def _churn(run: RunFigures, name: str) -> float | None:
    if run.churn is None:
        return None
    value: float | None = getattr(run.churn, name)
    return value


def _fresh(run: RunFigures, name: str) -> float | None:
    if run.freshness is None:
        return None
    value: float | None = getattr(run.freshness, name)
    return value


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _headers(runs: Sequence[RunFigures]) -> list[str]:
    heads = ["figure"] + [f"run {i + 1}" for i in range(len(runs))]
    if len(runs) > 1:
        heads.append("median")
    return [*heads, "ideal / target"]


def _cells(row: Row, runs: int) -> list[str]:
    _, label, values, ideal = row
    cells = [label] + [_fmt(v) for v in values]
    if runs > 1:
        cells.append(_fmt(_median(values)))
    return [*cells, ideal]


def text_table(runs: Sequence[RunFigures]) -> str:
    table = [_headers(runs)] + [_cells(r, len(runs)) for r in rows(runs)]
    widths = [max(len(line[c]) for line in table) for c in range(len(table[0]))]
    lines = []
    for n, line in enumerate(table):
        lines.append(
            "  ".join(
                cell.ljust(widths[c]) if c == 0 else cell.rjust(widths[c])
                for c, cell in enumerate(line)
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(
    runs: Sequence[RunFigures], *, options: Options, command: str, host: dict[str, Any]
) -> str:
    heads = _headers(runs)
    lines = [
        f"# asyncso benchmark: W({options.count:,})",
        "",
        f"`{command}`",
        "",
        f"Machine: {host['cpus']} cores, {host['memory_gib']} GiB, {host['os']}, Python "
        f"{host['python']}; operator, kube-apiserver, etcd and LocalStack on the same cores. "
        f"Load average at start of each run: "
        f"{', '.join(_fmt(r.load_avg_start) for r in runs)}.",
        "",
        f"refreshInterval {options.refresh_interval:g}s, {runs[0].namespaces} namespaces, "
        f"{options.store_kind}, operator `--concurrent` {options.concurrent} (bare writer the "
        f"same), {options.probes} new-ExternalSecret probes in the steady window of "
        f"{options.steady_cycles} interval(s).",
        "",
        "| " + " | ".join(heads) + " |",
        "|" + "|".join("---" for _ in heads) + "|",
    ]
    for row in rows(runs):
        cells = _cells(row, len(runs))
        cells[0] = (
            cells[0].replace("  ", "&nbsp;&nbsp;", 1) if cells[0].startswith("  ") else (cells[0])
        )
        lines.append("| " + " | ".join(cells) + " |")
    for i, run in enumerate(runs):
        if run.error:
            lines += [
                "",
                f"Run {i + 1} stopped early (figures after that point are 0): {run.error}",
            ]
    for i, run in enumerate(runs):
        if run.profile:
            lines += [
                "",
                f"Steady-state profile, run {i + 1} (`{run.profile['file']}`, "
                f"{run.profile['samples']} samples): top by own time",
            ]
            lines += [f"- {pct} % {label}" for label, pct in run.profile["top_self"][:10]]
            lines += ["", "top by total time (event-loop plumbing left out)"]
            lines += [f"- {pct} % {label}" for label, pct in run.profile["top_total"][:10]]
    return "\n".join(lines) + "\n"


def document(
    runs: Sequence[RunFigures], *, options: Options, command: str, host: dict[str, Any]
) -> dict[str, Any]:
    """The JSON written beside the markdown: options, machine, every run, the medians."""
    per_run = [dataclasses.asdict(r) for r in runs]
    return {
        "schema": SCHEMA,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "options": dataclasses.asdict(options),
        "machine": host,
        "runs": per_run,
        "median": {key: _median(values) for key, _, values, _ in rows(runs)},
    }


def write(
    runs: Sequence[RunFigures],
    *,
    options: Options,
    command: str,
    out_dir: pathlib.Path,
    stem: str,
) -> tuple[pathlib.Path, pathlib.Path]:
    host = machine()
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{stem}.json"
    md_path = out_dir / f"{stem}.md"
    doc = document(runs, options=options, command=command, host=host)
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    md_path.write_text(markdown(runs, options=options, command=command, host=host))
    return json_path, md_path
