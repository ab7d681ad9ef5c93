"""Median render time of a typical ESO template with both engines (not a test: a measurement).

Usage: python tools/benchmarks/gotemplate_render.py [rounds]
Renders the dockerconfigjson template of ESO's docs over three values, with the Go engine
(engineVersion v2, the default) and the Jinja engine (engineVersion: jinja), after one warm-up
render each (which parses and caches the template), and prints the median and p95 in
microseconds: the engine alone, and `templates.apply` (one ExternalSecret's template, as a sync
renders it: the engine, ESO's error handling, the time budget, the Secret data).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from asyncso import model
from asyncso.templates import apply, go, jinja, limits

GO = '{"auths":{"{{ .registry }}":{"auth":"{{ printf "%s:%s" .user .password | b64enc }}"}}}'
JINJA = '{"auths":{"{{ registry }}":{"auth":"{{ (user ~ ":" ~ password) | b64enc }}"}}}'
DATA = {"registry": "ghcr.io", "user": "robot", "password": "s3cr3t-t0ken"}
VALUES = {k: v.encode() for k, v in DATA.items()}
SOURCES = apply.TemplateSources()


def _go_engine() -> None:
    go.render("key", GO, DATA)


def _jinja_engine() -> None:
    with limits.budget():
        jinja.render(JINJA, {**DATA, "values": DATA}, where="key")


def _apply(engine: model.TemplateEngine, text: str) -> Callable[[], None]:
    template = model.Template(
        engine_version=engine,
        type="kubernetes.io/dockerconfigjson",
        data={".dockerconfigjson": text},
    )
    return lambda: apply.apply_template(template, VALUES, sources=SOURCES) and None


def measure(render: Callable[[], None], rounds: int) -> tuple[float, float]:
    render()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        render()
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.95)] / 1000


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    cases = [
        ("go engine", _go_engine),
        ("jinja engine", _jinja_engine),
        ("apply, engineVersion v2", _apply("v2", GO)),
        ("apply, engineVersion jinja", _apply("jinja", JINJA)),
    ]
    for name, render in cases:
        median, p95 = measure(render, rounds)
        print(
            f"{name:28} dockerconfigjson: median {median:.1f} µs, p95 {p95:.1f} µs "
            f"({rounds} renders)"
        )


if __name__ == "__main__":
    main()
