"""Seeded fuzzing: any template either evaluates to JSON-ready data or raises ExpressionError.

Two generators: a token soup (the language's tokens, n8n variables and random characters, so
mostly invalid syntax) and a small grammar (mostly valid expressions mixing types, methods and
operators, so mostly runtime edge cases). No other exception, no internal error, no hang.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from tests.workflows.expression_helpers import make_ctx
from workflows.engine.context import ExecutionInfo
from workflows.engine.expressions import ExpressionError, evaluate_template
from workflows.engine.state import NodeRunRecord

TOKENS = [
    "$json", "$json.a", "$json.name", "$json.arr", "$json.obj", "$input", "$input.item", "$input.all()",
    "$('Prev')", "$node", "$execution", "$now", "$today", "$vars", "$itemIndex", "$env", "Math", "JSON",
    "Object", "Array", "String", "Number", "Date", "DateTime", "x", "y", "_", "undefined", "null", "true",
    "false", "NaN", "Infinity", "this", "constructor", "__proto__", "0", "1", "-1", "1.5", "1e3", "0x10",
    "'a'", '"b"', "''", "`t${1}`", "`", "${", "/a/g", "/(", "+", "-", "*", "/", "%", "**", "==", "===",
    "!=", "<", ">", "<=", ">=", "&&", "||", "??", "!", "~", "?", ":", ".", "?.", ",", "(", ")", "[", "]",
    "{", "}", "=>", "...", "typeof", "new", "in", "instanceof", "void", "return", "const", ";", "=",
    ".map(", ".filter(", ".reduce(", ".join(", ".split(", ".length", ".toUpperCase()", ".slice(",
    ".repeat(", ".padStart(", "x => x", "(a, b) => a + b", ".toFixed(", ".sort(", ".keys()", "{{", "}}",
    "\\", "#", "@", "é", "\u2028", " ", "\n", "'open", "[1,2,3]", "{a: 1}", "({a:1})",
    "Array.from({length: 5})", ".constructor", "['constructor']", "Function", "eval", "process",
]  # fmt: skip
CHARS = "abc$_01(){}[]<>=!&|?:.,;+-*/%`'\"\\ \t\n^~@#"

ATOMS = [
    "$json", "$json.a", "$json.name", "$json.arr", "$json.obj", "$json.f", "$json.n", "$json.s",
    "$input.item", "$input.all()", "$('Prev').item", "$('Prev').first()", "$now", "$today", "$itemIndex",
    "0", "1", "-1", "2.5", "1e21", "NaN", "Infinity", "null", "undefined", "true", "false", "''", "'abc'",
    "'1,2'", "' x '", "[]", "[1,'a',null]", "{}", "{a: 1, b: [2]}", "x", "Math.PI", "new Date(0)",
    "DateTime.now()", "/a|b/g", "`t${$json.a}`", "Object", "Array", "Math", "JSON", "String", "Number",
    "$execution", "$workflow", "$prevNode", "$vars", "$node['Prev']",
]  # fmt: skip
MEMBERS = [
    "toUpperCase()", "trim()", "length", "split(',')", "join('-')", "slice(1)", "slice(-2, 5)", "map(x => x)",
    "filter(x => x)", "reduce((a, b) => a + b)", "reduce((a, b) => a + b, 0)", "find(x => x)", "some(x => x)",
    "includes(1)", "indexOf('a')", "concat([1])", "flat()", "reverse()", "sort()", "at(-1)", "toFixed(2)",
    "toString()", "toPrecision(3)", "padStart(5, '*')", "repeat(2)", "charAt(0)", "replace('a', 'b')",
    "replaceAll('a', '$&$&')", "replace(/a/g, x => x + 1)", "match(/\\w+/g)", "startsWith('a')", "first()",
    "last()", "isEmpty()", "keys()", "values()", "toJsonString()", "toISO()", "plus({days: 1})",
    "toFormat('yyyy')", "year", "json", "a", "b", "0", "name", "getTime()", "toNumber()", "sum()", "unique()",
    "hasOwnProperty('a')", "test('abc')", "stringify($json)", "parse('[1]')", "keys($json)", "entries($json)",
    "isArray($json)", "from('ab')", "max(1, 2)", "round(2.5)", "customData.get('k')", "id", "item", "all()",
    "outputIndex", "GREETING",
]  # fmt: skip
BINARY = ["+", "-", "*", "/", "%", "**", "==", "===", "!=", "!==", "<", ">", "<=", ">=", "&&", "||", "??", "in"]
UNARY = ["!", "-", "+", "typeof ", "~", "void "]


def token_soup(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 25)):
        if rng.random() < 0.8:
            parts.append(rng.choice(TOKENS))
        else:
            parts.append("".join(rng.choice(CHARS) for _ in range(rng.randint(1, 4))))
        if rng.random() < 0.5:
            parts.append(" ")
    body = "".join(parts)
    shape = rng.random()
    if shape < 0.7:
        return "={{ " + body + " }}"
    if shape < 0.9:
        return "=pre {{ " + body + " }} post {{ $json.a }}"
    return "=" + body


def grammar(rng: random.Random, depth: int = 0) -> str:
    r = rng.random()
    if depth > 4 or r < 0.25:
        return rng.choice(ATOMS)
    if r < 0.45:
        return grammar(rng, depth + 1) + rng.choice([".", "?."]) + rng.choice(MEMBERS)
    if r < 0.65:
        return f"({grammar(rng, depth + 1)} {rng.choice(BINARY)} {grammar(rng, depth + 1)})"
    if r < 0.72:
        return rng.choice(UNARY) + grammar(rng, depth + 1)
    if r < 0.78:
        return f"({grammar(rng, depth + 1)} ? {grammar(rng, depth + 1)} : {grammar(rng, depth + 1)})"
    if r < 0.84:
        return "[" + ", ".join(grammar(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    if r < 0.88:
        return "{k: " + grammar(rng, depth + 1) + ", ..." + grammar(rng, depth + 1) + "}"
    if r < 0.93:
        return f"{grammar(rng, depth + 1)}[{grammar(rng, depth + 1)}]"
    return f"((x, y) => {grammar(rng, depth + 1)})({grammar(rng, depth + 1)})"


@pytest.fixture
def fuzz_ctx() -> Any:
    items = [
        {
            "json": {"a": 5, "name": "ada", "arr": [1, 2, 3], "obj": {"b": 1}, "f": 1.5, "n": None, "s": "x,y"},
            "pairedItem": {"item": 0},
        }
    ]
    run_data = {"Prev": [NodeRunRecord("Prev", "n8n-nodes-base.set", 0, 0, "success", 0.0, 0.0, [None], [items])]}
    return make_ctx(
        items,
        source=[{"previousNode": "Prev", "previousNodeOutput": 0, "previousNodeRun": 0}],
        run_data=run_data,
        execution=ExecutionInfo(extra={"vars": {"GREETING": "hi"}}),
    )


def _check(template: str, ctx: Any) -> str:
    started = time.perf_counter()
    try:
        value = evaluate_template(template, ctx, 0, "fuzz")
    except ExpressionError as exc:
        assert "internal error" not in exc.message, (template, exc.message)
        outcome = "error"
    else:
        json.dumps(value, allow_nan=False)  # what a node receives can be stored as JSON
        outcome = "value"
    assert time.perf_counter() - started < 3.0, template
    return outcome


def test_token_soup_gives_a_value_or_an_expression_error(fuzz_ctx: Any) -> None:
    rng = random.Random(20261126)
    outcomes = [_check(token_soup(rng), fuzz_ctx) for _ in range(3_000)]
    assert outcomes.count("value") > 100  # the soup is not all syntax errors


def test_generated_expressions_give_a_value_or_an_expression_error(fuzz_ctx: Any) -> None:
    rng = random.Random(1126)
    templates = [
        "={{ " + grammar(rng) + " }}" if rng.random() < 0.8 else "=a {{ " + grammar(rng) + " }} b" for _ in range(2_000)
    ]
    outcomes = [_check(template, fuzz_ctx) for template in templates]
    assert outcomes.count("value") > 1_000  # mostly valid: this exercises runtime paths
