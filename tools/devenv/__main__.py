"""`python -m devenv up`: start the bench in the foreground and print how to reach it."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from devenv import bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devenv", description=__doc__)
    parser.add_argument(
        "command",
        choices=["up", "demo", "install"],
        help="up: run the bench in the foreground; demo: the bench plus the operator syncing "
        "examples/; install: only install prerequisites",
    )
    parser.add_argument("--once", action="store_true", help="demo: exit once the Secrets synced")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from devenv import demo

            return demo.main(once=args.once)
        if args.command == "install":
            bench.find_etcd()
            bench.find_kube_apiserver()
            bench.find_localstack_python()
            return 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with bench.Bench() as info:
            print("asyncso bench is up. In another shell:")
            print(f"  source {info.workdir / 'bench.env'}")
            print(f"  kube-apiserver: {info.apiserver_url}  (kubeconfig {info.kubeconfig})")
            print(f"  LocalStack:     {info.aws_endpoint_url}")
            if info.ecr_endpoint_url:
                print(f"  ECR (moto):     {info.ecr_endpoint_url}")
            print("Ctrl-C stops everything.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    except bench.BenchError as err:
        print(f"devenv: ERROR: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
