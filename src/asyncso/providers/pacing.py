"""A per-store budget of provider calls per second.

Why: one noisy store must not eat the account's AWS API quota that other stores (and other tools)
share; botocore's adaptive retries handle the rest. Apart from `batching`: it limits every call,
batched or not.
"""

from __future__ import annotations

import asyncio


class RateLimiter:
    """At most `rate` calls per second (0: unlimited), spaced evenly; FIFO under contention."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self._interval <= 0:
            return
        async with self._lock:
            loop = asyncio.get_running_loop()
            now = loop.time()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
            if delay > 0:
                await asyncio.sleep(delay)
