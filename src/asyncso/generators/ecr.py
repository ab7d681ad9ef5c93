"""ESO's `ECRAuthorizationToken` generator: registry credentials from `ecr:GetAuthorizationToken`.

Output keys as ESO's: `username`, `password`, `proxy_endpoint` (private registries only) and
`expires_at` (Unix seconds). `scope: public` asks ECR Public (`ecr-public`) instead. The token
lives 12 hours; `Output.expires_at` lets the sync regenerate it before then (`expiry`).
Endpoints: `AWS_ECR_ENDPOINT` / `AWS_ECR_PUBLIC_ENDPOINT` (ESO's), `AWS_ENDPOINT_URL_ECR` /
`AWS_ENDPOINT_URL_ECR_PUBLIC` (botocore's), else `AWS_ENDPOINT_URL` (`aws_auth.endpoint_for`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
from typing import Any

from asyncso import errors, model_generators
from asyncso.generators import aws
from asyncso.providers import aws_reader

KIND = "ECRAuthorizationToken"
CALL = "GetAuthorizationToken"
MSG_COUNT = "unexpected number of authorization tokens. expected 1, found {count}"
MSG_FORMAT = "unexpected token format"


def _epoch(moment: Any) -> float:
    if isinstance(moment, datetime.datetime):
        return moment.timestamp()
    return float(moment)


def _credentials(token: str) -> tuple[bytes, bytes]:
    """`base64("user:password")` → (user, password); the value is never put in a message."""
    try:
        decoded = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        raise errors.PermanentError(MSG_FORMAT) from None
    parts = decoded.split(b":")
    if len(parts) != 2:
        raise errors.PermanentError(MSG_FORMAT)
    return parts[0], parts[1]


def private_output(answer: dict[str, Any]) -> model_generators.Output:
    """ESO's keys from a private registry's `GetAuthorizationToken` answer."""
    data = answer.get("authorizationData") or []
    if len(data) != 1:
        raise errors.PermanentError(MSG_COUNT.format(count=len(data)))
    username, password = _credentials(data[0]["authorizationToken"])
    expires_at = _epoch(data[0]["expiresAt"])
    return model_generators.Output(
        values={
            "username": username,
            "password": password,
            "proxy_endpoint": str(data[0].get("proxyEndpoint", "")).encode(),
            "expires_at": str(int(expires_at)).encode(),
        },
        expires_at=expires_at,
    )


def public_output(answer: dict[str, Any]) -> model_generators.Output:
    """ESO's keys from ECR Public's answer (one token, no proxy endpoint)."""
    data = answer.get("authorizationData") or {}
    username, password = _credentials(data.get("authorizationToken", ""))
    expires_at = _epoch(data["expiresAt"])
    return model_generators.Output(
        values={
            "username": username,
            "password": password,
            "expires_at": str(int(expires_at)).encode(),
        },
        expires_at=expires_at,
    )


class EcrAuthorizationTokenGenerator:
    """`ports.Generator` for `ECRAuthorizationToken`: stateless, expires."""

    kind = KIND
    spec_type: type[Any] = model_generators.ECRAuthorizationTokenSpec

    def __init__(self, clients: aws.AwsClients) -> None:
        self.clients = clients

    async def generate(self, spec: Any, *, namespace: str, name: str) -> model_generators.Output:
        identity = aws.identity(KIND, spec, name=name, namespace=namespace)
        if spec.scope == "public":
            public: aws.EcrClient = await self.clients.client_for(identity, "ecr-public")
            answer = await aws_reader.metered(
                public.get_authorization_token,
                provider="AWS/ECRPublic",
                call=CALL,
                what=f"ecr-public:{CALL}",
            )
            return public_output(answer)
        private: aws.EcrClient = await self.clients.client_for(identity, "ecr")
        answer = await aws_reader.metered(
            private.get_authorization_token, provider="AWS/ECR", call=CALL, what=f"ecr:{CALL}"
        )
        return private_output(answer)

    async def cleanup(self, spec: Any, state: Any, *, namespace: str) -> None:
        return None
