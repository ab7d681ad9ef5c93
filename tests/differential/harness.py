"""Running one template case through the Python engine and the Go oracle, and comparing.

A case is plain data: a template, its data and data kind, the FuncMap ("eso", "test", "none"),
`missingkey`, delimiters. `compare` demands byte-identical output where Go renders, and where
Go fails, a failure in the same phase with the same message (or, for cases marked so, the
same `template: name:line:col:` prefix).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import godata
import testfuncs

from asyncso.templates import go
from asyncso.templates.go import builtins, gotypes
from asyncso.templates.go.functions import FuncMap


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    template: str
    data: Any = None
    kind: str = "strings"
    funcs: str = "eso"
    missingkey: str = "error"
    left: str = ""
    right: str = ""
    #: "exact" (default): same output or same error text; "prefix": same error location only;
    #: "phase": same error phase only; "shape": output matches the regular expression `shape`.
    compare: str = "exact"
    shape: str = ""
    #: The reason the case knowingly differs from Debian's Go 1.23/sprig 3.2.3 (ESO runs Go
    #: 1.26 and sprig 3.3); `expect` is then ESO's behaviour: ("ok", output) or ("error", text).
    divergence: str = ""
    expect: tuple[str, str] | None = None

    def request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "name": self.name_for_go(),
            "template": self.template,
            "dataKind": self.kind,
            "funcs": self.funcs,
            "missingkey": self.missingkey,
        }
        if not _utf8(self.template):
            request["template"] = ""
            request["templateHex"] = self.template.encode("utf-8", "surrogateescape").hex()
        if self.data is not None:
            if self.kind == "strings" and not all(_utf8(v) for v in self.data.values()):
                request["dataKind"] = "typed"
                request["data"] = {"$t": "map[string]string", "v": _hexed(self.data)}
            else:
                request["data"] = _hexed(self.data)
        if self.left or self.right:
            request["left"], request["right"] = self.left, self.right
        return request

    def name_for_go(self) -> str:
        return "key"


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _hexed(data: Any) -> Any:
    """Strings that are not UTF-8 as the oracle's {"$t": "string", "hex": ...}."""
    if isinstance(data, str) and not _utf8(data):
        return {"$t": "string", "hex": data.encode("utf-8", "surrogateescape").hex()}
    if isinstance(data, dict):
        return {k: _hexed(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_hexed(v) for v in data]
    return data


_FUNCS: dict[str, FuncMap] = {}


def funcs(which: str) -> FuncMap:
    if which not in _FUNCS:
        if which == "eso":
            _FUNCS[which] = go.eso_functions()
        elif which == "test":
            _FUNCS[which] = testfuncs.FUNCS
        else:
            _FUNCS[which] = {}
    return _FUNCS[which]


def run_ours(case: Case) -> dict[str, Any]:
    """Our answer in the oracle's shape."""
    data = godata.decode(case.data, case.kind)
    try:
        template = go.parse(
            case.name_for_go(),
            case.template,
            left=case.left or "{{",
            right=case.right or "}}",
            funcs=funcs(case.funcs),
        )
        output = template.execute(data, missing_key=case.missingkey)
    except go.GoTemplateError as exc:
        return {"ok": False, "phase": exc.phase, "error": exc.message}
    return {"ok": True, "output": output}


def _theirs_bytes(answer: dict[str, Any]) -> bytes:
    if answer.get("outputHex"):
        return bytes.fromhex(answer["outputHex"])
    return str(answer["output"]).encode()


#: Go 1.24 added `range` over an integer; ESO runs Go 1.26, the oracle Go 1.23.
_RANGE_OVER_INT = re.compile(r"range can't iterate over -?\d+$")

#: Error texts that changed between the libraries the oracle is built with (Debian's sprig 3.2.3
#: with semver 3.2.0) and those ESO pins (semver 3.4.0): the oracle's text -> ESO's text.
VERSION_REWRITES = [
    ("Invalid Semantic Version", "invalid semantic version"),
    ("Version segment starts with 0", "version segment starts with 0"),
    ("Error parsing version segment", "error parsing version segment"),
]

_LOCATION = re.compile(r"^template: [^:]*:\d+(:\d+)?:")


def compare(case: Case, ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    if case.divergence:
        assert case.expect is not None, case
        status, text = case.expect
        if status == "ok":
            assert ours["ok"], (case, ours)
            assert ours["output"] == text.encode(), (case, ours)
        else:
            assert not ours["ok"], (case, ours)
            assert ours["error"] == text, (case, ours)
        return
    if theirs["ok"]:
        if not ours["ok"] and "output exceeds the limit of" in ours["error"]:
            # Our sandbox stops what Go would print in full: fine when Go's output is as big.
            assert len(_theirs_bytes(theirs)) > go.DEFAULT_LIMITS.max_output_bytes, ours
            return
        if not ours["ok"] and "would exceed the limit of" in ours["error"]:
            # A function asked to build a value larger than the sandbox allows (Go builds it).
            return
        assert ours["ok"], f"Go rendered {theirs!r}; we failed: {ours['error']}"
        expected = _theirs_bytes(theirs)
        if case.compare == "shape":
            assert re.fullmatch(case.shape.encode(), ours["output"], re.S), (ours, expected)
            assert re.fullmatch(case.shape.encode(), expected, re.S), ("oracle", expected)
            return
        assert ours["output"] == expected, f"Go: {expected!r}\nwe: {ours['output']!r}"
        return
    if _RANGE_OVER_INT.search(theirs["error"]):
        return  # Go 1.24+ behaviour, checked by the unit tests of range over integers
    assert not ours["ok"], f"Go failed ({theirs['error']}); we rendered {ours['output']!r}"
    assert ours["phase"] == theirs["phase"], (ours, theirs)
    if case.compare == "phase":
        return
    if case.compare == "prefix":
        want = _LOCATION.match(theirs["error"])
        got = _LOCATION.match(ours["error"])
        assert want is not None and got is not None and want.group(0) == got.group(0), (
            ours,
            theirs,
        )
        return
    mine = ours["error"].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    expected = theirs["error"]
    for old, new in VERSION_REWRITES:
        expected = expected.replace(old, new)
    assert mine == expected, f"\nGo: {theirs['error']}\nwe: {mine}"


__all__ = ["Case", "builtins", "compare", "gotypes", "run_ours"]
