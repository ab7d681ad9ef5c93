"""The parse tree of Go's text/template (a port of text/template/parse/node.go).

Why a port: the executor walks these nodes exactly as Go's does, and error messages quote a
node the way Go's `String()` prints it (`executing "key" at <.a.b>: ...`, `{{template "x"}}`).
Nodes are immutable after parsing, so a parsed template can be cached and shared.
"""

from __future__ import annotations

from typing import Any

from asyncso.templates.go import strconv


class Node:
    """A node: its byte-independent position (an offset in the template text)."""

    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return self.text()

    def text(self) -> str:
        raise NotImplementedError


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.nodes: list[Node] = []

    def text(self) -> str:
        return "".join(node.text() for node in self.nodes)


class TextNode(Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: str) -> None:
        super().__init__(pos)
        self.value = value

    def text(self) -> str:
        return self.value


class CommentNode(Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: str) -> None:
        super().__init__(pos)
        self.value = value

    def text(self) -> str:
        return "{{" + self.value + "}}"


class VariableNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident.split(".")

    def text(self) -> str:
        return ".".join(self.ident)


class PipeNode(Node):
    __slots__ = ("cmds", "decl", "is_assign", "line")

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line
        self.is_assign = False
        self.decl: list[VariableNode] = []
        self.cmds: list[CommandNode] = []

    def text(self) -> str:
        out = ""
        if self.decl:
            out = ", ".join(v.text() for v in self.decl)
            out += " = " if self.is_assign else " := "
        return out + " | ".join(c.text() for c in self.cmds)


class ActionNode(Node):
    __slots__ = ("line", "pipe")

    def __init__(self, pos: int, line: int, pipe: PipeNode) -> None:
        super().__init__(pos)
        self.line = line
        self.pipe = pipe

    def text(self) -> str:
        return "{{" + self.pipe.text() + "}}"


class CommandNode(Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.args: list[Node] = []

    def text(self) -> str:
        parts = []
        for arg in self.args:
            if isinstance(arg, PipeNode):
                parts.append("(" + arg.text() + ")")
            else:
                parts.append(arg.text())
        return " ".join(parts)


class IdentifierNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident

    def text(self) -> str:
        return self.ident


class DotNode(Node):
    __slots__ = ()

    def text(self) -> str:
        return "."


class NilNode(Node):
    __slots__ = ()

    def text(self) -> str:
        return "nil"


class FieldNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident[1:].split(".")

    def text(self) -> str:
        return "".join("." + part for part in self.ident)


class ChainNode(Node):
    __slots__ = ("field", "node")

    def __init__(self, pos: int, node: Node) -> None:
        super().__init__(pos)
        self.node = node
        self.field: list[str] = []

    def add(self, field: str) -> None:
        self.field.append(field[1:])

    def text(self) -> str:
        out = "(" + self.node.text() + ")" if isinstance(self.node, PipeNode) else self.node.text()
        return out + "".join("." + f for f in self.field)


class BoolNode(Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: bool) -> None:
        super().__init__(pos)
        self.value = value

    def text(self) -> str:
        return "true" if self.value else "false"


class NumberNode(Node):
    __slots__ = (
        "complex128",
        "float64",
        "int64",
        "is_complex",
        "is_float",
        "is_int",
        "is_uint",
        "literal",
        "uint64",
    )

    def __init__(self, pos: int, literal: str) -> None:
        super().__init__(pos)
        self.literal = literal
        self.is_int = False
        self.is_uint = False
        self.is_float = False
        self.is_complex = False
        self.int64 = 0
        self.uint64 = 0
        self.float64 = 0.0
        self.complex128 = 0j

    def text(self) -> str:
        return self.literal


class StringNode(Node):
    __slots__ = ("quoted", "value")

    def __init__(self, pos: int, quoted: str, value: str) -> None:
        super().__init__(pos)
        self.quoted = quoted
        self.value = value

    def text(self) -> str:
        return self.quoted


class EndNode(Node):
    __slots__ = ()

    def text(self) -> str:
        return "{{end}}"


class ElseNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line

    def text(self) -> str:
        return "{{else}}"


class BranchNode(Node):
    __slots__ = ("else_list", "line", "list", "pipe")
    keyword = ""

    def __init__(
        self, pos: int, line: int, pipe: PipeNode, body: ListNode, else_list: ListNode | None
    ) -> None:
        super().__init__(pos)
        self.line = line
        self.pipe = pipe
        self.list = body
        self.else_list = else_list

    def text(self) -> str:
        out = "{{" + self.keyword + " " + self.pipe.text() + "}}" + self.list.text()
        if self.else_list is not None:
            out += "{{else}}" + self.else_list.text()
        return out + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


class BreakNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line

    def text(self) -> str:
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line

    def text(self) -> str:
        return "{{continue}}"


class TemplateNode(Node):
    __slots__ = ("line", "name", "pipe")

    def __init__(self, pos: int, line: int, name: str, pipe: PipeNode | None) -> None:
        super().__init__(pos)
        self.line = line
        self.name = name
        self.pipe = pipe

    def text(self) -> str:
        out = "{{template " + strconv.quote(self.name)
        if self.pipe is not None:
            out += " " + self.pipe.text()
        return out + "}}"


def is_empty_tree(node: Any) -> bool:
    """parse.IsEmptyTree: nothing but space and comments."""
    if node is None or isinstance(node, CommentNode):
        return True
    if isinstance(node, ListNode):
        return all(is_empty_tree(n) for n in node.nodes)
    if isinstance(node, TextNode):
        return node.value.strip(GO_SPACES) == ""
    return False


#: unicode.IsSpace, which bytes.TrimSpace uses (Python's isspace also counts \x1c-\x1f).
GO_SPACES = (
    " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
