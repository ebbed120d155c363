"""Tokenizer for the JavaScript subset n8n expressions use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows.engine.expressions import limits
from workflows.engine.expressions.errors import Abort

# Longest first, so `===` wins over `==` and `...` over `.`.
PUNCTUATORS = (
    ">>>",
    "...",
    "===",
    "!==",
    "**",
    "=>",
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "??",
    "?.",
    "<<",
    ">>",
    "+",
    "-",
    "*",
    "/",
    "%",
    "<",
    ">",
    "!",
    "~",
    "&",
    "|",
    "^",
    "?",
    ":",
    ".",
    ",",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "=",
    ";",
)
_PUNCT_BY_FIRST: dict[str, tuple[str, ...]] = {}
for _p in PUNCTUATORS:
    _PUNCT_BY_FIRST.setdefault(_p[0], ())
    _PUNCT_BY_FIRST[_p[0]] += (_p,)

KEYWORDS = frozenset(
    {"true", "false", "null", "undefined", "typeof", "in", "instanceof", "new", "void", "return", "const", "let", "var"}
)
# A `/` after one of these starts a regular expression, not a division.
_REGEX_AFTER_KEYWORDS = frozenset({"typeof", "in", "instanceof", "new", "void", "return"})
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


@dataclass(slots=True)
class Token:
    kind: str  # num | str | template | regex | name | keyword | punct | eof
    value: Any
    pos: int


class Lexer:
    """Turns source text into tokens; template literals carry their parts' token lists."""

    def __init__(self, source: str, depth: int = 0) -> None:
        self.src = source
        self.pos = 0
        self.depth = depth
        self.tokens: list[Token] = []

    def error(self, message: str) -> Abort:
        return Abort(f"invalid syntax: {message} at position {self.pos}")

    # -- driver ----------------------------------------------------------------------------
    def tokenize(self) -> list[Token]:
        self._scan(until_brace=False)
        return self.tokens

    def _scan(self, until_brace: bool) -> None:
        src = self.src
        n = len(src)
        braces = 0
        while True:
            self._skip_space()
            if self.pos >= n:
                if until_brace:
                    raise self.error("unterminated ${ in template literal")
                self.tokens.append(Token("eof", None, self.pos))
                return
            ch = src[self.pos]
            start = self.pos
            if ch.isdigit() or (ch == "." and self.pos + 1 < n and src[self.pos + 1].isdigit()):
                self.tokens.append(Token("num", self._number(), start))
            elif ch in "\"'":
                self.tokens.append(Token("str", self._string(ch), start))
            elif ch == "`":
                self.tokens.append(Token("template", self._template(), start))
            elif ch.isalpha() or ch in "_$" or (ord(ch) > 127 and ch.isidentifier()):
                word = self._identifier()
                self.tokens.append(Token("keyword" if word in KEYWORDS else "name", word, start))
            elif ch == "/" and self._regex_allowed():
                self.tokens.append(Token("regex", self._regex(), start))
            else:
                punct = self._punct(ch)
                if until_brace:
                    if punct == "{":
                        braces += 1
                    elif punct == "}":
                        if braces == 0:
                            self.tokens.append(Token("eof", None, start))
                            return
                        braces -= 1
                self.tokens.append(Token("punct", punct, start))

    def _skip_space(self) -> None:
        src = self.src
        n = len(src)
        while self.pos < n:
            ch = src[self.pos]
            if ch.isspace() or ch == "\ufeff":
                self.pos += 1
            elif src.startswith("//", self.pos):
                end = src.find("\n", self.pos)
                self.pos = n if end < 0 else end
            elif src.startswith("/*", self.pos):
                end = src.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated comment")
                self.pos = end + 2
            else:
                return

    def _regex_allowed(self) -> bool:
        if not self.tokens:
            return True
        last = self.tokens[-1]
        if last.kind in ("num", "str", "template", "regex", "name"):
            return False
        if last.kind == "keyword":
            return last.value in _REGEX_AFTER_KEYWORDS
        return last.value not in (")", "]", "}")

    # -- token readers -------------------------------------------------------------------
    def _punct(self, ch: str) -> str:
        for candidate in _PUNCT_BY_FIRST.get(ch, ()):
            if self.src.startswith(candidate, self.pos):
                # `a?.5:1` is a ternary, not optional chaining.
                if candidate == "?." and self.pos + 2 < len(self.src) and self.src[self.pos + 2].isdigit():
                    continue
                self.pos += len(candidate)
                return candidate
        raise self.error(f"unexpected character {ch!r}")

    def _identifier(self) -> str:
        src = self.src
        start = self.pos
        n = len(src)
        while self.pos < n:
            ch = src[self.pos]
            if ch.isalnum() or ch in "_$" or (ord(ch) > 127 and ("a" + ch).isidentifier()):
                self.pos += 1
            else:
                break
        return src[start : self.pos]

    def _number(self) -> int | float:
        src = self.src
        start = self.pos
        n = len(src)
        if src[start] == "0" and start + 1 < n and src[start + 1] in "xXoObB":
            base = {"x": 16, "o": 8, "b": 2}[src[start + 1].lower()]
            self.pos += 2
            while self.pos < n and (src[self.pos].isalnum() or src[self.pos] == "_"):
                self.pos += 1
            digits = src[start + 2 : self.pos].replace("_", "")
            try:
                value = int(digits, base)
            except ValueError:
                raise self.error("invalid number") from None
            return value if value <= 2**53 else float(value)
        while self.pos < n and (src[self.pos].isdigit() or src[self.pos] in "._eE"):
            if src[self.pos] in "eE":
                self.pos += 1
                if self.pos < n and src[self.pos] in "+-":
                    self.pos += 1
                continue
            if src[self.pos] == "." and "." in src[start : self.pos]:
                break
            self.pos += 1
        text = src[start : self.pos].replace("_", "")
        if self.pos < n and (src[self.pos].isalpha() or src[self.pos] in "_$"):
            raise self.error("identifier directly after number")
        try:
            number = float(text)
        except ValueError:
            raise self.error(f"invalid number {text!r}") from None
        if number.is_integer() and abs(number) <= 2**53:
            return int(number)
        return number

    def _escape(self) -> str:
        """Read the escape after a backslash (self.pos is on the backslash)."""
        src = self.src
        self.pos += 1
        if self.pos >= len(src):
            raise self.error("unterminated string")
        ch = src[self.pos]
        self.pos += 1
        if ch in _ESCAPES and not (ch == "0" and self.pos < len(src) and src[self.pos].isdigit()):
            return _ESCAPES[ch]
        if ch == "x":
            return self._hex(2)
        if ch == "u":
            if self.pos < len(src) and src[self.pos] == "{":
                end = src.find("}", self.pos)
                if end < 0:
                    raise self.error("invalid unicode escape")
                try:
                    code = int(src[self.pos + 1 : end], 16)
                    text = chr(code)
                except (ValueError, OverflowError):
                    raise self.error("invalid unicode escape") from None
                self.pos = end + 1
                return text
            return self._hex(4)
        if ch == "\r" and self.pos < len(src) and src[self.pos] == "\n":
            self.pos += 1
            return ""
        if ch in "\n\r\u2028\u2029":
            return ""  # line continuation
        return ch

    def _hex(self, count: int) -> str:
        digits = self.src[self.pos : self.pos + count]
        if len(digits) != count or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise self.error("invalid escape sequence")
        self.pos += count
        return chr(int(digits, 16))

    def _string(self, quote: str) -> str:
        src = self.src
        self.pos += 1
        parts: list[str] = []
        n = len(src)
        while True:
            if self.pos >= n:
                raise self.error("unterminated string")
            ch = src[self.pos]
            if ch == quote:
                self.pos += 1
                return "".join(parts)
            if ch == "\\":
                parts.append(self._escape())
            elif ch in "\n\r":
                raise self.error("unterminated string")
            else:
                end = self.pos + 1
                while end < n and src[end] not in (quote, "\\", "\n", "\r"):
                    end += 1
                parts.append(src[self.pos : end])
                self.pos = end

    def _template(self) -> tuple[list[str], list[list[Token]]]:
        if self.depth >= limits.MAX_NESTING:
            raise Abort(f"expression is nested too deeply (more than {limits.MAX_NESTING} levels)")
        src = self.src
        self.pos += 1
        quasis: list[str] = []
        parts: list[str] = []
        exprs: list[list[Token]] = []
        n = len(src)
        while True:
            if self.pos >= n:
                raise self.error("unterminated template literal")
            ch = src[self.pos]
            if ch == "`":
                self.pos += 1
                quasis.append("".join(parts))
                return quasis, exprs
            if ch == "\\":
                parts.append(self._escape())
            elif ch == "$" and src.startswith("${", self.pos):
                quasis.append("".join(parts))
                parts = []
                inner = Lexer(src, self.depth + 1)
                inner.pos = self.pos + 2
                inner._scan(until_brace=True)
                exprs.append(inner.tokens)
                self.pos = inner.pos
            else:
                parts.append(ch)
                self.pos += 1

    def _regex(self) -> tuple[str, str]:
        src = self.src
        n = len(src)
        self.pos += 1
        start = self.pos
        in_class = False
        while True:
            if self.pos >= n or src[self.pos] in "\n\r":
                raise self.error("unterminated regular expression")
            ch = src[self.pos]
            if ch == "\\":
                self.pos += 2
                continue
            if ch == "[":
                in_class = True
            elif ch == "]":
                in_class = False
            elif ch == "/" and not in_class:
                break
            self.pos += 1
        pattern = src[start : self.pos]
        self.pos += 1
        flag_start = self.pos
        while self.pos < n and src[self.pos].isalpha():
            self.pos += 1
        return pattern, src[flag_start : self.pos]


def tokenize(source: str) -> list[Token]:
    return Lexer(source).tokenize()
