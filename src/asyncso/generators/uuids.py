"""ESO's `UUID` generator: one random UUID under the key `uuid`.

ESO's type comment says "version 1", but its code calls `uuid.New()` (google/uuid), which is a
random version 4 UUID; so is this one (`uuid.uuid4`, from `os.urandom`).
"""

from __future__ import annotations

import uuid
from typing import Any

from asyncso import model_generators

KIND = "UUID"


class UUIDGenerator:
    """`ports.Generator` for `UUID`: stateless, never expires."""

    kind = KIND
    spec_type: type[Any] = model_generators.UUIDSpec

    async def generate(self, spec: Any, *, namespace: str, name: str) -> model_generators.Output:
        return model_generators.Output(values={"uuid": str(uuid.uuid4()).encode()})

    async def cleanup(self, spec: Any, state: Any, *, namespace: str) -> None:
        return None
