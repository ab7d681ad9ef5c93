"""Stores as ESO reads them: `refreshInterval` in every form ESO accepts, and the store
controller re-validating each store on its own interval."""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
import pytest
from test_store_controller import FAKE, KEY, NS, World, raw

from asyncso import errors, model, stores, timing


def store(refresh: Any) -> model.SecretStore:
    spec: dict[str, Any] = {**FAKE}
    if refresh is not None:
        spec["refreshInterval"] = refresh
    return msgspec.convert({"metadata": {"name": "s"}, "spec": spec}, model.SecretStore)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 300.0), (0, 300.0), (30, 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("0s", 300.0)],
)
def test_refresh_interval_forms(value: Any, seconds: float) -> None:
    assert timing.store_refresh_interval(store(value), default=300.0) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-5, "spec.refreshInterval: -5 must not be negative"),
        ("-5m", "spec.refreshInterval: duration '-5m' must not be negative"),
        ("10", "spec.refreshInterval: invalid duration '10'"),
    ],
)
def test_bad_refresh_intervals_are_refused(value: Any, message: str) -> None:
    with pytest.raises(errors.InvalidSpecError) as caught:
        timing.store_refresh_interval(store(value), default=300.0)
    assert str(caught.value).startswith(message)


async def test_a_bad_refresh_interval_is_the_stores_condition() -> None:
    world = World()
    await world.see({**FAKE, "refreshInterval": "soon"})
    ready = world.ready()
    assert ready is not None and ready[:2] == ("False", stores.REASON_INVALID_PROVIDER)
    assert ready[2].startswith("spec.refreshInterval: invalid duration 'soon'")


async def test_each_store_is_validated_again_on_its_own_interval() -> None:
    world = World()
    world.controller.clock = anyio.current_time  # type: ignore[assignment]
    validated: list[stores.StoreKey] = []
    original = world.controller.validate

    async def record(key: stores.StoreKey) -> None:
        validated.append(key)
        await original(key)

    world.controller.validate = record  # type: ignore[method-assign]
    slow = (NS, "slow")
    world.controller.on_event("ADDED", (NS, "s"), raw({**FAKE, "refreshInterval": "100ms"}))
    world.controller.on_event("ADDED", slow, raw(FAKE))
    async with anyio.create_task_group() as tasks:
        await tasks.start(world.controller.run)
        await anyio.sleep(0.6)
        tasks.cancel_scope.cancel()
    assert validated.count(KEY) >= 3
    assert validated.count(("SecretStore", NS, "slow")) == 1
