"""`make demo`: the bench, the CRDs, a seeded LocalStack secret, `examples/`, and the operator.

Why in-process: one command, one Ctrl-C, nothing left behind; the operator is the same
`asyncso.app.Operator` that `asyncso run` starts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pathlib
import signal
import time
from typing import Any

import kr8s.asyncio
import yaml
from aiobotocore.session import get_session

from asyncso import app, crdgen, kube, model, observability, settings
from devenv import bench

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
NAMESPACE = "demo"
SEED = {"username": "app", "password": "s3cr3t-from-localstack", "host": "db.internal"}
PLURALS = {
    "Secret": "secrets",
    "SecretStore": "secretstores",
    "ExternalSecret": "externalsecrets",
    "PushSecret": "pushsecrets",
}


async def _apply(api: kr8s.asyncio.Api, doc: dict[str, Any]) -> None:
    kind = doc["kind"]
    doc.setdefault("metadata", {})["namespace"] = NAMESPACE
    if "stringData" in doc:
        doc["data"] = {
            k: base64.b64encode(v.encode()).decode() for k, v in doc.pop("stringData").items()
        }
    base = "/api/v1" if doc["apiVersion"] == "v1" else f"/apis/{doc['apiVersion']}"
    path = f"{base}/namespaces/{NAMESPACE}/{PLURALS[kind]}"
    async with api.call_api(
        "POST", version="", base=path, url="", content=json.dumps(doc), raise_for_status=False
    ) as resp:
        if resp.status_code not in (201, 409):
            raise RuntimeError(f"applying {kind} {doc['metadata']['name']}: {resp.text}")
    print(f"  applied {kind}/{doc['metadata']['name']}")


async def _seed(info: bench.BenchInfo) -> None:
    async with get_session().create_client(
        "secretsmanager",
        endpoint_url=info.aws_endpoint_url,
        region_name=info.aws_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as sm:
        try:
            await sm.create_secret(Name="demo/database", SecretString=json.dumps(SEED))
        except sm.exceptions.ResourceExistsException:
            await sm.put_secret_value(SecretId="demo/database", SecretString=json.dumps(SEED))
    print("  seeded LocalStack secret demo/database")


async def _wait_and_print(api: kr8s.asyncio.Api, names: list[str], *, within: float) -> bool:
    deadline = time.monotonic() + within
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            async with api.call_api(
                "GET",
                version="",
                base=f"/api/v1/namespaces/{NAMESPACE}/secrets/{name}",
                url="",
                raise_for_status=False,
            ) as resp:
                if resp.status_code != 200:
                    continue
                secret = resp.json()
            pending.discard(name)
            data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
            print(f"\nSecret {NAMESPACE}/{name} (synced by asyncso):")
            for key, value in sorted(data.items()):
                print(f"  {key}: {value}")
        await asyncio.sleep(0.5)
    return not pending


async def run(*, once: bool) -> int:
    with bench.Bench() as info:
        print(f"bench up: kube-apiserver {info.apiserver_url}, LocalStack {info.aws_endpoint_url}")
        print(f"  (in another shell: source {info.workdir / 'bench.env'})")
        os.environ.update(info.environ())  # the operator's AWS clients go to LocalStack
        api = await kr8s.asyncio.api(kubeconfig=str(info.kubeconfig))
        await crdgen.install_crds(api)
        async with api.call_api(
            "POST",
            version="",
            base="/api/v1/namespaces",
            url="",
            raise_for_status=False,
            content=json.dumps(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
            ),
        ):
            pass
        await _seed(info)
        targets = []
        for path in sorted(EXAMPLES.glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if doc:
                    await _apply(api, doc)
                    if doc["kind"] == "ExternalSecret":
                        targets.append(model.target_name(_es(doc)))
        config = settings.Settings(kubeconfig=str(info.kubeconfig), log_format="text")
        client = await kube.Kube.connect(config.kubeconfig, max_in_flight=config.concurrent)
        registry = app.default_registry(client, config)
        operator = app.Operator(config, client, registry)
        task = asyncio.create_task(operator.run())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            synced = await _wait_and_print(api, targets, within=60)
            if not synced:
                print("demo: ERROR: not every Secret synced within 60 s; see the log above")
                return 1
            if not once:
                print("\nThe operator keeps them in sync (refreshInterval 1m). Ctrl-C stops all.")
                await stop.wait()
            return 0
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await registry.close()
            await client.close()
            if api._session is not None:
                await api._session.aclose()


def _es(doc: dict[str, Any]) -> model.ExternalSecret:
    import msgspec

    return msgspec.convert(doc, model.ExternalSecret)


def main(*, once: bool = False) -> int:
    observability.configure_logging(level="info", fmt="text")
    return asyncio.run(run(once=once))
