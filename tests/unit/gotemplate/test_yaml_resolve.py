"""go-yaml v2's scalar resolution (what ESO's fromYaml and the KeysAndValues scope read with
sigs.k8s.io/yaml), where it differs from YAML 1.1 as PyYAML reads it."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml

from asyncso.templates import go
from asyncso.templates.go import yamlv2


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12:30", "12:30"),  # no base 60 in go-yaml v2
        ("190:20:30.15", "190:20:30.15"),
        ("1e3", 1000.0),  # a float needs no dot
        ("12e03", 12000.0),
        ("09", 9.0),  # not octal, not an int: a float
        ("017", 15),
        ("0o17", 15),
        ("0x_1F", 31),
        ("-0b101", -5),
        ("1_000", 1000),
        (".5", 0.5),
        ("-.5e-3", -0.0005),
        ("1.", 1.0),
        ("18446744073709551615", 18446744073709551615),  # uint64
        ("99999999999999999999", 1e20),  # too large for 64 bits: a float
        ("9" * 500, math.inf),  # a big.Int in Go; as a JSON float64 it overflows
        ("1e400", "1e400"),  # out of float64's range: text
        ("y", True),
        ("N", False),
        ("off", False),
        ("~", None),
        (".inf", math.inf),
        ("2001-12-14", "2001-12-14"),  # a timestamp, kept as text
        ("0x", "0x"),
        ("+", "+"),
        ("e3", "e3"),
        ("<<", "<<"),  # a string unless it is a key (`<` has no resolve hint in go-yaml v2)
    ],
)
def test_plain_scalars(text: str, value: Any) -> None:
    assert yaml.load(f"k: {text}", Loader=yamlv2.Loader) == {"k": value}


def test_quoted_and_tagged_scalars_stay_strings() -> None:
    loaded = yaml.load("a: \"1e3\"\nb: !!str 12\nc: 'y'", Loader=yamlv2.Loader)
    assert loaded == {"a": "1e3", "b": "12", "c": "y"}


def test_keys_become_json_keys_and_stay_apart() -> None:
    loaded = yaml.load("1: a\ntrue: b\n1.5: c\n.inf: d", Loader=yamlv2.Loader)
    assert loaded == {"1": "a", "true": "b", "1.5": "c", ".inf": "d"}


def test_a_huge_number_is_classified_quickly() -> None:
    digits = "7" * 300_000
    assert yaml.load(f"k: 0x{digits}", Loader=yamlv2.Loader)["k"] == math.inf


def test_from_yaml_reads_as_go() -> None:
    out = go.render(
        "k",
        "{{ $m := fromYaml .y }}{{ $m.t }}|{{ $m.e }}|{{ $m.b }}",
        {"y": "t: 12:30\ne: 1e3\nb: y"},
    )
    assert out == b"12:30|1000|true"


def test_a_merge_key_still_merges() -> None:
    loaded = yaml.load("base: {x: 1}\n<<: {w: 2}\nz: 3", Loader=yamlv2.Loader)
    assert loaded == {"base": {"x": 1}, "w": 2, "z": 3}


def test_to_yaml_leaves_a_merge_key_plain_as_go() -> None:
    """go-yaml v2 quotes a string only when `resolve` would read it as something else, and it
    never looks `<<` up (found by the generated differential test)."""
    out = go.render("k", '{{ dict "<<" "<<" | toYaml }}', {})
    assert out == b"<<: <<"
