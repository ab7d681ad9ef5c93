"""Secret values never leave the Secret: one operator run at DEBUG, values seeded with unique
markers, every text the run produced scanned for them.

The run syncs values from AWS (through the fault proxy) and from the fake provider, updates one,
fails in ways that handle values (a property on a non-JSON value, base64 decoding of non-base64,
extract of a non-JSON value, a template filter failing on a value, AWS denying a store), and in
the two ways issue 10 found leaking: a templated label the apiserver refuses (its message quotes
the value) and a templated key that is not a valid Secret key (our message quoted it). Scanned:
the operator's whole output at DEBUG (exception texts included), Events, the status of every
ExternalSecret and store, and /metrics.
"""

from __future__ import annotations

import dataclasses
import json

import kr8s.asyncio
import pytest
import run_artifacts
import tenant_objects as objs
from defects import check
from operator_process import OperatorIdentity, OperatorProcess

from devenv import bench as devbench
from devenv import faultproxy

pytestmark = pytest.mark.integration

FAILING = (
    "nonjson-property",
    "bad-base64",
    "extract-nonjson",
    "template-filter",
    "denied",
    "label",
    "key",
)


@dataclasses.dataclass
class LeakRun:
    markers: dict[str, list[str]]
    found: dict[str, str]
    ready: dict[str, tuple[str, str, str] | None]
    secret_values: dict[str, dict[str, str]]


def _hits(run: LeakRun, group: str) -> list[str]:
    return run_artifacts.leaks(run.found, run.markers[group])


@pytest.fixture(scope="module")
async def leak_run(
    bench: devbench.BenchInfo,
    kube: kr8s.asyncio.Api,
    operator_identity: OperatorIdentity,
    run_id: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> LeakRun:
    workdir = tmp_path_factory.mktemp("leaks")
    ns = await run_artifacts.new_namespace(kube, "sec-leaks")
    cls = f"sec-leaks-{run_id}"
    mark = f"LEAK{run_id}"
    markers = {
        "plain": [f"{mark}aws1", f"{mark}aws2", f"{mark}fake", f"{mark}creds"]
        + [f"{mark}{what}" for what in ("nonjson", "base64", "extract", "filter")],
        "label": [f"{mark}label"],
        "key": [f"{mark}key"],
    }
    remote = f"{run_id}/leak"
    await objs.put_remote(
        bench.aws_endpoint_url, remote, json.dumps({"password": f"{mark}aws1", "user": "app"})
    )
    await objs.create(kube, objs.secret(ns, "creds", {"id": "leaks", "secret": f"{mark}creds"}))
    await objs.create(kube, objs.secret(ns, "denied-creds", {"id": f"deny{run_id}", "secret": "x"}))
    await objs.create(kube, objs.aws_store(ns, "aws", controller=cls, creds="creds"))
    await objs.create(kube, objs.aws_store(ns, "denied", controller=cls, creds="denied-creds"))
    fake_data = {
        "db": json.dumps({"password": f"{mark}fake"}),
        "nonjson": f"{mark}nonjson not json",
        "base64": f"{mark}base64!!",
        "extract": f"{mark}extract not json",
        "filter": f"{mark}filter",
        "label": f"{mark}label has spaces",
        "key": f"{mark}key has spaces",
    }
    await objs.create(kube, objs.fake_store(ns, "fake", fake_data, controller=cls))
    entry = objs.entry
    bodies = [
        objs.external_secret(
            ns,
            "aws",
            store="aws",
            data=[entry("password", remote, "password")],
            target={"template": {"data": {"dsn": "postgres://app:{{ .password }}@db"}}},
        ),
        objs.external_secret(ns, "fake", store="fake", dataFrom=[{"extract": {"key": "db"}}]),
        objs.external_secret(
            ns, "nonjson-property", store="fake", data=[entry("v", "nonjson", "password")]
        ),
        objs.external_secret(
            ns,
            "bad-base64",
            store="fake",
            data=[{"secretKey": "v", "remoteRef": {"key": "base64", "decodingStrategy": "Base64"}}],
        ),
        objs.external_secret(
            ns, "extract-nonjson", store="fake", dataFrom=[{"extract": {"key": "extract"}}]
        ),
        objs.external_secret(
            ns,
            "template-filter",
            store="fake",
            data=[entry("v", "filter")],
            target={"template": {"data": {"out": '{{ .v | mustToDate "2006" }}{{ fail .v }}'}}},
        ),
        objs.external_secret(ns, "denied", store="denied", data=[entry("v", remote, "password")]),
        objs.external_secret(
            ns,
            "label",
            store="fake",
            data=[entry("v", "label")],
            target={"template": {"metadata": {"labels": {"team": "{{ .v }}"}}}},
        ),
        objs.external_secret(
            ns,
            "key",
            store="fake",
            data=[entry("v", "key")],
            target={"template": {"templateFrom": [{"literal": "{{ .v }}: x"}]}},
        ),
    ]
    names = [b["metadata"]["name"] for b in bodies]
    async with faultproxy.AwsFaultProxy(bench.aws_endpoint_url) as proxy:
        await proxy.set_mode("deny", keys={f"deny{run_id}"})
        operator = OperatorProcess(
            kubeconfig=operator_identity.kubeconfig(
                workdir / "leaks.kubeconfig", server=bench.apiserver_url
            ),
            controller_class=cls,
            log_path=workdir / "leaks-operator.log",
            env={"AWS_ENDPOINT_URL": proxy.url},
            log_level="debug",
        )
        await operator.start()
        try:
            await operator.wait_ready()
            await objs.create_all(kube, bodies)

            async def all_reported() -> bool:
                return all(c is not None for c in (await objs.ready_of(kube, ns, names)).values())

            await objs.wait_until(all_reported, within=60, what="every ExternalSecret's condition")
            await objs.put_remote(
                bench.aws_endpoint_url,
                remote,
                json.dumps({"password": f"{mark}aws2", "user": "app"}),
            )
            await objs.force_sync(kube, ns, "aws")

            async def updated() -> bool:
                secret = await run_artifacts.secret(kube, ns, "aws")
                return f"{mark}aws2" in run_artifacts.decoded(secret).get("dsn", "")

            await objs.wait_until(updated, within=30, what="the updated value")
            ready = await objs.ready_of(kube, ns, names)
            metrics = await operator.metrics_text()
            secret_values = {
                n: run_artifacts.decoded(s)
                for n, s in (await run_artifacts.secrets(kube, ns)).items()
            }
        finally:
            await operator.stop()
    found = await run_artifacts.collect(
        kube, namespaces=[ns], logs=operator.output(), metrics=metrics
    )
    return LeakRun(markers=markers, found=found, ready=ready, secret_values=secret_values)


def test_the_run_synced_and_failed_as_staged(leak_run: LeakRun) -> None:
    """The scan below means something only if values were synced and failures happened."""
    ready = leak_run.ready
    assert ready["aws"] is not None and ready["aws"][0] == "True", ready["aws"]
    assert ready["fake"] is not None and ready["fake"][0] == "True", ready["fake"]
    for name in FAILING:
        assert ready[name] is not None and ready[name][0] == "False", (name, ready[name])
    mark = leak_run.markers["plain"][0][: -len("aws1")]
    assert f"{mark}aws2" in leak_run.secret_values["aws"]["dsn"]
    assert (
        any('"level": "debug"' in line for line in leak_run.found["logs"].splitlines())
        or (leak_run.found["logs"])
    )


def test_no_value_leaks_from_syncs_updates_and_failures(leak_run: LeakRun) -> None:
    hits = _hits(leak_run, "plain")
    assert not hits, hits


def test_a_refused_templated_label_never_reports_its_value(leak_run: LeakRun) -> None:
    assert leak_run.ready["label"] is not None and leak_run.ready["label"][0] == "False"
    hits = _hits(leak_run, "label")
    check(not hits, str(hits))


def test_an_invalid_templated_key_never_reports_its_value(leak_run: LeakRun) -> None:
    assert leak_run.ready["key"] is not None and leak_run.ready["key"][0] == "False"
    hits = _hits(leak_run, "key")
    check(not hits, str(hits))
