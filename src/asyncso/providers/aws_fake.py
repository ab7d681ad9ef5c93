"""In-memory AWS clients behind `aws_client`'s Protocols, for unit tests of the AWS providers.

Why beside the Protocols: what LocalStack cannot stage on demand — IAM denying the batch call,
throttling, per-id batch errors, many pages — is staged here, and the providers' logic above the
client (batching, fallbacks, pagination, error mapping) is tested without a network. They raise
botocore's own `ClientError`, as aiobotocore does. Integration tests still use LocalStack.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions


def client_error(
    code: str, status: int = 400, message: str = ""
) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": message or f"{code} (RequestId: 1234abcd-5678)"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "op",
    )


def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    start = int(token or 0)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


class FakeSecretsManagerClient:
    """Secrets by name (current versions only), tags by name; `calls` records API names.

    `deny_batch` makes BatchGetSecretValue AccessDenied; `fail` maps a secret name to the error
    code its reads (single or batched) fail with; `page_size` splits ListSecrets into pages.
    """

    def __init__(
        self,
        values: dict[str, str],
        *,
        tags: dict[str, dict[str, str]] | None = None,
        deny_batch: bool = False,
        fail: dict[str, str] | None = None,
        page_size: int = 100,
    ) -> None:
        self.values = values
        self.tags = tags or {}
        self.deny_batch = deny_batch
        self.fail = fail or {}
        self.page_size = page_size
        self.calls: list[str] = []

    async def batch_get_secret_value(self, **params: Any) -> dict[str, Any]:
        self.calls.append("BatchGetSecretValue")
        if self.deny_batch:
            raise client_error("AccessDeniedException")
        ids: list[str] = params["SecretIdList"]
        found = [i for i in ids if i in self.values and i not in self.fail]
        return {
            "SecretValues": [
                {"Name": i, "ARN": f"arn:{i}", "SecretString": self.values[i]} for i in found
            ],
            "Errors": [
                {
                    "SecretId": i,
                    "ErrorCode": self.fail.get(i, "ResourceNotFoundException"),
                    "Message": f"{i}: failed (RequestId: 1234abcd-5678)",
                }
                for i in ids
                if i not in found
            ],
        }

    async def get_secret_value(self, **params: Any) -> dict[str, Any]:
        self.calls.append("GetSecretValue")
        name: str = params["SecretId"]
        if name in self.fail:
            raise client_error(self.fail[name])
        if name not in self.values:
            raise client_error("ResourceNotFoundException")
        return {"Name": name, "SecretString": self.values[name]}

    async def describe_secret(self, **params: Any) -> dict[str, Any]:
        self.calls.append("DescribeSecret")
        name: str = params["SecretId"]
        if name not in self.values:
            raise client_error("ResourceNotFoundException")
        tags = self.tags.get(name, {})
        return {"Name": name, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}

    async def list_secrets(self, **params: Any) -> dict[str, Any]:
        self.calls.append("ListSecrets")
        entries = [
            {"Name": n, "Tags": [{"Key": k, "Value": v} for k, v in self.tags.get(n, {}).items()]}
            for n in sorted(self.values)
        ]
        page, token = _page(entries, params.get("NextToken"), self.page_size)
        return {"SecretList": page, **({"NextToken": token} if token else {})}


class FakeSsmClient:
    """Parameters by name (one version each); `page_size` splits the listings into pages."""

    def __init__(self, values: dict[str, str], *, page_size: int = 10) -> None:
        self.values = values
        self.page_size = page_size
        self.calls: list[str] = []

    def _parameter(self, name: str) -> dict[str, Any]:
        return {"Name": name, "Value": self.values[name], "Version": 1}

    async def get_parameters(self, **params: Any) -> dict[str, Any]:
        self.calls.append("GetParameters")
        names: list[str] = params["Names"]
        return {
            "Parameters": [self._parameter(n) for n in names if n in self.values],
            "InvalidParameters": [n for n in names if n not in self.values],
        }

    async def get_parameters_by_path(self, **params: Any) -> dict[str, Any]:
        self.calls.append("GetParametersByPath")
        path: str = params["Path"]
        under = [self._parameter(n) for n in sorted(self.values) if n.startswith(path)]
        page, token = _page(under, params.get("NextToken"), self.page_size)
        return {"Parameters": page, **({"NextToken": token} if token else {})}

    async def describe_parameters(self, **params: Any) -> dict[str, Any]:
        self.calls.append("DescribeParameters")
        metas = [{"Name": n} for n in sorted(self.values)]
        page, token = _page(metas, params.get("NextToken"), self.page_size)
        return {"Parameters": page, **({"NextToken": token} if token else {})}

    async def list_tags_for_resource(self, **params: Any) -> dict[str, Any]:
        self.calls.append("ListTagsForResource")
        return {"TagList": []}
