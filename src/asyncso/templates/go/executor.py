"""The executor of Go's text/template (a port of text/template/exec.go).

Why a port: what a template prints, when it fails and with which message
(`template: key:1:5: executing "key" at <.missing>: map has no entry for key "missing"`) is
decided here, the way Go decides it: pipelines, variables, field and map access under
`missingkey`, calls checked against Go signatures, `range` over slices, maps and integers,
`template` calls. Values are those of `gotypes`; `Boxed`/`NIL_INTERFACE` stand for values Go
holds in interface-typed slots until a pipeline unwraps them. The sandbox `limits.Budget` is
consulted at every step.
"""

from __future__ import annotations

from typing import Any, NoReturn

from asyncso.templates.go import builtins, gofmt, gotypes, limits, nodes, strconv
from asyncso.templates.go.builtins import Boxed, box, indirect, indirect_interface
from asyncso.templates.go.functions import FuncMap, GoError, GoFunc
from asyncso.templates.go.gotypes import Kind
from asyncso.templates.go.parser import Parsed, error_context


class ExecError(Exception):
    """An execution error with Go's full message."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_MISSING_KEY_MODES = ("default", "invalid", "zero", "error")


class _State:
    """One execution (Go's `state`): template, writer, current node, variables, depth."""

    __slots__ = (
        "budget",
        "depth",
        "funcs",
        "missing_key",
        "node",
        "out",
        "parsed",
        "size",
        "tmpl",
        "vars",
    )

    def __init__(
        self,
        parsed: Parsed,
        *,
        funcs: FuncMap,
        missing_key: str,
        budget: limits.Budget,
    ) -> None:
        self.parsed = parsed
        self.tmpl = parsed.name
        self.funcs = funcs
        self.missing_key = missing_key
        self.budget = budget
        self.node: nodes.Node | None = None
        self.vars: list[list[Any]] = []
        self.depth = 0
        self.out: list[str] = []
        self.size = 0

    # --- variables --------------------------------------------------------------------------

    def push(self, name: str, value: Any) -> None:
        self.vars.append([name, value])

    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i][1] = value
                return
        self.errorf(f"undefined variable: {name}")

    def set_top_var(self, n: int, value: Any) -> None:
        self.vars[len(self.vars) - n][1] = value

    def var_value(self, name: str) -> Any:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                return self.vars[i][1]
        self.errorf(f"undefined variable: {name}")

    # --- errors --------------------------------------------------------------------------

    def errorf(self, message: str) -> NoReturn:
        name = self.tmpl
        if self.node is None:
            raise ExecError(f"template: {name}: {message}")
        location, context = error_context(self.parsed.text, self.parsed.name, self.node)
        raise ExecError(
            f"template: {location}: executing {strconv.quote(name)} at <{context}>: {message}"
        )

    def limit(self, error: limits.LimitError) -> NoReturn:
        self.errorf(str(error))

    # --- output --------------------------------------------------------------------------

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > self.budget.limits.max_output_bytes:
            self.limit(
                limits.LimitError(
                    limits.MSG_OUTPUT.format(limit=self.budget.limits.max_output_bytes)
                )
            )
        self.out.append(text)

    # --- walk ---------------------------------------------------------------------------

    def walk(self, dot: Any, node: nodes.Node) -> None:
        self.node = node
        try:
            self.budget.step()
        except limits.LimitError as exc:
            self.limit(exc)
        typ = type(node)
        if typ is nodes.TextNode:
            self.write(node.value)  # type: ignore[attr-defined]
        elif typ is nodes.ActionNode:
            assert isinstance(node, nodes.ActionNode)
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print_value(node, value)
        elif typ is nodes.ListNode:
            assert isinstance(node, nodes.ListNode)
            for child in node.nodes:
                self.walk(dot, child)
        elif typ is nodes.IfNode or typ is nodes.WithNode:
            assert isinstance(node, nodes.BranchNode)
            self.walk_if_or_with(typ is nodes.WithNode, dot, node)
        elif typ is nodes.RangeNode:
            assert isinstance(node, nodes.RangeNode)
            self.walk_range(dot, node)
        elif typ is nodes.TemplateNode:
            assert isinstance(node, nodes.TemplateNode)
            self.walk_template(dot, node)
        elif typ is nodes.CommentNode:
            pass
        elif typ is nodes.BreakNode:
            raise _Break
        elif typ is nodes.ContinueNode:
            raise _Continue
        else:
            self.errorf(f"unknown node: {node.text()}")

    def walk_if_or_with(self, is_with: bool, dot: Any, node: nodes.BranchNode) -> None:
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            result, ok = gotypes.is_true(value)
            if not ok:
                self.errorf(f"if/with can't use {gofmt.sprintf('%v', value)}")
            if result:
                self.walk(value if is_with else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            self.pop(mark)

    def walk_range(self, dot: Any, node: nodes.RangeNode) -> None:
        self.node = node
        outer = self.mark()
        try:
            value, _ = indirect(self.eval_pipeline(dot, node.pipe))
            if self._range_items(node, value):
                return
            if node.else_list is not None:
                self.walk(dot, node.else_list)
        except _Break:
            pass
        finally:
            self.pop(outer)

    def _range_items(self, node: nodes.RangeNode, value: Any) -> bool:
        """Run the body over the items of `value`; False when there were none."""
        if value is None:
            return False
        kind = gotypes.kind_of(value)
        if kind is Kind.SLICE or kind is Kind.ARRAY:
            if not value:
                return False
            iface = value.gotype.elem.kind is Kind.INTERFACE if type(value) is not bytes else False
            for i, elem in enumerate(value):
                if type(value) is bytes:
                    elem = gotypes.Uint8(elem)
                self.one_iteration(node, i, box(elem) if iface else elem)
            return True
        if kind is Kind.MAP:
            if not value:
                return False
            iface = value.gotype.elem.kind is Kind.INTERFACE
            for key, elem in gotypes.sorted_items(value):
                self.one_iteration(node, key, box(elem) if iface else elem)
            return True
        if kind in gotypes.INT_KINDS:
            # Go 1.24+ (ESO's Go) ranges over an integer: 0, 1, ..., n-1 of its type.
            if len(node.pipe.decl) > 1:
                self.errorf(
                    f"can't use {gofmt.sprint(value)} to iterate over more than one variable"
                )
            count = int(value)
            if count <= 0:
                return False
            make = gotypes.INT_CLASSES[kind]
            for i in range(count):
                self.one_iteration(node, None, make(i))
            return True
        self.errorf(f"range can't iterate over {gofmt.sprint(value)}")

    def one_iteration(self, node: nodes.RangeNode, index: Any, elem: Any) -> None:
        try:
            self.budget.iteration()
        except limits.LimitError as exc:
            self.limit(exc)
        mark = self.mark()
        decl = node.pipe.decl
        if decl:
            if node.pipe.is_assign:
                if len(decl) > 1:
                    self.set_var(decl[0].ident[0], index)
                else:
                    self.set_var(decl[0].ident[0], elem)
            else:
                self.set_top_var(1, elem)
        if len(decl) > 1:
            if node.pipe.is_assign:
                self.set_var(decl[1].ident[0], elem)
            else:
                self.set_top_var(2, index)
        try:
            self.walk(elem, node.list)
        except _Continue:
            pass
        finally:
            self.pop(mark)

    def walk_template(self, dot: Any, node: nodes.TemplateNode) -> None:
        self.node = node
        root = self.parsed.trees.get(node.name)
        if root is None:
            self.errorf(f"template {strconv.quote(node.name)} not defined")
        if self.depth >= self.budget.limits.max_template_depth:
            self.errorf(limits.MSG_DEPTH.format(limit=self.budget.limits.max_template_depth))
        dot = self.eval_pipeline(dot, node.pipe)
        saved = (self.tmpl, self.vars, self.depth)
        self.tmpl = node.name
        self.vars = [["$", dot]]
        self.depth += 1
        try:
            self.walk(dot, root)
        finally:
            self.tmpl, self.vars, self.depth = saved

    # --- evaluation ------------------------------------------------------------------------

    def eval_pipeline(self, dot: Any, pipe: nodes.PipeNode | None) -> Any:
        if pipe is None:
            return None
        self.node = pipe
        value = MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if type(value) is Boxed:
                value = value.value
            elif value is gotypes.NIL_INTERFACE:
                value = None
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.ident[0], value)
            else:
                self.push(variable.ident[0], value)
        return value

    def not_a_function(self, args: list[nodes.Node], final: Any) -> None:
        if len(args) > 1 or final is not MISSING:
            self.errorf(f"can't give argument to non-function {args[0].text()}")

    def eval_command(self, dot: Any, cmd: nodes.CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        typ = type(first)
        if typ is nodes.FieldNode:
            assert isinstance(first, nodes.FieldNode)
            return self.eval_field_node(dot, first, cmd.args, final)
        if typ is nodes.ChainNode:
            assert isinstance(first, nodes.ChainNode)
            return self.eval_chain_node(dot, first, cmd.args, final)
        if typ is nodes.IdentifierNode:
            assert isinstance(first, nodes.IdentifierNode)
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if typ is nodes.PipeNode:
            assert isinstance(first, nodes.PipeNode)
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if typ is nodes.VariableNode:
            assert isinstance(first, nodes.VariableNode)
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if typ is nodes.BoolNode:
            return first.value  # type: ignore[attr-defined]
        if typ is nodes.DotNode:
            return dot
        if typ is nodes.NilNode:
            self.errorf("nil is not a command")
        if typ is nodes.NumberNode:
            assert isinstance(first, nodes.NumberNode)
            return self.ideal_constant(first)
        if typ is nodes.StringNode:
            return first.value  # type: ignore[attr-defined]
        self.errorf(f"can't evaluate command {strconv.quote(first.text())}")

    def ideal_constant(self, constant: nodes.NumberNode) -> Any:
        self.node = constant
        text = constant.literal
        if constant.is_complex:
            return constant.complex128
        is_hex_int = (
            len(text) > 2
            and text[0] == "0"
            and text[1] in "xX"
            and not any(c in text for c in "pP")
        )
        is_rune = text.startswith("'")
        if constant.is_float and not is_hex_int and not is_rune and any(c in text for c in ".eEpP"):
            return constant.float64
        if constant.is_int:
            return constant.int64
        if constant.is_uint:
            self.errorf(f"{text} overflows int")
        return None

    def eval_field_node(
        self, dot: Any, field: nodes.FieldNode, args: list[nodes.Node] | None, final: Any
    ) -> Any:
        self.node = field
        return self.eval_field_chain(dot, dot, field, field.ident, args, final)

    def eval_chain_node(
        self, dot: Any, chain: nodes.ChainNode, args: list[nodes.Node] | None, final: Any
    ) -> Any:
        self.node = chain
        if not chain.field:
            self.errorf("internal error: no fields in evalChainNode")
        if isinstance(chain.node, nodes.NilNode):
            self.errorf(f"indirection through explicit nil in {chain.text()}")
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.field, args, final)

    def eval_variable_node(
        self, dot: Any, variable: nodes.VariableNode, args: list[nodes.Node] | None, final: Any
    ) -> Any:
        self.node = variable
        value = self.var_value(variable.ident[0])
        if len(variable.ident) == 1:
            self.not_a_function(args or [variable], final)
            return value
        return self.eval_field_chain(dot, value, variable, variable.ident[1:], args, final)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: nodes.Node,
        ident: list[str],
        args: list[nodes.Node] | None,
        final: Any,
    ) -> Any:
        for name in ident[:-1]:
            receiver = self.eval_field(dot, name, node, None, MISSING, receiver)
        return self.eval_field(dot, ident[-1], node, args, final, receiver)

    def eval_function(
        self,
        dot: Any,
        node: nodes.IdentifierNode,
        cmd: nodes.Node,
        args: list[nodes.Node] | None,
        final: Any,
    ) -> Any:
        self.node = node
        name = node.ident
        function = self.funcs.get(name)
        is_builtin = False
        if function is None:
            function = builtins.BUILTINS.get(name)
            is_builtin = True
        if function is None:
            self.errorf(f"{strconv.quote(name)} is not a defined function")
        return self.eval_call(dot, function, is_builtin, cmd, name, args, final)

    def eval_field(
        self,
        dot: Any,
        field_name: str,
        node: nodes.Node,
        args: list[nodes.Node] | None,
        final: Any,
        receiver: Any,
    ) -> Any:
        if receiver is None:
            if self.missing_key == "error":
                self.errorf(f"nil data; no entry for key {strconv.quote(field_name)}")
            return None
        if type(receiver) is Boxed or receiver is gotypes.NIL_INTERFACE:
            typ = "interface {}"
        else:
            typ = gotypes.type_name(receiver)
        receiver, is_nil = indirect(receiver)
        if receiver is gotypes.NIL_INTERFACE:
            self.errorf(f"nil pointer evaluating {typ}.{field_name}")
        if isinstance(receiver, gotypes.GoObject):
            method = receiver.go_methods.get(field_name)
            if method is not None and not is_nil:
                bound = GoFunc(
                    field_name,
                    method.params,
                    _bind(method.impl, receiver),
                    method.variadic,
                    method.refused,
                )
                return self.eval_call(dot, bound, False, node, field_name, args, final)
        has_args = (args is not None and len(args) > 1) or final is not MISSING
        kind = gotypes.kind_of(receiver)
        if isinstance(receiver, gotypes.GoObject) and (
            kind is Kind.STRUCT or (kind is Kind.POINTER and not is_nil)
        ):
            found, field = receiver.go_field(field_name)
            if found:
                if has_args:
                    self.errorf(f"{field_name} has arguments but cannot be invoked as function")
                return field
            if field_name in getattr(receiver, "go_field_names", ()):
                self.errorf(f"{field_name} is an unexported field of struct type {typ}")
        elif kind is Kind.MAP:
            gotype = receiver.gotype
            if gotype.key.kind is Kind.STRING:
                if has_args:
                    self.errorf(f"{field_name} is not a method but has arguments")
                if field_name in receiver:
                    result = receiver[field_name]
                    if gotype.elem.kind is Kind.INTERFACE:
                        return box(result)
                    return result
                if self.missing_key == "zero":
                    return builtins.zero_value(gotype.elem)
                if self.missing_key == "error":
                    self.errorf(f"map has no entry for key {strconv.quote(field_name)}")
                return None
        elif kind is Kind.POINTER and is_nil:
            fields = getattr(receiver, "go_field_names", ())
            if field_name in fields:
                self.errorf(f"nil pointer evaluating {typ}.{field_name}")
        self.errorf(f"can't evaluate field {field_name} in type {typ}")

    def eval_call(
        self,
        dot: Any,
        fun: GoFunc,
        is_builtin: bool,
        node: nodes.Node,
        name: str,
        args: list[nodes.Node] | None,
        final: Any,
    ) -> Any:
        try:
            self.budget.step()
        except limits.LimitError as exc:
            self.limit(exc)
        call_args = args[1:] if args is not None else []
        params = fun.params
        num_in = len(call_args) + (0 if final is MISSING else 1)
        num_fixed = len(call_args)
        if fun.variadic is not None:
            num_fixed = len(params)
            if num_in < num_fixed:
                self.errorf(
                    f"wrong number of args for {name}: want at least {len(params)} "
                    f"got {len(call_args)}"
                )
        elif num_in != len(params):
            self.errorf(f"wrong number of args for {name}: want {len(params)} got {num_in}")
        if fun.refused:
            self.errorf(fun.refused)

        if is_builtin and name in ("and", "or"):
            value: Any = None
            for arg in call_args:
                value = self.eval_arg(dot, gotypes.REFLECT_VALUE, arg)
                if builtins.truth(value) == (name == "or"):
                    return value
            if final is not MISSING:
                value = self.validate_type(final, gotypes.REFLECT_VALUE)
            return value

        argv: list[Any] = []
        i = 0
        while i < num_fixed and i < len(call_args):
            argv.append(self.eval_arg(dot, params[i], call_args[i]))
            i += 1
        if fun.variadic is not None:
            while i < len(call_args):
                argv.append(self.eval_arg(dot, fun.variadic, call_args[i]))
                i += 1
        if final is not MISSING:
            if fun.variadic is None:
                target = params[-1]
            elif num_in - 1 < num_fixed:
                target = params[num_in - 1]
            else:
                target = fun.variadic
            argv.append(self.validate_type(final, target))

        impl = fun.impl
        if is_builtin and name == "call":
            callee = call_args[0].text() if call_args else ""
            argv = [callee, *argv]
            impl = _call_builtin
        try:
            result = impl(*argv)
            self.budget.check_time()  # a costly call (bcrypt, keys) must not run on unchecked
            return result
        except GoError as exc:
            self.node = node
            self.errorf(f"error calling {name}: {exc}")
        except limits.LimitError as exc:
            self.node = node
            self.limit(exc)
        except RecursionError:
            self.node = node
            self.errorf(f"error calling {name}: value nested too deeply")
        except (ArithmeticError, ValueError, TypeError, KeyError, IndexError) as exc:
            # A Go function would have panicked; report it as safeCall does, without values.
            self.node = node
            self.errorf(f"error calling {name}: runtime error: {type(exc).__name__}")

    def validate_type(self, value: Any, typ: gotypes.GoType | None) -> Any:
        if value is None:
            if typ is None:
                return None
            if builtins.can_be_nil(typ):
                return _nil_of(typ)
            self.errorf(f"invalid value; expected {typ}")
        if typ is None:
            return value
        if typ is gotypes.REFLECT_VALUE:
            return value
        if typ is gotypes.INTERFACE:
            return indirect_interface(value)
        value_type = gotypes.type_of(value)
        assert value_type is not None
        if not gotypes.assignable(value_type, typ):
            if type(value) is Boxed:
                value = value.value
                value_type = gotypes.type_of(value)
                assert value_type is not None
                if gotypes.assignable(value_type, typ):
                    return value
            self.errorf(f"wrong type for value; expected {typ}; got {value_type}")
        if value is gotypes.NIL_INTERFACE:
            return None
        return value

    def eval_arg(self, dot: Any, typ: gotypes.GoType | None, node: nodes.Node) -> Any:
        self.node = node
        kind_of_node = type(node)
        if kind_of_node is nodes.DotNode:
            return self.validate_type(dot, typ)
        if kind_of_node is nodes.NilNode:
            assert typ is not None
            if builtins.can_be_nil(typ):
                return _nil_of(typ)
            self.errorf(f"cannot assign nil to {typ}")
        if kind_of_node is nodes.FieldNode:
            assert isinstance(node, nodes.FieldNode)
            return self.validate_type(self.eval_field_node(dot, node, [node], MISSING), typ)
        if kind_of_node is nodes.VariableNode:
            assert isinstance(node, nodes.VariableNode)
            return self.validate_type(self.eval_variable_node(dot, node, None, MISSING), typ)
        if kind_of_node is nodes.PipeNode:
            assert isinstance(node, nodes.PipeNode)
            return self.validate_type(self.eval_pipeline(dot, node), typ)
        if kind_of_node is nodes.IdentifierNode:
            assert isinstance(node, nodes.IdentifierNode)
            return self.validate_type(self.eval_function(dot, node, node, None, MISSING), typ)
        if kind_of_node is nodes.ChainNode:
            assert isinstance(node, nodes.ChainNode)
            return self.validate_type(self.eval_chain_node(dot, node, None, MISSING), typ)
        assert typ is not None
        kind = typ.kind
        if kind is Kind.BOOL:
            if isinstance(node, nodes.BoolNode):
                return node.value
            self.errorf(f"expected bool; found {node.text()}")
        if kind in gotypes.COMPLEX_KINDS:
            if isinstance(node, nodes.NumberNode) and node.is_complex:
                return node.complex128
            self.errorf(f"expected complex; found {node.text()}")
        if kind in gotypes.FLOAT_KINDS:
            if isinstance(node, nodes.NumberNode) and node.is_float:
                if kind is Kind.FLOAT32:
                    return gotypes.Float32(node.float64)
                return node.float64
            self.errorf(f"expected float; found {node.text()}")
        if kind in gotypes.SIGNED_KINDS:
            if isinstance(node, nodes.NumberNode) and node.is_int:
                return gotypes.wrap_int(node.int64, kind)
            self.errorf(f"expected integer; found {node.text()}")
        if kind is Kind.INTERFACE and typ.name == "interface {}":
            return self.eval_empty_interface(dot, node)
        if typ is gotypes.REFLECT_VALUE:
            return self.eval_empty_interface(dot, node)
        if kind is Kind.STRING:
            if isinstance(node, nodes.StringNode):
                return node.value
            self.errorf(f"expected string; found {node.text()}")
        if kind in gotypes.UNSIGNED_KINDS:
            if isinstance(node, nodes.NumberNode) and node.is_uint:
                return gotypes.wrap_int(node.uint64, kind)
            self.errorf(f"expected unsigned integer; found {node.text()}")
        self.errorf(f"can't handle {node.text()} for arg of type {typ}")

    def eval_empty_interface(self, dot: Any, node: nodes.Node) -> Any:
        self.node = node
        if isinstance(node, nodes.BoolNode):
            return node.value
        if isinstance(node, nodes.NumberNode):
            return self.ideal_constant(node)
        if isinstance(node, nodes.StringNode):
            return node.value
        self.errorf(f"can't handle assignment of {node.text()} to empty interface argument")

    def print_value(self, node: nodes.Node, value: Any) -> None:
        self.node = node
        if value is None:
            self.write("<no value>")
            return
        kind = gotypes.kind_of(value)
        if kind is Kind.FUNC or kind is Kind.CHAN:
            self.errorf(f"can't print {node.text()} of type {gotypes.type_name(value)}")
        self.write(gofmt.print_value(value))


def _nil_of(typ: gotypes.GoType) -> Any:
    """reflect.Zero of a nilable parameter type, as the function receives it."""
    if typ.kind is Kind.INTERFACE or typ == gotypes.REFLECT_VALUE:
        return None
    return builtins.zero_value(typ)


def _bind(impl: Any, receiver: Any) -> Any:
    def bound(*args: Any) -> Any:
        return impl(receiver, *args)

    return bound


def _call_builtin(name: str, fn: Any, *args: Any) -> Any:
    """funcs.go call: templates here hold no function values, so every call fails as Go's."""
    fn = indirect_interface(fn)
    if fn is None:
        raise GoError("call of nil")
    raise GoError(f"non-function {name} of type {gotypes.type_name(fn)}")


def execute(
    parsed: Parsed,
    data: Any,
    *,
    funcs: FuncMap,
    missing_key: str = "error",
    budget: limits.Budget,
) -> str:
    """Template.Execute: the output text, or ExecError with Go's message."""
    if missing_key not in _MISSING_KEY_MODES:
        raise ValueError(f"unrecognized missingkey option {missing_key!r}")
    state = _State(parsed, funcs=funcs, missing_key=missing_key, budget=budget)
    state.vars = [["$", data]]
    root = parsed.trees.get(parsed.name)
    if root is None:
        state.errorf(f"{strconv.quote(parsed.name)} is an incomplete or empty template")
    token = limits.activate(budget)
    try:
        state.walk(data, root)
    except (_Break, _Continue):  # the parser forbids them outside range
        pass
    finally:
        limits.deactivate(token)
    return "".join(state.out)
