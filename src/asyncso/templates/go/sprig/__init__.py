"""Sprig's functions as ESO vendors them (runtime/template/v2/sprig: sprig 3.3.x, minus env,
expandenv and getHostByName), each a port of the Go function with its Go signature."""

from __future__ import annotations

import functools

from asyncso.templates.go.functions import FuncMap, GoFunc


@functools.cache
def functions() -> FuncMap:
    """The whole FuncMap (name -> GoFunc)."""
    from asyncso.templates.go.sprig import (
        certs,
        dates,
        defaults,
        encoding,
        lists,
        numeric,
        regex,
        semver,
        text,
        urls,
    )

    funcs: dict[str, GoFunc] = {}
    for module in (text, numeric, lists, defaults, encoding, dates, regex, semver, urls, certs):
        funcs.update(module.registry.funcs)
    return funcs
