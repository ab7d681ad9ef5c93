"""AWS reader logic that LocalStack cannot stage (IAM denial, throttling, per-id batch errors,
many pages), on the in-memory clients of `aws_fake`."""

from __future__ import annotations

import asyncio

import pytest

from asyncso import errors, freshness, model
from asyncso.providers import aws_errors, aws_fake, aws_parameterstore, aws_secretsmanager


def reader(client: aws_fake.FakeSecretsManagerClient) -> aws_secretsmanager.SecretsManager:
    return aws_secretsmanager.SecretsManager(client, batch_window=0.01)


async def test_denied_batch_falls_back_to_single_reads_and_says_so_once() -> None:
    client = aws_fake.FakeSecretsManagerClient({"a": "1", "b": "2"}, deny_batch=True)
    sm = reader(client)
    got = await asyncio.gather(*(sm.read(model.RemoteRef(key=k)) for k in "ab"))
    assert got == [b"1", b"2"]
    assert client.calls.count("BatchGetSecretValue") == 1
    assert client.calls.count("GetSecretValue") == 2
    await asyncio.gather(*(sm.read(model.RemoteRef(key=k)) for k in "ab"))
    assert client.calls.count("BatchGetSecretValue") == 1  # remembered: never asked again
    assert len(sm.notes) == 1 and "BatchGetSecretValue" in sm.notes[0]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ResourceNotFoundException", errors.RemoteSecretNotFoundError),
        ("ThrottlingException", errors.ThrottledError),
        ("TooManyRequestsException", errors.ThrottledError),
        ("AccessDeniedException", errors.AccessDeniedError),
        ("DecryptionFailure", errors.PermanentError),
    ],
)
async def test_each_id_of_a_batch_fails_alone_mapped_like_a_single_call(
    code: str, error: type[errors.AsyncsoError]
) -> None:
    client = aws_fake.FakeSecretsManagerClient({"a": "1", "b": "2"}, fail={"b": code})
    sm = reader(client)
    a, b = await asyncio.gather(
        sm.read(model.RemoteRef(key="a")), sm.read(model.RemoteRef(key="b")), return_exceptions=True
    )
    assert client.calls == ["BatchGetSecretValue"]
    assert a == b"1"
    assert type(b) is error
    assert "1234abcd" not in str(b)  # request ids are redacted
    single = aws_errors.translate(aws_fake.client_error(code), what="x", key="b")
    assert type(single) is error  # the batch path and the single path agree


async def test_marked_for_deletion_is_not_found_in_a_batch_too() -> None:
    found = aws_errors.from_code(
        "InvalidRequestException", "secret b is marked for deletion", what="x", key="b"
    )
    assert isinstance(found, errors.RemoteSecretNotFoundError)


async def test_throttling_is_transient_never_not_found() -> None:
    sm = reader(aws_fake.FakeSecretsManagerClient({"a": "1"}, fail={"a": "ThrottlingException"}))
    with pytest.raises(errors.ThrottledError) as exc:
        await sm.read(model.RemoteRef(key="a", version="AWSPREVIOUS"))
    assert exc.value.transient
    assert "1234abcd" not in str(exc.value)


async def test_find_follows_every_page_and_filters() -> None:
    values = {f"app/{i:02}": str(i) for i in range(25)} | {"other/x": "x"}
    client = aws_fake.FakeSecretsManagerClient(values, page_size=7)
    found = await reader(client).find(model.Find(name=model.FindName(regexp=r"^app/1")))
    assert found == {f"app/{i}": str(i).encode() for i in range(10, 20)}
    assert client.calls.count("ListSecrets") == 4  # 26 entries, 7 a page


async def test_a_bad_find_regexp_names_the_field_without_bytes() -> None:
    sm = reader(aws_fake.FakeSecretsManagerClient({}))
    with pytest.raises(errors.InvalidSpecError, match=r"^find\.name\.regexp: invalid RE2") as exc:
        await sm.find(model.Find(name=model.FindName(regexp="[")))
    assert "b'" not in str(exc.value)


async def test_metadata_policy_fetch_returns_the_tags_as_json() -> None:
    client = aws_fake.FakeSecretsManagerClient({"a": "1"}, tags={"a": {"team": "x"}})
    got = await reader(client).read(model.RemoteRef(key="a", metadata_policy="Fetch"))
    assert got == b'{"team":"x"}'


async def test_parameter_store_batches_and_pages() -> None:
    values = {f"/p/{i:02}": str(i) for i in range(12)}
    client = aws_fake.FakeSsmClient(values, page_size=5)
    ps = aws_parameterstore.ParameterStore(client, batch_window=0.01)
    got = await asyncio.gather(*(ps.read(model.RemoteRef(key=f"/p/{i:02}")) for i in range(3)))
    assert got == [b"0", b"1", b"2"] and client.calls == ["GetParameters"]
    with pytest.raises(errors.RemoteSecretNotFoundError):
        await ps.read(model.RemoteRef(key="/p/missing"))
    by_path = await ps.find(model.Find(path="/p/"))
    assert by_path == {name: value.encode() for name, value in values.items()}
    assert client.calls.count("GetParametersByPath") == 3


# --- read_cached: a current value held, answered at once -----------------------------------------

WANT = freshness.Want(reader=("ns", "es"), interval=60.0, not_before=0.0)


async def test_secrets_manager_answers_held_current_values_only() -> None:
    client = aws_fake.FakeSecretsManagerClient({"a": "1"})
    sm = reader(client)
    with freshness.wanting(WANT):
        assert sm.read_cached(model.RemoteRef(key="a")) is None
        assert await sm.read(model.RemoteRef(key="a")) == b"1"
        assert sm.read_cached(model.RemoteRef(key="a")) == b"1"
        assert sm.read_cached(model.RemoteRef(key="a", version="AWSCURRENT")) == b"1"
        # Versions other than the current one, and tags, are not held: always read.
        assert sm.read_cached(model.RemoteRef(key="a", version="AWSPREVIOUS")) is None
        assert sm.read_cached(model.RemoteRef(key="a", metadata_policy="Fetch")) is None
    assert client.calls == ["GetSecretValue"]
    await sm.close()


async def test_parameter_store_answers_held_values_only() -> None:
    client = aws_fake.FakeSsmClient({"/p/a": "1"})
    ps = aws_parameterstore.ParameterStore(client, batch_window=0.01)
    with freshness.wanting(WANT):
        assert ps.read_cached(model.RemoteRef(key="/p/a")) is None
        assert await ps.read(model.RemoteRef(key="/p/a")) == b"1"
        assert ps.read_cached(model.RemoteRef(key="/p/a")) == b"1"
        assert ps.read_cached(model.RemoteRef(key="/p/a", metadata_policy="Fetch")) is None
    assert client.calls == ["GetParameters"]
    await ps.close()
