from __future__ import annotations

import pathlib

import pytest
import yaml

from asyncso import cli

ES = """
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: demo, namespace: team}
spec:
  secretStoreRef: {name: fake, kind: SecretStore}
  target:
    template:
      type: kubernetes.io/basic-auth
      data:
        username: "{{ .user }}"
        dsn: "postgres://{{ .user }}:{{ .pw }}@db"
  dataFrom:
    - extract: {key: db}
"""
STORE = """
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: fake}
spec:
  provider:
    fake:
      data:
        - {key: db, value: '{"user":"app","pw":"s3cr3t"}'}
"""


@pytest.fixture
def files(tmp_path: pathlib.Path) -> tuple[str, str]:
    (tmp_path / "es.yaml").write_text(ES)
    (tmp_path / "store.yaml").write_text(STORE)
    return str(tmp_path / "es.yaml"), str(tmp_path / "store.yaml")


def test_render_masks_values_by_default(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    es, store = files
    assert cli.main(["render", "-f", es, "--store", store]) == 0
    out = capsys.readouterr().out
    assert "s3cr3t" not in out
    doc = yaml.safe_load(out)
    assert doc["type"] == "kubernetes.io/basic-auth"
    assert doc["metadata"]["namespace"] == "team"
    assert doc["data (masked; --show-values to see them)"] == {
        "dsn": "<24 bytes>",
        "username": "<3 bytes>",
    }


def test_render_shows_values_on_request(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    es, store = files
    assert cli.main(["render", "-f", es, "--store", store, "--show-values"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["stringData"] == {"dsn": "postgres://app:s3cr3t@db", "username": "app"}


def test_render_reports_errors_without_a_traceback(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    es, _ = files
    assert cli.main(["render", "-f", es]) == 1
    assert "--store" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("engine", "template", "flags"),
    [
        ("v2", "{{ .user }}@{{ .pw | upper }}", []),
        ("v2", "<< .user >>@<< .pw | upper >>", ["--template-left-delimiter", "<<"]),
        ("jinja", "{{ user }}@{{ pw | upper }}", []),
    ],
)
def test_render_uses_the_engine_and_the_delimiters(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    engine: str,
    template: str,
    flags: list[str],
) -> None:
    doc = yaml.safe_load(ES)
    doc["spec"]["target"]["template"] = {"engineVersion": engine, "data": {"out": template}}
    (tmp_path / "es.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "store.yaml").write_text(STORE)
    args = ["render", "-f", str(tmp_path / "es.yaml"), "--store", str(tmp_path / "store.yaml")]
    if flags:
        flags = [*flags, "--template-right-delimiter", ">>"]
    assert cli.main([*args, "--show-values", *flags]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["stringData"] == {"out": "app@S3CR3T"}
