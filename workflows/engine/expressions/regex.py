"""JavaScript regular expressions on Python's ``re``, with a guard against catastrophic patterns.

Python's ``re`` cannot be interrupted, so a pattern that backtracks exponentially would hang the
worker despite the expression time limit. Patterns with nested unbounded quantifiers
(``(a+)+``, ``(\\w*)*``) are therefore refused, and subjects are capped at ``MAX_REGEX_SUBJECT``.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar

from workflows.engine.expressions import limits
from workflows.engine.expressions.errors import Abort, JSError
from workflows.engine.expressions.values import (
    UNDEFINED,
    HostObject,
    JSFunction,
    check_length,
    check_string,
    to_integer,
    to_string,
    to_uint32,
)

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime

_T = TypeVar("_T")
_FLAG_BITS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "g": 0, "u": 0, "d": 0}


class JSRegExp(HostObject):
    """A compiled regular expression. Stateless: ``lastIndex`` is always 0 (see docs)."""

    __slots__ = ("compiled", "flags", "source")
    type_name = "RegExp"

    def __init__(self, source: str, flags: str, compiled: re.Pattern[str]) -> None:
        self.source = source
        self.flags = flags
        self.compiled = compiled

    @property
    def is_global(self) -> bool:
        return "g" in self.flags

    def js_get(self, rt: Runtime, key: str) -> Any:
        if key == "source":
            return self.source
        if key == "flags":
            return self.flags
        if key == "lastIndex":
            return 0
        prop = {"global": "g", "ignoreCase": "i", "multiline": "m", "dotAll": "s", "unicode": "u", "sticky": "y"}
        if key in prop:
            return prop[key] in self.flags
        return UNDEFINED

    def js_call(self, rt: Runtime, key: str, args: list[Any]) -> Any:
        subject = to_string(args[0]) if args else "undefined"
        if key == "test":
            return _search(rt, self, subject, 0) is not None
        if key == "exec":
            match = _search(rt, self, subject, 0)
            return _match_array(match) if match is not None else None
        if key == "toString":
            return self.js_to_string()
        raise JSError(f"RegExp.{key} is not a function")

    def js_to_string(self) -> str:
        return f"/{self.source}/{self.flags}"

    def to_python(self) -> Any:
        return {}


def make_regex(source: str, flags: str) -> JSRegExp:
    """Compile a JavaScript regex literal (``Abort`` with a syntax error when it can't be)."""
    if len(set(flags)) != len(flags) or any(f not in _FLAG_BITS for f in flags):
        if "y" in flags:
            raise Abort("invalid syntax: the sticky flag 'y' is not supported")
        raise Abort(f"invalid syntax: invalid regular expression flags {flags!r}")
    pattern = _translate(source, "m" in flags, "i" in flags)
    bits = re.ASCII if "i" not in flags else 0
    for f in flags:
        bits |= _FLAG_BITS[f]
    try:
        compiled = re.compile(pattern, bits)
    except (re.error, OverflowError, RecursionError) as exc:
        raise Abort(f"invalid regular expression /{source}/: {exc}") from None
    return JSRegExp(source, flags, compiled)


def regex_from_value(value: Any, flags: Any = UNDEFINED) -> JSRegExp:
    """``new RegExp(x, flags)`` and the implicit conversion in ``match``/``search``."""
    if isinstance(value, JSRegExp) and flags is UNDEFINED:
        return value
    source = value.source if isinstance(value, JSRegExp) else ("(?:)" if value is UNDEFINED else to_string(value))
    try:
        return make_regex(source, "" if flags is UNDEFINED else to_string(flags))
    except Abort as exc:
        raise JSError(exc.message, "SyntaxError") from None


class _Group:
    __slots__ = ("ambiguous", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.ambiguous = False  # holds an unbounded/optional quantifier or an overlapping alternation


def _translate(source: str, multiline: bool, ignore_case: bool) -> str:
    """JavaScript pattern syntax → Python ``re`` syntax, refusing catastrophic shapes.

    A repeated group (``*``, ``+``, ``{2,}`` ...) whose body can match the same text in more
    than one way (a nested ``+``/``*``/``?`` or alternatives that may overlap) backtracks
    exponentially on a failing match, so it is refused.
    """
    out: list[str] = []
    i = 0
    n = len(source)
    groups: list[_Group] = [_Group(-1)]
    closed: _Group | None = None  # the group that ends right before the current position
    while i < n:
        ch = source[i]
        if ch == "\\":
            text, length = _escape(source, i)
            out.append(text)
            i += length
            closed = None
            continue
        if ch == "[":
            end, text = _char_class(source, i)
            out.append(text)
            i = end
            closed = None
            continue
        if ch == "(":
            groups.append(_Group(i))
            if source.startswith("(?<", i) and source[i + 3 : i + 4] not in ("=", "!"):
                out.append("(?P<")
                i += 3
            else:
                prefix = next((p for p in ("(?:", "(?=", "(?!", "(?<=", "(?<!") if source.startswith(p, i)), "(")
                out.append(prefix)
                i += len(prefix)
            closed = None
            continue
        if ch == ")":
            if len(groups) == 1:
                raise Abort(f"invalid regular expression /{source}/: unmatched ')'")
            group = groups.pop()
            if _overlapping_alternatives(source[group.start + 1 : i], ignore_case):
                group.ambiguous = True
            groups[-1].ambiguous = groups[-1].ambiguous or group.ambiguous
            out.append(")")
            i += 1
            closed = group
            continue
        if ch in "*+?{":
            length, unbounded, repeats = _quantifier(source, i)
            if length:
                if repeats and closed is not None and closed.ambiguous:
                    raise Abort(
                        f"regular expression /{source}/ repeats a group that can match the same text in "
                        "several ways (catastrophic backtracking); rewrite it without nested or "
                        "overlapping repetition"
                    )
                if unbounded or not repeats or (source[i] == "{" and source[i + 1 : i + 3] == "0,"):
                    groups[-1].ambiguous = True
                out.append(source[i : i + length])
                i += length
                closed = None
                continue
        if ch == "$" and not multiline:
            out.append(r"\Z")  # end of input only; Python's `$` also matches before a final newline
        else:
            out.append(ch)
        i += 1
        closed = None
    return "".join(out)


def _overlapping_alternatives(body: str, ignore_case: bool) -> bool:
    """Whether a group body has ``|`` alternatives that are not plain literals with distinct first
    characters (``(jpg|png)`` is fine; ``(a|a)``, ``(\\w|\\d)``, ``(a|ab)`` are not)."""
    if body.startswith("?:"):
        body = body[2:]
    elif body.startswith("?<") and ">" in body:
        body = body[body.index(">") + 1 :]
    if "|" not in body:
        return False
    firsts: set[str] = set()
    for alternative in body.split("|"):
        units = _literal_units(alternative)
        if not units:
            return True
        first = units[0].lower() if ignore_case else units[0]
        if first in firsts:
            return True
        firsts.add(first)
    return False


def _literal_units(text: str) -> list[str] | None:
    """The characters of a plain literal (escaped punctuation and \\n, \\r, \\t allowed), else None."""
    units: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if not nxt or (nxt.isalnum() and nxt not in "nrtfv"):
                return None
            units.append("\\" + nxt)
            i += 2
        elif ch in "()[].*+?{}^$":
            return None
        else:
            units.append(ch)
            i += 1
    return units


def _quantifier(source: str, i: int) -> tuple[int, bool, bool]:
    """(length, unbounded, repeats more than once) of a quantifier at ``i``; length 0 if none."""
    ch = source[i]
    if ch in "*+":
        length = 2 if source[i + 1 : i + 2] == "?" else 1
        return length, True, True
    if ch == "?":
        length = 2 if source[i + 1 : i + 2] == "?" else 1
        return length, False, False
    match = re.match(r"\{(\d+)(,(\d*))?\}\??", source[i:])
    if not match:
        return 0, False, False
    upper = match.group(3)
    unbounded = match.group(2) is not None and not upper
    repeats = unbounded or (upper is not None and upper != "" and int(upper) > 1) or int(match.group(1)) > 1
    return len(match.group(0)), unbounded, repeats


def _escape(source: str, i: int) -> tuple[str, int]:
    """The Python text for the escape at ``i`` and how many source characters it used."""
    nxt = source[i + 1 : i + 2]
    if not nxt:
        raise Abort(f"invalid regular expression /{source}/: \\ at end of pattern")
    if nxt in "dDwWsSbBnrtfv" or (nxt.isdigit() and nxt != "0"):
        return "\\" + nxt, 2
    if nxt == "0":
        return r"\x00", 2
    if nxt == "u":
        if source[i + 2 : i + 3] == "{":
            end = source.find("}", i)
            digits = source[i + 3 : end] if end > 0 else ""
            if re.fullmatch(r"[0-9a-fA-F]{1,6}", digits) and int(digits, 16) <= 0x10FFFF:
                return f"\\U{int(digits, 16):08x}", end - i + 1
            raise Abort(f"invalid regular expression /{source}/: bad \\u escape")
        digits = source[i + 2 : i + 6]
        if re.fullmatch(r"[0-9a-fA-F]{4}", digits):
            return "\\u" + digits, 6
        return "u", 2
    if nxt == "x":
        digits = source[i + 2 : i + 4]
        if re.fullmatch(r"[0-9a-fA-F]{2}", digits):
            return "\\x" + digits, 4
        return "x", 2
    if nxt == "c":
        letter = source[i + 2 : i + 3]
        if letter.isascii() and letter.isalpha():
            return re.escape(chr(ord(letter) % 32)), 3
        return r"\\c", 2
    if nxt == "k" and source[i + 2 : i + 3] == "<":
        end = source.find(">", i)
        if end > 0:
            return f"(?P={source[i + 3 : end]})", end - i + 1
    return re.escape(nxt), 2


def _char_class(source: str, start: int) -> tuple[int, str]:
    i = start + 1
    n = len(source)
    negate = source[i : i + 1] == "^"
    if negate:
        i += 1
    parts: list[str] = []
    while i < n and source[i] != "]":
        ch = source[i]
        if ch == "\\" and i + 1 < n:
            if source[i + 1] == "b":
                parts.append(r"\x08")
                i += 2
            else:
                text, length = _escape(source, i)
                parts.append(text)
                i += length
            continue
        parts.append("\\" + ch if ch in "[&~|" else ch)
        i += 1
    if i >= n:
        raise Abort(f"invalid regular expression /{source}/: unterminated character class")
    body = "".join(parts)
    if not body:
        return i + 1, r"[\s\S]" if negate else r"(?!)"
    return i + 1, "[" + ("^" if negate else "") + body + "]"


# -- running a match under the time limit ------------------------------------------------------
class _RegexTimeout(Exception):
    pass


_ARMED = False  # only ever set in the main thread, while a guarded match runs
_MAIN_THREAD = threading.main_thread()


def _alarm(signum: int, frame: Any) -> None:
    if _ARMED:
        raise _RegexTimeout


def run_regex(rt: Runtime, subject: str, fn: Callable[[], _T]) -> _T:
    """Run ``fn`` (which matches against ``subject``) within the evaluation's remaining time.

    ``re`` cannot be stopped from Python, but it checks for signals while matching: in the main
    thread a one-shot SIGALRM timer interrupts a runaway match. Elsewhere (other threads, or a
    host already using the timer) the subject is capped harder instead; polynomial backtracking
    on a long subject is the remaining risk there.
    """
    global _ARMED
    if threading.current_thread() is not _MAIN_THREAD or not hasattr(signal, "setitimer"):
        return _unguarded(subject, fn)
    if _ARMED:  # nested inside a guarded match (a replace callback): the outer timer is running
        return fn()
    if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None, _alarm):
        return _unguarded(subject, fn)
    if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        return _unguarded(subject, fn)
    remaining = rt.deadline - perf_counter()
    if remaining <= 0:
        rt.check()
    if len(subject) > limits.MAX_REGEX_SUBJECT:
        raise Abort(f"regular expressions can scan at most {limits.MAX_REGEX_SUBJECT:,} characters")
    if signal.getsignal(signal.SIGALRM) is not _alarm:
        signal.signal(signal.SIGALRM, _alarm)  # stays installed: a no-op whenever not armed
    try:
        try:
            _ARMED = True
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001))
            return fn()
        finally:
            _ARMED = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _RegexTimeout:
        raise Abort(f"a regular expression ran past the time limit of {limits.MAX_SECONDS:g} s") from None


def _unguarded(subject: str, fn: Callable[[], _T]) -> _T:
    if len(subject) > limits.MAX_REGEX_SUBJECT_UNGUARDED:
        raise Abort(f"regular expressions can scan at most {limits.MAX_REGEX_SUBJECT_UNGUARDED:,} characters here")
    return fn()


# -- operations used by string methods -------------------------------------------------------
def _search(rt: Runtime, rx: JSRegExp, subject: str, pos: int) -> re.Match[str] | None:
    return run_regex(rt, subject, lambda: rx.compiled.search(subject, pos))


def _match_array(match: re.Match[str]) -> list[Any]:
    return [match.group(0), *(UNDEFINED if g is None else g for g in match.groups())]


def regex_match(rt: Runtime, subject: str, rx: JSRegExp) -> Any:
    """``String.prototype.match``."""
    if not rx.is_global:
        match = _search(rt, rx, subject, 0)
        return _match_array(match) if match is not None else None
    found = run_regex(rt, subject, lambda: [m.group(0) for m in rx.compiled.finditer(subject)])
    check_length(rt, len(found))
    return found or None


def regex_match_all(rt: Runtime, subject: str, rx: JSRegExp) -> list[Any]:
    if not rx.is_global:
        raise JSError("String.prototype.matchAll called with a non-global RegExp argument")
    found = run_regex(rt, subject, lambda: [_match_array(m) for m in rx.compiled.finditer(subject)])
    check_length(rt, len(found))
    return found


def regex_search(rt: Runtime, subject: str, rx: JSRegExp) -> int:
    match = _search(rt, rx, subject, 0)
    return match.start() if match is not None else -1


def regex_split(rt: Runtime, subject: str, rx: JSRegExp, limit: Any) -> list[Any]:
    return run_regex(rt, subject, lambda: _split(rt, subject, rx, limit))


def _split(rt: Runtime, subject: str, rx: JSRegExp, limit: Any) -> list[Any]:
    cap = to_uint32(limit) if limit is not UNDEFINED else 2**32 - 1
    if cap == 0:
        return []
    if not subject:
        return [] if rx.compiled.fullmatch(subject) else [subject]
    out: list[Any] = []
    last = 0
    for match in rx.compiled.finditer(subject):
        if match.end() == match.start() and (match.start() == 0 or match.start() >= len(subject)):
            continue
        if match.end() == match.start() == last and last != 0:
            continue
        out.append(subject[last : match.start()])
        out.extend(UNDEFINED if g is None else g for g in match.groups())
        last = match.end()
        if len(out) >= cap:
            return out[:cap]
        check_length(rt, len(out))
    out.append(subject[last:])
    return out[:cap]


def expand_replacement(template: str, match: str, position: int, subject: str, groups: list[Any]) -> str:
    """The ``$&``, ``$1``, ``$<name>`` ... patterns of a string replacement."""
    if "$" not in template:
        return template
    out: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "&":
            out.append(match)
            i += 2
        elif nxt == "`":
            out.append(subject[:position])
            i += 2
        elif nxt == "'":
            out.append(subject[position + len(match) :])
            i += 2
        elif nxt.isdigit():
            two = template[i + 1 : i + 3]
            if len(two) == 2 and two.isdigit() and 1 <= int(two) <= len(groups):
                value = groups[int(two) - 1]
                i += 3
            elif 1 <= int(nxt) <= len(groups):
                value = groups[int(nxt) - 1]
                i += 2
            else:
                out.append("$" + nxt)
                i += 2
                continue
            out.append("" if value is UNDEFINED else to_string(value))
        else:
            out.append("$")
            i += 1
    return "".join(out)


def _replacement(rt: Runtime, replacement: Any, match: str, position: int, subject: str, groups: list[Any]) -> str:
    if isinstance(replacement, JSFunction):
        return to_string(replacement.call(rt, [match, *groups, position, subject]))
    return expand_replacement(to_string(replacement), match, position, subject, groups)


def regex_replace(rt: Runtime, subject: str, rx: JSRegExp, replacement: Any, replace_all: bool) -> str:
    if replace_all and not rx.is_global:
        raise JSError("replaceAll must be called with a global RegExp")
    return run_regex(rt, subject, lambda: _replace(rt, subject, rx, replacement))


def _replace(rt: Runtime, subject: str, rx: JSRegExp, replacement: Any) -> str:
    out: list[str] = []
    last = 0
    for match in rx.compiled.finditer(subject):
        groups = [UNDEFINED if g is None else g for g in match.groups()]
        out.append(subject[last : match.start()])
        out.append(_replacement(rt, replacement, match.group(0), match.start(), subject, groups))
        last = match.end()
        rt.charge(1)
        if not rx.is_global:
            break
    out.append(subject[last:])
    return check_string(rt, "".join(out))


def string_replace(rt: Runtime, subject: str, pattern: str, replacement: Any, replace_all: bool) -> str:
    """``replace``/``replaceAll`` with a string pattern."""
    if not replace_all:
        pos = subject.find(pattern)
        if pos < 0:
            return subject
        text = _replacement(rt, replacement, pattern, pos, subject, [])
        return check_string(rt, subject[:pos] + text + subject[pos + len(pattern) :])
    positions: list[int] = []
    if pattern == "":
        positions = list(range(len(subject) + 1))
    else:
        pos = subject.find(pattern)
        while pos >= 0:
            positions.append(pos)
            pos = subject.find(pattern, pos + len(pattern))
    rt.charge(len(positions) >> 4)
    out: list[str] = []
    last = 0
    for pos in positions:
        out.append(subject[last:pos])
        out.append(_replacement(rt, replacement, pattern, pos, subject, []))
        last = pos + len(pattern)
        if len(out) > 2 * limits.MAX_ARRAY:
            raise Abort("replaceAll produced too many pieces")
    out.append(subject[last:])
    return check_string(rt, "".join(out))


def index_arg(value: Any, default: int) -> int:
    return default if value is UNDEFINED else to_integer(value)
