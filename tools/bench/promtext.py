"""Just enough of Prometheus' text format to read counters from two /metrics pages.

Why not `prometheus_client.parser`: the apiserver's page is megabytes of histograms, and the
benchmark needs a handful of counter samples from it; picking the lines by name first is much
cheaper, and keeps the benchmark's own CPU out of the figures it measures.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Mapping

_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Sample = tuple[dict[str, str], float]


def samples(text: str, name: str) -> list[Sample]:
    """Every sample of metric `name` (exact name, e.g. `apiserver_request_total`)."""
    found: list[Sample] = []
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        rest = line[len(name) :]
        labels: dict[str, str] = {}
        if rest.startswith("{"):
            end = rest.rfind("}")
            if end < 0:
                continue
            labels = {k: v.replace('\\"', '"') for k, v in _LABEL.findall(rest[1:end])}
            rest = rest[end + 1 :]
        elif not rest.startswith(" "):
            continue  # a longer name with this prefix
        fields = rest.split()
        if not fields:
            continue
        try:
            found.append((labels, float(fields[0])))
        except ValueError:
            continue
    return found


def sum_by(items: list[Sample], *labels: str, sep: str = " ") -> dict[str, float]:
    """Samples added up per combination of `labels` (empty label values are left out)."""
    totals: collections.defaultdict[str, float] = collections.defaultdict(float)
    for sample_labels, value in items:
        key = sep.join(v for v in (sample_labels.get(label, "") for label in labels) if v)
        totals[key] += value
    return dict(totals)


def apiserver_requests(text: str) -> dict[str, float]:
    """`apiserver_request_total` per "VERB resource[/subresource]" (resource requests only)."""
    resource_samples = [
        (labels, value)
        for labels, value in samples(text, "apiserver_request_total")
        if labels.get("resource")
    ]
    totals: collections.defaultdict[str, float] = collections.defaultdict(float)
    for labels, value in resource_samples:
        what = labels["resource"]
        if labels.get("subresource"):
            what = f"{what}/{labels['subresource']}"
        totals[f"{labels.get('verb', '?')} {what}"] += value
    return dict(totals)


def diff(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    """after - before per key, leaving out keys that did not change."""
    keys = set(after) | set(before)
    changed = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in keys}
    return {k: v for k, v in sorted(changed.items()) if v}
