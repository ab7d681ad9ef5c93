"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics.

Why: with `replicaCount > 1` only one replica may write Secrets and statuses, or two replicas
fight over every object. We use the same Lease, the same fields and the same timing rules as
client-go's `leaderelection` (which ESO uses through controller-runtime), with ESO's defaults
(id `external-secrets-controller`, lease 15 s, renew deadline 10 s, retry 2 s), so the lock
is understood by `kubectl`, by ESO tooling and by a mixed rollout.

The rules, as client-go has them:

* The holder renews `renewTime` every `retry_period`; writes carry `resourceVersion`, so of two
  racing writers exactly one wins (409 for the other).
* A candidate never trusts the timestamps in the Lease (clocks differ between nodes): it takes
  over only when the Lease has not *changed* for `leaseDurationSeconds` by its own monotonic
  clock since it first observed the current record, or when the holder is empty (released).
* A leader that has not renewed successfully within `renew_deadline` (< lease duration) steps
  down on its own, so it stops writing before any candidate can legitimately take over.

One deliberate difference: a leader that reads the Lease and finds another holder steps down at
once (client-go keeps retrying until the renew deadline), because the Lease proves it has lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import pathlib
import socket
import uuid
from collections.abc import Callable
from typing import Any

import kr8s.asyncio
import msgspec

from asyncso import apiserver, errors, names

log = logging.getLogger("asyncso.leader")

DEFAULT_ID = "external-secrets-controller"
DEFAULT_LEASE_DURATION = 15.0
DEFAULT_RENEW_DEADLINE = 10.0
DEFAULT_RETRY_PERIOD = 2.0
_SA_NAMESPACE_FILE = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class LeaseSpec(msgspec.Struct, rename="camel", omit_defaults=True):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: str | None = None
    renew_time: str | None = None
    lease_transitions: int | None = None


class LeaseMeta(msgspec.Struct, rename="camel", omit_defaults=True):
    name: str
    namespace: str | None = None
    resource_version: str | None = None
    uid: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class Lease(msgspec.Struct, rename="camel", omit_defaults=True):
    metadata: LeaseMeta
    spec: LeaseSpec = msgspec.field(default_factory=LeaseSpec)
    api_version: str = "coordination.k8s.io/v1"
    kind: str = "Lease"


_lease_decoder = msgspec.json.Decoder(Lease)
_encoder = msgspec.json.Encoder()


def _body(lease: Lease) -> bytes:
    """msgspec omits defaults; the apiserver wants `apiVersion`/`kind` spelled out."""
    body: dict[str, Any] = msgspec.to_builtins(lease)
    body["apiVersion"] = lease.api_version
    body["kind"] = lease.kind
    return _encoder.encode(body)


def micro_time(moment: datetime.datetime | None = None) -> str:
    """A Kubernetes MicroTime (RFC 3339, microseconds, UTC), as `renewTime` wants."""
    moment = moment or datetime.datetime.now(datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_identity() -> str:
    """`<hostname>_<uuid>` like controller-runtime: unique even if a pod name is reused."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def resolve_namespace(configured: str = "") -> str:
    """Where the Lease lives: the flag, else POD_NAMESPACE, else our own namespace in-cluster."""
    if configured:
        return configured
    if env := os.environ.get("POD_NAMESPACE"):
        return env
    with contextlib.suppress(OSError):
        found = _SA_NAMESPACE_FILE.read_text().strip()
        if found:
            return found
    return "default"


class LeaderElector:
    """Campaign for one Lease forever; know at any instant whether we may write.

    Run `run()` as a task. `leading` is set while we lead; `lost` is set when we stop leading
    after having led (and cleared when we lead again); `on_lost` is called synchronously at
    that moment, before any other coroutine runs, so the app can stop its writers at once.
    Writers should also check `is_leader` just before writing: it turns false as soon as the
    renew deadline passes, even if this task has not been scheduled yet (a busy loop).
    On graceful shutdown: cancel `run()`, stop the writers, then `await release()`.
    """

    def __init__(
        self,
        api: kr8s.asyncio.Api,
        *,
        name: str = DEFAULT_ID,
        namespace: str,
        identity: str,
        lease_duration: float = DEFAULT_LEASE_DURATION,
        renew_deadline: float = DEFAULT_RENEW_DEADLINE,
        retry_period: float = DEFAULT_RETRY_PERIOD,
        on_started_leading: Callable[[], None] | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        if not names.is_valid(name, names.SUBDOMAIN) or not names.is_valid(namespace, names.LABEL):
            raise ValueError(
                f"leader election: {namespace!r}/{name!r} is not a valid Lease namespace/name "
                "(--leader-election-namespace, --leader-election-id)"
            )
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError(
                "leader election needs lease_duration > renew_deadline > retry_period > 0, got "
                f"{lease_duration} / {renew_deadline} / {retry_period}"
            )
        self.api = api
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started_leading = on_started_leading
        self.on_lost = on_lost
        self.leading = asyncio.Event()
        self.lost = asyncio.Event()
        self._observed: Lease | None = None
        self._observed_at = 0.0  # loop time when the current record was first seen
        self._valid_until = 0.0  # loop time until which our last renewal lets us write

    # --- state ---------------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True only while leading and within the renew deadline of our last renewal."""
        return self.leading.is_set() and self._now() < self._valid_until

    @property
    def holder(self) -> str:
        """The holder in the last Lease we read or wrote ("" if none or unknown)."""
        if self._observed is None:
            return ""
        return self._observed.spec.holder_identity or ""

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _fields(self) -> dict[str, str]:
        return {"lease": self.name, "namespace": self.namespace, "identity": self.identity}

    # --- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Acquire, lead while renewals succeed, step down on failure, and campaign again."""
        try:
            while True:
                await self._acquire()
                self._start_leading()
                await self._renew_until_lost()
                self._stop_leading()
        finally:
            # Cancelled (shutdown): we no longer renew, so we may no longer write. No on_lost:
            # the app asked for this; `release()` hands over the Lease if we still hold it.
            self.leading.clear()
            self._valid_until = 0.0

    async def _acquire(self) -> None:
        log.info("waiting to acquire leader lease", extra=self._fields())
        while True:
            if await self._try(within=self.renew_deadline):
                return
            await asyncio.sleep(self.retry_period)

    async def _renew_until_lost(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, min(self.retry_period, self._valid_until - self._now())))
            while self._now() < self._valid_until:
                if await self._try(within=self._valid_until - self._now()):
                    break
                if self.holder != self.identity:
                    log.warning(
                        "leader lease taken by another holder",
                        extra={**self._fields(), "holder": self.holder},
                    )
                    return
                await asyncio.sleep(
                    max(0.0, min(self.retry_period, self._valid_until - self._now()))
                )
            else:
                log.warning(
                    "could not renew leader lease within the renew deadline", extra=self._fields()
                )
                return

    def _start_leading(self) -> None:
        self.lost.clear()
        self.leading.set()
        log.info("became leader", extra=self._fields())
        if self.on_started_leading is not None:
            self.on_started_leading()

    def _stop_leading(self) -> None:
        self.leading.clear()
        self._valid_until = 0.0
        self.lost.set()
        log.warning("leadership lost; stopping writes", extra=self._fields())
        if self.on_lost is not None:
            self.on_lost()

    # --- one attempt ---------------------------------------------------------------------------

    async def _try(self, *, within: float) -> bool:
        """client-go's tryAcquireOrRenew, within `within` seconds; True when we hold the Lease."""
        started = self._now()
        try:
            async with asyncio.timeout(max(within, 0.001)):
                ok = await self._try_acquire_or_renew()
        except (TimeoutError, errors.ApiError) as exc:
            log.debug("leader lease attempt failed: %s", exc or type(exc).__name__)
            return False
        if ok:
            # Measured from when the request was *sent*: the apiserver wrote renewTime later.
            self._valid_until = started + self.renew_deadline
        return ok

    async def _try_acquire_or_renew(self) -> bool:
        now = micro_time()
        current = await self._get()
        if current is None:
            fresh = Lease(
                metadata=LeaseMeta(name=self.name, namespace=self.namespace),
                spec=LeaseSpec(
                    holder_identity=self.identity,
                    lease_duration_seconds=self._lease_seconds(),
                    acquire_time=now,
                    renew_time=now,
                    lease_transitions=0,
                ),
            )
            self._remember(await self._write("POST", fresh))
            return True

        self._observe(current)
        spec = current.spec
        holder = spec.holder_identity or ""
        if holder and holder != self.identity and self._lease_still_valid(spec):
            return False

        ours = holder == self.identity
        updated = msgspec.structs.replace(
            current,
            spec=LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=self._lease_seconds(),
                acquire_time=spec.acquire_time if ours else now,
                renew_time=now,
                lease_transitions=(spec.lease_transitions or 0) + (0 if ours else 1),
            ),
        )
        self._remember(await self._write("PUT", updated))
        return True

    def _lease_seconds(self) -> int:
        return max(1, round(self.lease_duration))

    def _lease_still_valid(self, spec: LeaseSpec) -> bool:
        seconds = spec.lease_duration_seconds or self.lease_duration
        return self._now() < self._observed_at + seconds

    def _observe(self, lease: Lease) -> None:
        """Start the takeover clock whenever the record changes (by our own clock)."""
        if self._observed is None or self._observed.spec != lease.spec:
            self._observed_at = self._now()
        self._observed = lease

    def _remember(self, written: Lease) -> None:
        self._observed = written
        self._observed_at = self._now()

    # --- release -------------------------------------------------------------------------------

    async def release(self) -> bool:
        """Hand the Lease over at once (client-go's ReleaseOnCancel); True when released.

        Only if the last record we saw names us: the holder is emptied and the duration set to
        1 s, so a standby takes over on its next retry instead of waiting a full lease.
        Call it after the writers have stopped.
        """
        self.leading.clear()
        self._valid_until = 0.0
        observed = self._observed
        if observed is None or observed.spec.holder_identity != self.identity:
            return False
        now = micro_time()
        released = msgspec.structs.replace(
            observed,
            spec=msgspec.structs.replace(
                observed.spec,
                holder_identity="",
                lease_duration_seconds=1,
                acquire_time=now,
                renew_time=now,
            ),
        )
        try:
            async with asyncio.timeout(self.renew_deadline):
                self._remember(await self._write("PUT", released))
        except (TimeoutError, errors.ApiError) as exc:
            log.warning("could not release leader lease: %s", exc or type(exc).__name__)
            return False
        log.info("released leader lease", extra=self._fields())
        return True

    # --- HTTP ----------------------------------------------------------------------------------

    async def _get(self) -> Lease | None:
        url = apiserver.path(apiserver.LEASES, namespace=self.namespace, name=self.name)
        try:
            return _lease_decoder.decode(await self._send("GET", url, verb="get"))
        except errors.ApiNotFoundError:
            return None

    async def _write(self, method: str, lease: Lease) -> Lease:
        name = None if method == "POST" else self.name
        url = apiserver.path(apiserver.LEASES, namespace=self.namespace, name=name)
        verb = "create" if method == "POST" else "update"
        return _lease_decoder.decode(await self._send(method, url, body=_body(lease), verb=verb))

    async def _send(self, method: str, url: str, *, verb: str, body: bytes | None = None) -> bytes:
        try:
            return await apiserver.call(
                self.api, method, url, body=body, what=f"{verb} lease {self.namespace}/{self.name}"
            )
        except errors.ApiError as exc:
            if exc.status and not isinstance(
                exc, errors.ApiConflictError | errors.ApiNotFoundError
            ):
                # 403 is a misconfiguration (RBAC): say so loudly, but keep retrying.
                level = logging.ERROR if exc.status in (401, 403) else logging.WARNING
                log.log(
                    level,
                    "leader lease request refused",
                    extra={**self._fields(), "verb": verb, "status": exc.status},
                )
            raise
