"""`make demo`'s program, start to finish (its own bench), in --once mode."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_demo_syncs_the_examples() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    for name in ("AWS_ENDPOINT_URL", "KUBECONFIG"):  # the demo brings its own servers
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "devenv", "demo", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "DATABASE_URL: postgres://app:s3cr3t-from-localstack@db.internal:5432/app" in out
    assert "Secret demo/db-password (synced by asyncso):\n  password: s3cr3t-from-localstack" in out
    assert "Secret demo/db-all (synced by asyncso):" in out
    # examples/pushsecret.yaml: pushed to LocalStack by a PushSecret, read back.
    assert (
        "Secret demo/api-token-roundtrip (synced by asyncso):\n  token: made-in-the-cluster" in out
    )
    # the Jinja example (engineVersion: jinja) beside the Go one
    assert "Secret demo/db-config (synced by asyncso):\n  config.ini: [db]\n" in out
    assert "host = db.internal\nuser = APP\n" in out
