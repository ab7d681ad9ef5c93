"""Secrets Manager reader logic that LocalStack cannot stage (IAM denial, throttling)."""

from __future__ import annotations

import asyncio
from typing import Any

import botocore.exceptions
import pytest

from asyncso import errors, model
from asyncso.providers import aws_secretsmanager


def client_error(code: str, status: int = 400) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} (RequestId: 1234abcd-5678)"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "op",
    )


class FakeClient:
    """A stand-in for aiobotocore's client: records calls, answers from a dict."""

    def __init__(
        self, values: dict[str, str], *, deny_batch: bool = False, throttle: bool = False
    ) -> None:
        self.values = values
        self.deny_batch = deny_batch
        self.throttle = throttle
        self.calls: list[str] = []

    async def batch_get_secret_value(self, SecretIdList: list[str]) -> dict[str, Any]:
        self.calls.append("BatchGetSecretValue")
        if self.deny_batch:
            raise client_error("AccessDeniedException")
        return {
            "SecretValues": [
                {"Name": i, "ARN": f"arn:{i}", "SecretString": self.values[i]}
                for i in SecretIdList
                if i in self.values
            ],
            "Errors": [
                {"SecretId": i, "ErrorCode": "ResourceNotFoundException", "Message": "gone"}
                for i in SecretIdList
                if i not in self.values
            ],
        }

    async def get_secret_value(self, SecretId: str, **_: Any) -> dict[str, Any]:
        self.calls.append("GetSecretValue")
        if self.throttle:
            raise client_error("ThrottlingException")
        if SecretId not in self.values:
            raise client_error("ResourceNotFoundException")
        return {"Name": SecretId, "SecretString": self.values[SecretId]}


async def test_denied_batch_falls_back_to_single_reads_and_says_so_once() -> None:
    client = FakeClient({"a": "1", "b": "2"}, deny_batch=True)
    reader = aws_secretsmanager.SecretsManager(client, batch_window=0.01)
    got = await asyncio.gather(*(reader.get_secret(model.RemoteRef(key=k)) for k in "ab"))
    assert got == [b"1", b"2"]
    assert client.calls.count("BatchGetSecretValue") == 1
    assert client.calls.count("GetSecretValue") == 2
    await asyncio.gather(*(reader.get_secret(model.RemoteRef(key=k)) for k in "ab"))
    assert client.calls.count("BatchGetSecretValue") == 1  # remembered: never asked again
    assert len(reader.notes) == 1 and "BatchGetSecretValue" in reader.notes[0]


async def test_missing_id_in_a_batch_fails_only_its_caller() -> None:
    reader = aws_secretsmanager.SecretsManager(FakeClient({"a": "1"}), batch_window=0.01)
    a, gone = await asyncio.gather(
        reader.get_secret(model.RemoteRef(key="a")),
        reader.get_secret(model.RemoteRef(key="gone")),
        return_exceptions=True,
    )
    assert a == b"1"
    assert isinstance(gone, errors.RemoteSecretNotFoundError)


async def test_throttling_is_transient_never_not_found() -> None:
    reader = aws_secretsmanager.SecretsManager(FakeClient({"a": "1"}, throttle=True))
    with pytest.raises(errors.ThrottledError) as exc:
        await reader.get_secret(model.RemoteRef(key="a", version="AWSPREVIOUS"))
    assert exc.value.transient
    assert "1234abcd" not in str(exc.value)
