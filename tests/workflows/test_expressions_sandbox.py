"""The expression sandbox: escapes, resource exhaustion and hostile syntax fail fast with ExpressionError."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.workflows.expression_helpers import ADA, ev, make_ctx
from workflows.engine.expressions import ExpressionError, limits

QUICK_SECONDS = 3.0  # every attempt must end well before this (the evaluation limit is 1 s)

ESCAPES: list[tuple[str, str]] = [
    ("={{ $json.constructor.constructor('return process')() }}", "constructor"),
    ("={{ $json.__class__ }}", "__class__"),
    ("={{ $json['__class__']['__mro__'] }}", "__class__"),
    ("={{ ''.__class__.__mro__[1].__subclasses__() }}", "__class__"),
    ("={{ this.constructor }}", "this"),
    ("={{ Function('return process')() }}", "Function"),
    ("={{ new Function('return 1') }}", "Function"),
    ("={{ globalThis.process }}", "globalThis"),
    ("={{ require('fs').readFileSync('/etc/passwd') }}", "require"),
    ("={{ process.env.HOME }}", "process"),
    ("={{ $env.HOME }}", "access to environment variables is blocked"),
    ("={{ eval('1 + 1') }}", "eval"),
    ("={{ ({}).__proto__ }}", "__proto__"),
    ("={{ Object.prototype }}", "prototype"),
    ("={{ [].map.constructor('return 1')() }}", "constructor"),
    ("={{ ''.constructor.constructor }}", "constructor"),
    ("={{ $json['const' + 'ructor'] }}", "constructor"),
    ("={{ (x => x).constructor }}", "constructor"),
    ("={{ Math.constructor }}", "constructor"),
    ("={{ $input.constructor }}", "constructor"),
    ("={{ $json.toString.constructor('return this')() }}", "constructor"),
    ("={{ ({}).__defineGetter__('x', () => 1) }}", "__defineGetter__"),
    ("={{ (function () { return 1 })() }}", "invalid syntax"),
    ("={{ import('fs') }}", "'import' is not allowed"),
    ("={{ $json.__proto__.polluted = 1 }}", "assignment is not supported"),
    ('={{ Object.assign($json, JSON.parse(\'{"__proto__": {"x": 1}}\')).__proto__ }}', "__proto__"),
    ("={{ constructor }}", "constructor"),
    ("={{ window.document }}", "window"),
    ("={{ Reflect.ownKeys($json) }}", "Reflect"),
    ("={{ [].constructor.prototype.push }}", "constructor"),
    ("={{ ((f) => f.caller)(x => x) }}", "caller"),
    ("={{ (() => arguments)() }}", "arguments"),
    ("={{ setTimeout(() => 1, 0) }}", "setTimeout"),
    ("={{ fetch('http://example.com') }}", "fetch"),
]

EXHAUSTION: list[tuple[str, str]] = [
    ("={{ Array.from({ length: 1e9 }) }}", "1,000,000 elements"),
    ("={{ Array.from({ length: 1e9 }, (_, i) => i) }}", "1,000,000 elements"),
    ("={{ new Array(1e9) }}", "1,000,000 elements"),
    ("={{ 'a'.repeat(1e9) }}", "10,485,760 characters"),
    ("={{ 'x'.padStart(1e9, 'ab') }}", "10,485,760 characters"),
    ("={{ Array.from({ length: 40 }).reduce(s => s + s, 'x') }}", "10,485,760 characters"),
    # "expression exceeded": the step budget, or on a busy machine the time limit, stops these.
    ("={{ Array.from({ length: 1e6 }).reduce((a) => a + 1, 0) }}", "expression exceeded"),
    ("={{ Array.from({ length: 1000 }, () => Array.from({ length: 1000 }, () => 1)) }}", "expression exceeded"),
    ("={{ Array.from({ length: 900 }, () => 'x'.repeat(1e6)).length }}", "expression exceeded"),
    ("={{ (f => f(f))(f => f(f)) }}", "call depth"),
    ("={{ ((f, n) => f(f, n))((g, n) => n > 0 ? g(g, n - 1) : 0, 1e6) }}", "call depth"),
    ("={{ /(a+)+$/.test('a'.repeat(40) + 'b') }}", "catastrophic backtracking"),
    ("={{ /(a|a)*b/.test('a'.repeat(40)) }}", "catastrophic backtracking"),
    ("={{ /(x?x?)*$/.test('x'.repeat(40) + 'y') }}", "catastrophic backtracking"),
    ("={{ /\\s+$/.test(' '.repeat(200000) + 'x') }}", "regular expression"),
]

HOSTILE_SYNTAX: list[tuple[str, str]] = [
    ("={{ " + "(" * 10_000 + "1" + ")" * 10_000 + " }}", "nested too deeply"),
    ("={{ " + "[" * 10_000 + "]" * 10_000 + " }}", "nested too deeply"),
    ("={{ " + "!" * 10_000 + "1 }}", "nested too deeply"),
    ("={{ " + "x => " * 5_000 + "1 }}", "nested too deeply"),
    ("={{ " + "`${" * 3_000 + "1" + "}`" * 3_000 + " }}", "nested too deeply"),
    ("={{ " + "+".join(["1"] * 20_000) + " }}", "nested too deeply"),
    ("={{ $json" + ".a" * 5_000 + " }}", "nested too deeply"),
    ("={{ '" + "a" * 70_000 + "' }}", "too long"),
    ("={{ " + "1 ? " * 5_000 + "1" + " : 2" * 5_000 + " }}", "nested too deeply"),
    ("={{ " + "-" * 10_000 + "1 }}", "nested too deeply"),
]


def _assert_fails_quickly(template: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        ev(template)
    elapsed = time.perf_counter() - started
    assert elapsed < QUICK_SECONDS, f"took {elapsed:.2f} s"
    assert message in caught.value.message
    assert caught.value.error_type == "ExpressionError"


@pytest.mark.parametrize(("template", "message"), ESCAPES, ids=[t[:60] for t, _ in ESCAPES])
def test_sandbox_escape_is_refused(template: str, message: str) -> None:
    _assert_fails_quickly(template, message)


@pytest.mark.parametrize(("template", "message"), EXHAUSTION, ids=[t[:60] for t, _ in EXHAUSTION])
def test_resource_exhaustion_is_stopped(template: str, message: str) -> None:
    _assert_fails_quickly(template, message)


@pytest.mark.parametrize(("template", "message"), HOSTILE_SYNTAX, ids=[t[:30] for t, _ in HOSTILE_SYNTAX])
def test_hostile_syntax_fails_without_exhausting_the_stack(template: str, message: str) -> None:
    _assert_fails_quickly(template, message)


def test_there_are_at_least_twenty_escape_attempts() -> None:
    assert len(ESCAPES) + len(EXHAUSTION) + len(HOSTILE_SYNTAX) >= 20
    assert len(ESCAPES) >= 20


@pytest.mark.parametrize(
    "template",
    [
        "={{ (x => x).call(null, 1) }}",
        "={{ (x => x).bind(null)(1) }}",
        "={{ $json.valueOf().constructor2 }}",
        "={{ Object.getPrototypeOf($json) }}",
        "={{ Object.defineProperty({}, 'x', {}) }}",
        "={{ $json.__lookupGetter }}",
    ],
)
def test_reflection_helpers_do_not_exist(template: str) -> None:
    """These are not errors in n8n either: they just lead nowhere (undefined)."""
    try:
        value = ev(template)
    except ExpressionError:
        return
    assert value is None


def test_prototype_pollution_attempts_change_nothing() -> None:
    items = [{"json": copy.deepcopy(ADA), "pairedItem": {"item": 0}}]
    before = copy.deepcopy(items)
    ctx = make_ctx(items)
    ev("={{ Object.assign($json, JSON.parse('{\"polluted\": 1}')) }}", ctx)
    ev("={{ { ...$json, ['__proto__']: { polluted: 1 } } }}", ctx)
    assert items == before
    assert ev("={{ ({}).polluted }}", ctx) is None
    assert ev("={{ $json.polluted }}", ctx) is None


def test_a_regex_that_backtracks_for_long_is_interrupted_by_the_time_limit() -> None:
    """In a worker's main thread a timer stops a runaway match; pytest owns SIGALRM here, so
    the check runs in a fresh interpreter."""
    root = Path(__file__).resolve().parents[2]
    code = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(root)!r})
        from tests.workflows.expression_helpers import ev
        from workflows.engine.expressions import ExpressionError
        started = time.perf_counter()
        try:
            ev("={{{{ /a*a*a*b/.test('a'.repeat(20000)) }}}}")
            print("no error")
        except ExpressionError as exc:
            print(exc.message)
        print(round(time.perf_counter() - started, 2))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    message, seconds = result.stdout.strip().splitlines()
    assert "regular expression ran past the time limit" in message
    assert float(seconds) < limits.MAX_SECONDS + 1.5


def test_limits_are_the_documented_ones() -> None:
    assert limits.MAX_STEPS == 1_000_000
    assert limits.MAX_SECONDS == 1.0
    assert limits.MAX_STRING == 10 * 1024 * 1024
    assert limits.MAX_ARRAY == 1_000_000
    assert limits.MAX_TEMPLATE_LENGTH == 64 * 1024
