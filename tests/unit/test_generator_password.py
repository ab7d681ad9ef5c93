"""The Password generator: ESO's defaults and refusals, its encodings, and — over many samples —
lengths, character classes and counts, drawn from the `secrets` CSPRNG."""

from __future__ import annotations

import base64
import collections
import string
from typing import Any

import msgspec
import pytest

from asyncso import errors, model_generators
from asyncso.generators import password

SAMPLES = 400


def spec(**fields: Any) -> model_generators.PasswordSpec:
    return msgspec.convert(fields, model_generators.PasswordSpec)


def classes(value: str, symbols: str = password.DEFAULT_SYMBOLS) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for char in value:
        if char in string.ascii_lowercase:
            counts["lower"] += 1
        elif char in string.ascii_uppercase:
            counts["upper"] += 1
        elif char in string.digits:
            counts["digit"] += 1
        elif char in symbols:
            counts["symbol"] += 1
        else:
            counts["other"] += 1
    return counts


def test_defaults_are_esos() -> None:
    config = password.config_of(spec())
    assert (config.length, config.digits, config.symbols) == (24, 6, 6)
    assert config.keys == ("password",)
    assert config.symbol_characters == '~!@#$%^&*()_+`-={}|[]\\:"<>?,./'
    assert (config.no_upper, config.allow_repeat, config.encoding) == (False, False, "raw")
    assert password.config_of(spec(length=0)).length == 24  # ESO: length > 0, else 24
    assert (
        password.config_of(spec(length=10)).digits,
        password.config_of(spec(length=10)).symbols,
    ) == (2, 2)


def test_default_passwords_have_the_counts_of_each_class_over_many_samples() -> None:
    seen: set[str] = set()
    upper_seen = 0
    for _ in range(SAMPLES):
        (value,) = password.generate(spec()).values()
        text = value.decode()
        counts = classes(text)
        assert len(text) == 24
        assert counts["digit"] == 6 and counts["symbol"] == 6
        assert counts["lower"] + counts["upper"] == 12 and counts["other"] == 0
        assert len(set(text)) == len(text)  # no repeats by default
        upper_seen += counts["upper"]
        seen.add(text)
    assert len(seen) == SAMPLES  # never the same twice
    assert upper_seen > 0


def test_positions_are_shuffled_over_many_samples() -> None:
    """Digits and symbols land anywhere, not at the end where they were drawn."""
    digit_at: collections.Counter[int] = collections.Counter()
    for _ in range(SAMPLES):
        text = password.generate(spec(length=8, digits=1, symbols=0))["password"].decode()
        digit_at[next(i for i, c in enumerate(text) if c.isdigit())] += 1
    assert set(digit_at) == set(range(8))


@pytest.mark.parametrize(
    ("fields", "want"),
    [
        ({"length": 40, "digits": 10, "symbols": 0}, {"digit": 10, "symbol": 0, "letters": 30}),
        ({"length": 12, "digits": 0, "symbols": 12}, {"digit": 0, "symbol": 12, "letters": 0}),
        ({"length": 5, "digits": 5, "symbols": 0}, {"digit": 5, "symbol": 0, "letters": 0}),
        (
            {"length": 64, "digits": 30, "symbols": 30, "allowRepeat": True},
            {"digit": 30, "symbol": 30, "letters": 4},
        ),
        (
            {"length": 200, "digits": 0, "symbols": 0, "allowRepeat": True},
            {"digit": 0, "symbol": 0, "letters": 200},
        ),
    ],
)
def test_counts_are_exact(fields: dict[str, Any], want: dict[str, int]) -> None:
    for _ in range(SAMPLES // 4):
        text = password.generate(spec(**fields))["password"].decode()
        counts = classes(text)
        assert len(text) == fields["length"]
        assert counts["digit"] == want["digit"] and counts["symbol"] == want["symbol"]
        assert counts["lower"] + counts["upper"] == want["letters"]


def test_no_upper_and_custom_symbols() -> None:
    for _ in range(SAMPLES):
        config = spec(length=20, symbols=2, digits=3, noUpper=True, symbolCharacters="-_")
        text = password.generate(config)["password"].decode()
        counts = classes(text, symbols="-_")
        assert counts["upper"] == 0 and counts["other"] == 0
        assert counts["symbol"] == 2 and sorted(c for c in text if c in "-_") == ["-", "_"]


def test_all_letters_appear_over_many_samples() -> None:
    """Every character of every class is reachable (no class or letter left out)."""
    seen: set[str] = set()
    for _ in range(SAMPLES):
        seen |= set(password.generate(spec(length=40, digits=10, symbols=10))["password"].decode())
    assert seen == set(string.ascii_letters + string.digits + password.DEFAULT_SYMBOLS)


def test_each_secret_key_gets_its_own_password() -> None:
    values = password.generate(spec(secretKeys=["a", "b", "c"]))
    assert sorted(values) == ["a", "b", "c"]
    assert len(set(values.values())) == 3


@pytest.mark.parametrize(
    ("encoding", "decode"),
    [
        ("raw", lambda v: v),
        ("base64", base64.b64decode),
        ("base64url", base64.urlsafe_b64decode),
        ("base32", base64.b32decode),
        ("hex", bytes.fromhex),
    ],
)
def test_encodings(encoding: str, decode: Any) -> None:
    value = password.generate(spec(encoding=encoding, length=30))["password"]
    plain = decode(value if encoding != "hex" else value.decode())
    assert len(plain) == 30 and classes(plain.decode())["other"] == 0
    assert password.encode(b"\xfb\xff", "base64url") == b"-_8="  # Go's padded URL alphabet
    assert password.encode(b"ab", "hex") == b"6162"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"length": 10, "digits": 6, "symbols": 6}, password.MSG_EXCEEDS),
        ({"length": 60, "digits": 11, "symbols": 0}, "number of digits exceeds available digits"),
        ({"length": 60, "digits": 0, "symbols": 0}, "number of letters exceeds available letters"),
        ({"length": 60, "digits": 0, "symbols": 0, "noUpper": True}, "letters exceeds"),
        ({"length": 8, "digits": 0, "symbols": 3, "symbolCharacters": "!?"}, "symbols exceeds"),
        ({"length": 8, "symbols": 2, "symbolCharacters": "!a"}, "spec.symbolCharacters: may not"),
        ({"digits": -1}, "spec.digits must not be negative"),
        ({"symbols": -3}, "spec.symbols must not be negative"),
        ({"length": 5000}, "spec.length: length may be at most 4096"),
        (
            {"length": 4096, "allowRepeat": True, "secretKeys": [f"k{i}" for i in range(200)]},
            "at most",
        ),
        ({"secretKeys": ["a", "a"]}, password.MSG_KEYS),
        ({"secretKeys": [""]}, password.MSG_KEYS),
    ],
)
def test_refusals(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.InvalidSpecError) as info:
        password.generate(spec(**fields))
    assert message in str(info.value)
    assert not info.value.transient


def test_overlapping_symbols_are_fine_with_repeats() -> None:
    text = password.generate(spec(length=8, symbols=4, symbolCharacters="ab", allowRepeat=True))
    assert len(text["password"]) == 8


def test_the_source_is_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Characters come from `secrets.choice` and the order from `secrets.SystemRandom`."""
    drawn: list[str] = []
    real_choice = password.secrets.choice

    def counting_choice(seq: str) -> str:
        char = real_choice(seq)
        drawn.append(char)
        return char

    shuffled: list[int] = []
    real = password.secrets.SystemRandom

    class CountingRandom(real):  # type: ignore[misc,valid-type]
        def shuffle(self, x: list[Any]) -> None:  # type: ignore[override]
            shuffled.append(len(x))
            super().shuffle(x)

    monkeypatch.setattr(password.secrets, "choice", counting_choice)
    monkeypatch.setattr(password.secrets, "SystemRandom", CountingRandom)
    value = password.generate(spec())["password"].decode()
    assert sorted(drawn) == sorted(value) and shuffled == [24]


async def test_large_requests_are_drawn_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[Any] = []
    real = password.asyncio.to_thread

    async def recording(func: Any, /, *args: Any) -> Any:
        # asyncio.to_thread is patched for the whole (session) loop: an operator that an
        # integration test left running may call it meanwhile; count the generator's calls only.
        if getattr(func, "__module__", "") == password.__name__:
            threads.append(func)
        return await real(func, *args)

    monkeypatch.setattr(password.asyncio, "to_thread", recording)
    generator = password.PasswordGenerator()
    small = await generator.generate(spec(), namespace="ns", name="p")
    assert threads == [] and len(small.values["password"]) == 24
    big = await generator.generate(
        spec(length=2048, digits=0, symbols=0, allowRepeat=True), namespace="ns", name="p"
    )
    assert len(threads) == 1 and len(big.values["password"]) == 2048
    with pytest.raises(errors.InvalidSpecError):  # refusals come first, on the loop
        await generator.generate(spec(length=5000), namespace="ns", name="p")
    assert len(threads) == 1
