"""The hostile-input corpus against one operator process on the real bench.

One run applies every entry of `corpus/` to a tenant namespace, waits until each subject has
its result, then checks: each entry's expected result (one test per entry), that the operator
stayed up and canary ExternalSecrets kept syncing, and that nothing outside the tenant's reach
was read or changed (victim objects in another namespace, the audit log of the operator's
requests, victim values in the tenant's Secrets).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from typing import Any

import kr8s.asyncio
import pytest
import run_artifacts
import tenant_objects as objs
from corpus import Entry, collection_path, instantiate, load, subject_key
from defects import check, defect
from operator_process import OperatorIdentity, OperatorProcess

from devenv import bench as devbench
from integration.kube_support import GROUP_PATH, merge_patch, request

pytestmark = pytest.mark.integration

ENTRIES = load()
APPLY_CONCURRENCY = 16
STORES_FIRST_SECONDS = 1.0
SETTLE_SECONDS = 6.0
RESULT_DEADLINE = 60.0
VICTIM_KINDS = ("secrets", "configmaps", "serviceaccounts")
_INDEX = re.compile(r"\[\d+\]")


@dataclasses.dataclass
class EntryResult:
    admitted: bool = False
    admission_message: str = ""
    #: Helper objects of the entry the apiserver refused (a broken entry, not a result).
    helpers_refused: list[str] = dataclasses.field(default_factory=list)
    ready: tuple[str, str, str] | None = None


@dataclasses.dataclass
class CorpusRun:
    names: dict[str, str]
    results: dict[str, EntryResult]
    victims_before: dict[str, dict[str, Any]]
    victims_after: dict[str, dict[str, Any]]
    victim_markers: list[str]
    tenant_values: dict[str, dict[str, str]]
    outside_requests: list[str]
    alive: bool
    healthy: bool
    canaries: dict[str, dict[str, str]]
    logs: str


# --- the bench state the corpus runs against ---------------------------------------------------


def canary(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
            "data": [{"secretKey": "value", "remoteRef": {"key": "canary"}}],
        },
    }


async def _post(api: kr8s.asyncio.Api, body: dict[str, Any]) -> tuple[int, Any]:
    return await request(api, "POST", collection_path(body), body)


async def _victims(api: kr8s.asyncio.Api, namespace: str) -> dict[str, dict[str, Any]]:
    """Every Secret, ConfigMap and ServiceAccount in the victim namespace, by kind/name."""
    found: dict[str, dict[str, Any]] = {}
    for plural in VICTIM_KINDS:
        for obj in await run_artifacts.items(api, f"/api/v1/namespaces/{namespace}/{plural}"):
            meta = obj["metadata"]
            found[f"{plural}/{meta['name']}"] = {
                "resourceVersion": meta["resourceVersion"],
                "data": obj.get("data"),
                "labels": meta.get("labels"),
                "annotations": meta.get("annotations"),
                "ownerReferences": meta.get("ownerReferences"),
            }
    return found


async def _seed(
    api: kr8s.asyncio.Api, names: dict[str, str], endpoint: str
) -> tuple[list[str], list[dict[str, Any]]]:
    """Victims, the store owner's credentials, the tenant's stores; returns (victim markers,
    canary ExternalSecrets to create)."""
    tenant, victim, owner, run = names["TENANT"], names["VICTIM"], names["OWNER"], names["RUN"]
    cls = names["CLASS"]
    mark = f"VICTIM-{run}"
    markers = [f"{mark}-{what}" for what in ("write", "read", "config", "aws", "store")]
    await objs.create(api, objs.secret(victim, "victim-secret", {"password": f"{mark}-write"}))
    await objs.create(api, objs.secret(victim, "victim-read", {"token": f"{mark}-read"}))
    await objs.create(
        api,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "victim-config", "namespace": victim},
            "data": {"token": f"{mark}-config"},
        },
    )
    await objs.create(
        api, objs.secret(victim, "victim-creds", {"id": "test", "secret": f"{mark}-aws"})
    )
    await objs.create(
        api,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "victim-sa",
                "namespace": victim,
                "annotations": {
                    "eks.amazonaws.com/role-arn": f"arn:aws:iam::000000000000:role/victim-{run}"
                },
            },
        },
    )
    await objs.create(
        api,
        objs.fake_store(
            victim, "victim-store", {"tenant-db": f'{{"password":"{mark}-store"}}'}, controller=cls
        ),
    )
    await objs.create(api, objs.secret(owner, "owner-creds", {"id": "test", "secret": "test"}))
    await objs.create(api, objs.secret(tenant, "aws-creds", {"id": "test", "secret": "test"}))
    await objs.create(
        api,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "tenant-irsa",
                "namespace": tenant,
                "annotations": {
                    "eks.amazonaws.com/role-arn": f"arn:aws:iam::000000000000:role/tenant-{run}"
                },
            },
        },
    )
    tenant_data = {
        "tenant-db": '{"password":"tenant-pw","user":"app"}',
        "canary": "canary-v1",
        "big": "x" * (600 * 1024),
        "spaced": "two words",
    }
    await objs.create(api, objs.fake_store(tenant, "fake", tenant_data, controller=cls))
    await objs.create(api, objs.aws_store(tenant, "aws", controller=cls, creds="aws-creds"))
    await objs.put_remote(endpoint, f"{run}/db", '{"password":"aws-pw"}')
    await objs.create(
        api, objs.fake_store(names["CANARY"], "fake", {"canary": "canary-v1"}, controller=cls)
    )
    canaries = [canary(tenant, "canary-early"), canary(names["CANARY"], "canary-early")]
    return markers, canaries


# --- applying the corpus and reading the results -----------------------------------------------


async def _apply(
    api: kr8s.asyncio.Api,
    entry: Entry,
    names: dict[str, str],
    result: EntryResult,
    *,
    externalsecrets: bool,
    gate: asyncio.Semaphore,
) -> None:
    """POST the entry's ExternalSecrets, or everything else, in the entry's order."""
    kind, name = subject_key(entry, names)
    async with gate:
        for body in instantiate(entry, names):
            if (body["kind"] == "ExternalSecret") != externalsecrets:
                continue
            status, answer = await _post(api, body)
            message = answer.get("message", "") if isinstance(answer, dict) else str(answer)
            if body["kind"] == kind and body["metadata"]["name"] == name:
                result.admitted = status == 201
                result.admission_message = message
            elif status != 201:
                result.helpers_refused.append(f"{body['kind']} {status}: {message}")


async def _apply_all(api: kr8s.asyncio.Api, names: dict[str, str]) -> dict[str, EntryResult]:
    """Stores, Secrets and the rest first, ExternalSecrets a moment later: any other operator
    on the bench (the in-process one of tests/integration) then already knows each store
    belongs to our controller class and leaves its readers alone."""
    results = {e.id: EntryResult() for e in ENTRIES}
    gate = asyncio.Semaphore(APPLY_CONCURRENCY)
    for externalsecrets in (False, True):
        await asyncio.gather(
            *(
                _apply(api, e, names, results[e.id], externalsecrets=externalsecrets, gate=gate)
                for e in ENTRIES
            )
        )
        if not externalsecrets:
            await asyncio.sleep(STORES_FIRST_SECONDS)
    return results


async def _subjects_ready(
    api: kr8s.asyncio.Api, names: dict[str, str]
) -> dict[tuple[str, str], tuple[str, str, str] | None]:
    tenant = names["TENANT"]
    found: dict[tuple[str, str], tuple[str, str, str] | None] = {}
    for name, obj in (await run_artifacts.externalsecrets(api, tenant)).items():
        found[("ExternalSecret", name)] = run_artifacts.ready(obj)
    for name, obj in (await run_artifacts.secretstores(api, tenant)).items():
        found[("SecretStore", name)] = run_artifacts.ready(obj)
    for name, obj in (await run_artifacts.clustersecretstores(api)).items():
        found[("ClusterSecretStore", name)] = run_artifacts.ready(obj)
    return found


def _names_field(message: str, field: str) -> bool:
    """Whether an apiserver refusal names `field`; list indices are compared loosely, since
    some apiserver versions print `spec.data[0].secretKey` and others `spec.data.secretKey`."""
    return _INDEX.sub("", field) in _INDEX.sub("", message)


def meets(entry: Entry, result: EntryResult) -> list[str]:
    """What is wrong with `result` for `entry` (empty: as expected)."""
    expect = entry.expect
    if expect.refused:
        problems = []
        if result.admitted:
            problems.append(f"{entry.subject} was admitted; the apiserver must refuse it")
        elif not _names_field(result.admission_message, expect.field):
            problems.append(f"refused, but not for {expect.field}: {result.admission_message}")
        return problems
    if not result.admitted:
        if expect.either and _names_field(result.admission_message, expect.field):
            return []
        return [f"{entry.subject} refused at admission: {result.admission_message}"]
    if result.ready is None:
        return [f"{entry.subject} has no Ready condition"]
    status, reason, message = result.ready
    problems = []
    if expect.ready and status != expect.ready:
        problems.append(f"Ready={status}, expected {expect.ready}")
    if expect.reason and reason != expect.reason:
        problems.append(f"reason {reason!r}, expected {expect.reason!r}")
    problems += [f"message lacks {part!r}" for part in expect.message if part not in message]
    problems += [f"message has {part!r}" for part in expect.not_message if part in message]
    if problems:
        problems.append(f"condition: Ready={status} {reason}: {message}")
    return problems


async def _wait_for_results(
    api: kr8s.asyncio.Api, names: dict[str, str], results: dict[str, EntryResult]
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RESULT_DEADLINE
    all_seen_at: float | None = None
    by_id = {e.id: e for e in ENTRIES}
    while True:
        seen = await _subjects_ready(api, names)
        for entry_id, result in results.items():
            if result.admitted:
                result.ready = seen.get(subject_key(by_id[entry_id], names))
        waiting = [i for i, r in results.items() if r.admitted and r.ready is None]
        unmet = [i for i, r in results.items() if meets(by_id[i], r)]
        now = loop.time()
        if not waiting and all_seen_at is None:
            all_seen_at = now
        settled = all_seen_at is not None and (not unmet or now - all_seen_at > SETTLE_SECONDS)
        if settled or now > deadline:
            return
        await asyncio.sleep(1.0)


async def _canaries_after(
    api: kr8s.asyncio.Api, names: dict[str, str], early: list[dict[str, Any]]
) -> dict[str, dict[str, str]]:
    """Late canaries created after the corpus, then every canary store's value changed: all of
    them must follow."""
    late = [canary(names["TENANT"], "canary-late"), canary(names["CANARY"], "canary-late")]
    for body in late:
        await objs.create(api, body)
    for ns in (names["TENANT"], names["CANARY"]):
        path = f"{GROUP_PATH}/namespaces/{ns}/secretstores/fake"
        status, store = await request(api, "GET", path)
        assert status == 200, store
        data = store["spec"]["provider"]["fake"]["data"]
        for item in data:
            if item["key"] == "canary":
                item["value"] = "canary-v2"
        await merge_patch(api, path, {"spec": {"provider": {"fake": {"data": data}}}})
    found: dict[str, dict[str, str]] = {}
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        for body in early + late:
            meta = body["metadata"]
            secret = await run_artifacts.secret(api, meta["namespace"], meta["name"])
            found[f"{meta['namespace']}/{meta['name']}"] = run_artifacts.decoded(secret)
        if all(v == {"value": "canary-v2"} for v in found.values()):
            break
        await asyncio.sleep(0.5)
    return found


@pytest.fixture(scope="module")
async def corpus_run(
    bench: devbench.BenchInfo,
    kube: kr8s.asyncio.Api,
    operator_identity: OperatorIdentity,
    run_id: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> CorpusRun:
    workdir = tmp_path_factory.mktemp("corpus")
    names = {
        "TENANT": await run_artifacts.new_namespace(kube, "sec-tenant"),
        "VICTIM": await run_artifacts.new_namespace(kube, "sec-victim"),
        "OWNER": await run_artifacts.new_namespace(kube, "sec-owner"),
        "CANARY": await run_artifacts.new_namespace(kube, "sec-canary"),
        "RUN": run_id,
        "CLASS": f"sec-corpus-{run_id}",
    }
    markers, early = await _seed(kube, names, bench.aws_endpoint_url)
    victims_before = await _victims(kube, names["VICTIM"])
    since = run_artifacts.audit_offset(operator_identity.audit_log)
    operator = OperatorProcess(
        kubeconfig=operator_identity.kubeconfig(
            workdir / "corpus.kubeconfig", server=bench.apiserver_url
        ),
        controller_class=names["CLASS"],
        log_path=workdir / "corpus-operator.log",
        # No region from the environment: a store without one must say so.
        env={"AWS_REGION": None, "AWS_DEFAULT_REGION": None},
    )
    await operator.start()
    try:
        await operator.wait_ready()
        for body in early:
            await objs.create(kube, body)
        results = await _apply_all(kube, names)
        await _wait_for_results(kube, names, results)
        canaries = await _canaries_after(kube, names, early)
        alive, healthy = operator.alive, await operator.healthy()
        tenant_values = {
            name: run_artifacts.decoded(s)
            for name, s in (await run_artifacts.secrets(kube, names["TENANT"])).items()
        }
        victims_after = await _victims(kube, names["VICTIM"])
    finally:
        await operator.stop()
    requests = run_artifacts.operator_requests(operator_identity.audit_log, since=since)
    return CorpusRun(
        names=names,
        results=results,
        victims_before=victims_before,
        victims_after=victims_after,
        victim_markers=markers,
        tenant_values=tenant_values,
        outside_requests=run_artifacts.outside(requests, forbidden_namespaces=[names["VICTIM"]]),
        alive=alive,
        healthy=healthy,
        canaries=canaries,
        logs=operator.output(),
    )


# --- the tests -----------------------------------------------------------------------------------


def _param(entry: Entry) -> Any:
    marks = [defect(entry.xfail)] if entry.xfail else []
    return pytest.param(entry, id=entry.id, marks=marks)


@pytest.mark.parametrize("entry", [_param(e) for e in ENTRIES])
def test_corpus_entry(corpus_run: CorpusRun, entry: Entry) -> None:
    result = corpus_run.results[entry.id]
    assert not result.helpers_refused, f"{entry.id}: the entry is broken: {result.helpers_refused}"
    problems = meets(entry, result)
    check(not problems, f"{entry.file} {entry.id} ({entry.about}):\n" + "\n".join(problems))


def test_corpus_is_large_and_well_formed() -> None:
    assert len(ENTRIES) >= 60
    for entry in ENTRIES:
        expect = entry.expect
        assert expect.admission in ("", "refused", "either"), entry.id
        assert expect.refused or expect.ready or expect.message, entry.id
        assert not (expect.refused and expect.ready), entry.id
        assert bool(expect.field) == bool(expect.admission), entry.id
        assert not entry.xfail or entry.xfail.startswith("issue 10: "), entry.id


def test_operator_stays_up_and_canaries_keep_syncing(corpus_run: CorpusRun) -> None:
    assert corpus_run.alive, corpus_run.logs[-3000:]
    assert corpus_run.healthy
    assert len(corpus_run.canaries) == 4
    assert all(v == {"value": "canary-v2"} for v in corpus_run.canaries.values()), (
        corpus_run.canaries
    )


def test_nothing_outside_the_tenant_namespace_is_changed(corpus_run: CorpusRun) -> None:
    before, after = corpus_run.victims_before, corpus_run.victims_after
    assert before, "no victims were seeded"
    check(set(after) == set(before), f"objects appeared or vanished: {set(after) ^ set(before)}")
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    check(not changed, json.dumps(changed, indent=1)[:3000])


def test_operator_never_requests_objects_outside_allowed_namespaces(corpus_run: CorpusRun) -> None:
    check(not corpus_run.outside_requests, "\n".join(corpus_run.outside_requests[:40]))


def test_no_victim_value_reaches_the_tenant(corpus_run: CorpusRun) -> None:
    assert corpus_run.tenant_values, "the tenant has no Secrets at all"
    hits = [
        f"{marker} in Secret {name}"
        for name, data in corpus_run.tenant_values.items()
        for marker in corpus_run.victim_markers
        if any(marker in value for value in data.values())
    ]
    check(not hits, str(hits))


def test_hostile_input_logs_no_traceback(corpus_run: CorpusRun) -> None:
    """A tenant's bad input is a condition, said once per change; a traceback in the log is
    for bugs, and hostile specs must not be able to produce them (or flood the log)."""
    assert "sync failed" in corpus_run.logs, "the operator logged no failure at all"
    tracebacks = corpus_run.logs.count("Traceback (most recent call last)")
    check(tracebacks == 0, f"{tracebacks} tracebacks in the operator log")


def test_no_victim_value_in_the_logs(corpus_run: CorpusRun) -> None:
    hits = [m for m in corpus_run.victim_markers if m in corpus_run.logs]
    assert not hits, hits
