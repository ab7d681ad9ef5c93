"""The SecretStore / ClusterSecretStore controller: decode, validate, report, wake the readers.

Why apart from `app` (as ESO keeps `controllers/secretstore`): a store's validity gates every
ExternalSecret that reads from it, and ESO users read it on the store (`Ready`, its reason and
message, the `*_status_condition` gauges). The watch handler here only records what it saw in the
view (`view.stores`); validation runs in this controller's own task group and records its
`stores.Verdict` in `view.store_verdicts`: each map has one writer, and no entry is mutated.
Stores are re-validated every `--store-requeue-interval` (credentials expire, roles change);
when a verdict flips, the store's readers are woken.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import anyio
import anyio.abc
import msgspec

from asyncso import (
    compat,
    errors,
    model,
    observability,
    ports,
    providers,
    settings,
    status,
    stores,
    timing,
    view,
    watch,
)

log = logging.getLogger("asyncso.stores")

REASON_PROVIDER_NOTICE = "ProviderNotice"
#: Shortest pause of the validation loop (seconds), so a burst of due stores is one pass.
MIN_WAIT = 0.05
_store_decoder = msgspec.json.Decoder(model.SecretStore)
_envelope_decoder = msgspec.json.Decoder(model.Envelope)


class StoreController:
    """Keeps `state.stores` and `state.store_verdicts` up to date and the stores' status true."""

    def __init__(
        self,
        *,
        state: view.View,
        kube_client: ports.KubeWriter,
        registry: providers.ProviderRegistry,
        config: settings.Settings,
        wake: Callable[[model.Key], None],
        clock: Callable[[], float] = time.time,
        on_change: Callable[[stores.StoreKey], None] | None = None,
    ) -> None:
        self.view = state
        self.kube = kube_client
        self.registry = registry
        self.settings = config
        self.wake = wake
        #: Told of each store whose readers are woken (the PushSecret controller wakes the
        #: PushSecrets that use it).
        self.on_change = on_change
        self.clock = clock
        self._tasks: anyio.abc.TaskGroup | None = None
        #: When each store is validated next (its `refreshInterval`, else the requeue interval).
        self._due: dict[stores.StoreKey, float] = {}
        self._rescheduled = anyio.Event()

    # --- the watch handler (sync, cheap) -------------------------------------------------------

    def on_event(self, event: watch.EventType, key: model.Key, raw: msgspec.Raw) -> None:
        envelope = _envelope_decoder.decode(raw)
        kind = envelope.kind or ("ClusterSecretStore" if not key[0] else "SecretStore")
        skey = stores.store_key(kind, key[0], key[1])
        if event == "DELETED":
            self.view.stores.pop(skey, None)
            self._due.pop(skey, None)
        else:
            try:
                store = msgspec.structs.replace(_store_decoder.decode(raw), kind=kind)
                entry = stores.StoreEntry(meta=store.metadata, kind=kind, store=store)
            except msgspec.ValidationError as exc:
                entry = stores.StoreEntry(
                    meta=envelope.metadata, kind=kind, store=None, invalid=compat.decode_error(exc)
                )
            old = self.view.stores.get(skey)
            self.view.stores[skey] = entry
            judged = stores.current_verdict(entry, self.view.store_verdicts.get(skey))
            if judged is not None:
                # A status-only change (often our own write), or labels only: those matter to
                # PushSecrets that select stores by labels, not to ExternalSecrets.
                relabelled = old is not None and old.meta.labels != entry.meta.labels
                if relabelled and self._tasks is not None and self.on_change is not None:
                    self.on_change(skey)
                return
            self.validate_soon(skey)
        if self._tasks is not None:
            self._wake_users(skey)

    # --- running -------------------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Validate every known store, then each again after its `refreshInterval` (ESO's store
        requeue; the operator's `--store-requeue-interval` when unset), until cancelled.
        Validations started by watch events run in the same task group: none outlives this."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            self.registry.on_note = self._notice
            task_status.started()
            try:
                while True:
                    now = self.clock()
                    for skey in list(self.view.stores):
                        if self._due.get(skey, now) <= now:
                            self.validate_soon(skey)
                    wait = min(
                        [due - now for due in self._due.values()]
                        + [self.settings.store_requeue_interval]
                    )
                    self._rescheduled = anyio.Event()
                    with anyio.move_on_after(max(wait, MIN_WAIT)):
                        await self._rescheduled.wait()
            finally:
                self._tasks = None
                self.registry.on_note = None

    def _interval(self, key: stores.StoreKey) -> float:
        entry = self.view.stores.get(key)
        default = self.settings.store_requeue_interval
        if entry is None or entry.store is None:
            return default
        try:
            return timing.store_refresh_interval(entry.store, default=default)
        except errors.InvalidSpecError:
            return default  # said in the store's condition by `_check`

    def _notice(self, store: tuple[str, str, str], message: str) -> None:
        """Say a provider fact once on the store itself, as a Warning Event."""
        if self._tasks is not None:
            kind, namespace, name = store
            meta = model.ObjectMeta(name=name, namespace=namespace)
            self._tasks.start_soon(self._emit_notice, kind, meta, message)

    async def _emit_notice(self, kind: str, meta: model.ObjectMeta, message: str) -> None:
        await self.kube.emit_event(
            meta, kind=kind, type_="Warning", reason=REASON_PROVIDER_NOTICE, message=message
        )

    def validate_soon(self, key: stores.StoreKey) -> None:
        """Validate `key` in the background (no-op before `run` started: it validates all)."""
        if self._tasks is not None:
            self._due[key] = self.clock() + self._interval(key)
            self._tasks.start_soon(self.validate, key)

    async def validate(self, key: stores.StoreKey) -> None:
        """Validate one store; record the verdict, write the status and the gauge, wake readers
        when the verdict flipped."""
        entry = self.view.stores.get(key)
        if entry is None or not stores.is_ours(entry.store, self.settings.controller_class):
            return
        ok, reason, message = await self._check(entry)
        self._due[key] = self.clock() + self._interval(key)
        self._rescheduled.set()
        previous = stores.current_verdict(entry, self.view.store_verdicts.get(key))
        verdict = stores.Verdict(entry.meta.generation, ok, "" if ok else message)
        self.view.store_verdicts[key] = verdict
        condition = status.ready(ok, reason, message)
        status.set_condition_metric(entry.kind, entry.meta, condition)
        report = status.store_status(entry.store, condition, now=self.clock())
        if report is not None:
            try:
                await self.kube.patch_status(
                    entry.kind, entry.meta.namespace, entry.meta.name, report
                )
            except errors.AsyncsoError as exc:
                log.warning(
                    "store status write failed",
                    extra={
                        **observability.log_fields(
                            namespace=entry.meta.namespace, name=entry.meta.name, kind=entry.kind
                        ),
                        "error": errors.redact(str(exc)),
                    },
                )
        if previous is not None and previous != verdict:
            # Validity flipped (e.g. credentials revoked or fixed): readers re-sync now.
            self._wake_users(key)

    def _wake_users(self, key: stores.StoreKey) -> None:
        """Wake the ExternalSecrets that read the store, and tell `on_change`."""
        for es_key in self.view.readers_of_store(key):
            self.wake(es_key)
        if self.on_change is not None:
            self.on_change(key)

    async def _check(self, entry: stores.StoreEntry) -> tuple[bool, str, str]:
        if entry.store is None:
            return False, stores.REASON_INVALID_CONFIG, f"invalid store: {entry.invalid}"
        try:
            compat.check_store(entry.store)
            timing.store_refresh_interval(entry.store, default=0)
            factory = self.registry.factory_for(entry.store)
            await factory.validate(entry.store)
        except errors.ValidationUnknownError:
            # ESO: usable, but say that its validity is unknown.
            return True, stores.REASON_VALIDATION_UNKNOWN, stores.MSG_VALIDATION_UNKNOWN
        except errors.InvalidSpecError as exc:
            return False, stores.REASON_INVALID_PROVIDER, str(exc)
        except errors.AsyncsoError as exc:
            return False, stores.REASON_VALIDATION_FAILED, errors.redact(str(exc))
        return True, stores.REASON_VALID, stores.MSG_VALID
