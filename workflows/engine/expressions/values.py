"""JavaScript values in Python and the language's conversions and operators.

Representation: ``undefined`` is :data:`UNDEFINED`, ``null`` is ``None``, booleans are ``bool``,
numbers are ``int`` (exact integers within ±2**53) or ``float``, strings ``str``, arrays ``list``,
objects ``dict``. Functions are :class:`JSFunction` instances; everything else the expression
can touch (``$input``, ``Math``, dates ...) is a :class:`HostObject` whose properties come only
from its own tables. No other Python object is ever reachable from an expression.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions import limits
from workflows.engine.expressions.errors import Abort, JSError

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime

MAX_SAFE = 2**53
NAN = math.nan
INF = math.inf
NUMBER_TYPES = (int, float)

# Property names that lead to prototypes or engine internals in JavaScript: never served.
BLOCKED_PROPERTIES = frozenset(
    {
        "constructor",
        "__proto__",
        "prototype",
        "caller",
        "callee",
        "arguments",
        "__defineGetter__",
        "__defineSetter__",
        "__lookupGetter__",
        "__lookupSetter__",
    }
)


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()
MISSING: Any = object()


def check_property(name: str) -> None:
    """Refuse prototype and internal property names (the classic sandbox escapes)."""
    if name in BLOCKED_PROPERTIES or name.startswith("__"):
        raise Abort(f"access to property {name!r} is not allowed in expressions")


class HostObject:
    """An object provided by the engine. Subclasses serve properties from explicit tables."""

    __slots__ = ()
    type_name = "Object"
    # True when every method returns plain data (never `undefined` or host objects inside
    # containers), so calling it leaves the runtime clean (see ``Runtime.dirty``).
    clean = False

    def label(self) -> str:
        return self.type_name

    def js_get(self, rt: Runtime, key: str) -> Any:
        return UNDEFINED

    def js_call(self, rt: Runtime, key: str, args: list[Any]) -> Any:
        fn = self.js_get(rt, key)
        if isinstance(fn, JSFunction):
            return fn.call(rt, args)
        raise JSError(f"{self.label()}.{key} is not a function")

    def js_has(self, key: str) -> bool:
        return False

    def js_keys(self) -> list[str]:
        return []

    def js_to_string(self) -> str:
        return "[object Object]"

    def js_to_primitive(self, hint: str) -> Any:
        return self.js_to_string()

    def js_typeof(self) -> str:
        return "object"

    def to_python(self) -> Any:
        """The plain value handed to nodes when an expression returns this object."""
        raise Abort(f"the expression returns the {self.label()} object itself; read one of its properties")


class JSFunction(HostObject):
    """A callable value. ``call`` counts one step, so every loop over callbacks is budgeted."""

    __slots__ = ()
    type_name = "Function"
    name = "anonymous"

    def call(self, rt: Runtime, args: list[Any]) -> Any:
        raise NotImplementedError

    def js_get(self, rt: Runtime, key: str) -> Any:
        if key == "name":
            return self.name
        return UNDEFINED

    def js_to_string(self) -> str:
        return f"function {self.name}() {{ [native code] }}"

    def js_typeof(self) -> str:
        return "function"

    def to_python(self) -> Any:
        raise Abort("the expression returns a function; call it by adding ()")


# -- numbers ------------------------------------------------------------------------------
def norm(x: float) -> int | float:
    """A float result as JavaScript would print it: integral values become ``int``."""
    if x == x and x.is_integer() and -MAX_SAFE <= x <= MAX_SAFE:
        return int(x)
    return x


def norm_int(x: int) -> int | float:
    if -MAX_SAFE <= x <= MAX_SAFE:
        return x
    try:
        return float(x)
    except OverflowError:
        return INF if x > 0 else -INF


def to_float(x: int | float) -> float:
    try:
        return float(x)
    except OverflowError:
        return INF if x > 0 else -INF


def number_to_string(v: int | float) -> str:
    """ECMAScript Number::toString: ``1`` not ``1.0``, ``1e+21``, ``1e-7``, ``NaN``, ``Infinity``."""
    if type(v) is int and -MAX_SAFE <= v <= MAX_SAFE:
        return str(v)
    v = to_float(v)
    if v != v:
        return "NaN"
    if v == INF:
        return "Infinity"
    if v == -INF:
        return "-Infinity"
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) <= MAX_SAFE:
        return str(int(v))
    sign = "-" if v < 0 else ""
    text = repr(abs(v))  # shortest round-trip digits, as ECMAScript requires
    mantissa, _, exp_text = text.partition("e")
    exp = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    int_part = int_part.lstrip("0")
    if int_part:
        digits = int_part + frac_part
        n = len(int_part) + exp
    else:
        stripped = frac_part.lstrip("0")
        n = exp - (len(frac_part) - len(stripped))
        digits = stripped
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp_str = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return sign + digits + "e" + exp_str
    return sign + digits[0] + "." + digits[1:] + "e" + exp_str


_JS_WHITESPACE = (
    " \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")


def js_trim(s: str) -> str:
    return s.strip(_JS_WHITESPACE)


def string_to_number(s: str) -> int | float:
    s = js_trim(s)
    if not s:
        return 0
    if len(s) > 400:
        return NAN if not _DECIMAL.fullmatch(s) else norm(to_float(float(s)))
    if _DECIMAL.fullmatch(s):
        return norm(float(s))
    if s in ("Infinity", "+Infinity"):
        return INF
    if s == "-Infinity":
        return -INF
    prefix = s[:2].lower()
    base = {"0x": 16, "0o": 8, "0b": 2}.get(prefix)
    if base is not None:
        try:
            return norm_int(int(s[2:], base)) if s[2:].isalnum() else NAN
        except ValueError:
            return NAN
    return NAN


def to_number(v: Any) -> int | float:
    t = type(v)
    if t is int or t is float:
        return v  # type: ignore[no-any-return]
    if t is bool:
        return 1 if v else 0
    if t is str:
        return string_to_number(v)
    if v is None:
        return 0
    if v is UNDEFINED:
        return NAN
    prim = to_primitive(v, "number")
    if type(prim) in (list, dict) or isinstance(prim, HostObject):
        return NAN
    return to_number(prim)


def to_integer(v: Any) -> int:
    """ToIntegerOrInfinity, clamped to a Python int (infinities become ±2**62)."""
    n = to_number(v)
    if type(n) is int:
        return n
    if n != n:
        return 0
    if n in (INF, -INF):
        return 2**62 if n > 0 else -(2**62)
    return int(n)


def relative_index(value: Any, length: int, default: int) -> int:
    """A start/end argument of ``slice``/``at``/``indexOf``: negative counts from the end, clamped."""
    if value is UNDEFINED:
        return default
    n = to_integer(value)
    if n < 0:
        return max(length + n, 0)
    return min(n, length)


def to_int32(v: Any) -> int:
    number = to_number(v)
    if type(number) is float:
        if number != number or number in (INF, -INF):
            return 0
        number = int(number)
    n = int(number) & 0xFFFFFFFF
    return n - 0x100000000 if n >= 0x80000000 else n


def to_uint32(v: Any) -> int:
    return to_int32(v) & 0xFFFFFFFF


# -- strings and primitives -----------------------------------------------------------------
def to_string(v: Any) -> str:
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is int or t is float:
        return number_to_string(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    if v is UNDEFINED:
        return "undefined"
    if t is list:
        return join(v, ",")
    if t is dict:
        return "[object Object]"
    if isinstance(v, HostObject):
        return v.js_to_string()
    return "[object Object]"


def join(items: list[Any], sep: str) -> str:
    """Array.prototype.join: ``null`` and ``undefined`` become empty strings."""
    parts = [x if type(x) is str else "" if x is None or x is UNDEFINED else to_string(x) for x in items]
    return sep.join(parts)


def property_key(v: Any) -> str | int:
    """A computed member key: array indices stay ints, everything else becomes a string."""
    t = type(v)
    if t is int:
        return v  # type: ignore[no-any-return]
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is float and v.is_integer() and -MAX_SAFE <= v <= MAX_SAFE:
        return int(v)
    return to_string(v)


def to_primitive(v: Any, hint: str = "default") -> Any:
    t = type(v)
    if t is list or t is dict:
        return to_string(v)
    if isinstance(v, HostObject):
        return v.js_to_primitive(hint)
    return v


def truthy(v: Any) -> bool:
    if v is True:
        return True
    if v is False or v is None or v is UNDEFINED:
        return False
    t = type(v)
    if t is str:
        return v != ""  # type: ignore[no-any-return]
    if t is int:
        return v != 0  # type: ignore[no-any-return]
    if t is float:
        return not (v == 0 or v != v)
    return True


def typeof(v: Any) -> str:
    t = type(v)
    if t is str:
        return "string"
    if t is int or t is float:
        return "number"
    if t is bool:
        return "boolean"
    if v is UNDEFINED:
        return "undefined"
    if isinstance(v, HostObject):
        return v.js_typeof()
    return "object"


def check_string(rt: Runtime, s: str) -> str:
    """Enforce the string size bound on a freshly built string (and count it as allocated)."""
    n = len(s)
    if n > 4096:
        if n > limits.MAX_STRING:
            raise Abort(f"a string would exceed the limit of {limits.MAX_STRING:,} characters")
        rt.allocate(n)
    return s


def check_length(rt: Runtime, n: int, what: str = "an array") -> None:
    """Before building an array of ``n`` elements."""
    if n > limits.MAX_ARRAY:
        raise Abort(f"{what} would exceed the limit of {limits.MAX_ARRAY:,} elements")
    if n > 4096:
        rt.allocate(n)


def check_string_length(rt: Runtime, n: int) -> None:
    """Before building a string of ``n`` characters."""
    if n > limits.MAX_STRING:
        raise Abort(f"a string would exceed the limit of {limits.MAX_STRING:,} characters")
    if n > 4096:
        rt.allocate(n)


# -- operators ----------------------------------------------------------------------------
def add(rt: Runtime, a: Any, b: Any) -> Any:
    ta = type(a)
    tb = type(b)
    if ta is int and tb is int:
        return norm_int(a + b)
    if ta is str and tb is str:
        return check_string(rt, a + b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        return norm(to_float(a) + to_float(b))
    pa = to_primitive(a)
    pb = to_primitive(b)
    if type(pa) is str or type(pb) is str:
        return check_string(rt, to_string(pa) + to_string(pb))
    return norm(to_float(to_number(pa)) + to_float(to_number(pb)))


def sub(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return norm_int(a - b)
    return norm(to_float(to_number(a)) - to_float(to_number(b)))


def mul(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return norm_int(a * b)
    x = to_float(to_number(a))
    y = to_float(to_number(b))
    return norm(x * y)


def div(a: Any, b: Any) -> Any:
    x = to_float(to_number(a))
    y = to_float(to_number(b))
    if y == 0:
        if x == 0 or x != x:
            return NAN
        negative = (x < 0) != (math.copysign(1.0, y) < 0)
        return -INF if negative else INF
    return norm(x / y)


def mod(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int and b != 0:
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    x = to_float(to_number(a))
    y = to_float(to_number(b))
    if y == 0 or x != x or y != y or x in (INF, -INF):
        return NAN
    if y in (INF, -INF):
        return norm(x)
    return norm(math.fmod(x, y))


def power(a: Any, b: Any) -> Any:
    x = to_float(to_number(a))
    y = to_float(to_number(b))
    if y != y:
        return NAN
    if y == 0:
        return 1
    if abs(x) == 1 and y in (INF, -INF):
        return NAN
    try:
        return norm(math.pow(x, y))
    except OverflowError:
        return -INF if x < 0 and y.is_integer() and int(y) % 2 else INF
    except (ValueError, ZeroDivisionError):
        if x == 0 and y < 0:
            return INF
        return NAN


def negate(v: Any) -> Any:
    n = to_number(v)
    if type(n) is int:
        return -n
    return norm(-n)


def less_than(a: Any, b: Any) -> bool:
    ta = type(a)
    tb = type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a < b  # type: ignore[no-any-return]
    if ta is str and tb is str:
        return a < b  # type: ignore[no-any-return]
    pa = to_primitive(a, "number")
    pb = to_primitive(b, "number")
    if type(pa) is str and type(pb) is str:
        return pa < pb
    return to_number(pa) < to_number(pb)


def less_equal(a: Any, b: Any) -> bool:
    ta = type(a)
    tb = type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a <= b  # type: ignore[no-any-return]
    if ta is str and tb is str:
        return a <= b  # type: ignore[no-any-return]
    pa = to_primitive(a, "number")
    pb = to_primitive(b, "number")
    if type(pa) is str and type(pb) is str:
        return pa <= pb
    return to_number(pa) <= to_number(pb)


def strict_equal(a: Any, b: Any) -> bool:
    ta = type(a)
    tb = type(b)
    if ta is tb and (ta is str or ta is int or ta is float or ta is bool):
        return a == b  # type: ignore[no-any-return]
    if (ta is int or ta is float) and (tb is int or tb is float):
        return bool(a == b)
    return a is b


def _is_object(v: Any) -> bool:
    t = type(v)
    return t is list or t is dict or isinstance(v, HostObject)


def loose_equal(a: Any, b: Any) -> bool:
    if a is None or a is UNDEFINED:
        return b is None or b is UNDEFINED
    if b is None or b is UNDEFINED:
        return False
    ta = type(a)
    tb = type(b)
    if ta is tb and not _is_object(a):
        return a == b  # type: ignore[no-any-return]
    if ta is bool:
        return loose_equal(1 if a else 0, b)
    if tb is bool:
        return loose_equal(a, 1 if b else 0)
    a_num = ta is int or ta is float
    b_num = tb is int or tb is float
    if a_num and b_num:
        return a == b  # type: ignore[no-any-return]
    if a_num and tb is str:
        return a == to_number(b)  # type: ignore[no-any-return]
    if ta is str and b_num:
        return to_number(a) == b  # type: ignore[no-any-return]
    a_obj = _is_object(a)
    b_obj = _is_object(b)
    if a_obj and b_obj:
        return a is b
    if a_obj:
        return loose_equal(to_primitive(a), b)
    if b_obj:
        return loose_equal(a, to_primitive(b))
    return False


def same_value_zero(a: Any, b: Any) -> bool:
    """Array.prototype.includes equality: like ``===`` but NaN equals NaN."""
    if type(a) is float and type(b) is float and a != a and b != b:
        return True
    return strict_equal(a, b)


def has_property(obj: Any, key: Any) -> bool:
    """The ``in`` operator (own properties only)."""
    t = type(obj)
    if t is dict:
        return to_string(key) in obj
    if t is list:
        k = property_key(key)
        if type(k) is int:
            return 0 <= k < len(obj)
        return k == "length"
    if isinstance(obj, HostObject):
        return obj.js_has(to_string(key))
    raise JSError(f"Cannot use 'in' operator to search for '{to_string(key)}' in {to_string(obj)}")


def describe(v: Any) -> str:
    """A short rendering of a value for error messages."""
    if type(v) is str:
        return repr(v[:40])
    if type(v) in (list, dict):
        return "an array" if type(v) is list else "an object"
    return to_string(v)[:40]
