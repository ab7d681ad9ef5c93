"""The Go oracle (tools/gooracle): one process per test session, spoken to over pipes.

Why: the Python engine is checked against Go's own text/template + sprig on thousands of
cases; starting Go once and streaming JSON lines keeps that to seconds. The binary is built
(once, cached) by tools/devenv/build-gotemplate-oracle.sh; without Go the tests skip.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

_REPO = pathlib.Path(__file__).resolve().parents[2]
_BUILD = _REPO / "tools" / "devenv" / "build-gotemplate-oracle.sh"


class Oracle:
    """A running oracle; `run` sends requests and returns the answers in order."""

    def __init__(self, path: str) -> None:
        self.proc = subprocess.Popen(
            [path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 16
        )
        self.lock = threading.Lock()
        self.counter = 0

    def run(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self.lock:
            base = self.counter
            self.counter += len(requests)
            lines = [
                json.dumps({**request, "id": base + i}, ensure_ascii=False).encode()
                for i, request in enumerate(requests)
            ]

            def feed() -> None:
                assert self.proc.stdin is not None
                for line in lines:
                    self.proc.stdin.write(line + b"\n")
                self.proc.stdin.flush()

            writer = threading.Thread(target=feed)
            writer.start()
            answers = [json.loads(self.proc.stdout.readline()) for _ in lines]
            writer.join()
        for i, answer in enumerate(answers):
            assert answer.get("id") == base + i, answer
        return answers

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def oracle() -> Iterator[Oracle]:
    try:
        built = subprocess.run(
            ["bash", str(_BUILD)], check=True, capture_output=True, text=True, timeout=900
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
        pytest.skip(f"the Go template oracle could not be built: {exc}")
    path = built.stdout.strip().splitlines()[-1]
    running = Oracle(path)
    yield running
    running.close()
