"""Go's net/url Parse and URL.String, for sprig's urlParse and urlJoin (url.go).

Why a port: which URLs parse, how they split into scheme/host/path/query, and how urlJoin
re-escapes them follow net/url's RFC 3986 reading, which Python's urllib does not share.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from asyncso.templates.go import gotypes, strconv
from asyncso.templates.go.functions import ANY_MAP, STRING, GoError, Registry

registry = Registry()

HOST, ZONE, PATH, USER, QUERY, FRAGMENT = range(6)
_UPPER_HEX = "0123456789ABCDEF"


def _should_escape(c: int, mode: int) -> bool:
    ch = chr(c)
    if ch.isascii() and ch.isalnum():
        return False
    if mode in (HOST, ZONE) and ch in "!$&'()*+,;=:[]<>\"":
        return False
    if ch in "-_.~":
        return False
    if ch in "$&+,/:;=?@":
        if mode == PATH:
            return ch == "?"
        if mode == USER:
            return ch in "@/?:"
        if mode == QUERY:
            return True
        if mode == FRAGMENT:
            return False
    return not (mode == FRAGMENT and ch in "!()*")


def _ishex(c: int) -> bool:
    return chr(c) in "0123456789abcdefABCDEF"


def _unescape(text: str, mode: int) -> str:
    data = gotypes.to_bytes(text)
    count = 0
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x25:
            count += 1
            if i + 2 >= len(data) or not _ishex(data[i + 1]) or not _ishex(data[i + 2]):
                bad = data[i : i + 3]
                raise GoError("invalid URL escape " + strconv.quote(gotypes.from_bytes(bad)))
            if mode == HOST and int(chr(data[i + 1]), 16) < 8 and data[i : i + 3] != b"%25":
                raise GoError(
                    "invalid URL escape " + strconv.quote(gotypes.from_bytes(data[i : i + 3]))
                )
            if mode == ZONE:
                value = int(data[i + 1 : i + 3], 16)
                if data[i : i + 3] != b"%25" and value != 0x20 and _should_escape(value, HOST):
                    raise GoError(
                        "invalid URL escape " + strconv.quote(gotypes.from_bytes(data[i : i + 3]))
                    )
            i += 3
        else:
            if mode in (HOST, ZONE) and c < 0x80 and _should_escape(c, mode):
                raise GoError(f"invalid character {strconv.quote(chr(c))} in host name")
            i += 1
    if count == 0:
        return text
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == 0x25:
            out.append(int(data[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    return gotypes.from_bytes(bytes(out))


def _escape(text: str, mode: int) -> str:
    data = gotypes.to_bytes(text)
    out = []
    for c in data:
        if c == 0x20 and mode == QUERY:
            out.append("+")
        elif _should_escape(c, mode):
            out.append("%" + _UPPER_HEX[c >> 4] + _UPPER_HEX[c & 15])
        else:
            out.append(chr(c))
    return "".join(out)


def _valid_port(port: str) -> bool:
    if port == "":
        return True
    return port[0] == ":" and all("0" <= c <= "9" for c in port[1:])


@dataclasses.dataclass
class URL:
    scheme: str = ""
    opaque: str = ""
    user: tuple[str, str | None] | None = None
    host: str = ""
    path: str = ""
    raw_path: str = ""
    omit_host: bool = False
    force_query: bool = False
    raw_query: str = ""
    fragment: str = ""
    raw_fragment: str = ""

    def hostname(self) -> str:
        host = self.host
        colon = host.rfind(":")
        if colon != -1 and _valid_port(host[colon:]):
            host = host[:colon]
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return host

    def user_string(self) -> str:
        if self.user is None:
            return ""
        name, password = self.user
        text = _escape(name, USER)
        if password is not None:
            text += ":" + _escape(password, USER)
        return text

    def escaped_path(self) -> str:
        if self.raw_path and _valid_encoded(self.raw_path, PATH):
            try:
                if _unescape(self.raw_path, PATH) == self.path:
                    return self.raw_path
            except GoError:
                pass
        if self.path == "*":
            return "*"
        return _escape(self.path, PATH)

    def escaped_fragment(self) -> str:
        if self.raw_fragment and _valid_encoded(self.raw_fragment, FRAGMENT):
            try:
                if _unescape(self.raw_fragment, FRAGMENT) == self.fragment:
                    return self.raw_fragment
            except GoError:
                pass
        return _escape(self.fragment, FRAGMENT)

    def string(self) -> str:
        out = []
        if self.scheme:
            out.append(self.scheme + ":")
        if self.opaque:
            out.append(self.opaque)
        else:
            has_authority = self.scheme or self.host or self.user is not None
            omitted = self.omit_host and self.host == "" and self.user is None
            if has_authority and not omitted:
                if self.host or self.path or self.user is not None:
                    out.append("//")
                if self.user is not None:
                    out.append(self.user_string() + "@")
                if self.host:
                    out.append(_escape(self.host, HOST))
            path = self.escaped_path()
            if path and path[0] != "/" and self.host:
                out.append("/")
            if not "".join(out) and ":" in path.split("/", 1)[0]:
                out.append("./")
            out.append(path)
        if self.force_query or self.raw_query:
            out.append("?" + self.raw_query)
        if self.fragment:
            out.append("#" + self.escaped_fragment())
        return "".join(out)


def _valid_encoded(text: str, mode: int) -> bool:
    for c in gotypes.to_bytes(text):
        if chr(c) in "!$&'()*+,;=:@[]%":
            continue
        if _should_escape(c, mode):
            return False
    return True


def _scheme(raw: str) -> tuple[str, str]:
    for i, ch in enumerate(raw):
        if ch.isascii() and ch.isalpha():
            continue
        if ch.isascii() and (ch.isdigit() or ch in "+-."):
            if i == 0:
                return "", raw
            continue
        if ch == ":":
            if i == 0:
                raise GoError("missing protocol scheme")
            return raw[:i], raw[i + 1 :]
        return "", raw
    return "", raw


def _valid_userinfo(text: str) -> bool:
    return all((c.isascii() and c.isalnum()) or c in "-._:~!$&'()*+,;=%@" for c in text)


def _parse_host(host: str) -> str:
    if host.startswith("["):
        i = host.rfind("]")
        if i < 0:
            raise GoError("missing ']' in host")
        port = host[i + 1 :]
        if not _valid_port(port):
            raise GoError(f"invalid port {strconv.quote(port)} after host")
        zone = host[:i].find("%25")
        if zone >= 0:
            return (
                _unescape(host[:zone], HOST)
                + _unescape(host[zone:i], ZONE)
                + _unescape(host[i:], HOST)
            )
    else:
        i = host.rfind(":")
        if i != -1 and not _valid_port(host[i:]):
            raise GoError(f"invalid port {strconv.quote(host[i:])} after host")
    return _unescape(host, HOST)


def _parse(raw: str) -> URL:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise GoError("net/url: invalid control character in URL")
    url = URL()
    if raw == "*":
        url.path = "*"
        return url
    url.scheme, rest = _scheme(raw)
    url.scheme = url.scheme.lower()
    if rest.endswith("?") and rest.count("?") == 1:
        url.force_query = True
        rest = rest[:-1]
    else:
        rest, _, url.raw_query = rest.partition("?")
    if not rest.startswith("/"):
        if url.scheme:
            url.opaque = rest
            return url
        if ":" in rest.split("/", 1)[0]:
            raise GoError("first path segment in URL cannot contain colon")
    if (url.scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, rest = rest[2:], ""
        slash = authority.find("/")
        if slash >= 0:
            authority, rest = authority[:slash], authority[slash:]
        at = authority.rfind("@")
        url.host = _parse_host(authority[at + 1 :] if at >= 0 else authority)
        if at >= 0:
            info = authority[:at]
            if not _valid_userinfo(info):
                raise GoError("net/url: invalid userinfo")
            if ":" not in info:
                url.user = (_unescape(info, USER), None)
            else:
                name, _, password = info.partition(":")
                url.user = (_unescape(name, USER), _unescape(password, USER))
    elif url.scheme and rest.startswith("/"):
        url.omit_host = True
    url.path = _unescape(rest, PATH)
    url.raw_path = "" if _escape(url.path, PATH) == rest else rest
    return url


def parse_url(raw: str) -> URL:
    """url.Parse; raises GoError with `parse "..." : ...`."""
    head, _, fragment = raw.partition("#")
    try:
        url = _parse(head)
    except GoError as exc:
        raise GoError(f"parse {strconv.quote(head)}: {exc}") from None
    if fragment:
        try:
            url.fragment = _unescape(fragment, FRAGMENT)
        except GoError as exc:
            raise GoError(f"parse {strconv.quote(raw)}: {exc}") from None
        url.raw_fragment = "" if _escape(url.fragment, FRAGMENT) == fragment else fragment
    return url


@registry.func("urlParse", params=(STRING,))
def url_parse(raw: str) -> gotypes.GoMap:
    try:
        url = parse_url(raw)
    except GoError as exc:
        raise GoError(f"unable to parse url: {exc}") from None
    return gotypes.IfaceMap(
        {
            "scheme": url.scheme,
            "host": url.host,
            "hostname": url.hostname(),
            "path": url.path,
            "query": url.raw_query,
            "opaque": url.opaque,
            "fragment": url.fragment,
            "userinfo": url.user_string(),
        }
    )


def _get(mapping: gotypes.GoMap, key: str) -> str:
    if key not in mapping:
        return ""
    value: Any = mapping[key]
    if value is None:
        raise GoError("runtime error: invalid memory address or nil pointer dereference")
    kind = gotypes.kind_of(value)
    if kind is not gotypes.Kind.STRING:
        raise GoError(
            f"unable to parse {key} key, must be of type string, but {kind.go_name} found"
        )
    return str(value)


@registry.func("urlJoin", params=(ANY_MAP,))
def url_join(mapping: gotypes.GoMap) -> str:
    url = URL(
        scheme=_get(mapping, "scheme"),
        host=_get(mapping, "host"),
        path=_get(mapping, "path"),
        raw_query=_get(mapping, "query"),
        opaque=_get(mapping, "opaque"),
        fragment=_get(mapping, "fragment"),
    )
    info = _get(mapping, "userinfo")
    if info:
        try:
            url.user = parse_url(f"proto://{info}@host").user
        except GoError as exc:
            raise GoError(f"unable to parse userinfo in dict: {exc}") from None
    return url.string()
