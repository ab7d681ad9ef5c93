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
