"""`Reconciler.sync` on ESO semantics asyncso used to miss, without a cluster (`FakeKube`)."""

from __future__ import annotations

import gc
import warnings

import pytest
from test_reconciler import NS, World


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


# --- nullBytePolicy ----------------------------------------------------------------------------

NUL = "AGE="  # base64 of b"\x00a"


async def test_null_byte_policy_fail_refuses_a_value_with_nul_and_keeps_the_secret() -> None:
    world = World({"bin": NUL})
    data = [
        {
            "secretKey": "blob",
            "remoteRef": {"key": "bin", "decodingStrategy": "Base64", "nullBytePolicy": "Fail"},
        }
    ]
    result = await world.sync(data=data)
    assert not result.ok
    ready = world.ready()
    assert ready is not None and ready[0] == "False"
    assert "spec.data[0]: fetched secret value for key 'blob' contains null bytes" in ready[2]
    assert world.kube.secrets == {}


@pytest.mark.parametrize("policy", [None, "Ignore"])
async def test_null_bytes_are_kept_by_default(policy: str | None) -> None:
    world = World({"bin": NUL})
    ref: dict[str, str] = {"key": "bin", "decodingStrategy": "Base64"}
    if policy:
        ref["nullBytePolicy"] = policy
    result = await world.sync(data=[{"secretKey": "blob", "remoteRef": ref}])
    assert result.ok
    assert world.kube.secrets[(NS, "es1")].data == {"blob": b"\x00a"}


@pytest.mark.parametrize(
    "entry",
    [
        {"extract": {"key": "json", "nullBytePolicy": "Fail", "decodingStrategy": "Base64"}},
        {
            "find": {"name": {"regexp": "^json$"}, "nullBytePolicy": "Fail"},
            "rewrite": [{"regexp": {"source": "json", "target": "z"}}],
        },
    ],
    ids=["extract", "find"],
)
async def test_null_byte_policy_on_extract_and_find(entry: dict[str, object]) -> None:
    world = World({"json": '{"a": "b2s=", "b": "AGE="}' if "extract" in entry else "\x00x"})
    result = await world.sync(data=[], data_from=[entry])
    assert not result.ok
    ready = world.ready()
    assert ready is not None
    key = "b" if "extract" in entry else "z"
    assert f"spec.dataFrom[0]: fetched secret value for key '{key}' contains null bytes" in ready[2]
