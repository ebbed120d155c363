"""Array methods. None mutates its array: ``sort``, ``reverse`` and ``fill`` return copies, so
node data read through ``$json`` can never be changed by an expression."""

from __future__ import annotations

import functools
import random
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions.errors import JSError
from workflows.engine.expressions.jsonfns import json_stringify
from workflows.engine.expressions.properties import ARRAY_METHODS, arg, callback, method
from workflows.engine.expressions.values import (
    NAN,
    UNDEFINED,
    check_length,
    check_string,
    join,
    norm,
    norm_int,
    relative_index,
    same_value_zero,
    strict_equal,
    to_integer,
    to_number,
    to_string,
    truthy,
)

if TYPE_CHECKING:
    from workflows.engine.expressions.runtime import Runtime

A = ARRAY_METHODS


# -- callbacks -------------------------------------------------------------------------------
@method(A, "map")
def _map(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "map").call
    return [call(rt, [x, i, arr]) for i, x in enumerate(arr)]


@method(A, "forEach")
def _for_each(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "forEach").call
    for i, x in enumerate(arr):
        call(rt, [x, i, arr])
    return UNDEFINED


@method(A, "filter")
def _filter(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    first = arg(args, 0)
    if type(first) is str:  # n8n's extension: .filter("field", value) / .filter("text", "remove")
        term = arg(args, 1)
        if all(type(x) is str for x in arr):
            if term == "remove":
                return [x for x in arr if first not in x]
            return [x for x in arr if first in x]
        return [x for x in arr if type(x) is dict and first in x and strict_equal(x[first], term)]
    call = callback(args, 0, "filter").call
    return [x for i, x in enumerate(arr) if truthy(call(rt, [x, i, arr]))]


@method(A, "find")
def _find(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "find").call
    for i, x in enumerate(arr):
        if truthy(call(rt, [x, i, arr])):
            return x
    return UNDEFINED


@method(A, "findIndex")
def _find_index(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "findIndex").call
    for i, x in enumerate(arr):
        if truthy(call(rt, [x, i, arr])):
            return i
    return -1


@method(A, "findLast")
def _find_last(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "findLast").call
    for i in range(len(arr) - 1, -1, -1):
        if truthy(call(rt, [arr[i], i, arr])):
            return arr[i]
    return UNDEFINED


@method(A, "findLastIndex")
def _find_last_index(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "findLastIndex").call
    for i in range(len(arr) - 1, -1, -1):
        if truthy(call(rt, [arr[i], i, arr])):
            return i
    return -1


@method(A, "some")
def _some(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "some").call
    return any(truthy(call(rt, [x, i, arr])) for i, x in enumerate(arr))


@method(A, "every")
def _every(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "every").call
    return all(truthy(call(rt, [x, i, arr])) for i, x in enumerate(arr))


@method(A, "reduce")
def _reduce(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "reduce").call
    start = 0
    if len(args) >= 2:
        acc = args[1]
    elif arr:
        acc = arr[0]
        start = 1
    else:
        raise JSError("Reduce of empty array with no initial value")
    for i in range(start, len(arr)):
        acc = call(rt, [acc, arr[i], i, arr])
    return acc


@method(A, "reduceRight")
def _reduce_right(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "reduceRight").call
    end = len(arr) - 1
    if len(args) >= 2:
        acc = args[1]
    elif arr:
        acc = arr[-1]
        end -= 1
    else:
        raise JSError("Reduce of empty array with no initial value")
    for i in range(end, -1, -1):
        acc = call(rt, [acc, arr[i], i, arr])
    return acc


@method(A, "flatMap")
def _flat_map(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    call = callback(args, 0, "flatMap").call
    out: list[Any] = []
    for i, x in enumerate(arr):
        value = call(rt, [x, i, arr])
        if type(value) is list:
            out.extend(value)
            check_length(rt, len(out))
        else:
            out.append(value)
    return out


def _compare(rt: Runtime, args: list[Any]) -> Any:
    if arg(args, 0) is UNDEFINED:
        return None
    call = callback(args, 0, "sort").call

    def compare(a: Any, b: Any) -> int:
        result = to_number(call(rt, [a, b]))
        return 0 if result != result else (result > 0) - (result < 0)

    return functools.cmp_to_key(compare)


def _sorted(rt: Runtime, arr: list[Any], args: list[Any]) -> list[Any]:
    defined = [x for x in arr if x is not UNDEFINED]
    missing = len(arr) - len(defined)
    rt.charge(len(arr) >> 4)
    key = _compare(rt, args)
    if key is None:
        # Default order: by string value (UTF-16 order in JavaScript; code points here).
        defined.sort(key=lambda x: x if type(x) is str else to_string(x))
    else:
        defined.sort(key=key)
    return defined + [UNDEFINED] * missing


@method(A, "sort", "toSorted")
def _sort(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return _sorted(rt, arr, args)


# -- no callbacks ----------------------------------------------------------------------------
@method(A, "join")
def _join(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    sep = "," if arg(args, 0) is UNDEFINED else to_string(args[0])
    rt.charge(len(arr) >> 4)
    return check_string(rt, join(arr, sep))


@method(A, "toString")
def _to_string(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return check_string(rt, join(arr, ","))


@method(A, "includes")
def _includes(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    needle = arg(args, 0)
    rt.charge(len(arr) >> 6)
    start = relative_index(arg(args, 1), len(arr), 0)
    return any(same_value_zero(x, needle) for x in arr[start:])


@method(A, "indexOf")
def _index_of(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    needle = arg(args, 0)
    rt.charge(len(arr) >> 6)
    for i in range(relative_index(arg(args, 1), len(arr), 0), len(arr)):
        if strict_equal(arr[i], needle):
            return i
    return -1


@method(A, "lastIndexOf")
def _last_index_of(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    needle = arg(args, 0)
    rt.charge(len(arr) >> 6)
    start = len(arr) - 1 if len(args) < 2 else to_integer(args[1])
    if start < 0:
        start += len(arr)
    for i in range(min(start, len(arr) - 1), -1, -1):
        if strict_equal(arr[i], needle):
            return i
    return -1


@method(A, "slice")
def _slice(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    n = len(arr)
    return arr[relative_index(arg(args, 0), n, 0) : relative_index(arg(args, 1), n, n)]


@method(A, "concat")
def _concat(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    total = len(arr) + sum(len(a) if type(a) is list else 1 for a in args)
    check_length(rt, total)
    out = list(arr)
    for a in args:
        if type(a) is list:
            out.extend(a)
        else:
            out.append(a)
    return out


def _flatten(rt: Runtime, arr: list[Any], depth: int, out: list[Any]) -> None:
    for x in arr:
        if type(x) is list and depth > 0:
            _flatten(rt, x, depth - 1, out)
        else:
            out.append(x)
    check_length(rt, len(out))


@method(A, "flat")
def _flat(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    depth = 1 if arg(args, 0) is UNDEFINED else min(to_integer(args[0]), 64)
    out: list[Any] = []
    _flatten(rt, arr, depth, out)
    return out


@method(A, "reverse", "toReversed")
def _reverse(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return arr[::-1]


@method(A, "at")
def _at(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    i = to_integer(arg(args, 0))
    if i < 0:
        i += len(arr)
    return arr[i] if 0 <= i < len(arr) else UNDEFINED


@method(A, "fill")
def _fill(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    n = len(arr)
    start = relative_index(arg(args, 1), n, 0)
    end = relative_index(arg(args, 2), n, n)
    value = arg(args, 0)
    return arr[:start] + [value] * max(end - start, 0) + arr[max(end, start) :]


@method(A, "keys")
def _keys(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return list(range(len(arr)))


@method(A, "values")
def _values(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return list(arr)


@method(A, "entries")
def _entries(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    check_length(rt, 2 * len(arr))
    return [[i, x] for i, x in enumerate(arr)]


# -- n8n extensions ------------------------------------------------------------------------
@method(A, "first")
def _first(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return arr[0] if arr else UNDEFINED


@method(A, "last")
def _last(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return arr[-1] if arr else UNDEFINED


@method(A, "isEmpty")
def _is_empty(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return not arr


@method(A, "isNotEmpty")
def _is_not_empty(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return bool(arr)


@method(A, "pluck")
def _pluck(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    if not args:
        return list(arr)
    fields = [to_string(a) for a in args]
    out: list[Any] = []
    for x in arr:
        if type(x) is dict:
            values = [x[k] for k in x if k in fields]
            if values:
                out.append(values[0] if len(values) == 1 else values)
    return out


def _deep_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b) and not (type(a) in (int, float) and type(b) in (int, float)):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    return same_value_zero(a, b)


def _unique(rt: Runtime, arr: list[Any], fields: list[str]) -> list[Any]:
    rt.charge(len(arr) * len(arr) >> 8)
    out: list[Any] = []
    keys: list[Any] = []
    for x in arr:
        key = {f: x.get(f, UNDEFINED) for f in fields} if fields and type(x) is dict else x
        if not any(_deep_equal(key, seen) for seen in keys):
            keys.append(key)
            out.append(x)
    return out


@method(A, "unique", "removeDuplicates")
def _unique_method(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return _unique(rt, arr, [to_string(a) for a in args])


def _numbers(arr: list[Any], name: str) -> list[Any]:
    if any(type(x) not in (int, float) for x in arr):
        raise JSError(f"{name}(): all array elements must be numbers")
    return arr


@method(A, "sum")
def _sum(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    values = _numbers(arr, "sum")
    if any(type(x) is float for x in values):
        total = 0.0
        for x in values:  # left to right, as JavaScript's reduce adds
            total += x
        return norm(total)
    return norm_int(sum(values))


@method(A, "min")
def _min(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    values = _numbers(arr, "min")
    if any(v != v for v in values):
        return NAN
    return min(values) if values else float("inf")


@method(A, "max")
def _max(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    values = _numbers(arr, "max")
    if any(v != v for v in values):
        return NAN
    return max(values) if values else float("-inf")


@method(A, "average")
def _average(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    values = _numbers(arr, "average")
    return norm(sum(values) / len(values)) if values else 0


def _compact_value(value: Any) -> Any:
    if type(value) is dict:
        return {k: _compact_value(v) for k, v in value.items() if v is not None and v is not UNDEFINED}
    return value


@method(A, "compact")
def _compact(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return [
        _compact_value(x)
        for x in arr
        if x is not None and x is not UNDEFINED and x != "nil" and x != "" and not (type(x) is dict and not x)
    ]


@method(A, "chunk")
def _chunk(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    size = to_integer(arg(args, 0))
    if size <= 0:
        raise JSError("chunk(): expected a positive chunk size, e.g. .chunk(5)")
    return [arr[i : i + size] for i in range(0, len(arr), size)]


@method(A, "smartJoin")
def _smart_join(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    key_field, value_field = to_string(arg(args, 0)), to_string(arg(args, 1))
    out: dict[str, Any] = {}
    for x in arr:
        if type(x) is dict and key_field in x and value_field in x:
            out[to_string(x[key_field])] = x[value_field]
    return out


@method(A, "renameKeys")
def _rename_keys(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    if not args or len(args) % 2:
        raise JSError("renameKeys(): expected an even number of arguments: from1, to1, ...")
    pairs = [(to_string(args[i]), to_string(args[i + 1])) for i in range(0, len(args), 2)]
    out: list[Any] = []
    for x in arr:
        if type(x) is dict:
            x = dict(x)
            for old, new in pairs:
                if old in x:
                    x[new] = x.pop(old)
        out.append(x)
    return out


@method(A, "union")
def _union(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    other = arg(args, 0)
    if type(other) is not list:
        raise JSError("union(): expected an array argument")
    check_length(rt, len(arr) + len(other))
    return _unique(rt, arr + other, [])


@method(A, "difference")
def _difference(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    other = arg(args, 0)
    if type(other) is not list:
        raise JSError("difference(): expected an array argument")
    return _unique(rt, [x for x in arr if not any(_deep_equal(x, y) for y in other)], [])


@method(A, "intersection")
def _intersection(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    other = arg(args, 0)
    if type(other) is not list:
        raise JSError("intersection(): expected an array argument")
    return _unique(rt, [x for x in arr if any(_deep_equal(x, y) for y in other)], [])


@method(A, "append")
def _append(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    check_length(rt, len(arr) + len(args))
    return arr + list(args)


@method(A, "randomItem")
def _random_item(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return random.choice(arr) if arr else UNDEFINED


@method(A, "toJsonString")
def _to_json_string(rt: Runtime, arr: list[Any], args: list[Any]) -> Any:
    return json_stringify(rt, arr)
