"""`asyncso run`: the process around an `Operator` — logging, health and metrics servers,
leader election, signals, clean shutdown.

Why apart from `app`: tests build `app.Operator` in-process; only the real process needs signal
handlers, HTTP servers and a Lease. Losing the Lease ends the process at once (as
controller-runtime does): a replica that is no longer leader must not write another byte, and
the kubelet restarts it as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

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
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    campaign = asyncio.create_task(elector.run(), name="leader") if elector else None
    stopper = asyncio.create_task(stop.wait(), name="stop")
    main: asyncio.Task[None] | None = None
    try:
        if elector is not None:
            leading = asyncio.create_task(elector.leading.wait())
            await asyncio.wait({leading, stopper}, return_when=asyncio.FIRST_COMPLETED)
            leading.cancel()
        if not stop.is_set():
            main = asyncio.create_task(operator.run(), name="operator")
            await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        log.info("shutting down")
        if main is not None:
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main
        stopper.cancel()
        if campaign is not None and elector is not None:
            campaign.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await campaign
            await elector.release()
        await servers.aclose()
        await registry.close()
        await kube_client.close()
    return 0
