"""`python -m bench.memory_profile --counts 1000 4000`: where the operator's memory goes at W(N).

Peak RSS at W(10,000) was ~225 MiB (issue 14 asks for ≤ 150 MiB and ≤ 8 KiB per extra
ExternalSecret); this tool says what holds it. It measures, in separate processes:

* the fixed cost: `import asyncso.app` alone (VmRSS, and tracemalloc's bytes by library);
* per N: the operator (`asyncso.cli run`, default flags) under tracemalloc against a fresh bench
  (tools/devenv) with W(N) created and synced; once every Secret is right and the cold sync's
  Events have drained, the operator writes a snapshot (on SIGUSR1) and this tool groups it by
  library (the file that allocated) and by our module (the innermost `asyncso` frame).

The difference between two N, divided by the difference in N, is the cost per ExternalSecret by
component. tracemalloc slows the operator and adds its own memory to RSS: read RSS from
`make bench`, the shares from here. Results go to `--out` as JSON; the tables are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import gc
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Sequence
from typing import Any

from bench import kubeapi, processes, seeding
from bench.run import LABEL_MANAGED
from bench.tracking import SecretTracker
from bench.workload import Workload
from devenv import bench as devbench

SNAPSHOT_ENV = "ASYNCSO_MEMPROF_SNAPSHOT"
#: Seconds to wait after the cold sync (the cold sync's Events drain, refreshes begin).
SETTLE_S = 30.0

_IMPORTS_CODE = """
import json, sys, tracemalloc
tracemalloc.start(1)
import asyncso.app, asyncso.cli
snap = tracemalloc.take_snapshot()
status = open('/proc/self/status').read().splitlines()
rss = {l.split(':')[0]: int(l.split()[1]) for l in status if l.startswith(('VmRSS', 'VmHWM'))}
by_file = {}
for stat in snap.statistics('filename'):
    name = stat.traceback[0].filename
    by_file[name] = by_file.get(name, 0) + stat.size
json.dump({'rss_kib': rss, 'by_file': by_file}, sys.stdout)
"""


@functools.cache
def library_of(filename: str) -> str:
    """The package a source file belongs to: `aiohttp`, `asyncso.view`, `stdlib:asyncio`, …"""
    parts = pathlib.PurePath(filename).parts
    if "site-packages" in parts:
        rest = parts[parts.index("site-packages") + 1 :]
        return rest[0].removesuffix(".py") if rest else filename
    if "asyncso" in parts:
        rest = parts[parts.index("asyncso") + 1 :]
        return "asyncso." + ".".join(p.removesuffix(".py") for p in rest[:2])
    if filename.startswith("<"):
        return filename
    stem = parts[-2] if parts[-1] == "__init__.py" else parts[-1].removesuffix(".py")
    for i, part in enumerate(parts):
        if part.startswith("python3") and i + 1 < len(parts) and parts[i + 1] != parts[-1]:
            stem = parts[i + 1]
            break
    return f"stdlib:{stem}"


@functools.cache
def component_of(frames: tuple[str, ...]) -> str:
    """The innermost of our modules on an allocation's stack (frames oldest first)."""
    for filename in reversed(frames):
        if "/asyncso/" in filename:
            return library_of(filename)
    return "(no asyncso frame) " + library_of(frames[-1])


# --- the child: the operator under tracemalloc -------------------------------------------------


def _dump(_signum: int, _frame: Any) -> None:
    path = pathlib.Path(os.environ[SNAPSHOT_ENV])
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    by_library: collections.Counter[str] = collections.Counter()
    by_component: collections.Counter[str] = collections.Counter()
    for trace in snapshot.traces:
        frames = tuple(frame.filename for frame in trace.traceback)
        by_library[library_of(frames[-1])] += trace.size
        by_component[component_of(frames)] += trace.size
    types: collections.Counter[str] = collections.Counter()
    for obj in gc.get_objects():
        kind = type(obj)
        types[f"{kind.__module__}.{kind.__qualname__}"] += 1
    tasks = 0
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Task) and not obj.done():
            tasks += 1
    status = pathlib.Path("/proc/self/status").read_text().splitlines()
    rss = {
        line.split(":")[0]: int(line.split()[1])
        for line in status
        if line.startswith(("VmRSS", "VmHWM"))
    }
    traced, peak = tracemalloc.get_traced_memory()
    result = {
        "rss_kib": rss,
        "traced": traced,
        "traced_peak": peak,
        "tracemalloc_overhead": tracemalloc.get_tracemalloc_memory(),
        "live_tasks": tasks,
        "by_library": dict(by_library),
        "by_component": dict(by_component),
        "types": dict(types.most_common(60)),
    }
    path.write_text(json.dumps(result))


def child_main(argv: list[str]) -> int:
    """Run `asyncso.cli run ARGV` with a SIGUSR1 handler that writes the snapshot."""
    from asyncso import cli

    signal.signal(signal.SIGUSR1, _dump)
    return cli.main(argv)


# --- the parent --------------------------------------------------------------------------------


def measure_imports() -> dict[str, Any]:
    """VmRSS and tracemalloc's bytes by library of `import asyncso.app` in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTS_CODE], check=True, capture_output=True, text=True
    ).stdout
    raw = json.loads(out)
    by_library: collections.Counter[str] = collections.Counter()
    for filename, size in raw["by_file"].items():
        by_library[library_of(filename)] += size
    bare = subprocess.run(
        [sys.executable, "-c", "print(open('/proc/self/status').read())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    bare_rss = next(int(line.split()[1]) for line in bare.splitlines() if line.startswith("VmRSS"))
    return {"rss_kib": raw["rss_kib"], "bare_python_rss_kib": bare_rss, "by_library": by_library}


async def measure(count: int, *, frames: int, out: pathlib.Path, within: float) -> dict[str, Any]:
    """W(count) on a fresh bench; the operator's snapshot once all Secrets are right."""
    workdir = out / f"n{count}"
    workdir.mkdir(parents=True, exist_ok=True)
    workload = Workload(count=count, run_id=uuid.uuid4().hex[:6])
    with devbench.Bench() as info:
        client = kubeapi.admin_client(info, connections=36)
        watch_client = kubeapi.admin_client(info, connections=4)
        tracker = SecretTracker(
            watch_client,
            namespaces=workload.namespace_names(),
            label_selector=f"{LABEL_MANAGED}=true",
        )
        operator: processes.Child | None = None
        try:
            print(f"[n={count}] set-up", flush=True)
            await seeding.install_crds(info)
            await seeding.seed_remote(info, workload, concurrency=32)
            await seeding.create_objects(client, workload, concurrency=32)
            keys = [(workload.namespace_of(i), workload.es_name(i)) for i in range(count)]
            for i, key in enumerate(keys):
                tracker.expect(key, workload.expected(i))
            await tracker.start()
            snapshot_path = workdir / "snapshot.json"
            env = processes.operator_env(info, info.aws_endpoint_url)
            env[SNAPSHOT_ENV] = str(snapshot_path)
            env["PYTHONPATH"] = processes._pythonpath()
            metrics, live = devbench.free_port(), devbench.free_port()
            argv = [
                sys.executable,
                "-X",
                f"tracemalloc={frames}",
                "-m",
                "bench.memory_profile",
                "--child",
                "run",
                "--kubeconfig",
                str(info.kubeconfig),
                "--metrics-addr",
                f"127.0.0.1:{metrics}",
                "--live-addr",
                f"127.0.0.1:{live}",
            ]
            operator = processes.spawn("operator", argv, log=workdir / "operator.log", env=env)
            started = time.monotonic()
            print(f"[n={count}] operator started (tracemalloc, {frames} frames)", flush=True)
            await tracker.wait(keys, within=within)
            cold = time.monotonic() - started
            print(f"[n={count}] all Secrets right after {cold:.0f} s; settling", flush=True)
            await asyncio.sleep(SETTLE_S)
            os.kill(operator.pid, signal.SIGUSR1)
            for _ in range(600):
                await asyncio.sleep(1)
                if snapshot_path.exists() and snapshot_path.stat().st_size:
                    break
            await asyncio.sleep(1)
            result: dict[str, Any] = json.loads(snapshot_path.read_text())
            result["count"] = count
            result["cold_s"] = round(cold, 1)
            return result
        finally:
            if operator is not None:
                processes.kill(operator)
            await tracker.close()
            await client.aclose()
            await watch_client.aclose()


def _mib(size: float) -> str:
    return f"{size / 2**20:.1f}"


def print_tables(imports: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    rss = imports["rss_kib"]["VmRSS"]
    print(f"\nimports alone: VmRSS {rss / 1024:.1f} MiB ", end="")
    print(f"(bare python {imports['bare_python_rss_kib'] / 1024:.1f} MiB); traced by library:")
    for name, size in collections.Counter(imports["by_library"]).most_common(15):
        print(f"  {_mib(size):>6} MiB  {name}")
    for run in runs:
        print(
            f"\nN={run['count']}: VmHWM {run['rss_kib']['VmHWM'] / 1024:.0f} MiB (with "
            f"tracemalloc), traced {_mib(run['traced'])} MiB, live tasks {run['live_tasks']}"
        )
    if len(runs) < 2:
        return
    low, high = runs[0], runs[-1]
    delta = high["count"] - low["count"]
    for key in ("by_component", "by_library"):
        print(f"\nper extra ExternalSecret, {key} (bytes; N={low['count']} → {high['count']}):")
        names = set(low[key]) | set(high[key])
        slopes = {n: (high[key].get(n, 0) - low[key].get(n, 0)) / delta for n in names}
        for name, slope in sorted(slopes.items(), key=lambda item: -abs(item[1]))[:20]:
            print(f"  {slope:8.0f}  {name}  ({_mib(high[key].get(name, 0))} MiB at high N)")
    print(f"\nobjects per extra ExternalSecret (N={low['count']} → {high['count']}):")
    names = set(low["types"]) | set(high["types"])
    slopes = {n: (high["types"].get(n, 0) - low["types"].get(n, 0)) / delta for n in names}
    for name, slope in sorted(slopes.items(), key=lambda item: -item[1])[:25]:
        print(f"  {slope:7.2f}  {name}")


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["--child"]:
        return child_main(args_list[1:])
    parser = argparse.ArgumentParser(prog="python -m bench.memory_profile", description=__doc__)
    parser.add_argument("--counts", type=int, nargs="*", default=[1000, 4000])
    parser.add_argument("--frames", type=int, default=10, help="tracemalloc frames kept")
    parser.add_argument("--timeout", type=float, default=900.0, help="cold sync, seconds")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("bench-results/memory"))
    args = parser.parse_args(args_list)
    args.out.mkdir(parents=True, exist_ok=True)
    # Ctrl-C and SIGTERM unwind the run (operator and bench servers stopped), also in background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    imports = measure_imports()
    runs: list[dict[str, Any]] = []
    for count in args.counts:
        runs.append(
            asyncio.run(measure(count, frames=args.frames, out=args.out, within=args.timeout))
        )
        (args.out / "memory_profile.json").write_text(
            json.dumps({"imports": imports, "runs": runs}, indent=1)
        )
        print_tables(imports, runs)
    if not args.counts:
        print_tables(imports, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
