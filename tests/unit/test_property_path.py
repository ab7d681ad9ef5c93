from __future__ import annotations

import pytest

from asyncso import errors, property_path

DOC = '{"user":"app","db":{"host":"h","port":5432},"list":["a",{"b":true}],"a.b":"literal","n":1.5}'


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("user", b"app"),
        ("db.host", b"h"),
        ("db.port", b"5432"),
        ("db", b'{"host":"h","port":5432}'),
        ("list.0", b"a"),
        ("list.1.b", b"true"),
        ("a.b", b"literal"),  # a dotted key is tried literally first
        ("n", b"1.5"),
    ],
)
def test_select(path: str, want: bytes) -> None:
    assert property_path.select(DOC, path, key="k") == want


def test_escaped_dot() -> None:
    assert property_path.select('{"x":{"a.b":"v"}}', "x.a\\.b", key="k") == b"v"


@pytest.mark.parametrize("path", ["missing", "db.nope", "list.9", "user.x"])
def test_missing_property_is_an_error_not_a_missing_secret(path: str) -> None:
    with pytest.raises(errors.PermanentError) as exc:
        property_path.select(DOC, path, key="k")
    assert not isinstance(exc.value, errors.RemoteSecretNotFoundError)


def test_as_map() -> None:
    assert property_path.as_map('{"a":"x","b":{"c":1}}', key="k") == {"a": b"x", "b": b'{"c":1}'}
    with pytest.raises(errors.PermanentError):
        property_path.as_map('["x"]', key="k")
    with pytest.raises(errors.PermanentError):
        property_path.as_map("not json", key="k")
