"""Compile syntax trees to nested Python closures ``fn(rt) -> value``.

Each node becomes one closure that calls its children's closures directly: no tree walking,
no dispatch on node type at run time. Names are resolved at compile time: arrow parameters to
a fixed depth in the scope chain, ``$json`` and friends to their readers, builtins to constants,
and the sandbox's forbidden globals to an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflows.engine.expressions import ast
from workflows.engine.expressions.builtins import GLOBAL_VALUES
from workflows.engine.expressions.data import DATA_VARIABLES
from workflows.engine.expressions.errors import Abort, JSError
from workflows.engine.expressions.functions import ArrowFunction, bind, iterate
from workflows.engine.expressions.operators import NUMERIC, OTHER_BINARY, RELATIONAL, numeric, plus, relational
from workflows.engine.expressions.properties import (
    NativeFunction,
    call_method,
    call_value,
    get_property,
)
from workflows.engine.expressions.regex import make_regex
from workflows.engine.expressions.runtime import Runtime
from workflows.engine.expressions.values import (
    MISSING,
    UNDEFINED,
    HostObject,
    JSFunction,
    check_length,
    check_property,
    check_string,
    negate,
    property_key,
    to_int32,
    to_number,
    to_string,
    truthy,
    typeof,
)

Fn = Callable[[Runtime], Any]

# Globals that would reach the host, the network or the code generator: refused outright.
BLOCKED_GLOBALS = frozenset(
    {
        "eval",
        "Function",
        "require",
        "process",
        "globalThis",
        "global",
        "window",
        "self",
        "document",
        "this",
        "constructor",
        "module",
        "exports",
        "import",
        "Buffer",
        "setTimeout",
        "setInterval",
        "setImmediate",
        "queueMicrotask",
        "fetch",
        "XMLHttpRequest",
        "WebAssembly",
        "Reflect",
        "Proxy",
        "Promise",
        "Symbol",
        "Atomics",
        "SharedArrayBuffer",
        "__dirname",
        "__filename",
        "__proto__",
        "prototype",
        "arguments",
    }
)


class ShortCircuit(Exception):  # control flow for `?.`
    """A `?.` met null or undefined: the enclosing optional chain evaluates to undefined."""


def compile_expression(node: ast.Node) -> Fn:
    return Compiler().compile(node)


class Compiler:
    def __init__(self) -> None:
        self.scopes: list[set[str]] = []  # arrow-function scopes, innermost last

    def compile(self, node: ast.Node) -> Fn:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise Abort(f"internal error: cannot compile {type(node).__name__}")
        return handler(self, node)

    # -- leaves ----------------------------------------------------------------------------
    def literal(self, node: ast.Literal) -> Fn:
        value = node.value
        return lambda rt: value

    def ident(self, node: ast.Ident) -> Fn:
        name = node.name
        for depth, names in enumerate(reversed(self.scopes)):
            if name in names:
                return _local(name, depth)
        if name == "undefined":
            return lambda rt: UNDEFINED
        if name in BLOCKED_GLOBALS or name.startswith("__"):
            raise Abort(f"access to {name!r} is not allowed in expressions")
        reader = DATA_VARIABLES.get(name)
        if reader is not None:
            return reader
        value = GLOBAL_VALUES.get(name, MISSING)
        if value is not MISSING:
            return lambda rt: value

        def not_defined(rt: Runtime) -> Any:
            raise JSError(f"{name} is not defined", "ReferenceError")

        return not_defined

    def is_defined(self, name: str) -> bool:
        return (
            any(name in names for names in self.scopes)
            or name == "undefined"
            or name in DATA_VARIABLES
            or name in GLOBAL_VALUES
        )

    def regex(self, node: ast.RegexLit) -> Fn:
        value = make_regex(node.pattern, node.flags)
        return lambda rt: value

    def template(self, node: ast.TemplateLit) -> Fn:
        quasis = node.quasis
        parts = [self.compile(e) for e in node.exprs]
        if not parts:
            text = quasis[0]
            return lambda rt: text

        def f(rt: Runtime) -> Any:
            out = [quasis[0]]
            for i, part in enumerate(parts):
                out.append(to_string(part(rt)))
                out.append(quasis[i + 1])
            return check_string(rt, "".join(out))

        return f

    # -- containers ------------------------------------------------------------------------
    def array(self, node: ast.ArrayLit) -> Fn:
        if all(e is not None and not isinstance(e, ast.Spread) for e in node.elements):
            fns = [self.compile(e) for e in node.elements if e is not None]

            def simple(rt: Runtime) -> Any:
                rt.dirty = True
                return [fn(rt) for fn in fns]

            return simple
        elements: list[tuple[str, Fn | None]] = []
        for e in node.elements:
            if e is None:
                elements.append(("hole", None))
            elif isinstance(e, ast.Spread):
                elements.append(("spread", self.compile(e.arg)))
            else:
                elements.append(("value", self.compile(e)))

        def f(rt: Runtime) -> Any:
            rt.dirty = True
            out: list[Any] = []
            for kind, fn in elements:
                if fn is None:
                    out.append(UNDEFINED)
                elif kind == "spread":
                    out.extend(iterate(fn(rt)))
                    check_length(rt, len(out))
                else:
                    out.append(fn(rt))
            return out

        return f

    def object(self, node: ast.ObjectLit) -> Fn:
        entries: list[tuple[str, Any, Fn]] = []
        for prop in node.props:
            if isinstance(prop, ast.Spread):
                entries.append(("spread", None, self.compile(prop.arg)))
            elif isinstance(prop.key, str):
                entries.append(("key", prop.key, self.compile(prop.value)))
            else:
                entries.append(("computed", self.compile(prop.key), self.compile(prop.value)))

        def f(rt: Runtime) -> Any:
            rt.dirty = True
            out: dict[str, Any] = {}
            for kind, key, fn in entries:
                if kind == "key":
                    out[key] = fn(rt)
                elif kind == "computed":
                    k = to_string(key(rt))
                    out[k] = fn(rt)
                else:
                    _spread_into(rt, out, fn(rt))
            return out

        return f

    # -- member access and calls -----------------------------------------------------------
    def member(self, node: ast.Member) -> Fn:
        obj_f = self.compile(node.obj)
        optional = node.optional
        if isinstance(node.prop, str):
            name = node.prop
            check_property(name)

            def f(rt: Runtime) -> Any:
                o = obj_f(rt)
                if type(o) is dict:
                    v = o.get(name, MISSING)
                    if v is not MISSING:
                        return v
                elif optional and (o is None or o is UNDEFINED):
                    raise ShortCircuit
                return get_property(rt, o, name)

            return f
        key_f = self.compile(node.prop)

        def computed(rt: Runtime) -> Any:
            o = obj_f(rt)
            if optional and (o is None or o is UNDEFINED):
                raise ShortCircuit
            key = property_key(key_f(rt))
            if type(key) is str:
                check_property(key)
            return get_property(rt, o, key)

        return computed

    def args(self, nodes: list[ast.Node]) -> Fn:
        if not nodes:
            return lambda rt: []
        if not any(isinstance(n, ast.Spread) for n in nodes):
            fns = [self.compile(n) for n in nodes]
            if len(fns) == 1:
                only = fns[0]
                return lambda rt: [only(rt)]
            return lambda rt: [fn(rt) for fn in fns]
        parts = [(isinstance(n, ast.Spread), self.compile(n.arg if isinstance(n, ast.Spread) else n)) for n in nodes]

        def f(rt: Runtime) -> list[Any]:
            out: list[Any] = []
            for is_spread, fn in parts:
                if is_spread:
                    out.extend(iterate(fn(rt)))
                    check_length(rt, len(out), "an argument list")
                else:
                    out.append(fn(rt))
            return out

        return f

    def call(self, node: ast.Call) -> Fn:
        args_f = self.args(node.args)
        callee = node.callee
        call_optional = node.optional
        if isinstance(callee, ast.Member):
            obj_f = self.compile(callee.obj)
            member_optional = callee.optional
            if isinstance(callee.prop, str):
                name = callee.prop
                check_property(name)

                def method_call(rt: Runtime) -> Any:
                    o = obj_f(rt)
                    if member_optional and (o is None or o is UNDEFINED):
                        raise ShortCircuit
                    if call_optional:
                        fn = get_property(rt, o, name)
                        if fn is None or fn is UNDEFINED:
                            raise ShortCircuit
                        return call_value(rt, fn, args_f(rt), name)
                    return call_method(rt, o, name, args_f(rt))

                return method_call
            key_f = self.compile(callee.prop)

            def computed_call(rt: Runtime) -> Any:
                o = obj_f(rt)
                if member_optional and (o is None or o is UNDEFINED):
                    raise ShortCircuit
                key = property_key(key_f(rt))
                if type(key) is str:
                    check_property(key)
                if call_optional:
                    fn = get_property(rt, o, key)
                    if fn is None or fn is UNDEFINED:
                        raise ShortCircuit
                    return call_value(rt, fn, args_f(rt), str(key))
                return call_method(rt, o, key, args_f(rt))

            return computed_call
        fn_f = self.compile(callee)
        label = callee.name if isinstance(callee, ast.Ident) else "expression"

        def plain_call(rt: Runtime) -> Any:
            fn = fn_f(rt)
            if call_optional and (fn is None or fn is UNDEFINED):
                raise ShortCircuit
            return call_value(rt, fn, args_f(rt), label)

        return plain_call

    def new(self, node: ast.New) -> Fn:
        callee_f = self.compile(node.callee)
        args_f = self.args(node.args)
        label = node.callee.name if isinstance(node.callee, ast.Ident) else "expression"

        def f(rt: Runtime) -> Any:
            ctor = callee_f(rt)
            if not isinstance(ctor, NativeFunction) or ctor.construct is None:
                raise JSError(f"{label} is not a constructor")
            rt.dirty = True
            return ctor.construct(rt, args_f(rt))

        return f

    def optional_chain(self, node: ast.OptionalChain) -> Fn:
        inner = self.compile(node.expr)

        def f(rt: Runtime) -> Any:
            try:
                return inner(rt)
            except ShortCircuit:
                return UNDEFINED

        return f

    # -- operators -------------------------------------------------------------------------
    def unary(self, node: ast.Unary) -> Fn:
        op = node.op
        if op == "typeof" and isinstance(node.operand, ast.Ident) and not self.is_defined(node.operand.name):
            self.ident(node.operand)  # still refuse blocked globals
            return lambda rt: "undefined"
        operand = self.compile(node.operand)
        if op == "!":
            return lambda rt: not truthy(operand(rt))
        if op == "-":
            return lambda rt: negate(operand(rt))
        if op == "+":
            return lambda rt: to_number(operand(rt))
        if op == "~":
            return lambda rt: ~to_int32(operand(rt))
        if op == "typeof":
            return lambda rt: typeof(operand(rt))

        def void(rt: Runtime) -> Any:
            operand(rt)
            return UNDEFINED

        return void

    def binary(self, node: ast.Binary) -> Fn:
        op = node.op
        left = self.compile(node.left)
        right = self.compile(node.right)
        if op == "&&":
            return lambda rt: r if not truthy(r := left(rt)) else right(rt)
        if op == "||":
            return lambda rt: r if truthy(r := left(rt)) else right(rt)
        if op == "??":
            return lambda rt: r if (r := left(rt)) is not None and r is not UNDEFINED else right(rt)
        if op == "+":
            return plus(left, right)
        if op in NUMERIC:
            return numeric(left, right, op)
        if op in RELATIONAL:
            return relational(left, right, op)
        fn = OTHER_BINARY[op]

        def f(rt: Runtime) -> Any:
            a = left(rt)
            return fn(a, right(rt))

        return f

    def conditional(self, node: ast.Conditional) -> Fn:
        test = self.compile(node.test)
        consequent = self.compile(node.consequent)
        alternate = self.compile(node.alternate)
        return lambda rt: consequent(rt) if truthy(test(rt)) else alternate(rt)

    def sequence(self, node: ast.Sequence) -> Fn:
        fns = [self.compile(e) for e in node.exprs]

        def f(rt: Runtime) -> Any:
            value: Any = UNDEFINED
            for fn in fns:
                value = fn(rt)
            return value

        return f

    def spread(self, node: ast.Spread) -> Fn:
        raise Abort("invalid syntax: '...' is only allowed in arrays, objects and calls")

    # -- functions -------------------------------------------------------------------------
    def arrow(self, node: ast.Arrow) -> Fn:
        names = {n for p in node.params for n in ast.pattern_names(p)}
        if node.rest:
            names.add(node.rest)
        if isinstance(node.body, list):
            for statement in node.body:
                if statement.kind == "const" and statement.target is not None:
                    names.update(ast.pattern_names(statement.target))
        self.scopes.append(names)
        try:
            body = self.block(node.body) if isinstance(node.body, list) else self.compile(node.body)
        finally:
            self.scopes.pop()
        params = node.params
        rest = node.rest
        simple = rest is None and all(isinstance(p, str) for p in params)
        param_names = tuple(p for p in params if isinstance(p, str))
        return lambda rt: ArrowFunction(param_names if simple else None, params, rest, body, rt.scope)

    def block(self, statements: list[ast.Statement]) -> Fn:
        compiled: list[tuple[str, ast.Pattern | None, Fn | None]] = [
            (s.kind, s.target, self.compile(s.expr) if s.expr is not None else None) for s in statements
        ]

        def f(rt: Runtime) -> Any:
            for kind, target, fn in compiled:
                if kind == "return":
                    return fn(rt) if fn is not None else UNDEFINED
                value = fn(rt) if fn is not None else UNDEFINED
                if kind == "const" and target is not None:
                    bind(rt, rt.scope.vars, target, value)
            return UNDEFINED

        return f


def _local(name: str, depth: int) -> Fn:
    if depth == 0:
        return lambda rt: rt.scope.vars.get(name, UNDEFINED)
    if depth == 1:
        return lambda rt: rt.scope.parent.vars.get(name, UNDEFINED)

    def deep(rt: Runtime) -> Any:
        scope = rt.scope
        for _ in range(depth):
            scope = scope.parent
        return scope.vars.get(name, UNDEFINED)

    return deep


def _spread_into(rt: Runtime, out: dict[str, Any], value: Any) -> None:
    t = type(value)
    if t is dict:
        out.update(value)
    elif t is list:
        out.update({str(i): v for i, v in enumerate(value)})
    elif t is str:
        out.update({str(i): c for i, c in enumerate(value)})
    elif isinstance(value, HostObject) and not isinstance(value, JSFunction):
        for key in value.js_keys():
            out[key] = value.js_get(rt, key)


_HANDLERS: dict[type, Callable[[Compiler, Any], Fn]] = {
    ast.Literal: Compiler.literal,
    ast.Ident: Compiler.ident,
    ast.RegexLit: Compiler.regex,
    ast.TemplateLit: Compiler.template,
    ast.ArrayLit: Compiler.array,
    ast.ObjectLit: Compiler.object,
    ast.Member: Compiler.member,
    ast.Call: Compiler.call,
    ast.New: Compiler.new,
    ast.OptionalChain: Compiler.optional_chain,
    ast.Unary: Compiler.unary,
    ast.Binary: Compiler.binary,
    ast.Conditional: Compiler.conditional,
    ast.Sequence: Compiler.sequence,
    ast.Spread: Compiler.spread,
    ast.Arrow: Compiler.arrow,
}
