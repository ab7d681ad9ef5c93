"""Frozen operator settings, built once from flags and environment by `cli`.

Why a separate module: the composition root, the chart tests and the docs all need one list
of knobs with ESO's flag names (`--concurrent`, `--controller-class`, `--enable-leader-election`,
`--metrics-addr`, `--live-addr`), so that ESO users' Helm values and habits carry over.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    kubeconfig: str | None = None
    #: Watch only this namespace (ESO's `--namespace`); empty means the whole cluster.
    namespace: str = ""
    #: Stores whose `spec.controller` is set and differs from this are skipped.
    controller_class: str = "default"
    #: Cap on apiserver requests in flight from syncs (ESO's `--concurrent`, in spirit).
    concurrent: int = 16
    #: Cap on syncs in flight. Above `concurrent` (a sync also waits on provider reads), but not
    #: by much: syncs beyond the apiserver slots only queue for them, and a new ExternalSecret's
    #: sync (served first here) would queue behind their requests. Provider batches no longer
    #: need many waiting syncs: the reads of syncs starting together are prefetched.
    syncs_in_flight: int = 64
    log_level: str = "info"
    log_format: str = "json"
    metrics_addr: str = ":8080"
    live_addr: str = ":8082"
    enable_leader_election: bool = False
    leader_election_id: str = "external-secrets-controller"
    leader_election_namespace: str = ""
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    #: Re-validate stores this often (seconds).
    store_requeue_interval: float = 300.0
    #: Collection window for batching provider reads (seconds).
    provider_batch_window: float = 0.01
    #: Per-store limit of provider calls per second (0: unlimited).
    provider_rate_limit: float = 0.0
    #: Memory budget (bytes) for the remote values each identity keeps for its readers; values
    #: beyond it are read from the provider on every refresh (`providers/value_cache`).
    provider_cache_max_bytes: int = 64 * 1024 * 1024
    #: Reconcile ClusterSecretStores (ESO's --enable-cluster-store-reconciler).
    enable_cluster_store_reconciler: bool = True
    #: Upper bound on the random delay added to each refresh, as a fraction of the interval.
    refresh_jitter: float = 0.1
    #: ESO's --enable-cluster-external-secret-reconciler, --enable-push-secret-reconciler and
    #: --enable-cluster-push-secret-reconciler.
    enable_cluster_external_secret_reconciler: bool = True
    enable_push_secret_reconciler: bool = True
    enable_cluster_push_secret_reconciler: bool = True
    #: Write `spec.target.manifest` targets (ConfigMaps) as ESO's
    #: `--unsafe-allow-generic-targets` does; off by default, as in ESO.
    unsafe_allow_generic_targets: bool = False
    #: Seconds to connect/read per provider call, with a single attempt (0: the clients'
    #: defaults with retries). `asyncso render` uses a short one so a bad endpoint fails fast.
    provider_timeout: float = 0.0
    #: A `refreshInterval` below this (seconds) is raised to it (`--min-refresh-interval`,
    #: default 10s; 0 disables): `1ns` must not be a hot loop of provider calls.
    min_refresh_interval: float = 10.0
    #: Delimiters of Go templates (ESO's `--template-left-delimiter`/`--template-right-delimiter`).
    template_left_delimiter: str = "{{"
    template_right_delimiter: str = "}}"
