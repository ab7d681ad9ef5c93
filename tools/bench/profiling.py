"""Summarises a py-spy speedscope profile: which functions the operator spent its CPU in.

Why a summary beside the file: the later performance work compares "what dominated before and
after"; a top-N list in the benchmark's JSON and markdown makes that comparison a diff, while
the speedscope file (open it at speedscope.app or in any speedscope viewer) keeps the detail.
"""

from __future__ import annotations

import collections
import json
import pathlib
from typing import Any

#: Frames that only say "the event loop ran a callback"; they top every inclusive list.
_PLUMBING = (
    "asyncio/",
    "runpy.py",
    "asyncso/cli.py",
    "asyncso/runner.py",
)


def _label(frame: dict[str, Any]) -> str:
    name = str(frame.get("name", "?"))
    file = str(frame.get("file", ""))
    parts = pathlib.PurePath(file).parts
    short = "/".join(parts[-2:]) if len(parts) >= 2 else file
    return f"{name} ({short})"


def _is_plumbing(frame: dict[str, Any]) -> bool:
    file = str(frame.get("file", ""))
    return file.startswith("<") or any(mark in file for mark in _PLUMBING)


def summarise(path: pathlib.Path, *, top: int = 10) -> dict[str, Any]:
    """Samples, and the top functions by self time and by total time, as % of samples.

    Self: the function was on top of the stack. Total: it was anywhere on the stack (each
    function once per sample), leaving out event-loop and start-up plumbing."""
    doc = json.loads(path.read_text())
    frames: list[dict[str, Any]] = doc.get("shared", {}).get("frames", [])
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0.0
    count = 0
    for profile in doc.get("profiles", []):
        weights = profile.get("weights") or [1] * len(profile.get("samples", []))
        for stack, weight in zip(profile.get("samples", []), weights, strict=False):
            if not stack:
                continue
            samples += weight
            count += 1
            own[_label(frames[stack[-1]])] += weight
            seen = {_label(frames[i]) for i in stack if not _is_plumbing(frames[i])}
            for label in seen:
                total[label] += weight

    def ranked(counter: collections.Counter[str]) -> list[list[Any]]:
        if not samples:
            return []
        return [[label, round(100 * n / samples, 1)] for label, n in counter.most_common(top)]

    return {
        "file": path.name,
        "samples": count,
        "top_self": ranked(own),
        "top_total": ranked(total),
    }
