"""The lexer of Go's text/template (a port of text/template/parse/lex.go).

Why a port: what is a token, where trim markers apply, and which input is a lexical error (with
Go's message, e.g. `unclosed action`, `bad character U+002B '+'`) must match Go exactly, or
templates that work under ESO would fail here or the reverse. Positions are offsets into the
Python string; `parser.error_context` turns them into Go's byte columns.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple


class ItemType(enum.IntEnum):
    ERROR = 0
    BOOL = 1
    CHAR = 2
    CHAR_CONSTANT = 3
    COMMENT = 4
    COMPLEX = 5
    ASSIGN = 6
    DECLARE = 7
    EOF = 8
    FIELD = 9
    IDENTIFIER = 10
    LEFT_DELIM = 11
    LEFT_PAREN = 12
    NUMBER = 13
    PIPE = 14
    RAW_STRING = 15
    RIGHT_DELIM = 16
    RIGHT_PAREN = 17
    SPACE = 18
    STRING = 19
    TEXT = 20
    VARIABLE = 21
    KEYWORD = 22
    BLOCK = 23
    BREAK = 24
    CONTINUE = 25
    DOT = 26
    DEFINE = 27
    ELSE = 28
    END = 29
    IF = 30
    NIL = 31
    RANGE = 32
    TEMPLATE = 33
    WITH = 34


KEYWORDS = {
    ".": ItemType.DOT,
    "block": ItemType.BLOCK,
    "break": ItemType.BREAK,
    "continue": ItemType.CONTINUE,
    "define": ItemType.DEFINE,
    "else": ItemType.ELSE,
    "end": ItemType.END,
    "if": ItemType.IF,
    "range": ItemType.RANGE,
    "nil": ItemType.NIL,
    "template": ItemType.TEMPLATE,
    "with": ItemType.WITH,
}


class Item(NamedTuple):
    typ: ItemType
    pos: int
    val: str
    line: int

    def describe(self) -> str:
        """item.String() of lex.go."""
        from asyncso.templates.go import strconv  # local: avoids a cycle at import

        if self.typ == ItemType.EOF:
            return "EOF"
        if self.typ == ItemType.ERROR:
            return self.val
        if self.typ > ItemType.KEYWORD:
            return f"<{self.val}>"
        if len(self.val.encode("utf-8", "surrogateescape")) > 10:
            return _quote_prefix(self.val, 10) + "..."
        return strconv.quote(self.val)


def _quote_prefix(text: str, runes: int) -> str:
    """`%.10q`: the quoted first ten runes."""
    from asyncso.templates.go import strconv

    return strconv.quote(text[:runes])


SPACE_CHARS = " \t\r\n"
EOF = ""
LEFT_COMMENT = "/*"
RIGHT_COMMENT = "*/"


def is_space(ch: str) -> bool:
    return ch in (" ", "\t", "\r", "\n") and ch != ""


def is_alnum(ch: str) -> bool:
    if ch == "":
        return False
    if ch == "_":
        return True
    if ch.isascii():
        return ch.isalnum()
    return ch.isalpha() or ch.isdecimal()


def _describe_rune(ch: str) -> str:
    """`%#U` of a rune: U+0041 'A'."""
    from asyncso.templates.go import strconv

    code = ord(ch) if ch else -1
    if 0xDC80 <= code <= 0xDCFF:
        code = strconv.RUNE_ERROR
    text = f"U+{code:04X}"
    if strconv.is_print(code):
        text += f" '{chr(code)}'"
    return text


def _has_left_trim(text: str, pos: int) -> bool:
    return len(text) - pos >= 2 and text[pos] == "-" and text[pos + 1] in SPACE_CHARS


def _has_right_trim(text: str, pos: int) -> bool:
    return len(text) - pos >= 2 and text[pos] in SPACE_CHARS and text[pos + 1] == "-"


class Lexer:
    """Produces items one at a time (`next_item`), as lex.go does since Go 1.20."""

    def __init__(
        self,
        name: str,
        text: str,
        left: str,
        right: str,
        *,
        break_ok: bool = True,
        continue_ok: bool = True,
        emit_comment: bool = False,
    ) -> None:
        self.name = name
        self.input = text
        self.left = left or "{{"
        self.right = right or "}}"
        self.pos = 0
        self.start = 0
        self.at_eof = False
        self.paren_depth = 0
        self.line = 1
        self.start_line = 1
        self.inside_action = False
        self.break_ok = break_ok
        self.continue_ok = continue_ok
        self.emit_comment = emit_comment
        self.item: Item = Item(ItemType.EOF, 0, "EOF", 1)

    # --- primitives ----------------------------------------------------------------------

    def next(self) -> str:
        if self.pos >= len(self.input):
            self.at_eof = True
            return EOF
        ch = self.input[self.pos]
        self.pos += 1
        if ch == "\n":
            self.line += 1
        return ch

    def peek(self) -> str:
        if self.pos >= len(self.input):
            return EOF
        return self.input[self.pos]

    def backup(self) -> None:
        if not self.at_eof and self.pos > 0:
            self.pos -= 1
            if self.input[self.pos] == "\n":
                self.line -= 1

    def this_item(self, typ: ItemType) -> Item:
        item = Item(typ, self.start, self.input[self.start : self.pos], self.start_line)
        self.start = self.pos
        self.start_line = self.line
        return item

    def emit(self, typ: ItemType) -> None:
        self.item = self.this_item(typ)

    def ignore(self) -> None:
        self.line += self.input.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def accept(self, valid: str) -> bool:
        ch = self.next()
        if ch != EOF and ch in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            ch = self.next()
            if ch == EOF or ch not in valid:
                break
        self.backup()

    def errorf(self, message: str) -> None:
        self.item = Item(ItemType.ERROR, self.start, message, self.start_line)
        self.start = 0
        self.pos = 0
        self.input = ""

    # --- driver --------------------------------------------------------------------------

    def next_item(self) -> Item:
        self.item = Item(ItemType.EOF, self.pos, "EOF", self.start_line)
        state: Any = self.lex_inside_action if self.inside_action else self.lex_text
        while state is not None:
            state = state()
        return self.item

    # --- states: each returns the next state or None when an item is ready ---------------

    def lex_text(self) -> object:
        text = self.input
        x = text.find(self.left, self.pos)
        if x >= 0:
            if x > self.pos:
                self.pos = x
                trim = 0
                delim_end = self.pos + len(self.left)
                if _has_left_trim(text, delim_end):
                    segment = text[self.start : self.pos]
                    trim = len(segment) - len(segment.rstrip(SPACE_CHARS))
                self.pos -= trim
                self.line += text.count("\n", self.start, self.pos)
                item = self.this_item(ItemType.TEXT)
                self.pos += trim
                self.ignore()
                if item.val:
                    self.item = item
                    return None
            return self.lex_left_delim
        self.pos = len(text)
        if self.pos > self.start:
            self.line += text.count("\n", self.start, self.pos)
            self.emit(ItemType.TEXT)
            return None
        self.emit(ItemType.EOF)
        return None

    def at_right_delim(self) -> tuple[bool, bool]:
        text = self.input
        if _has_right_trim(text, self.pos) and text.startswith(self.right, self.pos + 2):
            return True, True
        if text.startswith(self.right, self.pos):
            return True, False
        return False, False

    def lex_left_delim(self) -> object:
        self.pos += len(self.left)
        trim = _has_left_trim(self.input, self.pos)
        after_marker = 2 if trim else 0
        if self.input.startswith(LEFT_COMMENT, self.pos + after_marker):
            self.pos += after_marker
            self.ignore()
            return self.lex_comment
        item = self.this_item(ItemType.LEFT_DELIM)
        self.inside_action = True
        self.pos += after_marker
        self.ignore()
        self.paren_depth = 0
        self.item = item
        return None

    def lex_comment(self) -> object:
        self.pos += len(LEFT_COMMENT)
        x = self.input.find(RIGHT_COMMENT, self.pos)
        if x < 0:
            self.errorf("unclosed comment")
            return None
        self.pos = x + len(RIGHT_COMMENT)
        delim, trim = self.at_right_delim()
        if not delim:
            self.errorf("comment ends before closing delimiter")
            return None
        item = self.this_item(ItemType.COMMENT)
        if trim:
            self.pos += 2
        self.pos += len(self.right)
        if trim:
            self.pos += _left_trim_length(self.input, self.pos)
        self.ignore()
        if self.emit_comment:
            self.item = item
            return None
        return self.lex_text

    def lex_right_delim(self) -> object:
        _, trim = self.at_right_delim()
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(self.right)
        item = self.this_item(ItemType.RIGHT_DELIM)
        if trim:
            self.pos += _left_trim_length(self.input, self.pos)
            self.ignore()
        self.inside_action = False
        self.item = item
        return None

    def lex_inside_action(self) -> object:
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            self.errorf("unclosed left paren")
            return None
        ch = self.next()
        if ch == EOF:
            self.errorf("unclosed action")
            return None
        if is_space(ch):
            self.backup()
            return self.lex_space
        if ch == "=":
            self.emit(ItemType.ASSIGN)
            return None
        if ch == ":":
            if self.next() != "=":
                self.errorf("expected :=")
                return None
            self.emit(ItemType.DECLARE)
            return None
        if ch == "|":
            self.emit(ItemType.PIPE)
            return None
        if ch == '"':
            return self.lex_quote
        if ch == "`":
            return self.lex_raw_quote
        if ch == "$":
            return self.lex_variable
        if ch == "'":
            return self.lex_char
        if ch == ".":
            if self.pos < len(self.input):
                following = self.input[self.pos]
                if following < "0" or following > "9":
                    return self.lex_field
            self.backup()
            return self.lex_number
        if ch in "+-" or "0" <= ch <= "9":
            self.backup()
            return self.lex_number
        if is_alnum(ch):
            self.backup()
            return self.lex_identifier
        if ch == "(":
            self.paren_depth += 1
            self.emit(ItemType.LEFT_PAREN)
            return None
        if ch == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.errorf("unexpected right paren")
                return None
            self.emit(ItemType.RIGHT_PAREN)
            return None
        if ord(ch) < 0x7F and ord(ch) >= 0x20:
            self.emit(ItemType.CHAR)
            return None
        self.errorf(f"unrecognized character in action: {_describe_rune(ch)}")
        return None

    def lex_space(self) -> object:
        num_spaces = 0
        while True:
            ch = self.peek()
            if not is_space(ch):
                break
            self.next()
            num_spaces += 1
        text = self.input
        if _has_right_trim(text, self.pos - 1) and text.startswith(self.right, self.pos + 1):
            self.backup()
            if num_spaces == 1:
                return self.lex_right_delim
        self.emit(ItemType.SPACE)
        return None

    def lex_identifier(self) -> object:
        while True:
            ch = self.next()
            if is_alnum(ch):
                continue
            self.backup()
            word = self.input[self.start : self.pos]
            if not self.at_terminator():
                self.errorf(f"bad character {_describe_rune(ch)}")
                return None
            keyword = KEYWORDS.get(word)
            if keyword is not None and keyword > ItemType.KEYWORD:
                if (keyword == ItemType.BREAK and not self.break_ok) or (
                    keyword == ItemType.CONTINUE and not self.continue_ok
                ):
                    self.emit(ItemType.IDENTIFIER)
                else:
                    self.emit(keyword)
            elif word[0] == ".":
                self.emit(ItemType.FIELD)
            elif word in ("true", "false"):
                self.emit(ItemType.BOOL)
            else:
                self.emit(ItemType.IDENTIFIER)
            return None

    def lex_field(self) -> object:
        return self._lex_field_or_variable(ItemType.FIELD)

    def lex_variable(self) -> object:
        if self.at_terminator():
            self.emit(ItemType.VARIABLE)
            return None
        return self._lex_field_or_variable(ItemType.VARIABLE)

    def _lex_field_or_variable(self, typ: ItemType) -> object:
        if self.at_terminator():
            self.emit(ItemType.VARIABLE if typ == ItemType.VARIABLE else ItemType.DOT)
            return None
        while True:
            ch = self.next()
            if not is_alnum(ch):
                self.backup()
                break
        if not self.at_terminator():
            self.errorf(f"bad character {_describe_rune(ch)}")
            return None
        self.emit(typ)
        return None

    def at_terminator(self) -> bool:
        ch = self.peek()
        if is_space(ch):
            return True
        if ch in ("", ".", ",", "|", ":", ")", "("):
            return True
        return self.input.startswith(self.right, self.pos)

    def lex_char(self) -> object:
        while True:
            ch = self.next()
            if ch == "\\":
                following = self.next()
                if following not in (EOF, "\n"):
                    continue
                self.errorf("unterminated character constant")
                return None
            if ch in (EOF, "\n"):
                self.errorf("unterminated character constant")
                return None
            if ch == "'":
                break
        self.emit(ItemType.CHAR_CONSTANT)
        return None

    def lex_number(self) -> object:
        if not self.scan_number():
            self.errorf(f"bad number syntax: {_go_quote(self.input[self.start : self.pos])}")
            return None
        sign = self.peek()
        if sign in ("+", "-") and sign != "":
            if not self.scan_number() or self.input[self.pos - 1] != "i":
                self.errorf(f"bad number syntax: {_go_quote(self.input[self.start : self.pos])}")
                return None
            self.emit(ItemType.COMPLEX)
            return None
        self.emit(ItemType.NUMBER)
        return None

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if is_alnum(self.peek()):
            self.next()
            return False
        return True

    def lex_quote(self) -> object:
        while True:
            ch = self.next()
            if ch == "\\":
                following = self.next()
                if following not in (EOF, "\n"):
                    continue
                self.errorf("unterminated quoted string")
                return None
            if ch in (EOF, "\n"):
                self.errorf("unterminated quoted string")
                return None
            if ch == '"':
                break
        self.emit(ItemType.STRING)
        return None

    def lex_raw_quote(self) -> object:
        while True:
            ch = self.next()
            if ch == EOF:
                self.errorf("unterminated raw quoted string")
                return None
            if ch == "`":
                break
        self.emit(ItemType.RAW_STRING)
        return None


def _left_trim_length(text: str, pos: int) -> int:
    rest = text[pos:]
    return len(rest) - len(rest.lstrip(SPACE_CHARS))


def _go_quote(text: str) -> str:
    from asyncso.templates.go import strconv

    return strconv.quote(text)
