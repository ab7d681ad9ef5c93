"""Masterminds/semver v3.4.0 (ESO's pin) for sprig's `semver` and `semverCompare`.

Why a port: version coercion ("1.2" is 1.2.0, "v1" is 1.0.0), constraint syntax (`^1.2`,
`~1.2.x`, `>= 1, < 2 || 3.x`, hyphen ranges) and the error texts are the library's own; the
regular expressions run on RE2 as Go's do. A parsed version is a `*semver.Version` whose methods
(`.Major`, `.Compare`, ...) templates may call.
"""

from __future__ import annotations

from typing import Any, ClassVar

from asyncso.templates.go import gotypes
from asyncso.templates.go.functions import STRING, GoError, Registry
from asyncso.templates.go.gotypes import GoObject, GoType, Kind, Method
from asyncso.templates.go.sprig import regex as goregex

registry = Registry()

VERSION_STRUCT = GoType(Kind.STRUCT, "semver.Version")
VERSION = gotypes.pointer_type(VERSION_STRUCT)

_LOOSE = (
    r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_CV = (
    r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"

_NUM = "0123456789"
_ALLOWED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-" + _NUM


def _re(pattern: str) -> Any:
    return goregex.compile_go(pattern)


def _submatch(pattern: str, text: str) -> list[str] | None:
    compiled = _re(pattern)
    data = gotypes.to_bytes(text)
    match = compiled.regex.search(data, 0)
    if match is None:
        return None
    groups = []
    for index in range(compiled.regex.groups + 1):
        start, end = match.span(index)
        groups.append("" if start < 0 else gotypes.from_bytes(data[start:end]))
    return groups


def _only(text: str, allowed: str) -> bool:
    return all(ch in allowed for ch in text)


def _parse_uint(text: str) -> int:
    value = int(text)
    if value >= 1 << 64:
        raise GoError(
            f'error parsing version segment: strconv.ParseUint: parsing "{text}": '
            "value out of range"
        )
    return value


def _validate_prerelease(pre: str) -> None:
    for part in pre.split("."):
        if part == "":
            raise GoError("invalid prerelease string")
        if _only(part, _NUM):
            if len(part) > 1 and part[0] == "0":
                raise GoError("version segment starts with 0")
        elif not _only(part, _ALLOWED):
            raise GoError("invalid prerelease string")


def _validate_metadata(meta: str) -> None:
    for part in meta.split("."):
        if part == "" or not _only(part, _ALLOWED):
            raise GoError("invalid metadata string")


class Version(GoObject):
    """A *semver.Version."""

    gotype: ClassVar[GoType] = VERSION
    go_field_names: ClassVar[frozenset[str]] = frozenset(
        {"major", "minor", "patch", "pre", "metadata", "original"}
    )

    def __init__(
        self, major: int, minor: int, patch: int, pre: str, metadata: str, original: str
    ) -> None:
        self.major, self.minor, self.patch = major, minor, patch
        self.pre, self.metadata, self.original = pre, metadata, original

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return id(self)

    def go_string(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + self.pre
        if self.metadata:
            text += "+" + self.metadata
        return text

    def marshal_json(self) -> str:
        from asyncso.templates.go.sprig import gojson

        return gojson.marshal(self.go_string())

    def compare(self, other: Version) -> int:
        for a, b in (
            (self.major, other.major),
            (self.minor, other.minor),
            (self.patch, other.patch),
        ):
            if a != b:
                return -1 if a < b else 1
        if self.pre == "" and other.pre == "":
            return 0
        if self.pre == "":
            return 1
        if other.pre == "":
            return -1
        return _compare_prerelease(self.pre, other.pre)


class VersionValue(Version):
    """A semver.Version value (what IncPatch & co return)."""

    gotype = VERSION_STRUCT


def _compare_prerelease(a: str, b: str) -> int:
    aparts, bparts = a.split("."), b.split(".")
    for i in range(max(len(aparts), len(bparts))):
        x = aparts[i] if i < len(aparts) else ""
        y = bparts[i] if i < len(bparts) else ""
        d = _compare_part(x, y)
        if d:
            return d
    return 0


def _uint(text: str) -> int | None:
    if text and _only(text, _NUM):
        value = int(text)
        return value if value < 1 << 64 else None
    return None


def _compare_part(s: str, o: str) -> int:
    if s == o:
        return 0
    if s == "":
        return -1
    if o == "":
        return 1
    oi, si = _uint(o), _uint(s)
    if oi is None and si is None:
        return 1 if gotypes.sort_key(s) > gotypes.sort_key(o) else -1
    if oi is None:
        return -1
    if si is None:
        return 1
    return 1 if si > oi else -1


def new_version(text: str) -> Version:
    """semver.NewVersion (with CoerceNewVersion, the default)."""
    match = _submatch("^" + _LOOSE + "$", text)
    if match is None:
        raise GoError("invalid semantic version")
    major = _parse_uint(match[1])
    minor = _parse_uint(match[2][1:]) if match[2] else 0
    patch = _parse_uint(match[3][1:]) if match[3] else 0
    pre, meta = match[5], match[8]
    if pre:
        _validate_prerelease(pre)
    if meta:
        _validate_metadata(meta)
    return Version(major, minor, patch, pre, meta, text)


def _version_methods() -> dict[str, Method]:
    def m(impl: Any, *params: GoType) -> Method:
        return Method(tuple(params), impl)

    def inc(v: Version, part: str) -> VersionValue:
        prefix = "v" if v.original[:1] == "v" else ""
        major, minor, patch = v.major, v.minor, v.patch
        if part == "patch":
            if not v.pre:
                patch += 1
        elif part == "minor":
            minor, patch = minor + 1, 0
        else:
            major, minor, patch = major + 1, 0, 0
        out = VersionValue(major, minor, patch, "", "", "")
        out.original = prefix + out.go_string()
        return out

    return {
        "String": m(lambda v: v.go_string()),
        "Original": m(lambda v: v.original),
        "Major": m(lambda v: gotypes.Uint64(v.major)),
        "Minor": m(lambda v: gotypes.Uint64(v.minor)),
        "Patch": m(lambda v: gotypes.Uint64(v.patch)),
        "Prerelease": m(lambda v: v.pre),
        "Metadata": m(lambda v: v.metadata),
        "Compare": m(lambda v, o: v.compare(o), VERSION),
        "LessThan": m(lambda v, o: v.compare(o) < 0, VERSION),
        "LessThanEqual": m(lambda v, o: v.compare(o) <= 0, VERSION),
        "GreaterThan": m(lambda v, o: v.compare(o) > 0, VERSION),
        "GreaterThanEqual": m(lambda v, o: v.compare(o) >= 0, VERSION),
        "Equal": m(lambda v, o: v is o or v.compare(o) == 0, VERSION),
        "IncPatch": m(lambda v: inc(v, "patch")),
        "IncMinor": m(lambda v: inc(v, "minor")),
        "IncMajor": m(lambda v: inc(v, "major")),
        "SetPrerelease": m(lambda v, pre: _with(v, pre=pre), STRING),
        "SetMetadata": m(lambda v, meta: _with(v, metadata=meta), STRING),
        "MarshalJSON": m(lambda v: _bytes(v.marshal_json())),
        "MarshalText": m(lambda v: _bytes(v.go_string())),
        "Value": m(lambda v: v.go_string()),
    }


def _with(v: Version, *, pre: str | None = None, metadata: str | None = None) -> VersionValue:
    """Version.SetPrerelease / SetMetadata: a copy with the part replaced (validated)."""
    if pre:
        _validate_prerelease(pre)
    if metadata:
        _validate_metadata(metadata)
    out = VersionValue(
        v.major,
        v.minor,
        v.patch,
        v.pre if pre is None else pre,
        v.metadata if metadata is None else metadata,
        "",
    )
    prefix = "v" if v.original[:1] == "v" else ""
    out.original = prefix + out.go_string()
    return out


def _bytes(text: str) -> gotypes.GoSlice:
    return gotypes.ByteSlice(gotypes.Uint8(b) for b in text.encode("utf-8", "surrogateescape"))


Version.go_methods = _version_methods()
#: A Version value has only the value-receiver methods (Original, Compare & co take *Version).
VersionValue.go_methods = {
    name: method
    for name, method in Version.go_methods.items()
    if name
    in {
        "String",
        "Major",
        "Minor",
        "Patch",
        "Prerelease",
        "Metadata",
        "IncPatch",
        "IncMinor",
        "IncMajor",
        "SetPrerelease",
        "SetMetadata",
        "MarshalJSON",
        "MarshalText",
        "Value",
    }
}


# --- constraints -----------------------------------------------------------------------------


class _Constraint:
    def __init__(
        self, version: Version, orig: str, op: str, *, minor: bool, patch: bool, dirty: bool
    ) -> None:
        self.con = version
        self.orig = orig
        self.op = op
        self.minor_dirty = minor
        self.patch_dirty = patch
        self.dirty = dirty


def _is_x(text: str) -> bool:
    return text in ("x", "*", "X")


def _parse_constraint(text: str) -> _Constraint:
    if not text:
        return _Constraint(
            Version(0, 0, 0, "", "", "0.0.0"), text, "", minor=False, patch=False, dirty=True
        )
    m = _submatch(r"^\s*(" + _OPS + r")\s*(" + _CV + r")\s*$", text)
    if m is None:
        raise GoError(f"improper constraint: {text}")
    ver = m[2]
    minor_dirty = patch_dirty = dirty = False
    if _is_x(m[3]) or m[3] == "":
        ver, dirty = f"0.0.0{m[6]}", True
    elif _is_x(m[4].removeprefix(".")) or m[4] == "":
        minor_dirty = dirty = True
        ver = f"{m[3]}.0.0{m[6]}"
    elif _is_x(m[5].removeprefix(".")) or m[5] == "":
        dirty = patch_dirty = True
        ver = f"{m[3]}{m[4]}.0{m[6]}"
    try:
        con = new_version(ver)
    except GoError:
        raise GoError("constraint parser error") from None
    return _Constraint(con, m[2], m[1], minor=minor_dirty, patch=patch_dirty, dirty=dirty)


def _rewrite_range(text: str) -> str:
    compiled = _re(r"\s*(" + _CV + r")\s+-\s+(" + _CV + r")\s*")
    data = gotypes.to_bytes(text)
    matches = goregex.find_all(compiled, data, -1)
    out = text
    for match in matches:
        whole = gotypes.from_bytes(data[match.start() : match.end()])
        first = gotypes.from_bytes(data[match.start(1) : match.end(1)])
        second = gotypes.from_bytes(data[match.start(11) : match.end(11)])
        out = out.replace(whole, f">= {first}, <= {second} ", 1)
    return out


def new_constraint(text: str) -> list[tuple[list[_Constraint], bool]]:
    text = _rewrite_range(text)
    groups = []
    valid = _re(
        r"^(\s*("
        + _OPS
        + r")\s*("
        + _CV
        + r")\s*)((?:\s+|,\s*)("
        + _OPS
        + r")\s*("
        + _CV
        + r")\s*)*$"
    )
    find = _re(r"(" + _OPS + r")\s*(" + _CV + r")")
    for part in text.split("||"):
        data = gotypes.to_bytes(part)
        if valid.regex.search(data, 0) is None:
            raise GoError(f"improper constraint: {part}")
        found = [
            gotypes.from_bytes(data[m.start() : m.end()]) for m in goregex.find_all(find, data, -1)
        ] or [part]
        parsed = [_parse_constraint(item) for item in found]
        groups.append((parsed, any(c.con.pre for c in parsed)))
    return groups


def _check(c: _Constraint, v: Version, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    op = c.op
    cmp = v.compare(c.con)
    if op in ("", "="):
        if c.dirty:
            return _tilde(c, v)
        return cmp == 0
    if op == "!=":
        if c.dirty:
            if c.con.major != v.major:
                return True
            if c.con.minor != v.minor and not c.minor_dirty:
                return True
            if c.minor_dirty:
                return False
            if c.con.patch != v.patch and not c.patch_dirty:
                return True
            if c.patch_dirty:
                if v.pre or c.con.pre:
                    return _compare_prerelease(v.pre, c.con.pre) != 0
                return False
        return cmp != 0
    if op == ">":
        if not c.dirty:
            return cmp == 1
        if v.major != c.con.major:
            return v.major > c.con.major
        if c.minor_dirty:
            return False
        if c.patch_dirty:
            return v.minor > c.con.minor
        return cmp == 1
    if op == "<":
        return cmp < 0
    if op in (">=", "=>"):
        return cmp >= 0
    if op in ("<=", "=<"):
        if not c.dirty:
            return cmp <= 0
        if v.major > c.con.major:
            return False
        return not (v.major == c.con.major and v.minor > c.con.minor and not c.minor_dirty)
    if op in ("~", "~>"):
        return _tilde(c, v)
    return _caret(c, v)


def _tilde(c: _Constraint, v: Version) -> bool:
    if v.compare(c.con) < 0:
        return False
    con = c.con
    if (
        con.major == 0
        and con.minor == 0
        and con.patch == 0
        and not c.minor_dirty
        and not (c.patch_dirty)
    ):
        return True
    if v.major != con.major:
        return False
    return not (v.minor != con.minor and not c.minor_dirty)


def _caret(c: _Constraint, v: Version) -> bool:
    if v.compare(c.con) < 0:
        return False
    con = c.con
    if con.major > 0 or c.minor_dirty:
        return v.major == con.major
    if con.major == 0 and v.major > 0:
        return False
    if con.minor > 0 or c.patch_dirty:
        return v.minor == con.minor
    if con.minor == 0 and v.minor > 0:
        return False
    return con.patch == v.patch


@registry.func("semverCompare", params=(STRING, STRING))
def semver_compare(constraint: str, version: str) -> bool:
    groups = new_constraint(constraint)
    parsed = new_version(version)
    return any(all(_check(c, parsed, has_pre) for c in group) for group, has_pre in groups)


@registry.func("semver", params=(STRING,))
def semver(version: str) -> Version:
    return new_version(version)
