"""String methods: JavaScript's, plus the n8n extensions people use most (``isEmpty``, ``toNumber`` ...).

Indices count Unicode code points (JavaScript counts UTF-16 units; they differ only for
characters outside the Basic Multilingual Plane, such as most emoji).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
import urllib.parse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions.dates import DateTime
from workflows.engine.expressions.errors import JSError
from workflows.engine.expressions.jsonfns import json_parse, json_stringify
from workflows.engine.expressions.properties import STRING_METHODS, arg, method
from workflows.engine.expressions.regex import (
    JSRegExp,
    regex_from_value,
    regex_match,
    regex_match_all,
    regex_replace,
    regex_search,
    regex_split,
    string_replace,
)
from workflows.engine.expressions.timeutil import default_zone, parse_date_string, parse_iso
from workflows.engine.expressions.values import (
    NAN,
    UNDEFINED,
    check_length,
    check_string,
    check_string_length,
    js_trim,
    relative_index,
    string_to_number,
    to_integer,
    to_string,
    to_uint32,
    truthy,
)

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime

S = STRING_METHODS


def _clamped(value: Any, length: int, default: int) -> int:
    if value is UNDEFINED:
        return default
    return min(max(to_integer(value), 0), length)


def _search_string(value: Any, name: str) -> str:
    if isinstance(value, JSRegExp):
        raise JSError(f"First argument to String.prototype.{name} must not be a regular expression")
    return to_string(value)


# -- case, trimming, padding ---------------------------------------------------------------
@method(S, "toUpperCase", "toLocaleUpperCase")
def _upper(rt: Runtime, s: str, args: list[Any]) -> Any:
    return s.upper()


@method(S, "toLowerCase", "toLocaleLowerCase")
def _lower(rt: Runtime, s: str, args: list[Any]) -> Any:
    return s.lower()


@method(S, "trim")
def _trim(rt: Runtime, s: str, args: list[Any]) -> Any:
    return js_trim(s)


@method(S, "trimStart", "trimLeft")
def _trim_start(rt: Runtime, s: str, args: list[Any]) -> Any:
    trimmed = js_trim(s)
    return s[s.find(trimmed) :] if trimmed else ""


@method(S, "trimEnd", "trimRight")
def _trim_end(rt: Runtime, s: str, args: list[Any]) -> Any:
    trimmed = js_trim(s)
    if not trimmed:
        return ""
    start = s.find(trimmed)
    return s[: start + len(trimmed)]


def _pad(rt: Runtime, s: str, args: list[Any], at_start: bool) -> str:
    target = to_integer(arg(args, 0))
    filler = " " if arg(args, 1) is UNDEFINED else to_string(args[1])
    if target <= len(s) or not filler:
        return s
    check_string_length(rt, target)
    needed = target - len(s)
    pad = (filler * (needed // len(filler) + 1))[:needed]
    return pad + s if at_start else s + pad


@method(S, "padStart")
def _pad_start(rt: Runtime, s: str, args: list[Any]) -> Any:
    return _pad(rt, s, args, True)


@method(S, "padEnd")
def _pad_end(rt: Runtime, s: str, args: list[Any]) -> Any:
    return _pad(rt, s, args, False)


@method(S, "repeat")
def _repeat(rt: Runtime, s: str, args: list[Any]) -> Any:
    count = to_integer(arg(args, 0))
    if count < 0 or count >= 2**62:
        raise JSError(f"Invalid count value: {to_string(arg(args, 0))}", "RangeError")
    check_string_length(rt, len(s) * count)
    return s * count


# -- searching -------------------------------------------------------------------------------
@method(S, "includes")
def _includes(rt: Runtime, s: str, args: list[Any]) -> Any:
    needle = _search_string(arg(args, 0), "includes")
    return s.find(needle, _clamped(arg(args, 1), len(s), 0)) >= 0


@method(S, "startsWith")
def _starts_with(rt: Runtime, s: str, args: list[Any]) -> Any:
    needle = _search_string(arg(args, 0), "startsWith")
    return s.startswith(needle, _clamped(arg(args, 1), len(s), 0))


@method(S, "endsWith")
def _ends_with(rt: Runtime, s: str, args: list[Any]) -> Any:
    needle = _search_string(arg(args, 0), "endsWith")
    return s.endswith(needle, 0, _clamped(arg(args, 1), len(s), len(s)))


@method(S, "indexOf")
def _index_of(rt: Runtime, s: str, args: list[Any]) -> Any:
    needle = to_string(arg(args, 0))
    start = _clamped(arg(args, 1), len(s), 0)
    return s.find(needle, start)


@method(S, "lastIndexOf")
def _last_index_of(rt: Runtime, s: str, args: list[Any]) -> Any:
    needle = to_string(arg(args, 0))
    position = arg(args, 1)
    end = len(s) if position is UNDEFINED or position != position else _clamped(position, len(s), len(s))
    return s.rfind(needle, 0, end + len(needle))


@method(S, "search")
def _search(rt: Runtime, s: str, args: list[Any]) -> Any:
    return regex_search(rt, s, regex_from_value(arg(args, 0)))


@method(S, "match")
def _match(rt: Runtime, s: str, args: list[Any]) -> Any:
    return regex_match(rt, s, regex_from_value(arg(args, 0)))


@method(S, "matchAll")
def _match_all(rt: Runtime, s: str, args: list[Any]) -> Any:
    pattern = arg(args, 0)
    rx = pattern if isinstance(pattern, JSRegExp) else regex_from_value(pattern, "g")
    return regex_match_all(rt, s, rx)


# -- slicing ---------------------------------------------------------------------------------
@method(S, "slice")
def _slice(rt: Runtime, s: str, args: list[Any]) -> Any:
    n = len(s)
    return s[relative_index(arg(args, 0), n, 0) : relative_index(arg(args, 1), n, n)]


@method(S, "substring")
def _substring(rt: Runtime, s: str, args: list[Any]) -> Any:
    n = len(s)
    a = _clamped(arg(args, 0), n, 0)
    b = _clamped(arg(args, 1), n, n)
    return s[min(a, b) : max(a, b)]


@method(S, "substr")
def _substr(rt: Runtime, s: str, args: list[Any]) -> Any:
    n = len(s)
    start = relative_index(arg(args, 0), n, 0)
    length = n - start if arg(args, 1) is UNDEFINED else min(max(to_integer(args[1]), 0), n - start)
    return s[start : start + length]


@method(S, "charAt")
def _char_at(rt: Runtime, s: str, args: list[Any]) -> Any:
    i = to_integer(arg(args, 0))
    return s[i] if 0 <= i < len(s) else ""


@method(S, "charCodeAt")
def _char_code_at(rt: Runtime, s: str, args: list[Any]) -> Any:
    i = to_integer(arg(args, 0))
    return ord(s[i]) if 0 <= i < len(s) else NAN


@method(S, "codePointAt")
def _code_point_at(rt: Runtime, s: str, args: list[Any]) -> Any:
    i = to_integer(arg(args, 0))
    return ord(s[i]) if 0 <= i < len(s) else UNDEFINED


@method(S, "at")
def _at(rt: Runtime, s: str, args: list[Any]) -> Any:
    i = to_integer(arg(args, 0))
    if i < 0:
        i += len(s)
    return s[i] if 0 <= i < len(s) else UNDEFINED


@method(S, "split")
def _split(rt: Runtime, s: str, args: list[Any]) -> Any:
    sep = arg(args, 0)
    limit = arg(args, 1)
    cap = 2**32 - 1 if limit is UNDEFINED else to_uint32(limit)
    if isinstance(sep, JSRegExp):
        return regex_split(rt, s, sep, limit)
    if cap == 0:
        return []
    if sep is UNDEFINED:
        return [s]
    text = to_string(sep)
    if text == "":
        check_length(rt, min(len(s), cap))
        return list(s[:cap])
    count = s.count(text) + 1
    check_length(rt, min(count, cap))
    return s.split(text, cap)[:cap] if cap < count else s.split(text)


@method(S, "replace")
def _replace(rt: Runtime, s: str, args: list[Any]) -> Any:
    pattern = arg(args, 0)
    if isinstance(pattern, JSRegExp):
        return regex_replace(rt, s, pattern, arg(args, 1), False)
    return string_replace(rt, s, to_string(pattern), arg(args, 1), False)


@method(S, "replaceAll")
def _replace_all(rt: Runtime, s: str, args: list[Any]) -> Any:
    pattern = arg(args, 0)
    if isinstance(pattern, JSRegExp):
        return regex_replace(rt, s, pattern, arg(args, 1), True)
    return string_replace(rt, s, to_string(pattern), arg(args, 1), True)


@method(S, "concat")
def _concat(rt: Runtime, s: str, args: list[Any]) -> Any:
    return check_string(rt, s + "".join(to_string(a) for a in args))


@method(S, "localeCompare")
def _locale_compare(rt: Runtime, s: str, args: list[Any]) -> Any:
    other = to_string(arg(args, 0))
    # An approximation of ICU's default collation: case-insensitive first, lowercase first on ties.
    a = (s.casefold(), s.swapcase())
    b = (other.casefold(), other.swapcase())
    return (a > b) - (a < b)


@method(S, "normalize")
def _normalize(rt: Runtime, s: str, args: list[Any]) -> Any:
    form = "NFC" if arg(args, 0) is UNDEFINED else to_string(args[0])
    if form not in ("NFC", "NFD", "NFKC", "NFKD"):
        raise JSError(f"The normalization form should be one of NFC, NFD, NFKC, NFKD; got {form}", "RangeError")
    return unicodedata.normalize(form, s)  # type: ignore[arg-type]


@method(S, "toString", "valueOf")
def _to_string(rt: Runtime, s: str, args: list[Any]) -> Any:
    return s


# -- n8n extensions ------------------------------------------------------------------------
@method(S, "isEmpty")
def _is_empty(rt: Runtime, s: str, args: list[Any]) -> Any:
    return s == ""


@method(S, "isNotEmpty")
def _is_not_empty(rt: Runtime, s: str, args: list[Any]) -> Any:
    return s != ""


@method(S, "toNumber", "toFloat")
def _to_number(rt: Runtime, s: str, args: list[Any]) -> Any:
    value = string_to_number(s)
    if value != value:
        raise JSError(f"cannot convert {s!r} to a number")
    return value


@method(S, "toInt", "toWholeNumber")
def _to_int(rt: Runtime, s: str, args: list[Any]) -> Any:
    value = _to_number(rt, s, args)
    return int(value) if value not in (float("inf"), float("-inf")) else value


@method(S, "toBoolean")
def _to_boolean(rt: Runtime, s: str, args: list[Any]) -> Any:
    return js_trim(s).lower() not in ("", "0", "false", "no", "n", "f", "off")


@method(S, "toDateTime")
def _to_date_time(rt: Runtime, s: str, args: list[Any]) -> Any:
    tz = default_zone(rt)
    parsed = parse_iso(s, tz)
    if parsed is None:
        ms = parse_date_string(s, tz)
        if ms != ms:
            raise JSError(f"cannot convert {s!r} to a DateTime")
        return DateTime(datetime.fromtimestamp(ms / 1000, tz))
    return DateTime(parsed)


@method(S, "toJsonString")
def _to_json_string(rt: Runtime, s: str, args: list[Any]) -> Any:
    return json_stringify(rt, s, UNDEFINED, UNDEFINED)


@method(S, "parseJson")
def _parse_json(rt: Runtime, s: str, args: list[Any]) -> Any:
    return json_parse(rt, s)


_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.ASCII)
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,}", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")


@method(S, "isEmail")
def _is_email(rt: Runtime, s: str, args: list[Any]) -> Any:
    return len(s) <= 320 and _EMAIL.fullmatch(s) is not None


@method(S, "isUrl")
def _is_url(rt: Runtime, s: str, args: list[Any]) -> Any:
    return len(s) <= 8192 and _URL.fullmatch(s) is not None


@method(S, "isDomain")
def _is_domain(rt: Runtime, s: str, args: list[Any]) -> Any:
    return len(s) <= 253 and _DOMAIN.fullmatch(s) is not None


@method(S, "isNumeric")
def _is_numeric(rt: Runtime, s: str, args: list[Any]) -> Any:
    value = string_to_number(s)
    return js_trim(s) != "" and value == value


@method(S, "extractEmail")
def _extract_email(rt: Runtime, s: str, args: list[Any]) -> Any:
    match = _EMAIL.search(s[:1_000_000])
    return match.group(0) if match else UNDEFINED


@method(S, "extractUrl")
def _extract_url(rt: Runtime, s: str, args: list[Any]) -> Any:
    match = _URL.search(s[:1_000_000])
    return match.group(0) if match else UNDEFINED


@method(S, "extractDomain")
def _extract_domain(rt: Runtime, s: str, args: list[Any]) -> Any:
    text = s.strip()
    if "@" in text and _EMAIL.fullmatch(text):
        return text.split("@", 1)[1]
    host = urllib.parse.urlsplit(text if "//" in text else "//" + text).hostname
    return host or UNDEFINED


@method(S, "removeTags")
def _remove_tags(rt: Runtime, s: str, args: list[Any]) -> Any:
    return _TAGS.sub("", s)


@method(S, "toTitleCase")
def _title_case(rt: Runtime, s: str, args: list[Any]) -> Any:
    return re.sub(r"\S+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), s)


@method(S, "toSentenceCase")
def _sentence_case(rt: Runtime, s: str, args: list[Any]) -> Any:
    lowered = s.lower()
    return re.sub(r"(^\s*|[.!?]\s+)(\w)", lambda m: m.group(1) + m.group(2).upper(), lowered)


@method(S, "toSnakeCase")
def _snake_case(rt: Runtime, s: str, args: list[Any]) -> Any:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", s)
    return "_".join(w.lower() for w in re.split(r"[\s\-_.]+|[^\w]+", spaced) if w)


@method(S, "urlEncode")
def _url_encode(rt: Runtime, s: str, args: list[Any]) -> Any:
    safe = "-_.!~*'()" if not truthy(arg(args, 0)) else "-_.!~*'();/?:@&=+$,#"
    return urllib.parse.quote(s, safe=safe)


@method(S, "urlDecode")
def _url_decode(rt: Runtime, s: str, args: list[Any]) -> Any:
    return urllib.parse.unquote(s)


@method(S, "base64Encode")
def _base64_encode(rt: Runtime, s: str, args: list[Any]) -> Any:
    return check_string(rt, base64.b64encode(s.encode("utf-8")).decode("ascii"))


@method(S, "base64Decode")
def _base64_decode(rt: Runtime, s: str, args: list[Any]) -> Any:
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4)).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        raise JSError("invalid base64 string") from None


_HASHES = {"md5": "md5", "sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}


@method(S, "hash")
def _hash(rt: Runtime, s: str, args: list[Any]) -> Any:
    algorithm = "md5" if arg(args, 0) is UNDEFINED else to_string(args[0]).lower().replace("-", "")
    name = _HASHES.get(algorithm)
    if name is None:
        raise JSError(f"hash(): unknown algorithm {algorithm!r}")
    rt.charge(len(s) >> 6)
    return hashlib.new(name, s.encode("utf-8")).hexdigest()


@method(S, "quote")
def _quote(rt: Runtime, s: str, args: list[Any]) -> Any:
    mark = '"' if arg(args, 0) is UNDEFINED else to_string(args[0])
    return check_string(rt, mark + s.replace("\\", "\\\\").replace(mark, "\\" + mark) + mark)


@method(S, "replaceSpecialChars")
def _replace_special(rt: Runtime, s: str, args: list[Any]) -> Any:
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
