"""A precedence-climbing parser from tokens to :mod:`ast` nodes.

Recursion is bounded: every construct that nests (brackets, calls, unary operators, arrows,
ternaries, right-associative `**`) counts against ``MAX_NESTING``, and every node's depth against
``MAX_AST_DEPTH``, so hostile input fails with a syntax error instead of exhausting the stack.
"""

from __future__ import annotations

from workflows.engine.expressions import ast, limits
from workflows.engine.expressions.errors import Abort
from workflows.engine.expressions.lexer import Token, tokenize
from workflows.engine.expressions.values import number_to_string

# Binary operator precedence (higher binds tighter), as in ECMAScript.
BINARY_PRECEDENCE = {
    "??": 1,
    "||": 2,
    "&&": 3,
    "|": 4,
    "^": 5,
    "&": 6,
    "==": 7,
    "!=": 7,
    "===": 7,
    "!==": 7,
    "<": 8,
    ">": 8,
    "<=": 8,
    ">=": 8,
    "in": 8,
    "instanceof": 8,
    "<<": 9,
    ">>": 9,
    ">>>": 9,
    "+": 10,
    "-": 10,
    "*": 11,
    "/": 11,
    "%": 11,
    "**": 12,
}
UNARY_OPERATORS = ("!", "-", "+", "~", "typeof", "void")
_OPENERS = {"(": ")", "[": "]", "{": "}"}


def parse(source: str) -> ast.Node:
    """Parse one ``{{ }}`` body (a trailing ``;`` is allowed, as n8n strips it)."""
    return Parser(tokenize(source)).parse_program()


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.nesting = 0
        self.matching = _match_brackets(tokens)

    # -- helpers ---------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, offset: int = 1) -> Token:
        j = min(self.i + offset, len(self.tokens) - 1)
        return self.tokens[j]

    def error(self, message: str | None = None) -> Abort:
        tok = self.tok
        if message is None:
            found = "end of expression" if tok.kind == "eof" else repr(_show(tok))
            message = f"unexpected {found}"
        return Abort(f"invalid syntax: {message} at position {tok.pos}")

    def is_punct(self, value: str) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == "punct" and tok.value == value

    def accept(self, value: str) -> bool:
        if self.is_punct(value):
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            raise self.error(f"expected {value!r} but found {_show(self.tok)!r}")

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > limits.MAX_NESTING:
            raise Abort(f"expression is nested too deeply (more than {limits.MAX_NESTING} levels)")

    def leave(self) -> None:
        self.nesting -= 1

    # -- grammar ---------------------------------------------------------------------------
    def parse_program(self) -> ast.Node:
        if self.tok.kind == "eof":
            raise self.error("empty expression")
        node = self.parse_sequence()
        while self.accept(";"):
            pass
        if self.tok.kind != "eof":
            raise self.error()
        return node

    def parse_sequence(self) -> ast.Node:
        first = self.parse_assign()
        if not self.is_punct(","):
            return first
        exprs = [first]
        while self.accept(","):
            exprs.append(self.parse_assign())
        return _node(ast.Sequence(exprs), *exprs)

    def parse_assign(self) -> ast.Node:
        """An assignment-level expression: an arrow function, a ternary or below."""
        tok = self.tok
        if tok.kind == "name" and self.peek().kind == "punct" and self.peek().value == "=>":
            self.i += 2
            return self.parse_arrow_body([tok.value], None)
        if tok.kind == "punct" and tok.value == "(":
            close = self.matching.get(self.i)
            if close is not None and close + 1 < len(self.tokens):
                after = self.tokens[close + 1]
                if after.kind == "punct" and after.value == "=>":
                    return self.parse_arrow()
        node = self.parse_binary(0)
        if self.accept("?"):
            self.enter()
            try:
                consequent = self.parse_assign()
                self.expect(":")
                alternate = self.parse_assign()
            finally:
                self.leave()
            node = _node(ast.Conditional(node, consequent, alternate), node, consequent, alternate)
        if self.is_punct("="):
            raise self.error("assignment is not supported in expressions")
        return node

    def parse_arrow(self) -> ast.Node:
        self.expect("(")
        params: list[ast.Pattern] = []
        rest: str | None = None
        while not self.is_punct(")"):
            if self.accept("..."):
                rest = self.parse_name()
                break
            params.append(self.parse_pattern())
            if not self.accept(","):
                break
        self.expect(")")
        self.expect("=>")
        return self.parse_arrow_body(params, rest)

    def parse_arrow_body(self, params: list[ast.Pattern], rest: str | None) -> ast.Node:
        names = [n for p in params for n in ast.pattern_names(p)] + ([rest] if rest else [])
        if len(set(names)) != len(names):
            raise self.error("duplicate parameter name")
        self.enter()
        try:
            if self.is_punct("{"):
                statements = self.parse_block()
                depth = max((s.expr.depth for s in statements if s.expr is not None), default=0)
                return _check_depth(ast.Arrow(params, rest, statements, depth=depth + 1))
            body = self.parse_assign()
            return _check_depth(ast.Arrow(params, rest, body, depth=body.depth + 1))
        finally:
            self.leave()

    def parse_block(self) -> list[ast.Statement]:
        self.expect("{")
        statements: list[ast.Statement] = []
        while not self.accept("}"):
            if self.accept(";"):
                continue
            tok = self.tok
            if tok.kind == "keyword" and tok.value in ("const", "let", "var"):
                self.i += 1
                while True:
                    target = self.parse_pattern()
                    self.expect("=")
                    statements.append(ast.Statement("const", target, self.parse_assign()))
                    if not self.accept(","):
                        break
            elif tok.kind == "keyword" and tok.value == "return":
                self.i += 1
                expr = None if self.is_punct(";") or self.is_punct("}") else self.parse_sequence()
                statements.append(ast.Statement("return", None, expr))
            else:
                statements.append(ast.Statement("expr", None, self.parse_sequence()))
            if not (self.accept(";") or self.is_punct("}")):
                raise self.error()
        return statements

    def parse_name(self) -> str:
        tok = self.tok
        if tok.kind != "name":
            raise self.error("expected a name")
        self.i += 1
        return str(tok.value)

    def parse_pattern(self) -> ast.Pattern:
        if self.accept("["):
            elements: list[ast.Pattern | None] = []
            while not self.accept("]"):
                if self.accept(","):
                    elements.append(None)
                    continue
                elements.append(self.parse_pattern())
                if not self.accept(","):
                    self.expect("]")
                    break
            return ast.ArrayPattern(elements)
        if self.accept("{"):
            props: list[tuple[str, ast.Pattern]] = []
            while not self.accept("}"):
                key_kind = self.tok.kind
                key = self.parse_property_name()
                if self.accept(":"):
                    target: ast.Pattern = self.parse_pattern()
                elif key_kind == "name":
                    target = key
                else:
                    raise self.error("expected ':' in object pattern")
                props.append((key, target))
                if not self.accept(","):
                    self.expect("}")
                    break
            return ast.ObjectPattern(props)
        return self.parse_name()

    def parse_property_name(self) -> str:
        tok = self.tok
        if tok.kind in ("name", "keyword", "str"):
            self.i += 1
            return str(tok.value)
        if tok.kind == "num":
            self.i += 1
            return number_to_string(tok.value)
        raise self.error("expected a property name")

    def parse_binary(self, min_prec: int) -> ast.Node:
        left = self.parse_unary()
        while True:
            tok = self.tok
            if tok.kind not in ("punct", "keyword"):
                return left
            op = tok.value
            prec = BINARY_PRECEDENCE.get(op)
            if prec is None or prec < min_prec or (tok.kind == "keyword" and op not in ("in", "instanceof")):
                return left
            self.i += 1
            self.enter()
            try:
                right = self.parse_binary(prec if op == "**" else prec + 1)
            finally:
                self.leave()
            left = _node(ast.Binary(op, left, right), left, right)

    def parse_unary(self) -> ast.Node:
        tok = self.tok
        if (tok.kind == "punct" and tok.value in ("!", "-", "+", "~")) or (
            tok.kind == "keyword" and tok.value in ("typeof", "void")
        ):
            self.i += 1
            self.enter()
            try:
                operand = self.parse_unary()
            finally:
                self.leave()
            if self.is_punct("**"):
                raise self.error("unary operator before ** needs parentheses")
            return _node(ast.Unary(tok.value, operand), operand)
        return self.parse_postfix()

    def parse_postfix(self) -> ast.Node:
        node = self.parse_primary()
        optional_chain = False
        while True:
            if self.accept("."):
                name = self.parse_member_name()
                node = _node(ast.Member(node, name), node)
            elif self.accept("?."):
                optional_chain = True
                if self.is_punct("("):
                    args = self.parse_args()
                    node = _node(ast.Call(node, args, optional=True), node, *args)
                elif self.accept("["):
                    prop = self.parse_bracketed()
                    node = _node(ast.Member(node, prop, optional=True), node, prop)
                else:
                    node = _node(ast.Member(node, self.parse_member_name(), optional=True), node)
            elif self.is_punct("["):
                self.i += 1
                prop = self.parse_bracketed()
                node = _node(ast.Member(node, prop), node, prop)
            elif self.is_punct("("):
                args = self.parse_args()
                node = _node(ast.Call(node, args), node, *args)
            elif self.tok.kind == "template":
                raise self.error("tagged templates are not supported")
            else:
                break
        if optional_chain:
            node = _node(ast.OptionalChain(node), node)
        return node

    def parse_member_name(self) -> str:
        tok = self.tok
        if tok.kind in ("name", "keyword"):
            self.i += 1
            return str(tok.value)
        raise self.error("expected a property name after '.'")

    def parse_bracketed(self) -> ast.Node:
        self.enter()
        try:
            prop = self.parse_sequence()
            self.expect("]")
            return prop
        finally:
            self.leave()

    def parse_args(self) -> list[ast.Node]:
        self.expect("(")
        self.enter()
        try:
            args: list[ast.Node] = []
            while not self.accept(")"):
                if self.accept("..."):
                    arg = self.parse_assign()
                    args.append(_node(ast.Spread(arg), arg))
                else:
                    args.append(self.parse_assign())
                if not self.accept(","):
                    self.expect(")")
                    break
            return args
        finally:
            self.leave()

    def parse_primary(self) -> ast.Node:
        tok = self.tok
        kind = tok.kind
        if kind == "num" or kind == "str":
            self.i += 1
            return ast.Literal(tok.value)
        if kind == "name":
            self.i += 1
            return ast.Ident(tok.value)
        if kind == "keyword":
            return self.parse_keyword(tok)
        if kind == "template":
            self.i += 1
            return self.parse_template(tok)
        if kind == "regex":
            self.i += 1
            pattern, flags = tok.value
            return ast.RegexLit(pattern, flags)
        if kind == "punct":
            if tok.value == "(":
                self.i += 1
                self.enter()
                try:
                    node = self.parse_sequence()
                    self.expect(")")
                    return node
                finally:
                    self.leave()
            if tok.value == "[":
                return self.parse_array()
            if tok.value == "{":
                return self.parse_object()
        raise self.error()

    def parse_keyword(self, tok: Token) -> ast.Node:
        word = tok.value
        self.i += 1
        if word == "true":
            return ast.Literal(True)
        if word == "false":
            return ast.Literal(False)
        if word == "null":
            return ast.Literal(None)
        if word == "undefined":
            return ast.Ident("undefined")
        if word == "new":
            self.enter()
            try:
                callee = self.parse_primary()
                while self.accept("."):
                    callee = _node(ast.Member(callee, self.parse_member_name()), callee)
                args = self.parse_args() if self.is_punct("(") else []
                return _node(ast.New(callee, args), callee, *args)
            finally:
                self.leave()
        self.i -= 1
        raise self.error(f"{word!r} is not supported here")

    def parse_template(self, tok: Token) -> ast.Node:
        quasis, token_lists = tok.value
        self.enter()
        try:
            exprs: list[ast.Node] = []
            for tokens in token_lists:
                inner = Parser(tokens)
                inner.nesting = self.nesting
                if inner.tok.kind == "eof":
                    raise self.error("empty ${} in template literal")
                node = inner.parse_sequence()
                if inner.tok.kind != "eof":
                    raise inner.error()
                exprs.append(node)
            return _node(ast.TemplateLit(quasis, exprs), *exprs)
        finally:
            self.leave()

    def parse_array(self) -> ast.Node:
        self.expect("[")
        self.enter()
        try:
            elements: list[ast.Node | None] = []
            while not self.accept("]"):
                if self.accept(","):
                    elements.append(None)
                    continue
                if self.accept("..."):
                    arg = self.parse_assign()
                    elements.append(_node(ast.Spread(arg), arg))
                else:
                    elements.append(self.parse_assign())
                if not self.accept(","):
                    self.expect("]")
                    break
            return _node(ast.ArrayLit(elements), *[e for e in elements if e is not None])
        finally:
            self.leave()

    def parse_object(self) -> ast.Node:
        self.expect("{")
        self.enter()
        try:
            props: list[ast.Property | ast.Spread] = []
            children: list[ast.Node] = []
            while not self.accept("}"):
                if self.accept("..."):
                    arg = self.parse_assign()
                    props.append(ast.Spread(arg, depth=arg.depth + 1))
                    children.append(arg)
                elif self.accept("["):
                    key_node = self.parse_bracketed()
                    self.expect(":")
                    value = self.parse_assign()
                    props.append(ast.Property(key_node, value))
                    children += [key_node, value]
                else:
                    tok = self.tok
                    key = self.parse_property_name()
                    if self.accept(":"):
                        value = self.parse_assign()
                    elif tok.kind == "name" and (self.is_punct(",") or self.is_punct("}")):
                        value = ast.Ident(key)  # shorthand `{a}`
                    else:
                        raise self.error("expected ':' after property name")
                    props.append(ast.Property(key, value))
                    children.append(value)
                if not self.accept(","):
                    self.expect("}")
                    break
            return _node(ast.ObjectLit(props), *children)
        finally:
            self.leave()


def _node(node: ast.Node, *children: ast.Node) -> ast.Node:
    node.depth = 1 + max((c.depth for c in children), default=0)
    return _check_depth(node)


def _check_depth(node: ast.Node) -> ast.Node:
    if node.depth > limits.MAX_AST_DEPTH:
        raise Abort(f"expression is nested too deeply (more than {limits.MAX_AST_DEPTH} levels)")
    return node


def _show(tok: Token) -> str:
    if tok.kind == "eof":
        return "end of expression"
    if tok.kind == "template":
        return "template literal"
    if tok.kind == "regex":
        return f"/{tok.value[0]}/{tok.value[1]}"
    return str(tok.value)


def _match_brackets(tokens: list[Token]) -> dict[int, int]:
    """Index of each opening bracket → index of its closing one (for arrow detection)."""
    matching: dict[int, int] = {}
    stack: list[tuple[str, int]] = []
    for index, tok in enumerate(tokens):
        if tok.kind != "punct":
            continue
        if tok.value in _OPENERS:
            stack.append((_OPENERS[tok.value], index))
        elif stack and tok.value == stack[-1][0]:
            matching[stack.pop()[1]] = index
    return matching
