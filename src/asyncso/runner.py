"""`asyncso run`: the process around an `Operator` — logging, health and metrics servers,
leader election, signals, clean shutdown.

Why apart from `app`: tests build `app.Operator` in-process; only the real process needs signal
handlers, HTTP servers and a Lease. Losing the Lease ends the process at once (as
controller-runtime does): a replica that is no longer leader must not write another byte, and
the kubelet restarts it as a standby.

Tasks, as everywhere else, live in anyio task groups: the outer one holds the leader campaign,
an inner one the operator and the signal watch. SIGTERM or SIGINT cancels the inner group first
(the operator drains: syncs in flight finish their writes) while the campaign still renews the
Lease; then the campaign ends, the Lease is released and the servers and clients are closed,
shielded from cancellation.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio

from asyncso import app, kube, leader, observability, settings

log = logging.getLogger("asyncso")

EXIT_LEADERSHIP_LOST = 1


def _lost_leadership() -> None:
    log.error("leader election lost; exiting so that no write comes from a non-leader")
    logging.shutdown()
    sys.stderr.flush()
    os._exit(EXIT_LEADERSHIP_LOST)


async def run(config: settings.Settings) -> int:
    observability.configure_logging(
        level=config.log_level, fmt="text" if config.log_format == "text" else "json"
    )
    kube_client = await kube.Kube.connect(config.kubeconfig, max_in_flight=config.concurrent)
    registry = app.default_registry(kube_client, config)
    elector: leader.LeaderElector | None = None
    if config.enable_leader_election:
        elector = leader.LeaderElector(
            kube_client.api,
            name=config.leader_election_id,
            namespace=leader.resolve_namespace(config.leader_election_namespace),
            identity=leader.default_identity(),
            lease_duration=config.lease_duration,
            renew_deadline=config.renew_deadline,
            retry_period=config.retry_period,
            on_lost=_lost_leadership,
        )
    operator = app.Operator(
        config,
        kube_client,
        registry,
        may_write=(lambda: elector.is_leader) if elector is not None else None,
    )
    servers = await observability.start_http(
        metrics_addr=config.metrics_addr,
        live_addr=config.live_addr,
        is_ready=operator.ready.is_set if elector is None else (lambda: True),
    )

    async def lead_then_operate() -> None:
        if elector is not None:
            await elector.leading.wait()
        await operator.run()

    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        try:
            async with anyio.create_task_group() as campaign:
                if elector is not None:
                    campaign.start_soon(elector.run, name="leader")
                await _until_signal(signals, lead_then_operate)
                campaign.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                if elector is not None:
                    await elector.release()
                await servers.aclose()
                await registry.close()
                await kube_client.close()
    return 0


async def _until_signal(
    signals: AsyncIterator[signal.Signals], work: Callable[[], Awaitable[None]]
) -> None:
    """Run `work` until it returns or a signal arrives; either way it is cancelled and awaited
    (its own task groups let writes in flight finish) before this returns."""
    async with anyio.create_task_group() as tasks:

        async def watch() -> None:
            async for _ in signals:
                break
            log.info("shutting down")
            tasks.cancel_scope.cancel()

        tasks.start_soon(watch, name="signals")
        await work()
        log.info("shutting down")
        tasks.cancel_scope.cancel()
