"""The Parameter Store batch answer as AWS gives it (LocalStack is checked on the bench)."""

from __future__ import annotations

import asyncio
from typing import Any

from asyncso import model
from asyncso.providers import aws_parameterstore


class AwsLikeSsm:
    """GetParameters as AWS answers it: a versioned selector's entry carries `Selector`."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def get_parameters(self, **params: Any) -> dict[str, Any]:
        names: list[str] = params["Names"]
        self.calls.append(names)
        answers = []
        for name in names:
            if name.endswith(":1"):
                answers.append({"Name": "/p", "Value": "v1", "Version": 1, "Selector": ":1"})
            else:
                answers.append({"Name": "/p", "Value": "v2", "Version": 2})
        return {"Parameters": answers, "InvalidParameters": []}


async def test_current_and_versioned_in_one_call_keep_their_own_values() -> None:
    client = AwsLikeSsm()
    reader = aws_parameterstore.ParameterStore(client, batch_window=0.01)  # type: ignore[arg-type]
    for order in (["", "1"], ["1", ""]):
        got = await asyncio.gather(
            *(reader.read(model.RemoteRef(key="/p", version=v)) for v in order)
        )
        assert dict(zip(order, got, strict=True)) == {"": b"v2", "1": b"v1"}
    assert [sorted(c) for c in client.calls] == [["/p", "/p:1"], ["/p", "/p:1"]]
