from __future__ import annotations

import subprocess
import sys

import pytest

from asyncso import __version__, cli


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"asyncso {__version__}"
    assert __version__ != "0.0.0+unknown"


def test_console_script_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "asyncso.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "usage: asyncso" in out
    assert "external-secrets.io/v1" in out


@pytest.mark.parametrize(
    ("argv", "want"),
    [
        ([], False),
        (["--enable-leader-election"], True),
        (["--enable-leader-election=true"], True),
        (["--enable-leader-election=false"], False),
        (["--enable-leader-election", "--no-enable-leader-election"], False),
    ],
)
def test_go_style_boolean_flags(argv: list[str], want: bool) -> None:
    args = cli.build_parser().parse_args(["run", *argv])
    assert cli.settings_from(args).enable_leader_election is want


def test_run_flags_become_settings() -> None:
    args = cli.build_parser().parse_args(
        [
            "run",
            "--concurrent",
            "3",
            "--namespace",
            "team",
            "--controller-class",
            "x",
            "--no-enable-cluster-store-reconciler",
            "--lease-duration",
            "20",
        ]
    )
    got = cli.settings_from(args)
    assert (got.concurrent, got.namespace, got.controller_class) == (3, "team", "x")
    assert got.enable_cluster_store_reconciler is False and got.lease_duration == 20.0
