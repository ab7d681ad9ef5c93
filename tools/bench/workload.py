"""W(N): the benchmark's workload as plain data (manifests, remote values, expected Secrets).

Why pure: the seeding, the Secret tracker, the bare writer and the freshness check all need the
same answers to "what must Secret X hold" and "which Secrets read remote secret j"; computing
them without I/O keeps those answers in one place and testable without a cluster.

The shape (issue 14): N ExternalSecrets, each with two `data` entries (`property` lookups) over
U = ceil(N/3) Secrets Manager secrets shared between them. ExternalSecret i reads `username` from
remote secret i//3 and `password` from the next one, so each remote secret has about six readers,
nearly all in the same namespace (ExternalSecrets are split into contiguous blocks per namespace).
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Mapping
from typing import Any

GROUP_VERSION = "external-secrets.io/v1"
STORE_NAME = "aws"
CREDENTIALS_SECRET = "aws-credentials"
#: Any key works against LocalStack; the store reads them through `secretRef` like a real one.
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"
#: Ids per BatchGetSecretValue call: the floor of AWS calls per cycle is ceil(U / 20).
BATCH_LIMIT = 20
#: Secrets per ListSecrets page: the floor of a change-detection sweep is ceil(U / 100).
LIST_PAGE = 100
#: The store annotation of the operator's change detection (`--change-detection`).
CHANGE_DETECTION = ("asyncso.io/change-detection", "ListSecrets")
STORE_KINDS = ("SecretStore", "ClusterSecretStore")


def go_duration(seconds: float) -> str:
    """Seconds as a Go duration (`60s`, `1.5s`), the format of `refreshInterval`."""
    return f"{seconds:g}s"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Workload:
    """One run's W(N); `run_id` keeps names unique on a bench that other runs or tests share."""

    count: int
    run_id: str
    namespaces: int = 4
    refresh_interval: float = 60.0
    store_kind: str = "SecretStore"
    #: Empty: stores carry no `spec.controller` (what the default `asyncso run` reconciles).
    controller_class: str = ""
    #: Stores annotated for change detection by `ListSecrets`.
    change_detection: bool = False

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.namespaces < 1:
            raise ValueError("namespaces must be at least 1")
        if self.store_kind not in STORE_KINDS:
            raise ValueError(f"store_kind must be one of {STORE_KINDS}")

    # --- names -----------------------------------------------------------------------------

    @property
    def remote_count(self) -> int:
        """U: Secrets Manager secrets shared by the N ExternalSecrets."""
        return math.ceil(self.count / 3)

    @property
    def namespace_count(self) -> int:
        return min(self.namespaces, self.count)

    def namespace(self, k: int) -> str:
        return f"bench-{self.run_id}-{k}"

    def namespace_names(self) -> list[str]:
        return [self.namespace(k) for k in range(self.namespace_count)]

    def namespace_of(self, i: int) -> str:
        return self.namespace(i * self.namespace_count // self.count)

    @staticmethod
    def es_name(i: int) -> str:
        return f"es-{i:06d}"

    @staticmethod
    def probe_name(k: int) -> str:
        return f"probe-{k:03d}"

    def remote_name(self, j: int) -> str:
        return f"bench-{self.run_id}/db-{j:06d}"

    @property
    def cluster_store_name(self) -> str:
        return f"bench-{self.run_id}"

    # --- who reads what --------------------------------------------------------------------

    def remotes_of(self, i: int) -> tuple[int, int]:
        """(remote read for `username`, remote read for `password`) by ExternalSecret i."""
        first = (i // 3) % self.remote_count
        return first, (first + 1) % self.remote_count

    def readers(self, j: int) -> list[int]:
        """ExternalSecrets (indices) with an entry that reads remote secret j."""
        before = (j - 1) % self.remote_count
        found = set(range(3 * j, min(3 * j + 3, self.count)))
        found |= set(range(3 * before, min(3 * before + 3, self.count)))
        return sorted(i for i in found if j in self.remotes_of(i))

    def ideal_calls(self) -> int:
        """ceil(U / 20): every remote secret read once per cycle in full batches."""
        return math.ceil(self.remote_count / BATCH_LIMIT)

    def ideal_listing_calls(self) -> int:
        """ceil(U / 100) per store: one `ListSecrets` sweep (every store lists all U here)."""
        stores = 1 if self.store_kind == "ClusterSecretStore" else self.namespace_count
        return stores * math.ceil(self.remote_count / LIST_PAGE)

    def churned(self, cycle: int, count: int) -> list[int]:
        """The `count` remote secrets changed in cycle `cycle` (0-based) of a churn run: spread
        over U, a different set each cycle, none read by the latency probes."""
        usable = list(range(8, self.remote_count))
        if not usable or count <= 0:
            return []
        step = max(1, len(usable) // count)
        return sorted({usable[(k * step + cycle) % len(usable)] for k in range(count)})

    def ideal_calls_per_store(self) -> int:
        """The same floor when each namespace's SecretStore is its own AWS identity."""
        if self.store_kind == "ClusterSecretStore":
            return self.ideal_calls()
        per_namespace: dict[str, set[int]] = {}
        for i in range(self.count):
            per_namespace.setdefault(self.namespace_of(i), set()).update(self.remotes_of(i))
        return sum(math.ceil(len(ids) / BATCH_LIMIT) for ids in per_namespace.values())

    # --- values ----------------------------------------------------------------------------

    def remote_value(self, j: int, version: int = 1) -> dict[str, str]:
        """The JSON object stored in remote secret j at `version` (every property changes)."""
        return {
            "username": f"user-{j}-v{version}",
            "password": f"pw-{self.run_id}-{j}-v{version}",
            "host": f"db-{j}.bench.internal",
            "port": str(5432 + version),
        }

    def expected_for(
        self, first: int, second: int, versions: Mapping[int, int] | None = None
    ) -> dict[str, str]:
        """The Secret data (decoded) an ExternalSecret reading (first, second) must produce."""
        known = versions or {}
        return {
            "username": self.remote_value(first, known.get(first, 1))["username"],
            "password": self.remote_value(second, known.get(second, 1))["password"],
        }

    def expected(self, i: int, versions: Mapping[int, int] | None = None) -> dict[str, str]:
        return self.expected_for(*self.remotes_of(i), versions)

    # --- manifests -------------------------------------------------------------------------

    def _store_ref(self) -> dict[str, str]:
        if self.store_kind == "ClusterSecretStore":
            return {"name": self.cluster_store_name, "kind": "ClusterSecretStore"}
        return {"name": STORE_NAME, "kind": "SecretStore"}

    def _es_manifest(self, name: str, namespace: str, first: int, second: int) -> dict[str, Any]:
        return {
            "apiVersion": GROUP_VERSION,
            "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "refreshInterval": go_duration(self.refresh_interval),
                "secretStoreRef": self._store_ref(),
                "target": {"name": name},
                "data": [
                    {
                        "secretKey": "username",
                        "remoteRef": {"key": self.remote_name(first), "property": "username"},
                    },
                    {
                        "secretKey": "password",
                        "remoteRef": {"key": self.remote_name(second), "property": "password"},
                    },
                ],
            },
        }

    def external_secret(self, i: int) -> dict[str, Any]:
        return self._es_manifest(self.es_name(i), self.namespace_of(i), *self.remotes_of(i))

    def probe_remotes(self, k: int) -> tuple[int, int]:
        return k % self.remote_count, (k + 1) % self.remote_count

    def probe(self, k: int) -> dict[str, Any]:
        """A new ExternalSecret created during the steady window (latency probe)."""
        return self._es_manifest(self.probe_name(k), self.namespace(0), *self.probe_remotes(k))

    def credentials_secret(self, namespace: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": CREDENTIALS_SECRET, "namespace": namespace},
            "data": {"id": _b64(ACCESS_KEY_ID), "key": _b64(SECRET_ACCESS_KEY)},
        }

    def _provider(self, *, credentials_namespace: str = "") -> dict[str, Any]:
        def ref(key: str) -> dict[str, str]:
            selector = {"name": CREDENTIALS_SECRET, "key": key}
            if credentials_namespace:
                selector["namespace"] = credentials_namespace
            return selector

        return {
            "aws": {
                "service": "SecretsManager",
                "region": "us-east-1",
                "auth": {
                    "secretRef": {
                        "accessKeyIDSecretRef": ref("id"),
                        "secretAccessKeySecretRef": ref("key"),
                    }
                },
            }
        }

    def _store_metadata(self, name: str, namespace: str = "") -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        if self.change_detection:
            meta["annotations"] = dict([CHANGE_DETECTION])
        return meta

    def stores(self) -> list[dict[str, Any]]:
        """One SecretStore per namespace, or one ClusterSecretStore for all of them."""
        if self.store_kind == "ClusterSecretStore":
            spec: dict[str, Any] = {
                "provider": self._provider(credentials_namespace=self.namespace(0))
            }
            if self.controller_class:
                spec["controller"] = self.controller_class
            return [
                {
                    "apiVersion": GROUP_VERSION,
                    "kind": "ClusterSecretStore",
                    "metadata": self._store_metadata(self.cluster_store_name),
                    "spec": spec,
                }
            ]
        result = []
        for namespace in self.namespace_names():
            spec = {"provider": self._provider()}
            if self.controller_class:
                spec["controller"] = self.controller_class
            result.append(
                {
                    "apiVersion": GROUP_VERSION,
                    "kind": "SecretStore",
                    "metadata": self._store_metadata(STORE_NAME, namespace),
                    "spec": spec,
                }
            )
        return result
