"""`asyncso render` against the real LocalStack: credentials from the input files, failures fast
and in one line."""

from __future__ import annotations

import asyncio
import pathlib
import uuid
from typing import Any

import pytest
import yaml
from test_secretsmanager import aws

from asyncso import cli
from asyncso.providers import aws_auth

__all__ = ["aws"]  # fixture, shared with test_secretsmanager

STORE = """
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: aws-creds, key: id}
          secretAccessKeySecretRef: {name: aws-creds, key: key}
---
apiVersion: v1
kind: Secret
metadata: {name: aws-creds}
stringData: {id: test, key: test}
"""


def es(key: str) -> str:
    return f"""
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: db}}
spec:
  secretStoreRef: {{name: aws}}
  data:
    - secretKey: pw
      remoteRef: {{key: {key}, property: password}}
"""


def render(tmp_path: pathlib.Path, es_text: str) -> list[str]:
    (tmp_path / "es.yaml").write_text(es_text)
    (tmp_path / "store.yaml").write_text(STORE)
    return ["render", "-f", str(tmp_path / "es.yaml"), "--store", str(tmp_path / "store.yaml")]


async def test_credentials_secret_from_the_input_files(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], aws: dict[str, Any]
) -> None:
    name = f"render/{uuid.uuid4().hex[:8]}"
    await aws["sm"].create_secret(Name=name, SecretString='{"password":"pw-1"}')
    # cli.main runs its own event loop: run it in a thread, away from the test's loop.
    code = await asyncio.to_thread(cli.main, [*render(tmp_path, es(name)), "--show-values"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert yaml.safe_load(captured.out)["stringData"] == {"pw": "pw-1"}


def test_an_unreachable_endpoint_fails_in_one_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert cli.main(render(tmp_path, es("any"))) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("asyncso render: secretsmanager:GetSecretValue: ")
    assert "Could not connect to the endpoint URL" in err


def test_previews_use_one_short_attempt() -> None:
    config = aws_auth.client_config(5.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (config.connect_timeout, config.read_timeout) == (5.0, 5.0)
