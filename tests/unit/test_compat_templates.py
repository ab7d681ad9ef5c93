"""Template behaviour where asyncso used to differ from ESO: data keys that are Python keywords,
templateFrom targets in any case, `valuesDecodingStrategy`."""

from __future__ import annotations

import keyword
from typing import Any

import pytest

from asyncso import model
from asyncso.templates import apply

NO_SOURCES = apply.TemplateSources()


def render(values: dict[str, bytes], **template: Any) -> model.SecretContent:
    return apply.apply_template(model.Template(**template), values, sources=NO_SOURCES)


@pytest.mark.parametrize("word", ["pass", "from", "class", "global", "import", "def", "in", "if"])
def test_a_data_key_that_is_a_python_keyword_is_a_name(word: str) -> None:
    """Real secrets often have a `pass` key; Jinja accepts such names (`{{ pass }}`)."""
    out = render({word: b"s3cret"}, data={"out": "{{ %s }}!" % word})
    assert out.data == {"out": b"s3cret!"}


def test_every_python_keyword_but_jinjas_literals_and_not() -> None:
    words = [w for w in keyword.kwlist if w not in ("True", "False", "None")]
    values = {w: w.encode() for w in words}
    out = render(values, data={w: "{{ %s }}" % w for w in words if w != "not"})
    assert out.data == {w: w.encode() for w in words if w != "not"}


def test_jinja_literal_words_stay_reachable_through_values() -> None:
    out = render({"not": b"n", "None": b"x"}, data={"a": '{{ values["not"] }}{{ values["None"] }}'})
    assert out.data == {"a": b"nx"}
