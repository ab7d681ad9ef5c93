"""ESO's `Fake` generator: returns `spec.data` as it is (for tests and demos).

`spec.controller` selects a controller class in ESO (an ExternalSecret using a Fake of another
class is skipped). asyncso does not skip: such a generator is refused with a message naming
the class, so a misconfiguration is visible rather than silent.
"""

from __future__ import annotations

from typing import Any

from asyncso import errors, model_generators

KIND = "Fake"
MSG_CONTROLLER = (
    "spec.controller {wanted!r} names another controller class (this operator's is {ours!r})"
)


class FakeGenerator:
    """`ports.Generator` for `Fake`: stateless, never expires."""

    kind = KIND
    spec_type: type[Any] = model_generators.FakeSpec

    def __init__(self, *, controller_class: str = "") -> None:
        self.controller_class = controller_class

    async def generate(self, spec: Any, *, namespace: str, name: str) -> model_generators.Output:
        if spec.controller and spec.controller != self.controller_class:
            raise errors.InvalidSpecError(
                MSG_CONTROLLER.format(wanted=spec.controller, ours=self.controller_class)
            )
        return model_generators.Output(values={k: v.encode() for k, v in spec.data.items()})

    async def cleanup(self, spec: Any, state: Any, *, namespace: str) -> None:
        return None
