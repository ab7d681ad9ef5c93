"""`events.Correlator`: client-go's recorder's decision, create an Event or count a repeat."""

from __future__ import annotations

import dataclasses

from asyncso import events

KEY = events.EventKey(
    namespace="ns",
    kind="ExternalSecret",
    name="es1",
    uid="u1",
    type="Warning",
    reason="UpdateFailed",
    message="could not get secret data from provider: denied",
    component="external-secrets",
)


def test_a_repeat_counts_on_the_first_event() -> None:
    seen = events.Correlator()
    first = seen.observe(KEY, now=0.0, timestamp="t0", new_name="es1.a")
    again = seen.observe(KEY, now=5.0, timestamp="t5", new_name="es1.b")
    third = seen.observe(KEY, now=9.0, timestamp="t9", new_name="es1.c")
    assert first == events.Occurrence("es1.a", 1, "t0")
    assert again == events.Occurrence("es1.a", 2, "t0")
    assert third == events.Occurrence("es1.a", 3, "t0")


def test_another_message_reason_type_or_object_is_another_event() -> None:
    seen = events.Correlator()
    seen.observe(KEY, now=0.0, timestamp="t0", new_name="es1.a")
    for change in (
        {"message": "other"},
        {"reason": "Updated"},
        {"type": "Normal"},
        {"uid": "u2"},
        {"name": "es2"},
        {"namespace": "other"},
    ):
        other = dataclasses.replace(KEY, **change)
        assert seen.observe(other, now=1.0, timestamp="t1", new_name="x").count == 1, change


def test_a_repeat_after_ten_quiet_minutes_starts_a_new_event() -> None:
    seen = events.Correlator()
    seen.observe(KEY, now=0.0, timestamp="t0", new_name="es1.a")
    seen.observe(KEY, now=500.0, timestamp="t1", new_name="es1.b")  # within 10 min of the last
    late = seen.observe(KEY, now=500.0 + events.WINDOW_SECONDS + 1, timestamp="t2", new_name="c")
    assert late == events.Occurrence("c", 1, "t2")


def test_forgotten_events_and_the_lru_bound() -> None:
    seen = events.Correlator(max_entries=2)
    seen.observe(KEY, now=0.0, timestamp="t0", new_name="a")
    seen.forget(KEY)
    assert seen.observe(KEY, now=1.0, timestamp="t1", new_name="b").count == 1
    for i in range(5):
        seen.observe(dataclasses.replace(KEY, name=f"x{i}"), now=2.0, timestamp="t", new_name="n")
    assert len(seen) == 2
    assert seen.observe(KEY, now=3.0, timestamp="t3", new_name="c").name == "c"  # evicted
