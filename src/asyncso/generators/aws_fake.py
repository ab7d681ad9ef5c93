"""In-memory AWS clients for the ECR and STS generators (`aws.EcrClient`, `aws.StsClient`).

Why: fast, cluster-free tests of what the emulators cannot show — ECR Public (served by neither
LocalStack nor moto), tokens that expire at chosen times, failures. On the bench, ECR runs
against moto's server and STS against LocalStack (the integration tests).
They answer as aiobotocore does (datetimes, botocore's `ClientError`).
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

import botocore.exceptions

from asyncso.providers import aws_auth

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class FakeEcrClient:
    """ECR (or ECR Public, `public=True`): one token per call, 12 hours from `now`."""

    def __init__(
        self,
        *,
        public: bool = False,
        user: str = "AWS",
        password: str = "ecr-password-1",  # noqa: S107 (a fake)
        endpoint: str = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        now: datetime.datetime = T0,
        fail: botocore.exceptions.ClientError | None = None,
    ) -> None:
        self.public = public
        self.user = user
        self.password = password
        self.endpoint = endpoint
        self.now = now
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    async def get_authorization_token(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if self.fail is not None:
            raise self.fail
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        data: dict[str, Any] = {
            "authorizationToken": token,
            "expiresAt": self.now + datetime.timedelta(hours=12),
        }
        if self.public:
            return {"authorizationData": data}
        return {"authorizationData": [{**data, "proxyEndpoint": self.endpoint}]}


class FakeStsClient:
    """GetSessionToken: fixed credentials valid for `DurationSeconds` (default 12 hours)."""

    def __init__(
        self, *, now: datetime.datetime = T0, fail: botocore.exceptions.ClientError | None = None
    ) -> None:
        self.now = now
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    async def get_session_token(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if self.fail is not None:
            raise self.fail
        seconds = params.get("DurationSeconds", 43200)
        return {
            "Credentials": {
                "AccessKeyId": "ASIAFAKE",
                "SecretAccessKey": "fake-secret",
                "SessionToken": "fake-session",
                "Expiration": self.now + datetime.timedelta(seconds=seconds),
            }
        }


class FakeAwsClients:
    """`aws.AwsClients`: hands out the given client per service and records who asked."""

    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients
        self.asked: list[tuple[aws_auth.Identity, str]] = []

    async def client_for(self, identity: aws_auth.Identity, service: str) -> Any:
        self.asked.append((identity, service))
        return self.clients[service]
