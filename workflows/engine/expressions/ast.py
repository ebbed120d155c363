"""Syntax tree of an expression. Every node knows its depth, which the parser bounds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(slots=True)
class Node:
    depth: int = field(default=1, kw_only=True)


@dataclass(slots=True)
class Literal(Node):
    value: Any


@dataclass(slots=True)
class Ident(Node):
    name: str


@dataclass(slots=True)
class TemplateLit(Node):
    quasis: list[str]
    exprs: list[Node]


@dataclass(slots=True)
class RegexLit(Node):
    pattern: str
    flags: str


@dataclass(slots=True)
class Spread(Node):
    arg: Node


@dataclass(slots=True)
class ArrayLit(Node):
    elements: list[Node | None]  # None is a hole: `[1, , 2]`


@dataclass(slots=True)
class Property(Node):
    key: str | Node  # a Node when computed: `{[k]: v}`
    value: Node


@dataclass(slots=True)
class ObjectLit(Node):
    props: list[Property | Spread]


@dataclass(slots=True)
class Member(Node):
    obj: Node
    prop: str | Node  # a Node when computed: `a[b]`
    optional: bool = False


@dataclass(slots=True)
class Call(Node):
    callee: Node
    args: list[Node]
    optional: bool = False


@dataclass(slots=True)
class New(Node):
    callee: Node
    args: list[Node]


@dataclass(slots=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(slots=True)
class Conditional(Node):
    test: Node
    consequent: Node
    alternate: Node


@dataclass(slots=True)
class Sequence(Node):
    exprs: list[Node]


@dataclass(slots=True)
class OptionalChain(Node):
    """Wraps a member/call chain containing `?.`: a nullish link ends the chain with undefined."""

    expr: Node


# Binding patterns: a name, `[a, , b]` or `{a, b: c}`.
Pattern = Union[str, "ArrayPattern", "ObjectPattern"]


@dataclass(slots=True)
class ArrayPattern:
    elements: list[Pattern | None]


@dataclass(slots=True)
class ObjectPattern:
    props: list[tuple[str, Pattern]]


@dataclass(slots=True)
class Statement:
    kind: str  # const | return | expr
    target: Pattern | None
    expr: Node | None


@dataclass(slots=True)
class Arrow(Node):
    params: list[Pattern]
    rest: str | None
    body: Node | list[Statement]  # a statement list for `{ ... return x }` bodies


def pattern_names(pattern: Pattern) -> list[str]:
    if isinstance(pattern, str):
        return [pattern]
    if isinstance(pattern, ArrayPattern):
        return [name for el in pattern.elements if el is not None for name in pattern_names(el)]
    return [name for _, sub in pattern.props for name in pattern_names(sub)]
