"""`asyncso render`: each failure is one clear line, and referenced objects come from the input.

Why: the command is for users debugging a manifest; a Python traceback (or a 20 s wait) tells them
nothing. These run the CLI in-process, offline (the fake provider, no sockets).
"""

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
  secretStoreRef: {name: fake}
  target:
    template:
      templateFrom:
        - configMap:
            name: tpl
            items: [{key: dsn}]
        - secret:
            name: tpl-secret
            items: [{key: extra}]
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
SOURCES = """
apiVersion: v1
kind: ConfigMap
metadata: {name: tpl}
data:
  dsn: "postgres://{{ .user }}:{{ .pw }}@db"
---
apiVersion: v1
kind: Secret
metadata: {name: tpl-secret}
stringData:
  extra: "{{ .user }}-x"
"""
AWS_STORE = """
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: fake}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: aws-creds, key: id}
          secretAccessKeySecretRef: {name: aws-creds, key: key}
"""


def run(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], **files: str
) -> tuple[int, str]:
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_text(text)
    args = ["render", "-f", str(paths.get("es", tmp_path / "absent.yaml"))]
    if "store" in paths:
        args += ["--store", str(paths["store"])]
    code = cli.main([*args, "--show-values"])
    captured = capsys.readouterr()
    return code, captured.out if code == 0 else captured.err


def test_templatefrom_sources_from_the_input_files(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(tmp_path, capsys, es=ES, store=STORE + "---" + SOURCES)
    assert code == 0, out
    assert yaml.safe_load(out)["stringData"] == {
        "dsn": "postgres://app:s3cr3t@db",
        "extra": "app-x",
    }


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "asyncso render: {tmp}/absent.yaml: cannot read: No such file or directory"),
        (
            {"es": "a: [\n"},
            "asyncso render: {tmp}/es.yaml: invalid YAML: expected the node content, "
            "but found '<stream end>' (line 2, column 1)",
        ),
        (
            {"es": ES, "store": STORE.replace("fake:\n", "aws: {service: Nope}\n    fake:\n")},
            "asyncso render: SecretStore 'fake': Invalid enum value 'Nope' - at "
            "`$.spec.provider.aws.service`",
        ),
        (
            {"es": ES, "store": AWS_STORE.replace("region", "color")},
            "asyncso render: SecretStore 'fake': spec.provider.aws.color is not supported by "
            "asyncso",
        ),
        (
            {"es": ES, "store": AWS_STORE},
            "asyncso render: SecretStore 'fake': Secret team/aws-creds is not in the input "
            "files: add it to them, or pass --kubeconfig",
        ),
        (
            {"es": ES, "store": STORE},
            "asyncso render: ConfigMap team/tpl is not in the input files: add it to them, "
            "or pass --kubeconfig",
        ),
        (
            {"es": ES.replace("extract: {key: db}", "extract: {key: db, nope: 1}"), "store": STORE},
            "asyncso render: ExternalSecret 'demo': spec.dataFrom[0].extract.nope is not "
            "supported by asyncso",
        ),
        (
            {
                "es": ES,
                "store": STORE + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\n"
                "data: {a: '%%%'}\n",
            },
            "asyncso render: Secret 'x': data values must be base64",
        ),
    ],
)
def test_each_failure_is_one_clear_line(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    message: str,
) -> None:
    code, err = run(tmp_path, capsys, **files)
    assert code == 1
    assert one_line(err) == message.format(tmp=tmp_path)


def test_a_configmap_target_previews_as_a_configmap(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    es = ES.replace("  target:\n", "  target:\n    manifest: {apiVersion: v1, kind: ConfigMap}\n")
    code, out = run(tmp_path, capsys, es=es, store=STORE + "---" + SOURCES)
    assert code == 0, out
    doc = yaml.safe_load(out)
    assert (doc["kind"], doc["metadata"]["name"]) == ("ConfigMap", "demo")
    assert doc["data"] == {"dsn": "postgres://app:s3cr3t@db", "extra": "app-x"}
