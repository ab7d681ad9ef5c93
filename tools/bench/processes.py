"""The processes the benchmark starts beside the bench: the operator, the counting proxy, py-spy.

Why subprocesses: the operator is measured as users run it (`asyncso run`, its own interpreter,
its own CPU and memory in /proc), and nothing the benchmark does in its own event loop can slow
it or be counted as its work. Each starts in its own session so a Ctrl-C reaches only the
benchmark, which then stops them in order (`stop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import httpx

from bench import proxy as proxy_module
from devenv import bench as devbench

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ProcessError(RuntimeError):
    """A helper process did not start or answer; the message names it and its log."""


@dataclasses.dataclass
class Child:
    """A started process, its log file and the URLs it answers on."""

    name: str
    popen: subprocess.Popen[bytes]
    log: pathlib.Path
    urls: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def spawn(
    name: str, argv: list[str], *, log: pathlib.Path, env: dict[str, str] | None = None
) -> Child:
    with log.open("wb") as handle:
        popen = subprocess.Popen(
            argv,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    return Child(name, popen, log)


async def stop(child: Child, *, grace: float = 30.0) -> int | None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL; returns the exit code."""
    if child.alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while child.alive() and time.monotonic() < deadline:  # noqa: ASYNC110 - no awaitable exit
            await asyncio.sleep(0.1)
    kill(child)
    return child.popen.returncode


async def finish(child: Child, *, within: float) -> int | None:
    """Let a child that ends by itself (py-spy with --duration) finish; then SIGINT, on which
    py-spy still writes its profile; then `stop`."""
    deadline = time.monotonic() + within
    while child.alive() and time.monotonic() < deadline:  # noqa: ASYNC110 - see `stop`
        await asyncio.sleep(0.2)
    if child.alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGINT)
    return await stop(child, grace=10)


def kill(child: Child) -> None:
    """Synchronous last resort (Ctrl-C, errors): the whole process group, at once."""
    if child.alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.popen.wait(timeout=5)


async def wait_http(child: Child, url: str, *, within: float) -> float:
    """Poll `url` until it answers 200; return the monotonic time it did."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not child.alive():
                raise ProcessError(
                    f"{child.name} exited with code {child.popen.returncode}:\n{child.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return time.monotonic()
            await asyncio.sleep(0.05)
    raise ProcessError(f"{child.name} did not answer {url} within {within:.0f} s:\n{child.tail()}")


async def exited(child: Child) -> None:
    """Return never while the child runs; raise `ProcessError` with its log once it exits."""
    while child.alive():  # noqa: ASYNC110 - a Popen has no awaitable exit
        await asyncio.sleep(0.5)
    raise ProcessError(f"{child.name} exited with code {child.popen.returncode}:\n{child.tail()}")


# --- the counting proxy ------------------------------------------------------------------------


async def start_proxy(upstream: str, *, workdir: pathlib.Path) -> Child:
    port = devbench.free_port()
    child = spawn(
        "counting proxy",
        [sys.executable, "-m", "bench.proxy", "--upstream", upstream, "--port", str(port)],
        log=workdir / "proxy.log",
        env={**os.environ, "PYTHONPATH": _pythonpath()},
    )
    child.urls["base"] = f"http://127.0.0.1:{port}"
    child.urls["counts"] = child.urls["base"] + proxy_module.COUNTS_PATH
    await wait_http(child, child.urls["counts"], within=30)
    return child


async def proxy_counts(child: Child) -> dict[str, float]:
    """Calls so far per operation (errors included; they are counted apart too)."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        body = (await client.get(child.urls["counts"])).json()
    return {k: float(v) for k, v in body["calls"].items()}


def _pythonpath() -> str:
    tools = str(pathlib.Path(__file__).resolve().parents[1])
    existing = os.environ.get("PYTHONPATH", "")
    return f"{tools}{os.pathsep}{existing}" if existing else tools


# --- the operator ------------------------------------------------------------------------------


def operator_env(info: devbench.BenchInfo, aws_endpoint: str) -> dict[str, str]:
    """The bench's environment with every AWS endpoint pointed at the counting proxy."""
    env = {**os.environ, **info.environ(), "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_ENDPOINT_URL", "AWS_SECRETSMANAGER_ENDPOINT", "AWS_SSM_ENDPOINT"):
        env[name] = aws_endpoint
    env["AWS_STS_ENDPOINT"] = aws_endpoint
    return env


def start_operator(
    info: devbench.BenchInfo,
    *,
    aws_endpoint: str,
    workdir: pathlib.Path,
    controller_class: str = "",
    extra_args: list[str] | None = None,
) -> Child:
    """`asyncso run` with default flags, but loopback ports of its own for metrics and probes."""
    metrics_port, live_port = devbench.free_port(), devbench.free_port()
    argv = [
        sys.executable,
        "-m",
        "asyncso.cli",
        "run",
        "--kubeconfig",
        str(info.kubeconfig),
        "--metrics-addr",
        f"127.0.0.1:{metrics_port}",
        "--live-addr",
        f"127.0.0.1:{live_port}",
    ]
    if controller_class:
        argv += ["--controller-class", controller_class]
    argv += extra_args or []
    child = spawn(
        "operator", argv, log=workdir / "operator.log", env=operator_env(info, aws_endpoint)
    )
    child.urls["metrics"] = f"http://127.0.0.1:{metrics_port}/metrics"
    child.urls["ready"] = f"http://127.0.0.1:{live_port}/readyz"
    return child


async def scrape(child: Child) -> str:
    async with httpx.AsyncClient(timeout=30.0) as client:
        response = await client.get(child.urls["metrics"])
        response.raise_for_status()
        return response.text


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all threads) so far, from /proc/<pid>/stat."""
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def memory_mib(pid: int) -> dict[str, float]:
    """VmHWM (peak RSS) and VmRSS of the process, in MiB."""
    found: dict[str, float] = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            found[key] = int(rest.split()[0]) / 1024
    return found


# --- py-spy ------------------------------------------------------------------------------------


def py_spy_binary() -> str:
    beside = pathlib.Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise ProcessError("py-spy not found: `make venv` installs it (dev dependency)")
    return found


def start_profiler(pid: int, *, seconds: float, output: pathlib.Path) -> Child:
    """`py-spy record` on the operator for `seconds`, speedscope JSON into `output`.

    `--nonblocking` reads the operator's memory without pausing it, so the figures measured in
    the same window are disturbed as little as possible (py-spy's own CPU still shares the
    cores)."""
    return spawn(
        "py-spy",
        [
            py_spy_binary(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "100",
            "--nonblocking",
            "--format",
            "speedscope",
            "--output",
            str(output),
        ],
        log=output.with_suffix(".log"),
    )
