"""ESO's own template functions."""

from __future__ import annotations

from asyncso.templates.go.functions import FuncMap


def functions() -> FuncMap:
    return {}
