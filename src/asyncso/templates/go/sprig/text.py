"""Sprig's string functions (strings.go, goutils, xstrings 1.5 as ESO pins them).

Why ports rather than Python's own methods: Go works on bytes and simple case mappings, so
`upper "ß"` stays `ß`, `trunc 2 "é"` cuts inside the character, `nospace` walks bytes, and
`camelcase` follows xstrings' word rules. Each function says which Go code it mirrors.
"""

from __future__ import annotations

import functools
import secrets
import string
import unicodedata
from typing import Any

from asyncso.templates.go import gofmt, gotypes, limits, strconv
from asyncso.templates.go.functions import ANY, INT, STRING, Registry
from asyncso.templates.go.sprig import values
from asyncso.templates.go.sprig.values import strval

registry = Registry()

# --- Go's unicode package -------------------------------------------------------------------

_GO_SPACES = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)


def is_space(ch: str) -> bool:
    """unicode.IsSpace."""
    return ch in _GO_SPACES


def _is_invalid(ch: str) -> bool:
    return 0xD800 <= ord(ch) <= 0xDFFF


@functools.lru_cache(maxsize=4096)
def to_upper(ch: str) -> str:
    """unicode.ToUpper: the simple (one-to-one) mapping."""
    if ch.isascii():
        return ch.upper()
    if _is_invalid(ch):
        return "\ufffd"
    upper = ch.upper()
    if len(upper) == 1:
        return upper
    title = ch.title()
    if len(title) == 1:
        return title
    return ch


@functools.lru_cache(maxsize=4096)
def to_lower(ch: str) -> str:
    """unicode.ToLower: the simple mapping."""
    if ch.isascii():
        return ch.lower()
    if _is_invalid(ch):
        return "\ufffd"
    if ch == "\u0130":
        return "i"
    lower = ch.lower()
    return lower if len(lower) == 1 else ch


@functools.lru_cache(maxsize=4096)
def to_title(ch: str) -> str:
    """unicode.ToTitle."""
    if ch.isascii():
        return ch.upper()
    if _is_invalid(ch):
        return "\ufffd"
    title = ch.title()
    if len(title) == 1:
        return title
    return to_upper(ch)


def is_upper(ch: str) -> bool:
    return not _is_invalid(ch) and unicodedata.category(ch) == "Lu"


def is_lower(ch: str) -> bool:
    return not _is_invalid(ch) and unicodedata.category(ch) == "Ll"


def is_title(ch: str) -> bool:
    return not _is_invalid(ch) and unicodedata.category(ch) == "Lt"


def is_letter(ch: str) -> bool:
    return not _is_invalid(ch) and unicodedata.category(ch).startswith("L")


def is_digit(ch: str) -> bool:
    return not _is_invalid(ch) and unicodedata.category(ch) == "Nd"


def is_number(ch: str) -> bool:
    return not _is_invalid(ch) and unicodedata.category(ch).startswith("N")


def is_punct(ch: str) -> bool:
    return not _is_invalid(ch) and unicodedata.category(ch).startswith("P")


def go_upper(text: str) -> str:
    """strings.ToUpper."""
    if text.isascii():
        return text.upper()
    return "".join(to_upper(ch) for ch in text)


def go_lower(text: str) -> str:
    """strings.ToLower."""
    if text.isascii():
        return text.lower()
    return "".join(to_lower(ch) for ch in text)


def _is_separator(ch: str) -> bool:
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    if is_letter(ch) or is_digit(ch):
        return False
    return is_space(ch)


def go_title(text: str) -> str:
    """strings.Title (deprecated in Go, still sprig's `title`)."""
    out = []
    prev = " "
    for ch in text:
        if _is_separator(prev):
            out.append(to_title(ch))
        elif _is_invalid(ch):
            out.append("\ufffd")
        else:
            out.append(ch)
        prev = ch
    return "".join(out)


def trim_space(text: str) -> str:
    """strings.TrimSpace."""
    start, end = 0, len(text)
    while start < end and is_space(text[start]):
        start += 1
    while end > start and is_space(text[end - 1]):
        end -= 1
    return text[start:end]


def go_repeat(text: str, count: int) -> str:
    """strings.Repeat, bounded by the sandbox."""
    if count < 0:
        raise values.GoError("strings: negative Repeat count")
    limits.check_size(len(text) * count, "repeat")
    return text * count


def go_replace(text: str, old: str, new: str, count: int = -1) -> str:
    """strings.Replace: an empty `old` matches before every rune and at the end."""
    if old == "":
        runes = list(text)
        if count < 0 or count > len(runes) + 1:
            count = len(runes) + 1
        limits.check_size(len(text) + len(new) * count, "replace")
        head = "".join(new + ch for ch in runes[:count])
        if count > len(runes):
            return head + new
        return head + "".join(runes[count:])
    occurrences = text.count(old) if count < 0 else min(count, text.count(old))
    limits.check_size(len(text) + (len(new) - len(old)) * occurrences, "replace")
    return text.replace(old, new, count)


def trim_set(text: str, cutset: str, *, left: bool = True, right: bool = True) -> str:
    """strings.Trim/TrimLeft/TrimRight (runes of cutset; invalid bytes match U+FFFD)."""
    if text == "" or cutset == "":
        return text
    cut = {("\ufffd" if _is_invalid(c) else c) for c in cutset}

    def inside(ch: str) -> bool:
        return ("\ufffd" if _is_invalid(ch) else ch) in cut

    start, end = 0, len(text)
    if left:
        while start < end and inside(text[start]):
            start += 1
    if right:
        while end > start and inside(text[end - 1]):
            end -= 1
    return text[start:end]


# --- the functions ---------------------------------------------------------------------------


@registry.func("hello")
def hello() -> str:
    return "Hello!"


registry.add("trim", trim_space, STRING)
registry.add("upper", go_upper, STRING)
registry.add("lower", go_lower, STRING)
registry.add("title", go_title, STRING)


@registry.func("untitle", params=(STRING,))
def untitle(text: str) -> str:
    """goutils.Uncapitalize: lower the first letter of each whitespace-separated word."""
    out = []
    following = True
    for ch in text:
        if is_space(ch):
            following = True
            out.append(ch)
        elif following:
            out.append(to_lower(ch))
            following = False
        else:
            out.append("\ufffd" if _is_invalid(ch) else ch)
    return "".join(out)


@registry.func("substr", params=(INT, INT, STRING))
def substr(start: int, end: int, text: str) -> str:
    data = gotypes.to_bytes(text)
    if start < 0:
        return gotypes.from_bytes(values.slice_bytes(data, None, end))
    if end < 0 or end > len(data):
        return gotypes.from_bytes(values.slice_bytes(data, start, None))
    return gotypes.from_bytes(values.slice_bytes(data, start, end))


@registry.func("repeat", params=(INT, STRING))
def repeat(count: int, text: str) -> str:
    return go_repeat(text, count)


@registry.func("trimall", "trimAll", params=(STRING, STRING))
def trim_all(cutset: str, text: str) -> str:
    return trim_set(text, cutset)


@registry.func("trimSuffix", params=(STRING, STRING))
def trim_suffix(suffix: str, text: str) -> str:
    return text[: -len(suffix)] if suffix and text.endswith(suffix) else text


@registry.func("trimPrefix", params=(STRING, STRING))
def trim_prefix(prefix: str, text: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


@registry.func("nospace", params=(STRING,))
def nospace(text: str) -> str:
    """goutils.DeleteWhiteSpace: walks bytes as if each were a rune (Latin-1)."""
    if text == "":
        return text
    data = gotypes.to_bytes(text)
    kept = [b for b in data if not is_space(chr(b))]
    if len(kept) == len(data):
        return text
    return "".join(chr(b) for b in kept)


@registry.func("initials", params=(STRING,))
def initials(text: str) -> str:
    """goutils.Initials: first byte of each whitespace-separated word (as a rune)."""
    out = []
    gap = True
    for byte in gotypes.to_bytes(text):
        ch = chr(byte)
        if is_space(ch):
            gap = True
        elif gap:
            out.append(ch)
            gap = False
    return "".join(out)


def _random(count: int, alphabet: str) -> str:
    if count <= 0:
        return ""
    limits.check_size(count, "random string")
    return "".join(secrets.choice(alphabet) for _ in range(count))


_ASCII = "".join(chr(c) for c in range(32, 127))


@registry.func("randAlphaNum", params=(INT,))
def rand_alpha_num(count: int) -> str:
    return _random(count, string.ascii_letters + string.digits)


@registry.func("randAlpha", params=(INT,))
def rand_alpha(count: int) -> str:
    return _random(count, string.ascii_letters)


@registry.func("randAscii", params=(INT,))
def rand_ascii(count: int) -> str:
    return _random(count, _ASCII)


@registry.func("randNumeric", params=(INT,))
def rand_numeric(count: int) -> str:
    return _random(count, string.digits)


@registry.func("swapcase", params=(STRING,))
def swapcase(text: str) -> str:
    """goutils.SwapCase (word based: a lower letter after a space becomes title case)."""
    out = []
    whitespace = True
    for ch in text:
        if is_upper(ch) or is_title(ch):
            out.append(to_lower(ch))
            whitespace = False
        elif is_lower(ch):
            out.append(to_title(ch) if whitespace else to_upper(ch))
            whitespace = False
        else:
            whitespace = is_space(ch)
            out.append("\ufffd" if _is_invalid(ch) else ch)
    return "".join(out)


@registry.func("shuffle", params=(STRING,))
def shuffle(text: str) -> str:
    """xstrings.Shuffle: the runes in random order."""
    runes = ["\ufffd" if _is_invalid(c) else c for c in text]
    for i in range(len(runes) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        runes[i], runes[j] = runes[j], runes[i]
    return "".join(runes)


def _is_connector(ch: str) -> bool:
    return ch in "-_" or is_space(ch)


def _is_alphabet(ch: str) -> bool:
    """xstrings' isAlphabet: a letter that is not one of its CJK ranges."""
    if not is_letter(ch):
        return False
    code = ord(ch)
    if code < 0x3400:
        return True
    return not (0x4E00 <= code <= 0x9FCC or 0x3400 <= code <= 0x4D85 or 0x20000 <= code <= 0x2B81D)


@registry.func("camelcase", params=(STRING,))
def camelcase(text: str) -> str:
    """xstrings 1.5 ToPascalCase (ESO's sprig maps `camelcase` to it)."""
    if text == "":
        return ""
    runes = ["\ufffd" if _is_invalid(c) else c for c in text]
    out: list[str] = []
    i = 0
    first_upper = False
    r0 = ""
    while i < len(runes):
        r0 = runes[i]
        i += 1
        if not _is_connector(r0):
            first_upper = is_upper(r0)
            r0 = to_upper(r0)
            break
        out.append(r0)
    if i >= len(runes):
        out.append(r0)  # xstrings writes the last rune again after all-connector input
        return "".join(out)
    while i < len(runes):
        r1 = r0
        r0 = runes[i]
        i += 1
        if _is_connector(r0) and _is_connector(r1):
            out.append(r1)
            continue
        if _is_connector(r1):
            first_upper = is_upper(r0)
            r0 = to_upper(r0)
        else:
            if first_upper:
                if is_upper(r0):
                    r0 = to_lower(r0)
                else:
                    first_upper = False
            out.append(r1)
    out.append(r0)
    return "".join(out)


# xstrings camelCaseToLowerCase (snakecase/kebabcase), identical in 1.3 and 1.5.
_INVALID, _NUMBER, _UPPER, _ALPHA, _CONNECTOR, _PUNCT, _OTHER = range(7)


def _bad(ch: str) -> bool:
    """A rune xstrings' nextValidRune skips: an undecodable byte or U+FFFD itself."""
    return _is_invalid(ch) or ch == "\ufffd"


def _next_valid(runes: list[str], i: int, prev: str) -> tuple[str, int]:
    """xstrings' nextValidRune: the next valid rune (or `prev`) and the index after it."""
    while i < len(runes) and _bad(runes[i]):
        i += 1
    if i < len(runes):
        return runes[i], i + 1
    return prev, i


def _next_word(runes: list[str], start: int) -> tuple[int, int]:
    """xstrings' nextWord: (word type, end index) of the word at `start`."""
    n = len(runes)
    if start >= n:
        return _INVALID, start
    ch, i = _next_valid(runes, start, "\ufffd")
    if ch == "\ufffd":
        return _INVALID, i

    def run(i: int, prev: str, accept: Any) -> int:
        while i < n:
            nxt, j = _next_valid(runes, i, prev)
            if not accept(nxt):
                break
            prev, i = nxt, j
        return i

    if _is_connector(ch):
        return _CONNECTOR, run(i, ch, _is_connector)
    if is_punct(ch):
        return _PUNCT, run(i, ch, is_punct)
    if is_upper(ch):
        if i >= n:
            return _UPPER, i
        nxt, j = _next_valid(runes, i, ch)
        if is_upper(nxt):
            prev_start, i = i, j
            last = nxt
            while i < n:
                nxt, j = _next_valid(runes, i, last)
                if not is_upper(nxt):
                    break
                prev_start, i, last = i, j, nxt
            if i < n and _is_alphabet(nxt):
                i = prev_start
            return _UPPER, i
        if _is_alphabet(nxt):
            return _UPPER, run(j, nxt, lambda c: _is_alphabet(c) and not is_upper(c))
        return _UPPER, i
    if _is_alphabet(ch):
        return _ALPHA, run(i, ch, lambda c: _is_alphabet(c) and not is_upper(c))
    if is_number(ch):
        return _NUMBER, run(i, ch, is_number)

    def other(c: str) -> bool:
        return not (_is_connector(c) or _is_alphabet(c) or is_number(c) or is_punct(c))

    return _OTHER, run(i, ch, other)


def _case_lower(word: list[str], wtype: int, connector: str) -> str:
    if wtype not in (_UPPER, _CONNECTOR):
        return "".join(word)
    out = []
    for ch in word:
        if _is_invalid(ch):
            out.append("\ufffd")
        elif _is_connector(ch):
            out.append(connector)
        elif is_upper(ch):
            out.append(to_lower(ch))
        else:
            out.append(ch)
    return "".join(out)


def _to_lower_case(text: str, connector: str) -> str:
    if text == "":
        return ""
    runes = list(text)
    out: list[str] = []
    pos = 0
    wt, end = _next_word(runes, pos)
    word = runes[pos:end]
    pos = end
    while pos < len(runes):
        if wt != _CONNECTOR:
            out.append(_case_lower(word, wt, connector))
        prev, last = wt, word
        wt, end = _next_word(runes, pos)
        word = runes[pos:end]
        pos = end
        if prev == _NUMBER:
            while wt in (_ALPHA, _NUMBER):
                out.append(_case_lower(word, wt, connector))
                wt, end = _next_word(runes, pos)
                word = runes[pos:end]
                pos = end
            if wt not in (_INVALID, _PUNCT, _CONNECTOR):
                out.append(connector)
        elif prev == _CONNECTOR:
            out.append(_case_lower(last, prev, connector))
        elif prev == _PUNCT:
            pass
        else:
            if wt != _NUMBER:
                if wt not in (_CONNECTOR, _PUNCT):
                    out.append(connector)
                continue
            if pos >= len(runes):
                continue
            last = word
            wt, end = _next_word(runes, pos)
            word = runes[pos:end]
            pos = end
            if wt != _ALPHA:
                out.append(_case_lower(last, _NUMBER, connector))
                if wt not in (_CONNECTOR, _PUNCT):
                    out.append(connector)
                continue
            out.append(connector)
            out.append(_case_lower(last, _NUMBER, connector))
            while wt in (_ALPHA, _NUMBER):
                out.append(_case_lower(word, wt, connector))
                wt, end = _next_word(runes, pos)
                word = runes[pos:end]
                pos = end
            if wt not in (_INVALID, _CONNECTOR, _PUNCT):
                out.append(connector)
    out.append(_case_lower(word, wt, connector))
    return "".join(out)


@registry.func("snakecase", params=(STRING,))
def snakecase(text: str) -> str:
    return _to_lower_case(text, "_")


@registry.func("kebabcase", params=(STRING,))
def kebabcase(text: str) -> str:
    return _to_lower_case(text, "-")


def wrap_custom(text: str, width: int, newline: str, long_words: bool) -> str:
    """goutils.WrapCustom (on bytes, breaking at ' ')."""
    if text == "":
        return ""
    if newline == "":
        newline = "\n"
    if width < 1:
        width = 1
    data = gotypes.to_bytes(text)
    nl = gotypes.to_bytes(newline)
    limits.check_size(len(data) + len(nl) * (len(data) // width + 1), "wrap")
    length = len(data)
    offset = 0
    out = bytearray()
    while length - offset > width:
        if data[offset] == 0x20:
            offset += 1
            continue
        end = width + offset + 1
        space = data.rfind(b" ", offset, end)
        if space >= offset:
            out += data[offset:space] + nl
            offset = space + 1
        elif long_words:
            end = width + offset
            out += data[offset:end] + nl
            offset += width
        else:
            end = width + offset
            index = data.find(b" ", end)
            if index == -1:
                out += data[offset:]
                offset = length
            else:
                out += data[offset:index] + nl
                offset = index + 1
    out += data[offset:]
    return gotypes.from_bytes(bytes(out))


@registry.func("wrap", params=(INT, STRING))
def wrap(width: int, text: str) -> str:
    return wrap_custom(text, width, "", False)


@registry.func("wrapWith", params=(INT, STRING, STRING))
def wrap_with(width: int, sep: str, text: str) -> str:
    return wrap_custom(text, width, sep, True)


@registry.func("contains", params=(STRING, STRING))
def contains(sub: str, text: str) -> bool:
    return sub in text


@registry.func("hasPrefix", params=(STRING, STRING))
def has_prefix(prefix: str, text: str) -> bool:
    return text.startswith(prefix)


@registry.func("hasSuffix", params=(STRING, STRING))
def has_suffix(suffix: str, text: str) -> bool:
    return text.endswith(suffix)


@registry.func("quote", variadic=ANY)
def quote(*items: Any) -> str:
    return " ".join(strconv.quote(strval(item)) for item in items if item is not None)


@registry.func("squote", variadic=ANY)
def squote(*items: Any) -> str:
    return " ".join(gofmt.sprintf("'%v'", item) for item in items if item is not None)


@registry.func("cat", variadic=ANY)
def cat(*items: Any) -> str:
    present = [item for item in items if item is not None]
    fmt = " ".join(["%v"] * len(present))
    return gofmt.sprintf(fmt, *present)


def indent_text(spaces: int, text: str) -> str:
    if spaces < 0:
        raise values.GoError("strings: negative Repeat count")
    pad = " " * spaces
    limits.check_size(len(text) + spaces * (text.count("\n") + 1), "indent")
    return pad + text.replace("\n", "\n" + pad)


@registry.func("indent", params=(INT, STRING))
def indent(spaces: int, text: str) -> str:
    return indent_text(spaces, text)


@registry.func("nindent", params=(INT, STRING))
def nindent(spaces: int, text: str) -> str:
    return "\n" + indent_text(spaces, text)


@registry.func("replace", params=(STRING, STRING, STRING))
def replace(old: str, new: str, text: str) -> str:
    return go_replace(text, old, new)


@registry.func("plural", params=(STRING, STRING, INT))
def plural(one: str, many: str, count: int) -> str:
    return one if count == 1 else many


@registry.func("toString", params=(ANY,))
def to_string(value: Any) -> str:
    return strval(value)


@registry.func("trunc", params=(INT, STRING))
def trunc(count: int, text: str) -> str:
    data = gotypes.to_bytes(text)
    if count < 0 and len(data) + count > 0:
        return gotypes.from_bytes(data[len(data) + count :])
    if count >= 0 and len(data) > count:
        return gotypes.from_bytes(data[:count])
    return text


@registry.func("abbrev", params=(INT, STRING))
def abbrev(width: int, text: str) -> str:
    if width < 4:
        return text
    return _abbreviate(text, 0, width)


@registry.func("abbrevboth", params=(INT, INT, STRING))
def abbrevboth(left: int, right: int, text: str) -> str:
    if right < 4 or (left > 0 and right < 7):
        return text
    return _abbreviate(text, left, right)


def _abbreviate(text: str, offset: int, width: int) -> str:
    """goutils.AbbreviateFull (on bytes; its errors give "")."""
    data = gotypes.to_bytes(text)
    if not data:
        return ""
    if width < 4:
        return ""
    if len(data) <= width:
        return text
    if offset > len(data):
        offset = len(data)
    if len(data) - offset < width - 3:
        offset = len(data) - (width - 3)
    if offset <= 4:
        return gotypes.from_bytes(data[: width - 3]) + "..."
    if width < 7:
        return ""
    if offset + width - 3 < len(data):
        return "..." + _abbreviate(gotypes.from_bytes(data[offset:]), 0, width - 3)
    return "..." + gotypes.from_bytes(data[len(data) - (width - 3) :])


@registry.func("fail", params=(STRING,))
def fail(message: str) -> str:
    raise values.GoError(message)
