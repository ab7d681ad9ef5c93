"""Sprig's regex functions on RE2 (regex.go), with Go's regexp semantics on top.

Why: Go's regexp is RE2, so matching is delegated to the RE2 library (linear time: a hostile
pattern cannot hang a render); what Go adds is ported here: FindAll's rule for empty matches,
ReplaceAll's `$1`/`${name}` expansion, Split, QuoteMeta, and the panic text of MustCompile
(`regexp: Compile(`(`): error parsing regexp: missing closing ): `(``). Matching works on the
UTF-8 bytes, as Go's does.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import re2

from asyncso.templates.go import gotypes, limits, strconv
from asyncso.templates.go.functions import INT, STRING, GoError, Registry
from asyncso.templates.go.sprig.text import is_digit, is_letter

registry = Registry()

# RE2's (C++) error texts -> Go's regexp/syntax error codes.
_CODES = [
    ("missing ]", "missing closing ]"),
    ("missing )", "missing closing )"),
    ("unexpected )", "unexpected )"),
    ("no argument for repetition operator", "missing argument to repetition operator"),
    ("bad repetition operator", "invalid nested repetition operator"),
    ("invalid repetition size", "invalid repeat count"),
    ("invalid escape sequence", "invalid escape sequence"),
    ("invalid named capture group", "invalid named capture"),
    ("invalid perl operator", "invalid or unsupported Perl syntax"),
    ("invalid character class range", "invalid character class range"),
    ("invalid character class", "invalid character class"),
    ("invalid UTF-8", "invalid UTF-8"),
    ("bad named capture group", "invalid named capture"),
    ("duplicate capture group name", "duplicate capture group name"),
]


def _go_error(message: str) -> str:
    if message.startswith("trailing \\"):
        return "error parsing regexp: trailing backslash at end of expression: ``"
    if "pattern too large" in message:
        return "error parsing regexp: expression too large"
    for cpp, go in _CODES:
        if message.startswith(cpp):
            fragment = message[len(cpp) :].lstrip(": ")
            return f"error parsing regexp: {go}: `{fragment}`"
    return f"error parsing regexp: {message}"


class _Compiled:
    def __init__(self, regex: Any, names: dict[str, int], expr: str) -> None:
        self.regex = regex
        self.names = names
        self.expr = expr


def wrap(regex: Any) -> _Compiled:
    """A pattern compiled elsewhere with RE2 (`keymapping`'s rewrites), for `replace_all`."""
    names = {
        (gotypes.from_bytes(name) if isinstance(name, bytes) else name): index
        for name, index in (regex.groupindex or {}).items()
    }
    return _Compiled(regex, names, regex.pattern)


@functools.lru_cache(maxsize=256)
def compile_go(expr: str) -> _Compiled:
    """regexp.Compile; raises GoError with Go's message."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    try:
        regex = re2.compile(gotypes.to_bytes(expr), options)
    except re2.error as exc:
        text = exc.args[0] if exc.args else str(exc)
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        raise GoError(_go_error(str(text))) from None
    names = {
        (gotypes.from_bytes(name) if isinstance(name, bytes) else name): index
        for name, index in (regex.groupindex or {}).items()
    }
    return _Compiled(regex, names, expr)


def _quote(text: str) -> str:
    if strconv.can_backquote(text):
        return "`" + text + "`"
    return strconv.quote(text)


def must_compile(expr: str) -> _Compiled:
    try:
        return compile_go(expr)
    except GoError as exc:
        raise GoError(f"regexp: Compile({_quote(expr)}): {exc}") from None


def _rune_width(data: bytes, pos: int) -> int:
    if pos >= len(data):
        return 0
    first = data[pos]
    if first < 0x80:
        return 1
    for size in (2, 3, 4):
        try:
            data[pos : pos + size].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return size
    return 1


def _search(compiled: _Compiled, data: bytes, pos: int) -> Any:
    return compiled.regex.search(data, pos)


def find_all(compiled: _Compiled, data: bytes, n: int) -> list[Any]:
    """Go's allMatches: successive matches; an empty match right after a match is skipped."""
    if n < 0:
        n = len(data) + 1
    out: list[Any] = []
    pos, prev_end = 0, -1
    while len(out) < n and pos <= len(data):
        match = _search(compiled, data, pos)
        if match is None:
            break
        start, end = match.span()
        accept = True
        if end == pos:
            if start == prev_end:
                accept = False
            width = _rune_width(data, pos)
            pos = pos + width if width > 0 else len(data) + 1
        else:
            pos = end
        prev_end = end
        if accept:
            out.append(match)
            limits.check_size(len(out), "regexFindAll")
    return out


def _extract(template: bytes) -> tuple[bytes, int, bytes] | None:
    if not template:
        return None
    brace = template[:1] == b"{"
    text = template[1:] if brace else template
    decoded = gotypes.from_bytes(text)
    i = 0
    for ch in decoded:
        if not (is_letter(ch) or is_digit(ch) or ch == "_"):
            break
        i += 1
    if i == 0:
        return None
    name = gotypes.to_bytes(decoded[:i])
    rest = text[len(name) :]
    if brace:
        if not rest.startswith(b"}"):
            return None
        rest = rest[1:]
    num = 0
    for byte in name:
        if not 0x30 <= byte <= 0x39 or num >= 100_000_000:
            num = -1
            break
        num = num * 10 + byte - 0x30
    if name[:1] == b"0" and len(name) > 1:
        num = -1
    return name, num, rest


def _expand(compiled: _Compiled, template: bytes, data: bytes, match: Any) -> bytes:
    out = bytearray()
    while template:
        index = template.find(b"$")
        if index < 0:
            break
        out += template[:index]
        template = template[index + 1 :]
        if template[:1] == b"$":
            out += b"$"
            template = template[1:]
            continue
        extracted = _extract(template)
        if extracted is None:
            out += b"$"
            continue
        name, num, template = extracted
        group = -1
        group = num if num >= 0 else compiled.names.get(gotypes.from_bytes(name), -1)
        if 0 <= group <= compiled.regex.groups:
            span = match.span(group)
            if span[0] >= 0:
                out += data[span[0] : span[1]]
        limits.check_size(len(out), "regexReplaceAll")
    out += template
    return bytes(out)


def replace_all(compiled: _Compiled, text: str, repl: str, *, literal: bool) -> str:
    """Regexp.ReplaceAllString / ReplaceAllLiteralString."""
    data = gotypes.to_bytes(text)
    template = gotypes.to_bytes(repl)
    out = bytearray()
    last_end = 0
    search_pos = 0
    while search_pos <= len(data):
        match = _search(compiled, data, search_pos)
        if match is None:
            break
        start, end = match.span()
        out += data[last_end:start]
        if end > last_end or start == 0:
            out += template if literal else _expand(compiled, template, data, match)
        limits.check_size(len(out), "regexReplaceAll")
        last_end = end
        width = _rune_width(data, search_pos)
        if search_pos + width > end:
            search_pos += width
        elif search_pos + 1 > end:
            search_pos += 1
        else:
            search_pos = end
    out += data[last_end:]
    return gotypes.from_bytes(bytes(out))


def split(compiled: _Compiled, text: str, n: int) -> gotypes.GoSlice:
    if n == 0:
        nothing: gotypes.GoSlice = gotypes.nil_of(gotypes.StringSlice)
        return nothing
    if compiled.expr and text == "":
        return gotypes.StringSlice([""])
    data = gotypes.to_bytes(text)
    matches = find_all(compiled, data, n)
    out = gotypes.StringSlice()
    begin = end = 0
    for match in matches:
        if n > 0 and len(out) == n - 1:
            break
        end = match.start()
        if match.end() != 0:
            out.append(gotypes.from_bytes(data[begin:end]))
        begin = match.end()
    if end != len(data):
        out.append(gotypes.from_bytes(data[begin:]))
    return out


def _find_all_strings(compiled: _Compiled, text: str, n: int) -> gotypes.GoSlice:
    data = gotypes.to_bytes(text)
    matches = find_all(compiled, data, n)
    if not matches:
        nothing: gotypes.GoSlice = gotypes.nil_of(gotypes.StringSlice)
        return nothing
    return gotypes.StringSlice(gotypes.from_bytes(data[m.start() : m.end()]) for m in matches)


def _find(compiled: _Compiled, text: str) -> str:
    data = gotypes.to_bytes(text)
    match = _search(compiled, data, 0)
    return "" if match is None else gotypes.from_bytes(data[match.start() : match.end()])


def _matches(compiled: _Compiled, text: str) -> bool:
    return _search(compiled, gotypes.to_bytes(text), 0) is not None


@registry.func("regexMatch", params=(STRING, STRING))
def regex_match(expr: str, text: str) -> bool:
    try:
        return _matches(compile_go(expr), text)
    except GoError:
        return False


@registry.func("mustRegexMatch", params=(STRING, STRING))
def must_regex_match(expr: str, text: str) -> bool:
    return _matches(compile_go(expr), text)


registry.add(
    "regexFindAll", lambda e, t, n: _find_all_strings(must_compile(e), t, n), STRING, STRING, INT
)
registry.add(
    "mustRegexFindAll",
    lambda e, t, n: _find_all_strings(compile_go(e), t, n),
    STRING,
    STRING,
    INT,
)
registry.add("regexFind", lambda e, t: _find(must_compile(e), t), STRING, STRING)
registry.add("mustRegexFind", lambda e, t: _find(compile_go(e), t), STRING, STRING)
registry.add(
    "regexReplaceAll",
    lambda e, t, r: replace_all(must_compile(e), t, r, literal=False),
    STRING,
    STRING,
    STRING,
)
registry.add(
    "mustRegexReplaceAll",
    lambda e, t, r: replace_all(compile_go(e), t, r, literal=False),
    STRING,
    STRING,
    STRING,
)
registry.add(
    "regexReplaceAllLiteral",
    lambda e, t, r: replace_all(must_compile(e), t, r, literal=True),
    STRING,
    STRING,
    STRING,
)
registry.add(
    "mustRegexReplaceAllLiteral",
    lambda e, t, r: replace_all(compile_go(e), t, r, literal=True),
    STRING,
    STRING,
    STRING,
)
registry.add("regexSplit", lambda e, t, n: split(must_compile(e), t, n), STRING, STRING, INT)
registry.add("mustRegexSplit", lambda e, t, n: split(compile_go(e), t, n), STRING, STRING, INT)

_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


@registry.func("regexQuoteMeta", params=(STRING,))
def quote_meta(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)
