"""`asyncso run` as a child process, seen only from outside: its output, health, metrics, exit.

Why a process and not the in-process operator: the security suite tests behaviour a user can
observe (conditions, Events, Secrets, logs, metrics, the process surviving), while the modules
inside are being renamed; a process also captures every log line at DEBUG, can be SIGKILLed
mid-sync, and can be pointed at fault proxies through its kubeconfig and `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devenv import bench as devbench

#: The refresh floor the suite asks for when the operator has the flag (issue 10 adds
#: `--min-refresh-interval`, default 10s): the fault tests use intervals of a few seconds.
SUITE_REFRESH_FLOOR = "1s"


@functools.cache
def run_help() -> str:
    """`asyncso run --help`, read once: which flags this build of the operator has."""
    return subprocess.run(
        [sys.executable, "-m", "asyncso.cli", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout


def refresh_floor_args() -> list[str]:
    """`--min-refresh-interval=1s` once the operator has the flag, nothing before."""
    if "--min-refresh-interval" in run_help():
        return [f"--min-refresh-interval={SUITE_REFRESH_FLOOR}"]
    return []


def sample(metrics_text: str, metric: str, labels: Mapping[str, str]) -> float:
    """The value of one sample (0.0 when absent), labels matched as a subset."""
    for family in text_string_to_metric_families(metrics_text):
        for item in family.samples:
            if item.name == metric and all(item.labels.get(k) == v for k, v in labels.items()):
                return float(item.value)
    return 0.0


@dataclasses.dataclass(frozen=True)
class OperatorIdentity:
    """Who the operator process is: the bench's operator user with the chart's rules."""

    rules: list[dict[str, Any]]
    ca_file: pathlib.Path
    audit_log: pathlib.Path

    def kubeconfig(self, path: pathlib.Path, *, server: str) -> pathlib.Path:
        devbench.write_kubeconfig(
            path,
            server=server,
            ca_file=self.ca_file,
            token=devbench.OPERATOR_TOKEN,
            user=devbench.OPERATOR_USER,
        )
        return path


class OperatorProcess:
    """One `asyncso run`, output appended to `log_path` (kept across kills and restarts)."""

    def __init__(
        self,
        *,
        kubeconfig: pathlib.Path,
        controller_class: str,
        log_path: pathlib.Path,
        env: Mapping[str, str | None] | None = None,
        args: Sequence[str] = (),
        log_level: str = "debug",
    ) -> None:
        self.kubeconfig = kubeconfig
        self.controller_class = controller_class
        self.log_path = log_path
        self.env = dict(env or {})
        self.args = list(args)
        self.log_level = log_level
        self.metrics_port = 0
        self.live_port = 0
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.metrics_port, self.live_port = devbench.free_port(), devbench.free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        with self.log_path.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "asyncso.cli",
                "run",
                "--kubeconfig",
                str(self.kubeconfig),
                "--controller-class",
                self.controller_class,
                "--metrics-addr",
                f"127.0.0.1:{self.metrics_port}",
                "--live-addr",
                f"127.0.0.1:{self.live_port}",
                "--log-format",
                "json",
                "--log-level",
                self.log_level,
                *self.args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
            )

    async def wait_ready(self, within: float = 45.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while asyncio.get_running_loop().time() < deadline:
                if not self.alive:
                    raise AssertionError(f"operator exited during start:\n{self.output()[-3000:]}")
                try:
                    answer = await http.get(f"http://127.0.0.1:{self.live_port}/readyz")
                    if answer.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"operator not ready after {within}s:\n{self.output()[-3000:]}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def healthy(self) -> bool:
        async with httpx.AsyncClient(timeout=2) as http:
            try:
                answer = await http.get(f"http://127.0.0.1:{self.live_port}/healthz")
            except httpx.TransportError:
                return False
        return answer.status_code == 200

    async def metrics_text(self) -> str:
        async with httpx.AsyncClient(timeout=5) as http:
            answer = await http.get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        answer.raise_for_status()
        return answer.text

    async def sync_calls(self, namespace: str, name: str) -> tuple[float, float]:
        """(all syncs, failed syncs) of one ExternalSecret, from ESO's metrics."""
        text = await self.metrics_text()
        labels = {"namespace": namespace, "name": name}
        return (
            sample(text, "externalsecret_sync_calls_total", labels),
            sample(text, "externalsecret_sync_calls_error_total", labels),
        )

    async def sync_calls_of(
        self, namespace: str, names: list[str]
    ) -> dict[str, tuple[float, float]]:
        """`sync_calls` of several ExternalSecrets from one scrape (one consistent moment)."""
        text = await self.metrics_text()
        found = {}
        for name in names:
            labels = {"namespace": namespace, "name": name}
            found[name] = (
                sample(text, "externalsecret_sync_calls_total", labels),
                sample(text, "externalsecret_sync_calls_error_total", labels),
            )
        return found

    async def stop(self, within: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=within)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode or 0

    async def kill(self) -> None:
        """SIGKILL: no drain, no goodbye."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
