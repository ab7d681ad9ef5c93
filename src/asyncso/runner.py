"""`asyncso run`: the process around an `Operator` — logging, health and metrics servers,
leader election, signals, clean shutdown.

Why apart from `app`: tests build `app.Operator` in-process; only the real process needs signal
handlers, HTTP servers and a Lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from asyncso import app, kube, observability, settings

log = logging.getLogger("asyncso")


async def run(config: settings.Settings) -> int:
    observability.configure_logging(
        level=config.log_level, fmt="text" if config.log_format == "text" else "json"
    )
    kube_client = await kube.Kube.connect(config.kubeconfig)
    registry = app.default_registry(kube_client, config)
    operator = app.Operator(config, kube_client, registry)
    servers = await observability.start_http(
        metrics_addr=config.metrics_addr,
        live_addr=config.live_addr,
        is_ready=operator.ready.is_set,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    main = asyncio.create_task(operator.run(), name="operator")
    stopper = asyncio.create_task(stop.wait(), name="stop")
    try:
        await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        log.info("shutting down")
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main
        stopper.cancel()
        await servers.aclose()
        await registry.close()
        await kube_client.close()
    return 0
