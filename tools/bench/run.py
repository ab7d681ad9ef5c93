"""One run of W(N): set up, cold sync, one steady window, freshness, bare writer, tear down.

Why this order: the cold sync starts from "every ExternalSecret exists, the operator starts" (a
restart or a mass apply); the steady window starts half an interval after the last Secret is
right, so that the first refresh of every ExternalSecret (spread by the operator's jitter) falls
inside one window of one interval; the freshness check comes after the window so its writes do
not count in it; the bare writer runs last, with the operator stopped, on the same objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import pathlib
import statistics
import time
import uuid
from collections.abc import Mapping
from typing import Any

from bench import bare_writer, kubeapi, processes, profiling, promtext, seeding
from bench.tracking import Key, SecretTracker, TrackingError
from bench.workload import Workload
from devenv import bench as devbench

LABEL_MANAGED = "reconcile.external-secrets.io/managed"
PROVIDER_CALLS = "externalsecret_provider_api_calls_count_total"
SYNC_CALLS = "externalsecret_sync_calls_total"
SYNC_ERRORS = "externalsecret_sync_calls_error_total"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    """Everything one run needs besides the bench (flags of `python -m bench`)."""

    count: int
    refresh_interval: float = 60.0
    namespaces: int = 4
    store_kind: str = "SecretStore"
    controller_class: str = ""
    #: Operator `--concurrent` default; the bare writer uses the same number of requests.
    concurrent: int = 16
    create_concurrency: int = 32
    probes: int = 5
    steady_cycles: int = 1
    freshness: bool = False
    fresh_secrets: int = 20
    profile: bool = False
    bare_events: bool = False
    cold_timeout: float = 1800.0
    operator_args: tuple[str, ...] = ()
    #: Stores annotated for the operator's change detection by ListSecrets.
    change_detection: bool = False
    #: Fraction of the U remote secrets changed in AWS per cycle of the steady window.
    churn: float = 0.0


@dataclasses.dataclass(kw_only=True)
class Freshness:
    """A change in AWS against the promise "every reader has it within its interval + 1 s"."""

    changed: int
    readers: int
    bound_s: float
    #: How long the check waited at most (2 intervals + 30 s).
    waited_s: float
    #: Readers that did not have the new value within the bound / by the end of the wait.
    late: int
    never: int
    #: Over readers that got the value; max is None when some never did.
    median_s: float | None
    max_s: float | None
    within_bound: bool


@dataclasses.dataclass(kw_only=True)
class RunFigures:
    """Every figure of one run; times in seconds, memory in MiB, calls per operation."""

    run_id: str
    n: int
    u: int
    namespaces: int
    store_kind: str
    refresh_interval_s: float
    concurrent: int
    ideal_aws_calls: int
    ideal_aws_calls_per_store: int
    #: Change detection's floor per cycle: ListSecrets pages per store.
    ideal_listing_calls: int = 0
    change_detection: bool = False
    load_avg_start: float
    load_avg_end: float = 0.0
    setup_s: float = 0.0
    operator_ready_s: float = 0.0
    cold_sync_s: float = 0.0
    cold_aws_calls: dict[str, float] = dataclasses.field(default_factory=dict)
    cold_aws_calls_metric: dict[str, float] = dataclasses.field(default_factory=dict)
    cold_apiserver_requests: dict[str, float] = dataclasses.field(default_factory=dict)
    steady_window_s: float = 0.0
    steady_cycles: int = 1
    steady_aws_calls_per_cycle: dict[str, float] = dataclasses.field(default_factory=dict)
    steady_aws_calls_metric_per_cycle: dict[str, float] = dataclasses.field(default_factory=dict)
    steady_syncs_per_cycle: float = 0.0
    steady_cpu_percent: float = 0.0
    steady_apiserver_requests_per_cycle: dict[str, float] = dataclasses.field(default_factory=dict)
    new_es_latency_s: list[float] = dataclasses.field(default_factory=list)
    new_es_latency_median_s: float = 0.0
    new_es_latency_max_s: float = 0.0
    #: Probes whose Secret was not right within two intervals (at least a minute).
    new_es_not_synced: int = 0
    freshness: Freshness | None = None
    #: Remote secrets changed per cycle during the steady window (`--churn`), and how fast
    #: their readers got the new values.
    churn_per_cycle: int = 0
    churn: Freshness | None = None
    peak_rss_mib: float = 0.0
    end_rss_mib: float = 0.0
    sync_errors: float = 0.0
    bare_writer_s: float = 0.0
    bare_writer_requests: int = 0
    cold_to_bare_ratio: float = 0.0
    profile: dict[str, Any] | None = None
    #: Set when the run stopped early; the figures before that point are kept.
    error: str = ""


def _load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def _by_call(metrics_text: str) -> dict[str, float]:
    return promtext.sum_by(promtext.samples(metrics_text, PROVIDER_CALLS), "call")


def _total(metrics_text: str, name: str) -> float:
    return sum(value for _, value in promtext.samples(metrics_text, name))


def _per_cycle(counts: Mapping[str, float], cycles: int) -> dict[str, float]:
    return {k: round(v / cycles, 2) for k, v in counts.items()}


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


class Run:
    """State of one run, so that teardown can undo whatever was started, in order."""

    def __init__(
        self,
        info: devbench.BenchInfo,
        options: Options,
        *,
        out_dir: pathlib.Path,
        label: str,
        cleanup_aws: bool,
        log: Any = print,
    ) -> None:
        self.info = info
        self.options = options
        self.out_dir = out_dir
        self.label = label
        self.cleanup_aws = cleanup_aws
        self.log = log
        self.workload = Workload(
            count=options.count,
            run_id=uuid.uuid4().hex[:6],
            namespaces=options.namespaces,
            refresh_interval=options.refresh_interval,
            store_kind=options.store_kind,
            controller_class=options.controller_class,
            change_detection=options.change_detection,
        )
        #: The version each remote secret is at, once changed (version 1 otherwise).
        self.versions: dict[int, int] = {}
        self.workdir = out_dir / f"{label}-logs"
        self.children: list[processes.Child] = []
        self.figures = RunFigures(
            run_id=self.workload.run_id,
            n=self.workload.count,
            u=self.workload.remote_count,
            namespaces=self.workload.namespace_count,
            store_kind=options.store_kind,
            refresh_interval_s=options.refresh_interval,
            concurrent=options.concurrent,
            ideal_aws_calls=self.workload.ideal_calls(),
            ideal_aws_calls_per_store=self.workload.ideal_calls_per_store(),
            ideal_listing_calls=self.workload.ideal_listing_calls(),
            change_detection=options.change_detection,
            load_avg_start=_load_avg(),
            steady_cycles=options.steady_cycles,
        )

    async def execute(self) -> RunFigures:
        self.workdir.mkdir(parents=True, exist_ok=True)
        client = kubeapi.admin_client(self.info, connections=self.options.create_concurrency + 4)
        watch_client = kubeapi.admin_client(self.info, connections=4)
        tracker = SecretTracker(
            watch_client,
            namespaces=self.workload.namespace_names(),
            label_selector=f"{LABEL_MANAGED}=true",
        )
        try:
            await self._measure(client, tracker)
        except Exception as exc:  # keep the figures measured so far
            self.figures.error = _error_text(exc)
            self.log(f"[{self.label}] ERROR, the run stops here: {self.figures.error}")
        finally:
            for child in reversed(self.children):
                processes.kill(child)
            await tracker.close()
            if self.cleanup_aws:
                with contextlib.suppress(Exception):
                    await seeding.remove_remote(
                        self.info, self.workload, concurrency=self.options.create_concurrency
                    )
            await client.aclose()
            await watch_client.aclose()
        return self.figures

    async def _measure(self, client: Any, tracker: SecretTracker) -> None:
        options, workload, figures = self.options, self.workload, self.figures
        say = self.log

        # --- set-up ------------------------------------------------------------------------
        say(
            f"[{self.label}] set-up: {workload.remote_count} AWS secrets, {workload.count} "
            f"ExternalSecrets in {workload.namespace_count} namespaces"
        )
        started = time.monotonic()
        await seeding.install_crds(self.info)
        await seeding.seed_remote(self.info, workload, concurrency=options.create_concurrency)
        uids = await seeding.create_objects(
            client, workload, concurrency=options.create_concurrency
        )
        figures.setup_s = round(time.monotonic() - started, 2)
        keys: list[Key] = [
            (workload.namespace_of(i), workload.es_name(i)) for i in range(workload.count)
        ]
        for i, key in enumerate(keys):
            tracker.expect(key, workload.expected(i))
        await tracker.start()
        proxy = await processes.start_proxy(self.info.aws_endpoint_url, workdir=self.workdir)
        self.children.append(proxy)

        # --- cold sync ---------------------------------------------------------------------
        api_before = promtext.apiserver_requests(await kubeapi.get_text(client, "/metrics"))
        aws_before = await processes.proxy_counts(proxy)
        say(f"[{self.label}] set-up took {figures.setup_s:.1f} s; starting the operator")
        op_start = time.monotonic()
        operator = processes.start_operator(
            self.info,
            aws_endpoint=proxy.urls["base"],
            workdir=self.workdir,
            controller_class=options.controller_class,
            extra_args=list(options.operator_args),
        )
        self.children.append(operator)
        ready = asyncio.create_task(
            processes.wait_http(operator, operator.urls["ready"], within=options.cold_timeout)
        )
        synced = asyncio.create_task(tracker.wait(keys, within=options.cold_timeout))
        died = asyncio.create_task(processes.exited(operator))
        try:
            await asyncio.wait({synced, died}, return_when=asyncio.FIRST_COMPLETED)
            if died.done():
                died.result()
            last_right = await synced  # a timeout ends the run here
            figures.operator_ready_s = round(await ready - op_start, 2)
        finally:
            for task in (ready, synced, died):
                task.cancel()
        figures.cold_sync_s = round(last_right - op_start, 2)
        aws_cold = await processes.proxy_counts(proxy)
        figures.cold_aws_calls = promtext.diff(aws_cold, aws_before)
        op_cold = await processes.scrape(operator)
        figures.cold_aws_calls_metric = _by_call(op_cold)
        figures.cold_apiserver_requests = promtext.diff(
            promtext.apiserver_requests(await kubeapi.get_text(client, "/metrics")), api_before
        )
        say(
            f"[{self.label}] cold sync {figures.cold_sync_s:.1f} s, AWS calls "
            f"{sum(figures.cold_aws_calls.values()):.0f}"
        )

        # --- steady window -----------------------------------------------------------------
        interval = options.refresh_interval
        window = interval * options.steady_cycles
        window_start = last_right + interval / 2
        say(
            f"[{self.label}] steady window of {window:.0f} s starts in "
            f"{window_start - time.monotonic():.0f} s"
        )
        await _sleep_until(window_start)
        aws_start = await processes.proxy_counts(proxy)
        op_start_text = await processes.scrape(operator)
        api_start = promtext.apiserver_requests(await kubeapi.get_text(client, "/metrics"))
        cpu_start, wall_start = processes.cpu_seconds(operator.pid), time.monotonic()
        profiler = None
        if options.profile:
            profile_file = self.out_dir / f"{self.label}-profile.speedscope.json"
            profiler = processes.start_profiler(operator.pid, seconds=window, output=profile_file)
            self.children.append(profiler)
        probes = [
            asyncio.create_task(
                self._probe(client, tracker, k, at=wall_start + (k + 0.5) * window / options.probes)
            )
            for k in range(options.probes)
        ]
        churn = None
        if options.churn > 0:
            churn = asyncio.create_task(self._churn(tracker, start=wall_start, window=window))
        await _sleep_until(wall_start + window)
        cpu_end, wall_end = processes.cpu_seconds(operator.pid), time.monotonic()
        aws_end = await processes.proxy_counts(proxy)
        op_end_text = await processes.scrape(operator)
        api_end = promtext.apiserver_requests(await kubeapi.get_text(client, "/metrics"))
        cycles = options.steady_cycles
        figures.steady_window_s = round(wall_end - wall_start, 2)
        figures.steady_cpu_percent = round(100 * (cpu_end - cpu_start) / (wall_end - wall_start), 1)
        figures.steady_aws_calls_per_cycle = _per_cycle(promtext.diff(aws_end, aws_start), cycles)
        figures.steady_aws_calls_metric_per_cycle = _per_cycle(
            promtext.diff(_by_call(op_end_text), _by_call(op_start_text)), cycles
        )
        figures.steady_syncs_per_cycle = round(
            (_total(op_end_text, SYNC_CALLS) - _total(op_start_text, SYNC_CALLS)) / cycles, 1
        )
        figures.steady_apiserver_requests_per_cycle = _per_cycle(
            promtext.diff(api_end, api_start), cycles
        )
        if churn is not None:
            figures.churn_per_cycle = math.ceil(options.churn * workload.remote_count)
            figures.churn = await churn
        answers = await asyncio.gather(*probes)
        latencies = sorted(x for x in answers if x is not None)
        figures.new_es_not_synced = len(answers) - len(latencies)
        figures.new_es_latency_s = [round(x, 3) for x in latencies]
        if latencies:
            figures.new_es_latency_median_s = round(statistics.median(latencies), 3)
            figures.new_es_latency_max_s = round(max(latencies), 3)
        if profiler is not None:
            await processes.finish(profiler, within=30)
            if profile_file.exists():
                figures.profile = profiling.summarise(profile_file)
                # relative to the results directory, where the JSON that names it lies
                figures.profile["file"] = f"{self.out_dir.name}/{profile_file.name}"
            else:
                say(f"[{self.label}] py-spy wrote no profile:\n{profiler.tail()}")
        say(
            f"[{self.label}] steady: {sum(figures.steady_aws_calls_per_cycle.values()):.0f} AWS "
            f"calls per cycle, CPU {figures.steady_cpu_percent:.1f} %"
        )

        # --- freshness ---------------------------------------------------------------------
        if options.freshness:
            figures.freshness = await self._freshness(tracker)
            fresh = figures.freshness
            say(
                f"[{self.label}] freshness: {fresh.readers - fresh.late} of {fresh.readers} "
                f"readers within {fresh.bound_s:g} s; max {fresh.max_s} s"
            )

        memory = processes.memory_mib(operator.pid)
        figures.peak_rss_mib = round(memory.get("VmHWM", 0.0), 1)
        figures.end_rss_mib = round(memory.get("VmRSS", 0.0), 1)
        figures.sync_errors = _total(await processes.scrape(operator), SYNC_ERRORS)
        code = await processes.stop(operator)
        if code != 0:
            say(f"[{self.label}] operator exited with code {code}:\n{operator.tail()}")
        await processes.stop(proxy)
        await tracker.close()

        # --- bare writer -------------------------------------------------------------------
        say(f"[{self.label}] bare writer: the same writes at concurrency {options.concurrent}")
        bare_client = kubeapi.admin_client(self.info, connections=options.concurrent)
        try:
            seconds, requests = await bare_writer.run(
                bare_client,
                workload,
                uids,
                concurrency=options.concurrent,
                events=options.bare_events,
            )
        finally:
            await bare_client.aclose()
        figures.bare_writer_s = round(seconds, 3)
        figures.bare_writer_requests = requests
        if figures.bare_writer_s:
            figures.cold_to_bare_ratio = round(figures.cold_sync_s / figures.bare_writer_s, 2)
        figures.load_avg_end = _load_avg()

    async def _probe(
        self, client: Any, tracker: SecretTracker, k: int, *, at: float
    ) -> float | None:
        """Create one new ExternalSecret at `at`; seconds until its Secret is right (None: not
        right within two intervals, at least a minute)."""
        await _sleep_until(at)
        manifest = self.workload.probe(k)
        key = (manifest["metadata"]["namespace"], manifest["metadata"]["name"])
        tracker.expect(key, self.workload.expected_for(*self.workload.probe_remotes(k)))
        sent = time.monotonic()
        await kubeapi.create(client, manifest)
        try:
            right = await tracker.wait([key], within=max(60.0, 2 * self.options.refresh_interval))
        except TrackingError:
            return None
        return right - sent

    async def _freshness(self, tracker: SecretTracker) -> Freshness:
        """Change some remote secrets in AWS; time until every Secret reading them has it."""
        workload = self.workload
        count = min(self.options.fresh_secrets, workload.remote_count)
        changed = sorted({(m * workload.remote_count) // count for m in range(count)})
        delays, readers = await self._change(tracker, changed)
        return self._freshness_of(changed=len(changed), readers=readers, delays=delays)

    async def _change(
        self, tracker: SecretTracker, changed: list[int]
    ) -> tuple[list[float | None], int]:
        """Write a new version of each remote secret in `changed`; seconds until each of their
        readers held it (None: not within 2 intervals + 30 s), and how many readers."""
        workload = self.workload
        for j in changed:
            self.versions[j] = self.versions.get(j, 1) + 1
        readers = sorted({i for j in changed for i in workload.readers(j)})
        keys = [(workload.namespace_of(i), workload.es_name(i)) for i in readers]
        for i, key in zip(readers, keys, strict=True):
            tracker.expect(key, workload.expected(i, self.versions))
        await seeding.put_remote(self.info, workload, {j: self.versions[j] for j in changed})
        put_done = time.monotonic()
        with contextlib.suppress(TrackingError):  # counted as `never`
            await tracker.wait(keys, within=2 * self.options.refresh_interval + 30)
        found = [tracker.right_at(k) for k in keys]
        return [None if right is None else right - put_done for right in found], len(keys)

    async def _churn(self, tracker: SecretTracker, *, start: float, window: float) -> Freshness:
        """`--churn`: during the steady window, change that fraction of the U remote secrets per
        cycle, one at a time, spread evenly; how fast each change reached its readers."""
        options, workload = self.options, self.workload
        per_cycle = math.ceil(options.churn * workload.remote_count)
        changes = [j for c in range(options.steady_cycles) for j in workload.churned(c, per_cycle)]

        async def change(n: int, j: int) -> tuple[list[float | None], int]:
            await _sleep_until(start + (n + 0.5) * window / max(1, len(changes)))
            return await self._change(tracker, [j])

        results = await asyncio.gather(*(change(n, j) for n, j in enumerate(changes)))
        delays = [d for found, _ in results for d in found]
        return self._freshness_of(
            changed=len(changes), readers=sum(r for _, r in results), delays=delays
        )

    def _freshness_of(self, *, changed: int, readers: int, delays: list[float | None]) -> Freshness:
        interval = self.options.refresh_interval
        waited = 2 * interval + 30
        bound = interval + 1
        got = sorted(d for d in delays if d is not None)
        never = readers - len(got)
        late = never + sum(1 for d in got if d > bound)
        return Freshness(
            changed=changed,
            readers=readers,
            bound_s=bound,
            waited_s=waited,
            late=late,
            never=never,
            median_s=round(statistics.median(got), 2) if got else None,
            max_s=round(max(got), 2) if got and not never else None,
            within_bound=late == 0,
        )


def _error_text(exc: BaseException) -> str:
    """The error, with the leaves of an exception group (a task group's failure says nothing
    by itself)."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_error_text(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"
