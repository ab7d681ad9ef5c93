"""Median render time of a typical ESO template with the Go engine (not a test: a measurement).

Usage: python tools/benchmarks/gotemplate_render.py [rounds]
Renders the dockerconfigjson template of ESO's docs over three values, after one warm-up
render (which parses and caches the template), and prints the median and p95 in microseconds.
"""

from __future__ import annotations

import statistics
import sys
import time

from asyncso.templates import go

TEMPLATE = '{"auths":{"{{ .registry }}":{"auth":"{{ printf "%s:%s" .user .pass | b64enc }}"}}}'
DATA = {"registry": "ghcr.io", "user": "robot", "pass": "s3cr3t-t0ken"}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    go.render("key", TEMPLATE, DATA)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        go.render("key", TEMPLATE, DATA)
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    median = statistics.median(samples) / 1000
    p95 = samples[int(len(samples) * 0.95)] / 1000
    print(
        f"go engine, dockerconfigjson: median {median:.1f} µs, p95 {p95:.1f} µs ({rounds} renders)"
    )


if __name__ == "__main__":
    main()
