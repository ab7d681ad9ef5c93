"""`Reconciler.sync` on ESO semantics asyncso used to miss, without a cluster (`FakeKube`)."""

from __future__ import annotations

import gc
import warnings

from test_reconciler import World


async def test_a_spec_error_after_a_good_entry_leaves_no_coroutine_unawaited() -> None:
    """`data[0]` reads a good store, `dataFrom[0]` names a missing one: the sync fails before
    any read starts, so no read coroutine is left to the garbage collector."""
    world = World()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await world.sync(
            data_from=[{"extract": {"key": "db"}, "sourceRef": {"storeRef": {"name": "gone"}}}]
        )
        gc.collect()
    assert not result.ok
    ready = world.ready()
    assert ready is not None and ready[0] == "False" and "'gone'" in ready[2]
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []
