"""Builders for ExternalSecrets and Secrets used by the pure-core unit tests."""

from __future__ import annotations

from typing import Any

import msgspec

from asyncso import model


def es(
    *,
    name: str = "es1",
    namespace: str = "ns",
    uid: str = "uid-1",
    generation: int = 1,
    target: dict[str, Any] | None = None,
    refresh_interval: str = "1h",
    refresh_policy: str | None = None,
    status: dict[str, Any] | None = None,
    data: list[dict[str, Any]] | None = None,
    data_from: list[dict[str, Any]] | None = None,
    sync_windows: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> model.ExternalSecret:
    body: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "generation": generation,
            "labels": labels or {},
            "annotations": annotations or {},
        },
        "spec": {
            "secretStoreRef": {"name": "store", "kind": "SecretStore"},
            "target": target or {},
            "refreshInterval": refresh_interval,
            "data": data or [],
            "dataFrom": data_from or [],
        },
        "status": status or {},
    }
    if refresh_policy:
        body["spec"]["refreshPolicy"] = refresh_policy
    if sync_windows:
        body["spec"]["syncWindows"] = sync_windows
    return msgspec.convert(body, model.ExternalSecret)


def secret(
    *,
    name: str = "es1",
    namespace: str = "ns",
    data: dict[str, bytes] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    owners: list[model.OwnerReference] | None = None,
    immutable: bool | None = None,
    type_: str = "Opaque",
) -> model.Secret:
    return model.Secret(
        metadata=model.ObjectMeta(
            name=name,
            namespace=namespace,
            resource_version="7",
            labels=labels or {},
            annotations=annotations or {},
            owner_references=owners or [],
        ),
        data=data or {},
        immutable=immutable,
        type=type_,
    )
