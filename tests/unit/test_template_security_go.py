"""Go templates against hostile input, through `templates.apply` as the reconciler calls it: each
limit fails with its own clear message, one ExternalSecret's templates share one time budget, and
no secret value reaches a message, even where Go's own error text quotes data."""

from __future__ import annotations

import time
from typing import Any

import pytest

from asyncso import errors, model
from asyncso.templates import apply, engines, limits
from asyncso.templates.go import strconv

SECRET = "hunter2-s3cr3t"
NO_SOURCES = apply.TemplateSources()
VALUES = {"password": SECRET.encode(), "k": b"k" * 1024, "multi": b'line "one"\nline two'}


def failure(
    values: dict[str, bytes] = VALUES,
    *,
    sources: apply.TemplateSources = NO_SOURCES,
    **template: Any,
) -> str:
    with pytest.raises(errors.TemplateError) as info:
        apply.apply_template(model.Template(**template), values, sources=sources)
    return str(info.value)


# --- limits, each with its own message ---------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{{ range until 2000 }}{{ $.k }}{{ end }}", "output exceeds the limit of 1048576 bytes"),
        ("{{ range until 200000 }}{{ end }}", "range iterations exceed the limit of 100000"),
        (
            '{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}',
            "exceeded maximum template depth (100)",
        ),
        ('{{ repeat 5000000 "x" }}', "would exceed the limit of 4194304 characters or elements"),
        ("{{ " + "(" * 20000 + "1" + ")" * 20000 + " }}", "nested too deeply"),
    ],
)
def test_each_limit_fails_with_a_clear_message(source: str, says: str) -> None:
    started = time.monotonic()
    message = failure(data={"out": source})
    assert message.startswith("template.data['out']: unable to execute template at key out: ")
    assert says in message
    assert time.monotonic() - started < 5


def test_a_template_longer_than_the_limit_is_refused() -> None:
    message = failure(data={"out": "x" * (limits.MAX_TEMPLATE_CHARS + 1)})
    assert message == "template.data['out']: template is longer than 256 KiB"


def test_wall_time_is_one_budget_for_all_templates_of_an_external_secret() -> None:
    # Each key alone stays under the budget; together they exceed it and stop at the deadline.
    engine = engines.GoEngine({"a": "x"}, seconds=0.5)
    slow = '{{ range until 3 }}{{ bcrypt "pw" | len }}{{ end }}'
    started = time.monotonic()
    with pytest.raises(errors.TemplateError) as info:
        for key in ("a", "b", "c", "d", "e", "f", "g", "h"):
            engine.render(key, slow, where=f"template.data[{key!r}]")
    assert "render exceeds the time limit of 0.5 seconds" in str(info.value)
    assert time.monotonic() - started < 2.5


def test_a_loop_of_costly_calls_stops_at_the_deadline() -> None:
    engine = engines.GoEngine({}, seconds=0.3)
    started = time.monotonic()
    with pytest.raises(errors.TemplateError, match=r"time limit of 0\.3 seconds"):
        engine.render("k", '{{ range until 90000 }}{{ bcrypt "pw" }}{{ end }}', where="w")
    assert time.monotonic() - started < 1.5


# --- no secret values in messages --------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ fail .password }}",
        '{{ fail (printf "bad: %s!" .password) }}',
        '{{ mustToDate "2006" .password }}',
        "{{ .password | mustFromJson }}",
        '{{ mustRegexMatch .password .password }}{{ mustRegexMatch (print .password "(") "" }}',
        "{{ semver .password }}",
        "{{ index . .password | required .password }}",
        "{{ fail .multi }}",
        '{{ printf "%q" .multi | fail }}',
        "{{ .password | int | fail }}",
    ],
)
def test_messages_never_contain_values(source: str) -> None:
    message = failure(data={"out": source})
    assert message.startswith("template.data['out']: unable to execute template at key out: ")
    assert SECRET not in message
    assert "line two" not in message and 'line \\"one\\"' not in message


def test_a_value_quoted_by_go_is_redacted() -> None:
    message = failure(data={"out": "{{ fail .password }}"})
    assert message.endswith("error calling fail: [redacted]")
    quoted = failure(data={"out": '{{ fail (printf "%q" .multi) }}'})
    assert quoted.endswith('error calling fail: "[redacted]"')


def test_template_texts_from_secrets_are_redacted_too() -> None:
    sources = apply.TemplateSources(secrets={"tpl": {"t": b"x: {{ .nope }} # s3cr3t-template"}})
    ref = model.TemplateRef(
        name="tpl", items=[model.TemplateRefItem(key="t", template_as="KeysAndValues")]
    )
    message = failure(template_from=[model.TemplateFrom(secret=ref)], sources=sources)
    assert "s3cr3t-template" not in message
    assert 'map has no entry for key "nope"' in message


def test_short_values_are_redacted_where_they_stand_alone() -> None:
    message = failure({"pin": b"42"}, data={"out": '{{ fail .pin }}{{ index . "x" }}'})
    assert message.endswith("error calling fail: [redacted]")
    assert "out:1:3" in message  # line and column numbers are left alone


def test_the_longest_value_is_redacted_first_in_every_quoting() -> None:
    known = errors.KnownValues(quoters=(strconv.quote,))
    known.add_all(["abcdef", "abcd", "tab\there\x01"])
    assert known.redact("x abcdef abcd") == "x [redacted] [redacted]"
    assert known.redact('fail: "tab\\there\\x01"') == 'fail: "[redacted]"'  # Go's %q form
