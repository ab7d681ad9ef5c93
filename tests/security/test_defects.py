"""The other High and Medium defects of issue 10, each as behaviour seen from outside: adopting a
Secret the operator did not create, `refreshInterval: 1ns`, and the refresh floor flag.

(Message quality — store and ServiceAccount problems, regexp errors, a missing credentials
Secret — is checked by corpus entries `creds-*` and `regexp-*`; Event aggregation, recovery and
throttling by `test_faults`; leaks by `test_leaks`.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
from typing import Any

import kr8s.asyncio
import pytest
import run_artifacts
import tenant_objects as objs
from defects import check
from operator_process import OperatorIdentity, OperatorProcess, run_help

from devenv import bench as devbench
from devenv import faultproxy

pytestmark = pytest.mark.integration

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOT_WINDOW = 3.0
ADOPTED = "foreign"


@dataclasses.dataclass
class DefectRun:
    namespace: str
    adopted_secret: dict[str, Any]
    adopter: dict[str, Any]
    events: list[dict[str, Any]]
    #: Syncs started during HOT_WINDOW seconds, by ExternalSecret.
    syncs: dict[str, float]
    #: AWS calls signed by the hot store's key during HOT_WINDOW seconds.
    aws_calls: int


@pytest.fixture(scope="module")
async def defect_run(
    bench: devbench.BenchInfo,
    kube: kr8s.asyncio.Api,
    operator_identity: OperatorIdentity,
    run_id: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> DefectRun:
    workdir = tmp_path_factory.mktemp("defects")
    ns = await run_artifacts.new_namespace(kube, "sec-defects")
    cls = f"sec-defects-{run_id}"
    key = f"hot{run_id}"
    remote = f"{run_id}/hot"
    await objs.put_remote(bench.aws_endpoint_url, remote, "v1")
    await objs.create(kube, objs.secret(ns, "creds", {"id": key, "secret": "x"}))
    await objs.create(kube, objs.aws_store(ns, "aws", controller=cls, creds="creds"))
    await objs.create(kube, objs.fake_store(ns, "fake", {"pw": "from-store"}, controller=cls))
    await objs.create(kube, objs.secret(ns, ADOPTED, {"keep": "kept-by-someone-else", "pw": "old"}))
    bodies = [
        objs.external_secret(
            ns, "adopter", store="fake", data=[objs.entry("pw", "pw")], target={"name": ADOPTED}
        ),
        objs.external_secret(
            ns, "hot-fake", store="fake", refresh="1ns", data=[objs.entry("pw", "pw")]
        ),
        objs.external_secret(
            ns, "hot-aws", store="aws", refresh="1ns", data=[objs.entry("v", remote)]
        ),
        objs.external_secret(
            ns, "hot-failing", store="fake", refresh="1ns", data=[objs.entry("v", "missing")]
        ),
    ]
    names = [b["metadata"]["name"] for b in bodies]
    async with faultproxy.AwsFaultProxy(bench.aws_endpoint_url) as proxy:
        operator = OperatorProcess(
            kubeconfig=operator_identity.kubeconfig(
                workdir / "defects.kubeconfig", server=bench.apiserver_url
            ),
            controller_class=cls,
            log_path=workdir / "defects-operator.log",
            env={"AWS_ENDPOINT_URL": proxy.url},
        )
        await operator.start()
        try:
            await operator.wait_ready()
            await objs.create_all(kube, bodies)
            await objs.wait_until(
                lambda: objs.all_ready(kube, ns, ["adopter", "hot-fake", "hot-aws"]),
                within=30,
                what="first syncs",
            )
            await objs.wait_until(
                lambda: objs.all_ready(kube, ns, ["hot-failing"], "False"),
                within=30,
                what="the failing one",
            )
            await asyncio.sleep(1.0)  # let the first syncs' status writes settle
            before = await operator.sync_calls_of(ns, names)
            calls_before = proxy.key_counts[key]
            await asyncio.sleep(HOT_WINDOW)
            after = await operator.sync_calls_of(ns, names)
            calls_after = proxy.key_counts[key]
            adopted = await run_artifacts.secret(kube, ns, ADOPTED)
            externals = await run_artifacts.externalsecrets(kube, ns)
            events = await run_artifacts.events(kube, ns)
        finally:
            await operator.stop()
    assert adopted is not None
    return DefectRun(
        namespace=ns,
        adopted_secret=adopted,
        adopter=externals["adopter"],
        events=events,
        syncs={n: after[n][0] - before[n][0] for n in names},
        aws_calls=calls_after - calls_before,
    )


# --- adopting a Secret the operator did not create ----------------------------------------------


def test_owner_adopts_an_unmanaged_secret_as_eso_does(defect_run: DefectRun) -> None:
    """ESO (externalsecret_controller.go): creationPolicy Owner on an existing Secret that no
    ExternalSecret owns updates it: its data becomes exactly the rendered data (other keys are
    dropped, ApplyTemplate clears the data unless the policy is Merge), the ExternalSecret is set
    as controller owner, and the managed label is added."""
    secret = defect_run.adopted_secret
    assert run_artifacts.decoded(secret) == {"pw": "from-store"}
    owners = secret["metadata"].get("ownerReferences") or []
    uid = defect_run.adopter["metadata"]["uid"]
    assert [(o["kind"], o["uid"], o.get("controller")) for o in owners] == [
        ("ExternalSecret", uid, True)
    ]
    labels = secret["metadata"].get("labels") or {}
    assert labels.get("reconcile.external-secrets.io/managed") == "true"


def test_adoption_is_said_in_a_warning_event_and_the_condition(defect_run: DefectRun) -> None:
    events = run_artifacts.events_of(defect_run.events, kind="ExternalSecret", name="adopter")
    assert events, "the adopting ExternalSecret has no Event at all"
    adopted = [e for e in events if e.get("type") == "Warning" and e.get("reason") == "Adopted"]
    check(
        adopted,
        f"no Warning Event with reason Adopted; Events: {[e.get('reason') for e in events]}",
    )
    message = adopted[0].get("message", "")
    check(ADOPTED in message and "keep" in message, f"Event message: {message!r}")
    assert "kept-by-someone-else" not in message
    ready = run_artifacts.ready(defect_run.adopter)
    assert ready is not None and ready[0] == "True", ready
    check("adopted" in ready[2] and "keep" in ready[2], f"condition: {ready}")


# --- refreshInterval: 1ns ------------------------------------------------------------------------


def test_one_nanosecond_is_floored(defect_run: DefectRun) -> None:
    syncs = defect_run.syncs
    check(
        syncs["hot-fake"] <= 1 and syncs["hot-aws"] <= 1,
        f"syncs in {HOT_WINDOW:g} s with refreshInterval 1ns: {syncs}",
    )
    check(defect_run.aws_calls <= 1, f"AWS calls in {HOT_WINDOW:g} s: {defect_run.aws_calls}")


def test_failing_syncs_back_off_even_at_one_nanosecond(defect_run: DefectRun) -> None:
    """Retries of a failing sync are rate-limited by the backoff (1 s doubling), whatever the
    interval."""
    assert defect_run.syncs["hot-failing"] <= 3, defect_run.syncs


def test_refresh_floor_flag_has_a_documented_default() -> None:
    docs = (ROOT / "docs" / "security.md").read_text()
    assert "--min-refresh-interval" in docs and "10s" in docs
    help_text = run_help()
    check("--min-refresh-interval" in help_text, "asyncso run --help has no --min-refresh-interval")
    check("10s" in help_text, "its default (10s) is not shown in --help")
