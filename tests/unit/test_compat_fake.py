"""The fake provider as ESO's `providers/v1/fake`: find by name only, latest versions, and the
store's `validationResult`."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from asyncso import errors, model, model_push
from asyncso.providers import fake, fake_push

DATA = [
    {"key": "app/a", "value": "a0"},
    {"key": "app/a", "value": "a2", "version": "v2"},
    {"key": "app/a", "value": "a1", "version": "v1"},
    {"key": "app/b", "value": "b"},
    {"key": "other", "value": "o"},
]


def store(**fake_spec: Any) -> model.SecretStore:
    body = {"metadata": {"name": "s", "namespace": "ns"}, "spec": {"provider": {"fake": fake_spec}}}
    return msgspec.convert(body, model.SecretStore)


def provider(data: list[dict[str, str]] = DATA) -> fake.FakeSecretsProvider:
    return fake.FakeSecretsProvider(store(data=data).spec.provider.fake.data)  # type: ignore[union-attr]


async def test_find_by_name_returns_the_latest_version_of_each_match() -> None:
    found = await provider().find(model.Find(name=model.FindName(regexp="^app/")))
    assert found == {"app/a": b"a2", "app/b": b"b"}


async def test_find_ignores_path_and_tags_as_esos_fake_does() -> None:
    find = model.Find(name=model.FindName(regexp="b$"), path="nowhere/", tags={"env": "x"})
    assert await provider().find(find) == {"app/b": b"b"}


@pytest.mark.parametrize("find", [model.Find(tags={"env": "x"}), model.Find(path="app/")])
async def test_find_without_a_name_is_refused(find: model.Find) -> None:
    with pytest.raises(errors.InvalidSpecError) as caught:
        await provider().find(find)
    assert str(caught.value) == fake.MSG_FIND_BY_NAME


async def test_reads_by_key_and_version() -> None:
    p = provider()
    assert await p.read(model.RemoteRef(key="app/a")) == b"a0"
    assert await p.read(model.RemoteRef(key="app/a", version="v1")) == b"a1"
    with pytest.raises(errors.RemoteSecretNotFoundError):
        await p.read(model.RemoteRef(key="app/a", version="v9"))


@pytest.mark.parametrize(
    ("result", "error", "message"),
    [
        (None, None, ""),
        (0, None, ""),
        (1, errors.ValidationUnknownError, fake.MSG_UNABLE_TO_VALIDATE),
        (2, errors.InvalidSpecError, fake.MSG_UNABLE_TO_VALIDATE),
    ],
)
async def test_validation_result(
    result: int | None, error: type[Exception] | None, message: str
) -> None:
    spec: dict[str, Any] = {"data": [{"key": "k", "value": "v"}]}
    if result is not None:
        spec["validationResult"] = result
    check = fake.FakeProviderFactory().validate(store(**spec))
    if error is None:
        await check
        return
    with pytest.raises(error) as caught:
        await check
    assert str(caught.value) == message


async def test_an_entry_without_a_value_is_refused() -> None:
    with pytest.raises(errors.InvalidSpecError) as caught:
        await fake.FakeProviderFactory().validate(store(data=[{"key": "k", "value": ""}]))
    assert str(caught.value) == "spec.provider.fake.data[0].value: at least one value must be set"


def entry(key: str, remote: str) -> model_push.PushEntry:
    return model_push.PushEntry(
        remote_key=remote,
        property="",
        secret_key=key,
        data={key: b"pushed-" + key.encode()},
        metadata=None,
    )


async def test_pushed_values_are_read_back_as_esos_fake_does() -> None:
    """ESO's fake keeps what a PushSecret pushed and returns it on read and find; an entry of
    the store's spec wins; a store of the same name elsewhere sees none of it."""
    pushers = fake_push.FakePusherFactory()
    readers = fake.FakeProviderFactory(pushed=pushers)
    mine = store(data=[{"key": "other", "value": "o"}])
    pusher = await pushers.pusher_for(mine, namespace="ns")
    results = await pusher.push(
        [entry("a", "app/pushed"), entry("b", "other")], update_policy="Replace", verify=False
    )
    assert results[0] == "created" and isinstance(results[1], errors.AsyncsoError)
    reader = await readers.provider_for(mine, namespace="ns")
    assert await reader.read(model.RemoteRef(key="app/pushed")) == b"pushed-a"
    assert await reader.read(model.RemoteRef(key="other")) == b"o"
    found = await reader.find(model.Find(name=model.FindName(regexp="^app/")))
    assert found == {"app/pushed": b"pushed-a"}
    with pytest.raises(errors.RemoteSecretNotFoundError):
        await reader.read(model.RemoteRef(key="app/pushed", version="v1"))

    elsewhere = msgspec.structs.replace(
        mine, metadata=msgspec.structs.replace(mine.metadata, namespace="tenant-b")
    )
    other_reader = await readers.provider_for(elsewhere, namespace="tenant-b")
    with pytest.raises(errors.RemoteSecretNotFoundError):
        await other_reader.read(model.RemoteRef(key="app/pushed"))
    unlinked = await fake.FakeProviderFactory().provider_for(mine, namespace="ns")
    with pytest.raises(errors.RemoteSecretNotFoundError):
        await unlinked.read(model.RemoteRef(key="app/pushed"))

    await pusher.delete(
        [model_push.RemoteLocation(remote_key="app/pushed", property="")]
    )  # ours really deletes
    gone = await readers.provider_for(mine, namespace="ns")
    with pytest.raises(errors.RemoteSecretNotFoundError):
        await gone.read(model.RemoteRef(key="app/pushed"))
