"""ESO's `STSSessionToken` generator: temporary credentials from `sts:GetSessionToken`.

Output keys as ESO's code writes them: `access_key_id`, `secret_access_key`, `session_token`
and `expiration` (Unix seconds). `requestParameters` pass `DurationSeconds`, `SerialNumber` and
`TokenCode` through. As in ESO, `auth.jwt` is refused (AWS does not issue session tokens to
web-identity sessions). The sync regenerates the credentials before they expire (`expiry`).
"""

from __future__ import annotations

import datetime
from typing import Any

from asyncso import errors, model_generators
from asyncso.generators import aws
from asyncso.providers import aws_reader

KIND = "STSSessionToken"
CALL = "GetSessionToken"
MSG_JWT = "jwt auth cannot be used for STS Session Token generation"
MSG_NO_CREDENTIALS = "no credentials found"


def request(spec: model_generators.STSSessionTokenSpec) -> dict[str, Any]:
    """The GetSessionToken parameters from `requestParameters` (only those set)."""
    params: dict[str, Any] = {}
    given = spec.request_parameters
    if given is not None:
        if given.session_duration is not None:
            params["DurationSeconds"] = given.session_duration
        if given.serial_number is not None:
            params["SerialNumber"] = given.serial_number
        if given.token_code is not None:
            params["TokenCode"] = given.token_code
    return params


def output(answer: dict[str, Any]) -> model_generators.Output:
    credentials = answer.get("Credentials")
    if not credentials:
        raise errors.PermanentError(MSG_NO_CREDENTIALS)
    expiration = credentials["Expiration"]
    expires_at = (
        expiration.timestamp() if isinstance(expiration, datetime.datetime) else float(expiration)
    )
    return model_generators.Output(
        values={
            "access_key_id": credentials["AccessKeyId"].encode(),
            "expiration": str(int(expires_at)).encode(),
            "secret_access_key": credentials["SecretAccessKey"].encode(),
            "session_token": credentials["SessionToken"].encode(),
        },
        expires_at=expires_at,
    )


class StsSessionTokenGenerator:
    """`ports.Generator` for `STSSessionToken`: stateless, expires."""

    kind = KIND
    spec_type: type[Any] = model_generators.STSSessionTokenSpec

    def __init__(self, clients: aws.AwsClients) -> None:
        self.clients = clients

    async def generate(self, spec: Any, *, namespace: str, name: str) -> model_generators.Output:
        if spec.auth is not None and spec.auth.jwt is not None:
            raise errors.InvalidSpecError(f"{aws.AT}.auth.jwt: {MSG_JWT}")
        identity = aws.identity(KIND, spec, name=name, namespace=namespace)
        client: aws.StsClient = await self.clients.client_for(identity, "sts")
        answer = await aws_reader.metered(
            client.get_session_token,
            provider="AWS/STS",
            call=CALL,
            what=f"sts:{CALL}",
            **request(spec),
        )
        return output(answer)

    async def cleanup(self, spec: Any, state: Any, *, namespace: str) -> None:
        return None
