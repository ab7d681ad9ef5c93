"""`python -m bench --count N`: W(N) on a fresh local bench per run; prints and writes figures.

`make bench N=10000 [RUNS=3] [PROFILE=1] [FRESHNESS=1] [INTERVAL=60]` runs this. Each run starts
its own etcd + kube-apiserver + LocalStack (tools/devenv), so runs do not inherit each other's
objects; everything started is stopped on exit, Ctrl-C included. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import pathlib
import shlex
import signal
import statistics
import sys
from collections.abc import Sequence

from asyncso import settings
from bench import report
from bench.run import Options, Run, RunFigures
from bench.workload import STORE_KINDS
from devenv import bench as devbench


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--count", "-n", type=int, default=1000, help="ExternalSecrets N")
    parser.add_argument("--runs", type=int, default=1, help="repeat; medians over runs")
    parser.add_argument("--refresh-interval", type=float, default=60.0, help="seconds")
    parser.add_argument("--namespaces", type=int, default=4)
    parser.add_argument(
        "--store-kind",
        choices=STORE_KINDS,
        default="SecretStore",
        help="one SecretStore per namespace, or one ClusterSecretStore",
    )
    parser.add_argument(
        "--probes", type=int, default=5, help="new ExternalSecrets created during the steady window"
    )
    parser.add_argument(
        "--steady-cycles",
        type=int,
        default=1,
        help="length of the steady window in refresh intervals",
    )
    parser.add_argument(
        "--freshness",
        action="store_true",
        help="change values in AWS and time until every reader has them",
    )
    parser.add_argument(
        "--fresh-secrets", type=int, default=20, help="remote secrets changed by --freshness"
    )
    parser.add_argument(
        "--churn",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="change this fraction of the U remote secrets per cycle of the steady window",
    )
    parser.add_argument(
        "--change-detection",
        action="store_true",
        help="annotate the stores for change detection by ListSecrets",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the operator during the steady window (speedscope file)",
    )
    parser.add_argument(
        "--bare-concurrency",
        type=int,
        default=settings.Settings().concurrent,
        help="requests in flight of the bare writer (operator's --concurrent)",
    )
    parser.add_argument(
        "--bare-events",
        action="store_true",
        help="the bare writer also creates one Event per ExternalSecret",
    )
    parser.add_argument(
        "--create-concurrency", type=int, default=32, help="requests in flight while creating W(N)"
    )
    parser.add_argument("--cold-timeout", type=float, default=1800.0, help="seconds")
    parser.add_argument(
        "--operator-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra `asyncso run` flag (repeatable), e.g. --operator-arg=--x=1",
    )
    parser.add_argument(
        "--controller-class",
        default="",
        help="stores' spec.controller and the operator's --controller-class",
    )
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=pathlib.Path("bench-results"),
        help="output directory (JSON, markdown, profiles, logs)",
    )
    return parser


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        count=args.count,
        refresh_interval=args.refresh_interval,
        namespaces=args.namespaces,
        store_kind=args.store_kind,
        controller_class=args.controller_class,
        concurrent=args.bare_concurrency,
        create_concurrency=args.create_concurrency,
        probes=args.probes,
        steady_cycles=args.steady_cycles,
        freshness=args.freshness,
        fresh_secrets=args.fresh_secrets,
        profile=args.profile,
        bare_events=args.bare_events,
        cold_timeout=args.cold_timeout,
        operator_args=tuple(args.operator_arg),
        change_detection=args.change_detection,
        churn=args.churn,
    )


async def run_all(
    options: Options,
    *,
    runs: int,
    out_dir: pathlib.Path,
    stem: str,
    results: list[RunFigures],
) -> None:
    """Run after run, appending to `results` (so the runs done survive a later failure)."""
    for index in range(runs):
        label = f"run{index + 1}"
        print(f"[{label}] starting the bench (etcd, kube-apiserver, LocalStack)", flush=True)
        with devbench.Bench() as info:
            figures = await Run(
                info,
                options,
                out_dir=out_dir / stem,
                label=label,
                # The servers are thrown away with everything on them, except a LocalStack
                # given by AWS_ENDPOINT_URL, which outlives the run.
                cleanup_aws=bool(os.environ.get("AWS_ENDPOINT_URL")),
                log=lambda text: print(text, flush=True),
            ).execute()
        results.append(figures)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = options_from(args)
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    stem = f"bench-n{options.count}-{stamp}"
    load = os.getloadavg()[0]
    if load > 3:
        print(f"note: load average {load:.1f}: other jobs share the cores; figures will be noisy")
    # Ctrl-C and SIGTERM alike unwind every run (operator, proxy, servers stopped), also
    # when a shell started us in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results: list[RunFigures] = []
    code = 0
    try:
        asyncio.run(run_all(options, runs=args.runs, out_dir=args.out, stem=stem, results=results))
    except KeyboardInterrupt:
        print("\ninterrupted: the operator, proxy and bench servers are stopped", file=sys.stderr)
        code = 130
    except (devbench.BenchError, RuntimeError, TimeoutError) as exc:
        print(f"bench: ERROR: {exc}", file=sys.stderr)
        code = 1
    if not results:
        return code
    if any(r.error for r in results):
        code = code or 1
    if code:
        print(f"bench: writing the {len(results)} run(s) that finished", file=sys.stderr)
    json_path, md_path = report.write(
        results, options=options, command=command, out_dir=args.out, stem=stem
    )
    print()
    print(report.text_table(results))
    if len(results) > 1:
        ratios = [r.cold_to_bare_ratio for r in results]
        print(f"\nmedian cold-sync / bare-writer ratio: {statistics.median(ratios):.2f}")
    print(f"\nwrote {json_path} and {md_path}")
    return code


if __name__ == "__main__":
    sys.exit(main())
