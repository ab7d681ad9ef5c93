"""The AWS pushers on in-memory clients: call counts, the managed-by refusal, property merges,
metadata, deletes, batched comparisons and a failed write leaving the secret as it was."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asyncso import errors, model, model_push
from asyncso.providers import (
    aws_parameterstore,
    aws_parameterstore_push,
    aws_push_fake,
    aws_push_metadata,
    aws_secretsmanager,
    aws_secretsmanager_push,
    aws_writer,
)
from asyncso.providers.aws_push_fake import FakeParameter, FakeSecret

MANAGED = {"managed-by": "external-secrets"}
META = {"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata"}


def sm(
    client: aws_push_fake.FakeSecretsManager, **kw: Any
) -> aws_secretsmanager_push.SecretsManagerPusher:
    reader = aws_secretsmanager.SecretsManager(client, batch_window=0.005)
    shared = aws_writer.Shared(reader, window=0.005)
    return aws_secretsmanager_push.SecretsManagerPusher(reader, shared=shared, **kw)


def ssm(client: aws_push_fake.FakeParameterStore) -> aws_parameterstore_push.ParameterStorePusher:
    reader = aws_parameterstore.ParameterStore(client, batch_window=0.005)
    shared = aws_writer.Shared(reader, window=0.005)
    return aws_parameterstore_push.ParameterStorePusher(reader, shared=shared)


def entry(
    remote: str, key: str = "k", prop: str = "", metadata: Any = None, **data: bytes
) -> model_push.PushEntry:
    return model_push.PushEntry(remote, prop, key, data or {"k": b"v1"}, metadata)


async def push(
    pusher: Any, *entries: model_push.PushEntry, policy: str = "Replace", verify: bool = False
) -> list[Any]:
    return await pusher.push(list(entries), update_policy=policy, verify=verify)  # type: ignore[no-any-return]


# --- Secrets Manager ---------------------------------------------------------------------------


async def test_create_then_no_write_while_unchanged_then_update_on_change() -> None:
    client = aws_push_fake.FakeSecretsManager()
    pusher = sm(client)
    assert await push(pusher, entry("db")) == ["created"]
    created = client.secrets["db"]
    assert (created.value, created.string, created.tags) == (b"v1", False, MANAGED)
    assert created.description == "secret 'managed-by:external-secrets'"
    assert created.kms_key_id == "alias/aws/secretsmanager"
    client.calls.clear()
    assert await push(pusher, entry("db")) == ["unchanged"]
    assert client.calls == ["GetSecretValue"]  # one read, no write
    client.calls.clear()
    assert await push(pusher, entry("db", k=b"v2")) == ["updated"]
    assert client.writes() == ["DeleteResourcePolicy", "PutSecretValue"]
    assert client.secrets["db"].value == b"v2"


async def test_an_unmanaged_secret_is_never_overwritten_nor_deleted() -> None:
    client = aws_push_fake.FakeSecretsManager()
    client.secrets["theirs"] = FakeSecret(b"original", tags={"owner": "team"})
    pusher = sm(client)
    (result,) = await push(pusher, entry("theirs"))
    assert isinstance(result, errors.PermanentError)
    assert "secret not managed by external-secrets" in str(result)
    assert "v1" not in str(result) and "original" not in str(result)
    assert client.writes() == []
    assert await pusher.delete([model_push.RemoteLocation("theirs")]) == [None]
    assert client.secrets["theirs"].value == b"original" and client.writes() == []


async def test_same_value_unmanaged_is_refused_when_the_spec_is_new() -> None:
    client = aws_push_fake.FakeSecretsManager()
    client.secrets["theirs"] = FakeSecret(b"v1")
    assert await push(sm(client), entry("theirs")) == ["unchanged"]
    (result,) = await push(sm(client), entry("theirs"), verify=True)
    assert isinstance(result, errors.PermanentError)


async def test_if_not_exists_only_reads() -> None:
    client = aws_push_fake.FakeSecretsManager()
    client.secrets["db"] = FakeSecret(b"there", tags={})
    assert await push(sm(client), entry("db"), policy="IfNotExists") == ["exists"]
    assert client.calls == ["GetSecretValue"] and client.secrets["db"].value == b"there"


async def test_properties_merge_into_json_and_delete_one_key() -> None:
    client = aws_push_fake.FakeSecretsManager()
    client.secrets["app"] = FakeSecret(b'{"keep":"me"}', tags=dict(MANAGED))
    pusher = sm(client)
    results = await push(
        pusher,
        entry("app", "u", "user", u=b"alice"),
        entry("app", "p", "pass", p=b"s3cret"),
    )
    assert results == ["updated", "updated"]
    assert client.secrets["app"].value == b'{"keep":"me","user":"alice","pass":"s3cret"}'
    assert client.calls.count("PutSecretValue") == 1  # both properties in one write
    await pusher.delete([model_push.RemoteLocation("app", "user")])
    assert client.secrets["app"].value == b'{"keep":"me","pass":"s3cret"}'
    await pusher.delete(
        [model_push.RemoteLocation("app", "keep"), model_push.RemoteLocation("app", "pass")]
    )
    assert "app" not in client.secrets  # no key left: the secret goes


async def test_a_property_needs_a_json_secret_and_leaves_it_alone_otherwise() -> None:
    client = aws_push_fake.FakeSecretsManager()
    client.secrets["plain"] = FakeSecret(b"not json", tags=dict(MANAGED))
    (result,) = await push(sm(client), entry("plain", prop="p"))
    assert isinstance(result, errors.PermanentError) and "JSON object" in str(result)
    assert client.secrets["plain"].value == b"not json" and client.writes() == []


async def test_concurrent_properties_of_one_secret_do_not_lose_each_other() -> None:
    client = aws_push_fake.FakeSecretsManager()
    pusher = sm(client)
    await asyncio.gather(
        *(push(pusher, entry("shared", "k", f"p{i}", k=str(i).encode())) for i in range(5))
    )
    value = client.secrets["shared"].value or b""
    assert all(f'"p{i}":"{i}"'.encode() in value for i in range(5))


async def test_a_failed_write_leaves_the_secret_as_it_was() -> None:
    client = aws_push_fake.FakeSecretsManager()
    client.secrets["db"] = FakeSecret(b"old", tags=dict(MANAGED))
    client.fail["PutSecretValue"] = "InternalServiceError"
    (result,) = await push(sm(client), entry("db"))
    assert isinstance(result, errors.AsyncsoError)
    assert client.secrets["db"].value == b"old"


async def test_unchanged_pushes_of_many_secrets_share_batched_reads() -> None:
    client = aws_push_fake.FakeSecretsManager()
    for i in range(45):
        client.secrets[f"s{i}"] = FakeSecret(b"v1", tags=dict(MANAGED))
    pusher = sm(client)
    results = await asyncio.gather(*(push(pusher, entry(f"s{i}")) for i in range(45)))
    assert {r[0] for r in results} == {"unchanged"}
    assert client.calls == ["BatchGetSecretValue"] * 3  # 20 + 20 + 5, no write


async def test_metadata_string_format_tags_and_policy() -> None:
    client = aws_push_fake.FakeSecretsManager()

    class Kube:
        async def get_config_map(self, namespace: str, name: str, *, field: str = "") -> Any:
            assert (namespace, name) == ("team", "policies")
            return model.ConfigMap(metadata=model.ObjectMeta(), data={"p": '{"Version": "1"}'})

    pusher = sm(client, kube=Kube(), namespace="team")
    meta = {
        **META,
        "spec": {
            "secretPushFormat": "string",
            "tags": {"team": "a"},
            "description": "d",
            "resourcePolicy": {
                "policySourceRef": {"kind": "ConfigMap", "name": "policies", "key": "p"}
            },
        },
    }
    assert await push(pusher, entry("db", metadata=meta)) == ["created"]
    secret = client.secrets["db"]
    assert (secret.string, secret.tags, secret.description) == (True, {**MANAGED, "team": "a"}, "d")
    assert secret.policy == '{"Version": "1"}'
    meta["spec"]["tags"] = {"team": "b"}  # type: ignore[index]
    client.secrets["db"].tags["stray"] = "x"
    client.calls.clear()
    assert await push(pusher, entry("db", metadata=meta), verify=True) == ["unchanged"]
    assert client.secrets["db"].tags == {**MANAGED, "team": "b"}
    assert "PutSecretValue" not in client.calls and "PutResourcePolicy" not in client.calls


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"tags": {"managed-by": "me"}}, "Cannot specify a 'managed-by' tag"),
        ({"secretPushFormat": "yaml"}, "invalid secret push format"),
        ({"nope": 1}, "failed to parse"),
    ],
)
async def test_bad_metadata_fails_before_any_call(spec: dict[str, Any], message: str) -> None:
    client = aws_push_fake.FakeSecretsManager()
    (result,) = await push(sm(client), entry("db", metadata={**META, "spec": spec}))
    assert isinstance(result, errors.InvalidSpecError) and message in str(result)
    assert client.calls == []


async def test_delete_uses_the_store_options() -> None:
    client = aws_push_fake.FakeSecretsManager()
    client.secrets["db"] = FakeSecret(b"v", tags=dict(MANAGED))
    options = model.SecretsManagerOptions(force_delete_without_recovery=True)
    assert await sm(client, options=options).delete([model_push.RemoteLocation("db")]) == [None]
    assert "db" not in client.secrets
    assert await sm(client).delete([model_push.RemoteLocation("db")]) == [None]  # absent: fine


# --- Parameter Store ---------------------------------------------------------------------------


async def test_parameter_store_create_unchanged_update_and_refusal() -> None:
    client = aws_push_fake.FakeParameterStore()
    pusher = ssm(client)
    meta = {**META, "spec": {"secretType": "SecureString", "tags": {"t": "1"}}}
    assert await push(pusher, entry("/app/db", metadata=meta)) == ["created"]
    created = client.parameters["/app/db"]
    assert (created.value, created.type, created.tags) == (
        "v1",
        "SecureString",
        {**MANAGED, "t": "1"},
    )
    assert created.extra == {"KeyId": "alias/aws/ssm"}
    client.calls.clear()
    assert await push(pusher, entry("/app/db", metadata=meta)) == ["unchanged"]
    assert client.calls == ["GetParameters"]
    assert await push(pusher, entry("/app/db", metadata=meta, k=b"v2")) == ["updated"]
    assert client.parameters["/app/db"].value == "v2"
    client.parameters["/theirs"] = FakeParameter("x")
    (result,) = await push(pusher, entry("/theirs"))
    assert isinstance(result, errors.PermanentError) and client.parameters["/theirs"].value == "x"


async def test_parameter_store_whole_secret_is_base64_unless_decoded() -> None:
    client = aws_push_fake.FakeParameterStore()
    pusher = ssm(client)
    await push(pusher, entry("/b64", key="", a=b"1"))
    assert client.parameters["/b64"].value == '{"a":"MQ=="}'
    decoded = {**META, "spec": {"encodeAsDecoded": True}}
    await push(pusher, entry("/text", key="", metadata=decoded, a=b"1"))
    assert client.parameters["/text"].value == '{"a":"1"}'


async def test_parameter_store_delete_only_what_is_ours() -> None:
    client = aws_push_fake.FakeParameterStore()
    client.parameters["/ours"] = FakeParameter("v", tags=dict(MANAGED))
    client.parameters["/theirs"] = FakeParameter("v")
    pusher = ssm(client)
    await pusher.delete([model_push.RemoteLocation("/ours"), model_push.RemoteLocation("/theirs")])
    assert set(client.parameters) == {"/theirs"}


def test_tag_changes_removes_extra_keys_and_rewrites_only_on_a_differing_value() -> None:
    wanted = {"team": "a", aws_push_metadata.MANAGED_BY: aws_push_metadata.EXTERNAL_SECRETS}
    current = {"team": "a", "old": "x", "zeta": "y"}
    assert aws_push_metadata.tag_changes(current, wanted) == (["old", "zeta"], False)
    assert aws_push_metadata.tag_changes({"team": "b"}, wanted) == ([], True)
    assert aws_push_metadata.tag_changes({}, {"team": "a"}) == ([], True)


def test_tag_list_is_sorted_by_key_and_tag_map_reads_it_back() -> None:
    listed = aws_push_metadata.tag_list({"b": "2", "a": "1"})
    assert listed == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert aws_push_metadata.tag_map(listed) == {"a": "1", "b": "2"}
    assert aws_push_metadata.tag_map(None) == {}
