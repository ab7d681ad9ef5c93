"""Sprig's functions as ESO vendors them (runtime/template/v2/sprig, sprig 3.3.x)."""

from __future__ import annotations

from asyncso.templates.go.functions import FuncMap


def functions() -> FuncMap:
    return {}
