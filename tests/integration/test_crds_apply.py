"""The generated CRDs on the real kube-apiserver (1.20): accepted, Established, and lossless.

Why: the unit tests compare our schemas with ESO's on paper; only the apiserver says whether it
accepts them (structural, no CEL) and what it prunes. ESO users' manifests — including stores
for providers we do not support yet — must be stored exactly as written, or the operator would
act on, and report about, something other than what the user applied.
"""

from __future__ import annotations

import copy
import pathlib
import re
import uuid
from typing import Any

import kr8s.asyncio
import msgspec
import pytest
import yaml
from kube_support import GROUP_PATH, create, delete, get, path_of, request

from asyncso import compat, crdgen, model

pytestmark = pytest.mark.integration

Manifest = dict[str, Any]
AWS_AUTH = {
    "secretRef": {
        "accessKeyIDSecretRef": {"name": "awssm-secret", "key": "access-key"},
        "secretAccessKeySecretRef": {"name": "awssm-secret", "key": "secret-access-key"},
    }
}

# Hand-copied from ESO's docs (aws-sm-store.yaml, aws-sm-external-secret.yaml, …) and widened to
# every part of the schema we model, plus fields we do not model where the CRD must keep them.
SPECS: dict[str, tuple[str, Manifest]] = {
    "fake-store": (
        "SecretStore",
        {
            "provider": {
                "fake": {
                    "data": [
                        {"key": "/foo/bar", "value": "HELLO1", "version": "v1"},
                        {"key": "/foo/baz", "value": '{"john": "doe"}'},
                    ]
                }
            },
            "refreshInterval": 60,
            "retrySettings": {"maxRetries": 3, "retryInterval": "10s"},
        },
    ),
    "aws-sm-store": (
        "SecretStore",
        {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "role": "arn:aws:iam::123456789012:role/external-secrets",
                    "region": "eu-central-1",
                    "auth": AWS_AUTH,
                    "secretsManager": {"forceDeleteWithoutRecovery": True},
                    "sessionTags": [{"key": "team", "value": "a"}],
                    "transitiveTagKeys": ["team"],
                    "externalID": "ext-1",
                    "additionalRoles": ["arn:aws:iam::123456789012:role/chained"],
                    "prefix": "app/",
                }
            }
        },
    ),
    "aws-ps-jwt-store": (
        "SecretStore",
        {
            "provider": {
                "aws": {
                    "service": "ParameterStore",
                    "region": "eu-central-1",
                    "auth": {"jwt": {"serviceAccountRef": {"name": "app", "audiences": ["sts"]}}},
                }
            }
        },
    ),
    "vault-store": (
        "SecretStore",
        {
            "provider": {
                "vault": {
                    "server": "https://vault.example:8200",
                    "path": "secret",
                    "version": "v2",
                    "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}},
                }
            }
        },
    ),
    "aws-unmodeled-options-store": (
        "SecretStore",
        {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": "eu-central-1",
                    "sessionTagsPolicy": "Custom",
                    "auth": {"secretRef": {"accessKeyIDSecretRef": {"name": "s", "extra": "x"}}},
                },
            }
        },
    ),
    # A provider we do not serve is kept as written (one provider per store, as ESO's schema).
    "unknown-provider-store": ("SecretStore", {"provider": {"gcpsm": {"projectID": "p"}}}),
    "cluster-store": (
        "ClusterSecretStore",
        {
            "provider": {"aws": {"service": "SecretsManager", "region": "us-east-1"}},
            "conditions": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"team": "a"},
                        "matchExpressions": [
                            {"key": "env", "operator": "In", "values": ["dev", "prod"]}
                        ],
                    },
                    "namespaces": ["default"],
                    "namespaceRegexes": ["^team-a-.*$"],
                }
            ],
        },
    ),
    "external-secret": (
        "ExternalSecret",
        {
            "refreshInterval": "1h0m0s",
            "refreshPolicy": "Periodic",
            "secretStoreRef": {"name": "aws-secretsmanager", "kind": "SecretStore"},
            "target": {
                "name": "friends",
                "creationPolicy": "Owner",
                "deletionPolicy": "Retain",
                "immutable": False,
                "template": {
                    "type": "kubernetes.io/basic-auth",
                    "engineVersion": "jinja",
                    "mergePolicy": "Merge",
                    "metadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}},
                    "data": {"username": "{{ user }}"},
                    "templateFrom": [
                        {
                            "target": "Data",
                            "configMap": {
                                "name": "tpl",
                                "items": [{"key": "k", "templateAs": "KeysAndValues"}],
                            },
                        },
                        {"target": "Annotations", "literal": "x: y"},
                    ],
                },
            },
            "data": [
                {
                    "secretKey": "my_name",
                    "remoteRef": {"key": "friendslist", "property": "name.first"},
                },
                {
                    "secretKey": "tags",
                    "remoteRef": {
                        "key": "database-credentials",
                        "metadataPolicy": "Fetch",
                        "version": "AWSCURRENT",
                        "conversionStrategy": "Default",
                        "decodingStrategy": "Base64",
                    },
                    "sourceRef": {"storeRef": {"name": "other", "kind": "ClusterSecretStore"}},
                },
            ],
            "dataFrom": [
                {
                    "extract": {"key": "my-secrets-dev"},
                    "rewrite": [{"regexp": {"source": "(.*)", "target": "dev-$1"}}],
                },
                {
                    "find": {"path": "app/", "name": {"regexp": ".*"}, "tags": {"env": "dev"}},
                    "rewrite": [{"transform": {"template": "{{ value | upper }}"}}],
                },
                {
                    "sourceRef": {
                        "generatorRef": {"apiVersion": "g/v1", "kind": "UUID", "name": "u"}
                    }
                },
            ],
        },
    ),
}


def manifest(kind: str, name: str, namespace: str, spec: Manifest) -> Manifest:
    metadata = {"name": name, "labels": {"app": "t"}, "annotations": {"note": "kept"}}
    if kind != "ClusterSecretStore":
        metadata["namespace"] = namespace
    return {"apiVersion": model.API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


async def round_trip(api: kr8s.asyncio.Api, body: Manifest) -> Manifest:
    """Create the object, read it back, delete it (cluster-scoped objects outlive namespaces)."""
    created = await create(api, copy.deepcopy(body))
    path = f"{path_of(body)}/{body['metadata']['name']}"
    try:
        stored = await get(api, path)
    finally:
        await delete(api, path)
    assert stored is not None
    assert created["spec"] == stored["spec"]
    return stored


@pytest.fixture(scope="module")
async def installed(kube: kr8s.asyncio.Api) -> None:
    await crdgen.install_crds(kube)


async def test_install_is_idempotent_and_matches_the_generated_crds(
    kube: kr8s.asyncio.Api, installed: None
) -> None:
    await crdgen.install_crds(kube)  # again: replaces, no error
    for crd in crdgen.crds():
        name = crd["metadata"]["name"]
        status, live = await request(kube, "GET", f"{crdgen.CRD_PATH}/{name}")
        assert status == 200, live
        conditions = {c["type"]: c["status"] for c in live["status"]["conditions"]}
        assert conditions.get("Established") == conditions.get("NamesAccepted") == "True"
        assert "NonStructuralSchema" not in conditions
        assert live["spec"]["names"] == crd["spec"]["names"]
        assert live["spec"]["scope"] == crd["spec"]["scope"]
        (version,) = live["spec"]["versions"]
        (wanted,) = crd["spec"]["versions"]
        assert version["schema"] == wanted["schema"]
        assert version.get("additionalPrinterColumns") == wanted.get("additionalPrinterColumns")
        assert version["subresources"] == wanted["subresources"]


async def test_install_updates_a_stale_crd_and_keeps_foreign_metadata(
    kube: kr8s.asyncio.Api, installed: None
) -> None:
    (es,) = [c for c in crdgen.crds() if c["spec"]["names"]["kind"] == "ExternalSecret"]
    path = f"{crdgen.CRD_PATH}/{es['metadata']['name']}"
    status, live = await request(kube, "GET", path)
    assert status == 200, live
    stale = copy.deepcopy(live)
    stale["spec"]["versions"][0]["additionalPrinterColumns"] = []
    stale["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "Helm"}
    stale["metadata"]["annotations"] = {"meta.helm.sh/release-name": "asyncso"}
    status, payload = await request(kube, "PUT", path, stale)
    assert status == 200, payload
    try:
        await crdgen.install_crds(kube)
        status, live = await request(kube, "GET", path)
        assert live["spec"]["versions"] == es["spec"]["versions"]  # the stale columns replaced
        assert live["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "Helm"}
        assert live["metadata"]["annotations"] == {"meta.helm.sh/release-name": "asyncso"}
    finally:
        unlabel = {"metadata": {"labels": None, "annotations": None}}
        status, payload = await request(
            kube, "PATCH", path, unlabel, content_type="application/merge-patch+json"
        )
        assert status == 200, payload


async def test_discovery_has_short_names_and_category(
    kube: kr8s.asyncio.Api, installed: None
) -> None:
    status, discovery = await request(kube, "GET", GROUP_PATH)
    assert status == 200, discovery
    found = {
        r["name"]: (r.get("shortNames"), r.get("categories"), r["namespaced"])
        for r in discovery["resources"]
        if "/" not in r["name"]
    }
    assert found == {
        "externalsecrets": (["es"], ["external-secrets"], True),
        "secretstores": (["ss"], ["external-secrets"], True),
        "clustersecretstores": (["css"], ["external-secrets"], False),
        "clusterexternalsecrets": (["ces"], ["external-secrets"], False),
    }
    status, discovery = await request(kube, "GET", "/apis/external-secrets.io/v1alpha1")
    assert status == 200, discovery
    found = {
        r["name"]: (r.get("shortNames"), r.get("categories"), r["namespaced"])
        for r in discovery["resources"]
        if "/" not in r["name"]
    }
    assert found == {
        "pushsecrets": (["ps"], ["external-secrets"], True),
        "clusterpushsecrets": (None, ["external-secrets"], False),
    }


@pytest.mark.parametrize("case", SPECS, ids=list(SPECS))
async def test_manifest_is_stored_unchanged(
    kube: kr8s.asyncio.Api, namespace: str, installed: None, case: str
) -> None:
    kind, spec = SPECS[case]
    name = f"{case}-{uuid.uuid4().hex[:6]}" if kind == "ClusterSecretStore" else case
    body = manifest(kind, name, namespace, spec)
    stored = await round_trip(kube, body)
    assert stored["spec"] == spec  # nothing pruned, nothing defaulted
    assert stored["metadata"]["labels"] == body["metadata"]["labels"]
    assert stored["metadata"]["annotations"] == body["metadata"]["annotations"]
    struct = model.ExternalSecret if kind == "ExternalSecret" else model.SecretStore
    if case == "aws-unmodeled-options-store":  # kept, and refused by name (not dropped)
        with pytest.raises(msgspec.ValidationError) as caught:
            msgspec.convert(stored, struct)
        assert compat.decode_error(caught.value) == (
            "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef.extra "
            "is not supported by asyncso"
        )
        return
    decoded: Any = msgspec.convert(stored, struct)  # what the operator will read
    assert decoded.metadata.name == name


async def test_unsupported_provider_survives_a_status_write(
    kube: kr8s.asyncio.Api, namespace: str, installed: None
) -> None:
    kind, spec = SPECS["vault-store"]
    body = manifest(kind, "vault", namespace, spec)
    await create(kube, body)
    path = f"{path_of(body)}/vault"
    status_patch = {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "InvalidProviderConfig",
                    "message": "provider not supported",
                }
            ]
        }
    }
    status, patched = await request(
        kube,
        "PATCH",
        f"{path}/status",
        status_patch,
        content_type="application/merge-patch+json",
    )
    assert status == 200, patched
    assert patched["spec"] == spec
    assert patched["status"] == status_patch["status"]


async def test_printer_columns_are_served(
    kube: kr8s.asyncio.Api, namespace: str, installed: None
) -> None:
    kind, spec = SPECS["external-secret"]
    body = manifest(kind, "columns", namespace, spec)
    await create(kube, body)
    async with kube.call_api(
        "GET",
        version="",
        base=f"{path_of(body)}/columns",
        url="",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    ) as resp:
        table = resp.json()
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == [
        "Name",
        "StoreType",
        "Store",
        "Refresh Interval",
        "Status",
        "Ready",
        "Last Sync",
    ]
    (row,) = table["rows"]
    assert row["cells"][:4] == ["columns", "SecretStore", "aws-secretsmanager", "1h0m0s"]


@pytest.mark.parametrize(
    ("kind", "spec", "field"),
    [
        (
            "ExternalSecret",
            {"target": {"creationPolicy": "Sometimes"}},
            "spec.target.creationPolicy",
        ),
        ("ExternalSecret", {"data": [{"secretKey": "k"}]}, "remoteRef: Required value"),
        ("SecretStore", {"provider": {"aws": {"region": "x"}}}, "aws.service: Required value"),
        ("SecretStore", {"provider": {"fake": {"data": [{"value": "v"}]}}}, "key: Required value"),
        (
            "SecretStore",
            {"provider": {"fake": {"data": []}, "gcpsm": {"projectID": "p"}}},
            "spec.provider in body should have at most 1 properties",
        ),
        ("SecretStore", {"provider": {}}, "spec.provider in body should have at least 1 prop"),
        (
            "ExternalSecret",
            {"dataFrom": [{"sourceRef": {}}]},
            "sourceRef in body should have at least 1 properties",
        ),
        (
            "ExternalSecret",
            {"syncWindows": {"kind": "deny", "windows": [{"schedule": "x", "duration": "1h"}]}},
            "schedule in body should match",
        ),
    ],
)
async def test_invalid_manifests_are_refused(
    kube: kr8s.asyncio.Api, namespace: str, installed: None, kind: str, spec: Manifest, field: str
) -> None:
    body = manifest(kind, "bad", namespace, spec)
    status, payload = await request(kube, "POST", path_of(body), body)
    assert status == 422, payload
    assert field in payload["message"]  # 1.20 omits list indices in the path; newer add them


ESO_EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "shared" / "eso-reference" / "examples"


def _eso_examples() -> list[Any]:
    """ESO's documentation manifests for our kinds (its docs wrap Go templates in raw tags)."""
    found: list[Any] = []
    for path in sorted(ESO_EXAMPLES.glob("*.yaml")):
        text = path.read_text().replace("{% raw %}", "").replace("{% endraw %}", "")
        try:
            docs = list(yaml.safe_load_all(text))
        except yaml.YAMLError:
            continue  # filterpem-template-v2-external-secret.yaml is not valid YAML as published
        found += [
            pytest.param(doc, id=f"{path.stem}:{doc['kind']}")
            for doc in docs
            if isinstance(doc, dict) and doc.get("apiVersion") == model.API_VERSION
        ]
    return found


@pytest.mark.parametrize("doc", _eso_examples())
async def test_eso_example_is_stored_unchanged(
    kube: kr8s.asyncio.Api, namespace: str, installed: None, doc: Manifest
) -> None:
    body = copy.deepcopy(doc)
    body["metadata"]["namespace"] = namespace
    stored = await round_trip(kube, body)
    assert stored["spec"] == _with_eso_defaults(doc["spec"])


def _with_eso_defaults(spec: Manifest) -> Manifest:
    """What ESO's CRD stores too: a template without `engineVersion` gets `v2`."""
    spec = copy.deepcopy(spec)
    template = (spec.get("target") or {}).get("template")
    if isinstance(template, dict):
        template.setdefault("engineVersion", "v2")
    return spec


@pytest.mark.parametrize(("given", "stored"), [(None, "v2"), ("v2", "v2"), ("jinja", "jinja")])
async def test_engine_version_defaults_to_v2_as_in_eso(
    kube: kr8s.asyncio.Api, namespace: str, installed: None, given: str | None, stored: str
) -> None:
    template: Manifest = {"data": {"x": "{{ .a }}"}}
    if given is not None:
        template["engineVersion"] = given
    spec = {"secretStoreRef": {"name": "s"}, "target": {"template": template}}
    created = await round_trip(kube, manifest("ExternalSecret", "engine", namespace, spec))
    assert created["spec"]["target"]["template"]["engineVersion"] == stored


# --- names from specs are refused at admission (issue: path traversal) -------------------------

HOSTILE_NAMES = ["../../victim/secrets/x", "a/b", "%2e%2e", "UPPER", "x" * 254]
NAME_FIELDS: dict[str, tuple[str, str, Manifest]] = {
    "target.name": ("ExternalSecret", "spec.target.name", {"target": {"name": "{}"}}),
    "secretStoreRef.name": (
        "ExternalSecret",
        "spec.secretStoreRef.name",
        {"secretStoreRef": {"name": "{}", "kind": "SecretStore"}},
    ),
    "templateFrom.secret.name": (
        "ExternalSecret",
        "spec.target.template.templateFrom[0].secret.name",
        {"target": {"template": {"templateFrom": [{"secret": {"name": "{}"}}]}}},
    ),
    "serviceAccountRef.name": (
        "SecretStore",
        "spec.provider.aws.auth.jwt.serviceAccountRef.name",
        {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "auth": {"jwt": {"serviceAccountRef": {"name": "{}"}}},
                }
            }
        },
    ),
    "secretRef.namespace": (
        "ClusterSecretStore",
        "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef.namespace",
        {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "auth": {
                        "secretRef": {
                            "accessKeyIDSecretRef": {"name": "a", "key": "k", "namespace": "{}"}
                        }
                    },
                }
            }
        },
    ),
}


def _fill(spec: Any, value: str) -> Any:
    if isinstance(spec, dict):
        return {k: _fill(v, value) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_fill(v, value) for v in spec]
    return value if spec == "{}" else spec


@pytest.mark.parametrize("value", HOSTILE_NAMES)
@pytest.mark.parametrize("case", NAME_FIELDS, ids=list(NAME_FIELDS))
async def test_hostile_names_are_refused_at_admission(
    kube: kr8s.asyncio.Api, namespace: str, installed: None, case: str, value: str
) -> None:
    kind, field, spec = NAME_FIELDS[case]
    name = f"h-{uuid.uuid4().hex[:8]}"
    body = manifest(kind, name, namespace, _fill(spec, value))
    status, payload = await request(kube, "POST", path_of(body), body)
    assert status == 422, payload
    assert re.sub(r"\[\d+\]", "", field) in payload["message"]  # 1.20 leaves indexes out
