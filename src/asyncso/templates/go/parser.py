"""The parser of Go's text/template (a port of text/template/parse/parse.go).

Why a port: which templates parse, into which tree, and the exact parse error
(`template: key:1: unexpected "}" in operand`) must be Go's, because ESO users see and search
for those texts. The structure (three-token lookahead, `backup2`/`backup3`, variable scopes,
`define`/`block` trees) follows parse.go so each rule can be checked against it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Container

from asyncso.templates.go import nodes, strconv
from asyncso.templates.go.lexer import Item, ItemType, Lexer


class ParseError(Exception):
    """A parse error with Go's full message (`template: name:line: ...`)."""


@dataclasses.dataclass(frozen=True)
class Parsed:
    """A parsed template set: the trees by name, and what error messages need."""

    name: str
    text: str
    trees: dict[str, nodes.ListNode]


def error_context(text: str, parse_name: str, node: nodes.Node) -> tuple[str, str]:
    """Tree.ErrorContext: (`name:line:byte-column`, the node printed as Go prints it)."""
    before = text[: node.pos]
    newline = before.rfind("\n")
    column = _byte_len(before) if newline < 0 else _byte_len(before[newline + 1 :])
    line = 1 + before.count("\n")
    return f"{parse_name}:{line}:{column}", node.text()


def _byte_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogateescape"))


class _Tree:
    """One parse tree under construction (parse.Tree)."""

    def __init__(
        self,
        name: str,
        *,
        text: str,
        parse_name: str,
        has_function: Callable[[str], bool],
        tree_set: dict[str, nodes.ListNode],
        lex: Lexer,
    ) -> None:
        self.name = name
        self.parse_name = parse_name
        self.text = text
        self.has_function = has_function
        self.tree_set = tree_set
        self.lex = lex
        self.root: nodes.ListNode | None = None
        self.token: list[Item] = [Item(ItemType.EOF, 0, "", 0)] * 3
        self.peek_count = 0
        self.vars: list[str] = ["$"]
        self.action_line = 0
        self.range_depth = 0

    def sub_tree(self, name: str) -> _Tree:
        """A tree for a `define`/`block` that shares the lexer and the lookahead state."""
        tree = _Tree(
            name,
            text=self.text,
            parse_name=self.parse_name,
            has_function=self.has_function,
            tree_set=self.tree_set,
            lex=self.lex,
        )
        return tree

    # --- tokens ----------------------------------------------------------------------------

    def next(self) -> Item:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = self.lex.next_item()
        return self.token[self.peek_count]

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, t1: Item) -> None:
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2: Item, t1: Item) -> None:
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self) -> Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[0] = self.lex.next_item()
        return self.token[0]

    def next_non_space(self) -> Item:
        while True:
            token = self.next()
            if token.typ != ItemType.SPACE:
                return token

    def peek_non_space(self) -> Item:
        token = self.next_non_space()
        self.backup()
        return token

    # --- errors ----------------------------------------------------------------------------

    def errorf(self, message: str) -> ParseError:
        self.root = None
        return ParseError(f"template: {self.parse_name}:{self.token[0].line}: {message}")

    def expect(self, expected: ItemType, context: str) -> Item:
        token = self.next_non_space()
        if token.typ != expected:
            raise self.unexpected(token, context)
        return token

    def expect_one_of(self, first: ItemType, second: ItemType, context: str) -> Item:
        token = self.next_non_space()
        if token.typ != first and token.typ != second:
            raise self.unexpected(token, context)
        return token

    def unexpected(self, token: Item, context: str) -> ParseError:
        if token.typ == ItemType.ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != token.line:
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            return self.errorf(f"{token.describe()}{extra}")
        return self.errorf(f"unexpected {token.describe()} in {context}")

    # --- structure -------------------------------------------------------------------------

    def add(self) -> None:
        existing = self.tree_set.get(self.name)
        if existing is None or nodes.is_empty_tree(existing):
            assert self.root is not None
            self.tree_set[self.name] = self.root
            return
        if not nodes.is_empty_tree(self.root):
            raise self.errorf(
                f"template: multiple definition of template {strconv.quote(self.name)}"
            )

    def parse(self) -> None:
        self.root = nodes.ListNode(self.peek().pos)
        while self.peek().typ != ItemType.EOF:
            if self.peek().typ == ItemType.LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().typ == ItemType.DEFINE:
                    definition = self.sub_tree("definition")
                    definition.parse_definition()
                    continue
                self.backup2(delim)
            node = self.text_or_action()
            if isinstance(node, (nodes.EndNode, nodes.ElseNode)):
                raise self.errorf(f"unexpected {node.text()}")
            self.root.nodes.append(node)

    def parse_definition(self) -> None:
        context = "define clause"
        name = self.expect_one_of(ItemType.STRING, ItemType.RAW_STRING, context)
        try:
            self.name = strconv.unquote(name.val)
        except ValueError as exc:
            raise self.errorf(str(exc)) from exc
        self.expect(ItemType.RIGHT_DELIM, context)
        self.root, end = self.item_list()
        if not isinstance(end, nodes.EndNode):
            raise self.errorf(f"unexpected {end.text()} in {context}")
        self.add()

    def item_list(self) -> tuple[nodes.ListNode, nodes.Node]:
        body = nodes.ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != ItemType.EOF:
            node = self.text_or_action()
            if isinstance(node, (nodes.EndNode, nodes.ElseNode)):
                return body, node
            body.nodes.append(node)
        raise self.errorf("unexpected EOF")

    def text_or_action(self) -> nodes.Node:
        token = self.next_non_space()
        if token.typ == ItemType.TEXT:
            return nodes.TextNode(token.pos, token.val)
        if token.typ == ItemType.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if token.typ == ItemType.COMMENT:
            return nodes.CommentNode(token.pos, token.val)
        raise self.unexpected(token, "input")

    def action(self) -> nodes.Node:
        token = self.next_non_space()
        typ = token.typ
        if typ == ItemType.BLOCK:
            return self.block_control()
        if typ == ItemType.BREAK:
            return self.break_control(token.pos, token.line)
        if typ == ItemType.CONTINUE:
            return self.continue_control(token.pos, token.line)
        if typ == ItemType.ELSE:
            return self.else_control()
        if typ == ItemType.END:
            return self.end_control()
        if typ == ItemType.IF:
            return self.if_control()
        if typ == ItemType.RANGE:
            return self.range_control()
        if typ == ItemType.TEMPLATE:
            return self.template_control()
        if typ == ItemType.WITH:
            return self.with_control()
        self.backup()
        token = self.peek()
        return nodes.ActionNode(
            token.pos, token.line, self.pipeline("command", ItemType.RIGHT_DELIM)
        )

    def break_control(self, pos: int, line: int) -> nodes.Node:
        token = self.next_non_space()
        if token.typ != ItemType.RIGHT_DELIM:
            raise self.unexpected(token, "{{break}}")
        if self.range_depth == 0:
            raise self.errorf("{{break}} outside {{range}}")
        return nodes.BreakNode(pos, line)

    def continue_control(self, pos: int, line: int) -> nodes.Node:
        token = self.next_non_space()
        if token.typ != ItemType.RIGHT_DELIM:
            raise self.unexpected(token, "{{continue}}")
        if self.range_depth == 0:
            raise self.errorf("{{continue}} outside {{range}}")
        return nodes.ContinueNode(pos, line)

    def pipeline(self, context: str, end: ItemType) -> nodes.PipeNode:
        token = self.peek_non_space()
        pipe = nodes.PipeNode(token.pos, token.line)
        while True:  # decls: (goto in Go)
            variable = self.peek_non_space()
            if variable.typ != ItemType.VARIABLE:
                break
            self.next()
            token_after = self.peek()
            following = self.peek_non_space()
            if following.typ in (ItemType.ASSIGN, ItemType.DECLARE):
                pipe.is_assign = following.typ == ItemType.ASSIGN
                self.next_non_space()
                pipe.decl.append(nodes.VariableNode(variable.pos, variable.val))
                self.vars.append(variable.val)
            elif following.typ == ItemType.CHAR and following.val == ",":
                self.next_non_space()
                pipe.decl.append(nodes.VariableNode(variable.pos, variable.val))
                self.vars.append(variable.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (
                        ItemType.VARIABLE,
                        ItemType.RIGHT_DELIM,
                        ItemType.RIGHT_PAREN,
                    ):
                        continue
                    raise self.errorf("range can only initialize variables")
                raise self.errorf(f"too many declarations in {context}")
            elif token_after.typ == ItemType.SPACE:
                self.backup3(variable, token_after)
            else:
                self.backup2(variable)
            break
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in _OPERAND_STARTS:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(token, context)

    def check_pipeline(self, pipe: nodes.PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.errorf(f"missing value for {context}")
        for index, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(
                cmd.args[0],
                (nodes.BoolNode, nodes.DotNode, nodes.NilNode, nodes.NumberNode, nodes.StringNode),
            ):
                raise self.errorf(f"non executable command in pipeline stage {index + 2}")

    def parse_control(
        self, context: str
    ) -> tuple[int, int, nodes.PipeNode, nodes.ListNode, nodes.ListNode | None]:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, ItemType.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            body, following = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list: nodes.ListNode | None = None
            if isinstance(following, nodes.ElseNode):
                if context == "if" and self.peek().typ == ItemType.IF:
                    self.next()
                    else_list = nodes.ListNode(following.pos)
                    else_list.nodes.append(self.if_control())
                elif context == "with" and self.peek().typ == ItemType.WITH:
                    self.next()
                    else_list = nodes.ListNode(following.pos)
                    else_list.nodes.append(self.with_control())
                else:
                    else_list, following = self.item_list()
                    if not isinstance(following, nodes.EndNode):
                        raise self.errorf(f"expected end; found {following.text()}")
            return pipe.pos, pipe.line, pipe, body, else_list
        finally:
            del self.vars[mark:]

    def if_control(self) -> nodes.Node:
        return nodes.IfNode(*self.parse_control("if"))

    def range_control(self) -> nodes.Node:
        return nodes.RangeNode(*self.parse_control("range"))

    def with_control(self) -> nodes.Node:
        return nodes.WithNode(*self.parse_control("with"))

    def end_control(self) -> nodes.Node:
        return nodes.EndNode(self.expect(ItemType.RIGHT_DELIM, "end").pos)

    def else_control(self) -> nodes.Node:
        peek = self.peek_non_space()
        if peek.typ in (ItemType.IF, ItemType.WITH):
            return nodes.ElseNode(peek.pos, peek.line)
        token = self.expect(ItemType.RIGHT_DELIM, "else")
        return nodes.ElseNode(token.pos, token.line)

    def block_control(self) -> nodes.Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.parse_template_name(token, context)
        pipe = self.pipeline(context, ItemType.RIGHT_DELIM)
        block = self.sub_tree(name)
        block.root, end = block.item_list()
        if not isinstance(end, nodes.EndNode):
            raise self.errorf(f"unexpected {end.text()} in {context}")
        block.add()
        return nodes.TemplateNode(token.pos, token.line, name, pipe)

    def template_control(self) -> nodes.Node:
        context = "template clause"
        token = self.next_non_space()
        name = self.parse_template_name(token, context)
        pipe: nodes.PipeNode | None = None
        if self.next_non_space().typ != ItemType.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, ItemType.RIGHT_DELIM)
        return nodes.TemplateNode(token.pos, token.line, name, pipe)

    def parse_template_name(self, token: Item, context: str) -> str:
        if token.typ in (ItemType.STRING, ItemType.RAW_STRING):
            try:
                return strconv.unquote(token.val)
            except ValueError as exc:
                raise self.errorf(str(exc)) from exc
        raise self.unexpected(token, context)

    def command(self) -> nodes.CommandNode:
        cmd = nodes.CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == ItemType.SPACE:
                continue
            if token.typ in (ItemType.RIGHT_DELIM, ItemType.RIGHT_PAREN):
                self.backup()
            elif token.typ == ItemType.PIPE:
                pass
            else:
                raise self.unexpected(token, "operand")
            break
        if not cmd.args:
            raise self.errorf("empty command")
        return cmd

    def operand(self) -> nodes.Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == ItemType.FIELD:
            chain = nodes.ChainNode(self.peek().pos, node)
            while self.peek().typ == ItemType.FIELD:
                chain.add(self.next().val)
            if isinstance(node, nodes.FieldNode):
                return nodes.FieldNode(chain.pos, chain.text())
            if isinstance(node, nodes.VariableNode):
                return nodes.VariableNode(chain.pos, chain.text())
            if isinstance(
                node,
                (nodes.BoolNode, nodes.StringNode, nodes.NumberNode, nodes.NilNode, nodes.DotNode),
            ):
                raise self.errorf(f"unexpected . after term {strconv.quote(node.text())}")
            return chain
        return node

    def term(self) -> nodes.Node | None:
        token = self.next_non_space()
        typ = token.typ
        if typ == ItemType.IDENTIFIER:
            if not self.has_function(token.val):
                raise self.errorf(f"function {strconv.quote(token.val)} not defined")
            return nodes.IdentifierNode(token.pos, token.val)
        if typ == ItemType.DOT:
            return nodes.DotNode(token.pos)
        if typ == ItemType.NIL:
            return nodes.NilNode(token.pos)
        if typ == ItemType.VARIABLE:
            return self.use_var(token.pos, token.val)
        if typ == ItemType.FIELD:
            return nodes.FieldNode(token.pos, token.val)
        if typ == ItemType.BOOL:
            return nodes.BoolNode(token.pos, token.val == "true")
        if typ in (ItemType.CHAR_CONSTANT, ItemType.COMPLEX, ItemType.NUMBER):
            try:
                return new_number(token.pos, token.val, typ)
            except ValueError as exc:
                raise self.errorf(str(exc)) from exc
        if typ == ItemType.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", ItemType.RIGHT_PAREN)
        if typ in (ItemType.STRING, ItemType.RAW_STRING):
            try:
                value = strconv.unquote(token.val)
            except ValueError as exc:
                raise self.errorf(str(exc)) from exc
            return nodes.StringNode(token.pos, token.val, value)
        self.backup()
        return None

    def use_var(self, pos: int, name: str) -> nodes.Node:
        variable = nodes.VariableNode(pos, name)
        if variable.ident[0] in self.vars:
            return variable
        raise self.errorf(f"undefined variable {strconv.quote(variable.ident[0])}")


_OPERAND_STARTS = frozenset(
    {
        ItemType.BOOL,
        ItemType.CHAR_CONSTANT,
        ItemType.COMPLEX,
        ItemType.DOT,
        ItemType.FIELD,
        ItemType.IDENTIFIER,
        ItemType.NUMBER,
        ItemType.NIL,
        ItemType.RAW_STRING,
        ItemType.STRING,
        ItemType.VARIABLE,
        ItemType.LEFT_PAREN,
    }
)


# --- numbers --------------------------------------------------------------------------------


def _float_is_int(value: float) -> bool:
    if value != value or value in (float("inf"), float("-inf")):
        return False
    whole = int(value)
    return -(1 << 63) <= whole < (1 << 63) and float(whole) == value


def _float_is_uint(value: float) -> bool:
    if value != value or value in (float("inf"), float("-inf")):
        return False
    whole = int(value)
    return 0 <= whole < (1 << 64) and float(whole) == value


def _simplify_complex(number: nodes.NumberNode) -> None:
    number.is_float = number.complex128.imag == 0
    if number.is_float:
        number.float64 = number.complex128.real
        number.is_int = _float_is_int(number.float64)
        if number.is_int:
            number.int64 = int(number.float64)
        number.is_uint = _float_is_uint(number.float64)
        if number.is_uint:
            number.uint64 = int(number.float64)


def _parse_complex(text: str) -> complex:
    """fmt.Sscan into a complex128 of `re+imi` as the lexer produces it."""
    split = -1
    for index in range(len(text) - 1, 0, -1):
        if text[index] in "+-" and text[index - 1] not in "eEpP":
            split = index
            break
    if split < 0 or not text.endswith("i"):
        raise ValueError("expected integer")
    try:
        real = strconv.parse_float(text[:split])
        imag = strconv.parse_float(text[split:-1])
    except ValueError as exc:
        raise ValueError(f"strconv.ParseFloat: parsing {strconv.quote(text)}: {exc}") from exc
    return complex(real, imag)


def new_number(pos: int, text: str, typ: ItemType) -> nodes.NumberNode:
    """parse.Tree.newNumber: a number literal's int/uint/float/complex readings."""
    number = nodes.NumberNode(pos, text)
    if typ == ItemType.CHAR_CONSTANT:
        data = text.encode("utf-8", "surrogateescape")
        code, _, tail = strconv.unquote_char(data[1:], data[0])
        if tail != b"'":
            raise ValueError(f"malformed character constant: {text}")
        number.int64 = number.uint64 = code
        number.is_int = number.is_uint = number.is_float = True
        number.float64 = float(code)
        return number
    if typ == ItemType.COMPLEX:
        number.complex128 = _parse_complex(text)
        number.is_complex = True
        _simplify_complex(number)
        return number
    if text.endswith("i"):
        try:
            imag = strconv.parse_float(text[:-1])
        except ValueError:
            pass
        else:
            number.is_complex = True
            number.complex128 = complex(0, imag)
            _simplify_complex(number)
            return number
    unsigned = 0
    try:
        unsigned = strconv.parse_uint(text, 0, 64)
    except ValueError:
        pass
    else:
        number.is_uint = True
        number.uint64 = unsigned
    try:
        signed = strconv.parse_int(text, 0, 64)
    except ValueError:
        pass
    else:
        number.is_int = True
        number.int64 = signed
        if signed == 0:
            number.is_uint = True
            number.uint64 = unsigned
    if number.is_int:
        number.is_float = True
        number.float64 = float(number.int64)
    elif number.is_uint:
        number.is_float = True
        number.float64 = float(number.uint64)
    else:
        try:
            value = strconv.parse_float(text)
        except ValueError:
            pass
        else:
            if not any(ch in text for ch in ".eEpP"):
                raise ValueError(f"integer overflow: {strconv.quote(text)}")
            number.is_float = True
            number.float64 = value
            if _float_is_int(value):
                number.is_int = True
                number.int64 = int(value)
            if _float_is_uint(value):
                number.is_uint = True
                number.uint64 = int(value)
    if not (number.is_int or number.is_uint or number.is_float):
        raise ValueError(f"illegal number syntax: {strconv.quote(text)}")
    return number


# --- entry point ---------------------------------------------------------------------------


def parse(
    name: str,
    text: str,
    *,
    left: str = "",
    right: str = "",
    functions: Container[str],
) -> Parsed:
    """parse.Parse followed by Template.Parse's association of the trees; raises ParseError."""

    def has_function(fn: str) -> bool:
        return fn in functions

    lex = Lexer(
        name,
        text,
        left,
        right,
        break_ok=not has_function("break"),
        continue_ok=not has_function("continue"),
    )
    trees: dict[str, nodes.ListNode] = {}
    tree = _Tree(
        name,
        text=text,
        parse_name=name,
        has_function=has_function,
        tree_set=trees,
        lex=lex,
    )
    tree.parse()
    tree.add()
    return Parsed(name=name, text=text, trees=trees)
