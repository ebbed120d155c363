"""The expression engine: n8n's JavaScript subset gives the values n8n (JavaScript) gives.

The table's expected values are what n8n 1.x/2.x returns for the same template and item
(JavaScript semantics; ``undefined`` and ``NaN``/``Infinity`` reach nodes as ``None``, as n8n
stores them). Data: ``ADA`` is item 0 of the node's input, ``GRACE`` item 1.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import Run, condition, conditions, items_of
from tests.workflows.expression_helpers import ADA, ev, make_ctx
from workflows.engine.context import ExecutionInfo
from workflows.engine.errors import NodeError
from workflows.engine.expressions import ExpressionError, compile_template, evaluate_template
from workflows.engine.expressions import template as template_module
from workflows.engine.registry import default_registry
from workflows.engine.runner import WorkflowRunner, start_state
from workflows.engine.state import NodeRunRecord

TABLE: list[tuple[str, Any]] = [
    # -- reading item data
    ("={{ $json.name }}", "Ada Lovelace"),
    ('={{ $json["a b"] }}', "spaced key"),
    ("={{ $json.nested.deep.list[0] }}", 10),
    ("={{ $json['nested']['deep'].list[2] }}", 30),
    ("={{ $json.tags[1] }}", "poetry"),
    ("={{ $json.tags.length }}", 3),
    ("={{ $json.missing }}", None),
    ("={{ $json.address.zip }}", None),
    ("={{ $json.missing.deeper }}", None),  # n8n swallows the TypeError: undefined
    ("={{ $json?.missing?.deeper }}", None),
    ("={{ $json.address?.city }}", "London"),
    ("={{ $json.tags?.[0] }}", "math"),
    ("={{ $json.name?.toUpperCase?.() }}", "ADA LOVELACE"),
    ("={{ $input.item.json.n }}", 5),
    ("={{ $input.all().length }}", 2),
    ("={{ $input.first().json.name }}", "Ada Lovelace"),
    ("={{ $input.last().json.name }}", "Grace Hopper"),
    ("={{ $itemIndex }}", 0),
    ("={{ $runIndex }}", 0),
    ("={{ $json.toString() }}", "[object Object]"),
    # -- arithmetic
    ("={{ 1 + 1 }}", 2),
    ("={{ $json.n + 1 }}", 6),
    ("={{ $json.price * 2 }}", 39.98),
    ("={{ 0.1 + 0.2 }}", 0.30000000000000004),
    ("={{ 10 / 4 }}", 2.5),
    ("={{ 10 / 5 }}", 2),
    ("={{ 7 % 3 }}", 1),
    ("={{ -7 % 3 }}", -1),
    ("={{ 7 % -3 }}", 1),
    ("={{ 5.5 % 2 }}", 1.5),
    ("={{ 2 ** 10 }}", 1024),
    ("={{ -(2 ** 2) }}", -4),
    ("={{ String(1 / 0) }}", "Infinity"),
    ("={{ String(-1 / 0) }}", "-Infinity"),
    ("={{ String(0 / 0) }}", "NaN"),
    ("={{ 1 / 0 > 1e308 }}", True),
    ("={{ 1 / 0 }}", None),  # Infinity: stored as null, as n8n's JSON does
    ('={{ "5" * "2" }}', 10),
    ('={{ "5" - 2 }}', 3),
    ('={{ "5" + 2 }}', "52"),
    ('={{ 1 + 2 + "3" }}', "33"),
    ('={{ "3" + 1 + 2 }}', "312"),
    ("={{ true + 1 }}", 2),
    ("={{ null + 1 }}", 1),
    ("={{ String(undefined + 1) }}", "NaN"),
    ("={{ [] + [] }}", ""),
    ("={{ [1, 2] + [3] }}", "1,23"),
    ("={{ 1.0 + '' }}", "1"),
    ("={{ 1e21 + '' }}", "1e+21"),
    ("={{ 1e-7 + '' }}", "1e-7"),
    ("={{ 123.456 + '' }}", "123.456"),
    ("={{ 2 ** 64 + '' }}", "18446744073709552000"),
    ("={{ 0.000001 + '' }}", "0.000001"),
    ("={{ (1234.5678).toFixed(2) }}", "1234.57"),
    ("={{ (1.005).toFixed(2) }}", "1.00"),
    ("={{ (2.5).toFixed(0) }}", "3"),
    ("={{ (255).toString(16) }}", "ff"),
    ("={{ (123.456).toPrecision(4) }}", "123.5"),
    ("={{ (0.00001234).toPrecision(2) }}", "0.000012"),
    ('={{ Number("42") }}', 42),
    ('={{ Number("") }}', 0),
    ('={{ Number(" 12.5 ") }}', 12.5),
    ('={{ String(Number("abc")) }}', "NaN"),
    ('={{ parseInt("42px") }}', 42),
    ('={{ parseInt("ff", 16) }}', 255),
    ('={{ parseFloat("3.14abc") }}', 3.14),
    ("={{ isNaN(NaN) }}", True),
    ("={{ Number.isInteger(5.0) }}", True),
    ("={{ Math.round(2.5) }}", 3),
    ("={{ Math.round(-2.5) }}", -2),
    ("={{ Math.round(0.49999999999999994) }}", 0),
    ("={{ Math.floor(-1.5) }}", -2),
    ("={{ Math.ceil(1.2) }}", 2),
    ("={{ Math.max(1, 5, 3) }}", 5),
    ("={{ Math.min(...[4, 2, 8]) }}", 2),
    ("={{ Math.abs(-3) }}", 3),
    ("={{ Math.pow(2, 8) }}", 256),
    ("={{ Math.sqrt(16) }}", 4),
    ("={{ Math.trunc(-4.7) }}", -4),
    ("={{ Math.sign(-3) }}", -1),
    ("={{ Math.PI.toFixed(4) }}", "3.1416"),
    ("={{ Math.floor(Math.min(1, 2) * 100); }}", 100),  # n8n fixture: trailing semicolon
    # -- comparison and logic
    ('={{ 1 == "1" }}', True),
    ('={{ 1 === "1" }}', False),
    ("={{ 1 !== 1.0 }}", False),
    ("={{ null == undefined }}", True),
    ("={{ null === undefined }}", False),
    ("={{ null == 0 }}", False),
    ('={{ "" == 0 }}', True),
    ('={{ "10" < "9" }}', True),
    ('={{ "10" < 9 }}', False),
    ('={{ "b" >= "a" }}', True),
    ("={{ [2] == 2 }}", True),
    ("={{ NaN === NaN }}", False),
    ("={{ $json.n > 3 && $json.flag }}", True),
    ('={{ $json.empty || "default" }}', "default"),
    ('={{ $json.zero ?? "default" }}', 0),
    ('={{ $json.zero || "default" }}', "default"),
    ('={{ $json.missing ?? "default" }}', "default"),
    ("={{ !$json.empty }}", True),
    ("={{ !![] }}", True),
    ("={{ !!{} }}", True),
    ("={{ !!NaN }}", False),
    ('={{ $json.n > 3 ? "big" : "small" }}', "big"),
    ('={{ $json.n > 9 ? "big" : $json.n > 4 ? "medium" : "small" }}', "medium"),
    ("={{ typeof $json.name }}", "string"),
    ("={{ typeof $json.missing }}", "undefined"),
    ("={{ typeof notDeclared }}", "undefined"),
    ("={{ typeof null }}", "object"),
    ("={{ typeof [] }}", "object"),
    ("={{ typeof (x => x) }}", "function"),
    ('={{ "name" in $json }}', True),
    ('={{ "domain" in $json && $json.domain != null }}', False),
    ("={{ [1] instanceof Array }}", True),
    ("={{ undefinedThing }}", None),  # n8n: unknown names are undefined
    # -- strings
    ("={{ $json.name.toUpperCase() }}", "ADA LOVELACE"),
    ("={{ $json.name.toLowerCase() }}", "ada lovelace"),
    ("={{ $json.padded.trim() }}", "hi"),
    ("={{ $json.padded.trimStart() }}", "hi  "),
    ("={{ $json.padded.trimEnd() }}", "  hi"),
    ('={{ $json.name.includes("Love") }}', True),
    ('={{ $json.csv.split(",") }}', ["a", "b", "", "c"]),
    ('={{ $json.name.split(" ")[1] }}', "Lovelace"),
    ('={{ "abc".split("") }}', ["a", "b", "c"]),
    ("={{ $json.name.slice(0, 3) }}", "Ada"),
    ("={{ $json.name.slice(-4) }}", "lace"),
    ("={{ $json.name.substring(4, 1) }}", "da "),
    ("={{ $json.name.substr(4, 4) }}", "Love"),
    ('={{ $json.name.startsWith("Ada") }}', True),
    ('={{ $json.name.endsWith("lace") }}', True),
    ('={{ $json.name.replace("a", "4") }}', "Ad4 Lovelace"),
    ('={{ $json.name.replaceAll("a", "4") }}', "Ad4 Lovel4ce"),
    ('={{ $json.name.indexOf("L") }}', 4),
    ('={{ $json.name.lastIndexOf("a") }}', 9),
    ('={{ $json.name.indexOf("zzz") }}', -1),
    ('={{ "7".padStart(3, "0") }}', "007"),
    ('={{ "ab".padEnd(5, "-") }}', "ab---"),
    ('={{ "ab".repeat(3) }}', "ababab"),
    ("={{ $json.name.charAt(0) }}", "A"),
    ('={{ "a".concat("b", 1) }}', "ab1"),
    ("={{ $json.name.at(-1) }}", "e"),
    ("={{ $json.name.length }}", 12),
    ("={{ (42).toString() + '!' }}", "42!"),
    ("={{ `Hello ${$json.name}!` }}", "Hello Ada Lovelace!"),
    ("={{ `${1 + 1} items, ${[1, 2]}` }}", "2 items, 1,2"),
    ("={{ 'it\\'s' }}", "it's"),
    ('={{ "line\\nbreak" }}', "line\nbreak"),
    ('={{ "\\u0041\\x42" }}', "AB"),
    ('={{ $json.html.replace(/<[^>]+>/g, "") }}', "Hello World"),
    ('={{ "a1b22c333".match(/\\d+/g) }}', ["1", "22", "333"]),
    ('={{ "test[1234]".match(/\\[(\\d+)]/)[1] }}', "1234"),
    ('={{ /^\\d+$/.test("1234") }}', True),
    ('={{ "2024-01-15".split(/-/) }}', ["2024", "01", "15"]),
    ('={{ "John Smith".replace(/(\\w+)\\s(\\w+)/, "$2, $1") }}', "Smith, John"),
    ('={{ "aaa".replace(/a/g, (m, i) => i) }}', "012"),
    # -- arrays
    ('={{ $json.tags.join(", ") }}', "math, poetry, engines"),
    ("={{ $json.tags.map(t => t.toUpperCase()) }}", ["MATH", "POETRY", "ENGINES"]),
    ("={{ $json.items.filter(i => i.qty > 0).map(i => i.sku) }}", ["A1", "C3"]),
    ("={{ $json.items.reduce((sum, i) => sum + i.qty * i.price, 0) }}", 13.25),
    ('={{ $json.items.find(i => i.sku === "B2").price }}', 10),
    ('={{ $json.items.find(i => i.sku === "Z9") }}', None),
    ('={{ $json.items.findIndex(i => i.sku === "C3") }}', 2),
    ("={{ $json.items.some(i => i.qty === 0) }}", True),
    ("={{ $json.items.every(i => i.qty > 0) }}", False),
    ('={{ $json.tags.includes("poetry") }}', True),
    ('={{ $json.tags.indexOf("engines") }}', 2),
    ("={{ $json.tags.slice(1) }}", ["poetry", "engines"]),
    ("={{ [1, [2, [3, [4]]]].flat() }}", [1, 2, [3, [4]]]),
    ("={{ [3, 1, 10, 2].sort() }}", [1, 10, 2, 3]),
    ("={{ [3, 1, 10, 2].sort((a, b) => a - b) }}", [1, 2, 3, 10]),
    ("={{ $json.tags.reverse()[0] }}", "engines"),
    ("={{ [1, 2].concat([3], 4) }}", [1, 2, 3, 4]),
    ("={{ $json.tags.at(-1) }}", "engines"),
    ("={{ Array.from({ length: 3 }, (_, i) => i * 2) }}", [0, 2, 4]),
    ('={{ Array.from("ab") }}', ["a", "b"]),
    ("={{ Array.isArray($json.tags) }}", True),
    ('={{ [..."abc", ...[1, 2]] }}', ["a", "b", "c", 1, 2]),
    ("={{ [].concat($json.tags) }}", ["math", "poetry", "engines"]),
    ("={{ [1, , 3] }}", [1, None, 3]),
    ("={{ $json.tags.first() }}", "math"),
    ("={{ $json.tags.last() }}", "engines"),
    ("={{ [].isEmpty() }}", True),
    ("={{ [1, 2, 2, 3].removeDuplicates() }}", [1, 2, 3]),
    ("={{ [1, 2, 3].sum() }}", 6),
    ("={{ [1, 2, 3, 4].average() }}", 2.5),
    ('={{ $json.items.pluck("sku") }}', ["A1", "B2", "C3"]),
    ("={{ [1, 2, 3, 4, 5].chunk(2) }}", [[1, 2], [3, 4], [5]]),
    ("={{ [[1, 2], [3]].map(([a, b]) => b) }}", [2, None]),
    ('={{ [...new Set([1, 2, 2, "2", 1.0])] }}', [1, 2, "2"]),
    ('={{ new Set("abca").size }}', 3),
    ('={{ ["1", "2", "3"].map(parseInt) }}', [1, None, None]),  # [1, NaN, NaN] in JavaScript
    ('={{ [0, 1, "", "a"].filter(Boolean) }}', [1, "a"]),
    # -- objects
    ("={{ Object.keys($json.address) }}", ["city", "zip"]),
    ("={{ Object.values({ a: 1, b: 2 }) }}", [1, 2]),
    ("={{ Object.entries({ a: 1 }) }}", [["a", 1]]),
    ("={{ Object.assign({}, { a: 1 }, { b: 2 }) }}", {"a": 1, "b": 2}),
    ('={{ { ...$json.address, country: "UK" } }}', {"city": "London", "zip": None, "country": "UK"}),
    ("={{ { [$json.tags[0]]: true } }}", {"math": True}),
    ("={{ [1].map(n => ({ n }))[0] }}", {"n": 1}),
    ('={{ { "quoted key": 1, 2: "two" } }}', {"quoted key": 1, "2": "two"}),
    ("={{ { a: undefined, b: 1 } }}", {"b": 1}),
    ('={{ ({}).hasOwnProperty("x") }}', False),
    ('={{ { "data": $json.address.city } }}', {"data": "London"}),
    (
        "={{ [{'name': 'something', 'batch_size': 1000, 'ignore_cols': ['x']}] }}",
        [{"name": "something", "batch_size": 1000, "ignore_cols": ["x"]}],
    ),
    ("={{ $json.address.isNotEmpty() }}", True),
    # -- JSON
    ('={{ JSON.stringify({ a: 1, b: [1, "x", null] }) }}', '{"a":1,"b":[1,"x",null]}'),
    ("={{ JSON.stringify({ a: 1, b: [2] }, null, 2) }}", '{\n  "a": 1,\n  "b": [\n    2\n  ]\n}'),
    ("={{ JSON.stringify({ a: undefined, f: x => x, n: NaN, i: 2.0 }) }}", '{"n":null,"i":2}'),
    ("={{ JSON.stringify([undefined, 1e21]) }}", "[null,1e+21]"),
    ('={{ JSON.stringify("he said \\"hi\\"") }}', '"he said \\"hi\\""'),
    ('={{ JSON.parse(\'{"a": [1, 2.5, "x"]}\').a[1] }}', 2.5),
    ("={{ JSON.parse('{\"a\": 1.0}').a }}", 1),
    ("={{ JSON.stringify($json.address) }}", '{"city":"London","zip":null}'),
    # -- conversions
    ("={{ String(123) }}", "123"),
    ("={{ String(null) }}", "null"),
    ("={{ String([1, [2, 3]]) }}", "1,2,3"),
    ("={{ String({}) }}", "[object Object]"),
    ('={{ String("testing").length }}', 7),
    ('={{ Boolean("") }}', False),
    ('={{ Boolean("0") }}', True),
    ("={{ encodeURIComponent('a b&c') }}", "a%20b%26c"),
    ("={{ decodeURIComponent('a%20b') }}", "a b"),
    # -- functions
    ("={{ ((a, b) => a * b)(3, 4) }}", 12),
    ("={{ (() => 42)() }}", 42),
    ("={{ [1, 2, 3].map((x, i) => x * i) }}", [0, 2, 6]),
    ("={{ (x => { const y = x * 2; return y + 1; })(5) }}", 11),
    ("={{ ((...args) => args.length)(1, 2, 3) }}", 3),
    ('={{ Object.entries({ a: 1, b: 2 }).map(([k, v]) => k + "=" + v).join("&") }}', "a=1&b=2"),
    ("={{ [{ x: 1 }].map(({ x }) => x + 1) }}", [2]),
    ("={{ (1, 2) }}", 2),
    ("={{ $if($json.n > 1, 'yes', 'no') }}", "yes"),
    ("={{ $ifEmpty($json.empty, 'fallback') }}", "fallback"),
    # -- templates mixing text and expressions (n8n joins the pieces)
    ("=Hello {{ $json.name }}!", "Hello Ada Lovelace!"),
    ("={{ $json.n }} items", "5 items"),
    ("=a{{ null }}b{{ undefined }}c", "abc"),
    ("=n={{ 0 }} f={{ false }}", "n=0 f=false"),
    ("=x{{ NaN }}y", "xy"),
    ("=tags: {{ $json.tags }}", "tags: math,poetry,engines"),
    ("=obj: {{ $json.address }}", "obj: [object Object]"),
    ("=plain text", "plain text"),
    ("= {{ $json.n }}", " 5"),
    ("={{ $json.n }}{{ $json.n }}", "55"),
    ("=", ""),
    ("={{ $json.missing.x }} ok", " ok"),
    ("=price {{ $json.price.toFixed(1) }}", "price 20.0"),
    ("=https://example.com/{{ $json.nested.deep.list[1] }}/x", "https://example.com/20/x"),
    ("={{ '}' + '{' }}", "}{"),
]


@pytest.mark.parametrize(("template", "expected"), TABLE, ids=[t for t, _ in TABLE])
def test_expression_gives_the_value_n8n_gives(template: str, expected: Any) -> None:
    result = ev(template)
    assert result == expected
    assert type(result) is type(expected)  # 2 is an int, not 2.0; True is a bool, not 1


def test_table_covers_at_least_eighty_expressions() -> None:
    assert len(TABLE) >= 80


# -- n8n's own fixtures (packages/workflow/test/ExpressionFixtures/base.ts) ----------------------
N8N_FIXTURES: list[tuple[str, dict[str, Any], Any]] = [
    ('={{$json["contact"]["FirstName"]}}', {"contact": {"FirstName": "test"}}, "test"),
    ('={{$json["contact"]["FirstName"]}}', {"contact": None}, None),
    ('={{$json[$json["Set2"].json["apiKey"]]}}', {"Set2": {"json": {"apiKey": "k"}}, "k": "v"}, "v"),
    ('={{$json["GetTicket"].json["tickets"].length}}', {"GetTicket": {"json": {"tickets": [1, 2, 3, 4]}}}, 4),
    ('={{ $json["phone"] ?? 0}}', {"phone": None}, 0),
    (
        "={{$json['Webhook1'].json[\"headers\"][\"x-api-key\"] +'-'+ parseInt($json.test)}}",
        {"Webhook1": {"json": {"headers": {"x-api-key": "left"}}}, "test": 3},
        "left-3",
    ),
    (
        '=https://example.com/test?id={{$json["Crypto"].json["data"].substr(0,6)}}',
        {"Crypto": {"json": {"data": "testtest"}}},
        "https://example.com/test?id=testte",
    ),
    (
        '={{ $json["projectName"] == "" ? "Project Group " + ($json["projectsCount"] + 1) : $json["projectName"] }}',
        {"projectName": "", "projectsCount": 3},
        "Project Group 4",
    ),
    ('={{$json["Find by ID1"].json["fields"]["clicks"]+1}}', {"Find by ID1": {"json": {"fields": {"clicks": 8}}}}, 9),
    (
        "={{ (parseFloat($json[\"Bid\"].replace(',', '.'))"
        ' * parseFloat($json["Baserow"].json["Count"])).toFixed(2) }}',
        {"Bid": "3,80", "Baserow": {"json": {"Count": "10"}}},
        "38.00",
    ),
    (
        '={{$json["Find by ID"].json["id"] != "" && $json["Find by ID"].json["id"] != null'
        ' && $json["Find by ID"].json["id"] != undefined}}',
        {"Find by ID": {"json": {"id": None}}},
        False,
    ),
    ('={{$json["HTTP Request"].json["paging"] ? true : false}}', {"HTTP Request": {"json": {}}}, False),
    ("={{$json.assetValue * $json.value / 100}}", {"assetValue": 50, "value": 50}, 25),
    ('={{ $json["data"]["errors"] && $json["data"]["errors"].length > 0 }}', {"data": {}}, None),
    ('={{!!$json["data"]["errors"]}}', {"data": {"errors": []}}, True),
    ("={{ !$json?.data?.data?.issues?.pageInfo?.hasNextPage }}", {"data": {}}, True),
    ('={{typeof $json["person"].json["name"] != "undefined"}}', {"person": {"json": {}}}, False),
    ("={{ $json?.data == undefined ? '' : $json.data }}", {}, ""),
    ('={{ !!$json["different"]["name"] || !!$json["different"]["phone"] }}', {"different": {"phone": "x"}}, True),
    (
        '={{(new Date($json["end"]["date"]).getTime() - new Date($json["start"]["date"]).getTime())'
        " / (1000 * 3600 * 24)}}",
        {"start": {"date": "2023-02-09T13:22:54.187Z"}, "end": {"date": "2023-02-13T13:22:54.187Z"}},
        4,
    ),
    (
        '={{new Date($json["created_at"]).toISOString()}}',
        {"created_at": "2023-02-09T13:22:54.187Z"},
        "2023-02-09T13:22:54.187Z",
    ),
    ("={{ `test\nvalue` }}", {}, "test\nvalue"),
    ("=TRUE", {}, "TRUE"),
]


@pytest.mark.parametrize(("template", "data", "expected"), N8N_FIXTURES, ids=[f[0] for f in N8N_FIXTURES])
def test_n8n_fixture(template: str, data: dict[str, Any], expected: Any) -> None:
    assert ev(template, make_ctx([{"json": data, "pairedItem": {"item": 0}}])) == expected


# -- raw values, caching, errors -------------------------------------------------------------------
def test_a_single_expression_returns_the_raw_value_and_data_is_not_copied() -> None:
    ctx = make_ctx()
    assert ev("={{ $json.address }}", ctx) is ADA["address"]
    assert ev("={{ $json.flag }}", ctx) is True
    assert ev("={{ $json.tags }}", ctx) == ["math", "poetry", "engines"]


def test_expressions_never_change_node_data() -> None:
    items = [{"json": copy.deepcopy(ADA), "pairedItem": {"item": 0}}]
    before = copy.deepcopy(items)
    ctx = make_ctx(items)
    assert ev("={{ $json.tags.reverse() }}", ctx) == ["engines", "poetry", "math"]
    assert ev("={{ $json.tags.sort() }}", ctx) == ["engines", "math", "poetry"]
    assert ev("={{ $json.tags.fill('x') }}", ctx) == ["x", "x", "x"]
    assert ev("={{ Object.assign($json.address, { city: 'Paris' }).city }}", ctx) == "Paris"
    assert ev("={{ { ...$json, name: 'changed' }.name }}", ctx) == "changed"
    assert items == before


def test_same_template_over_many_items_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_parse = template_module.parse

    def counting_parse(source: str) -> Any:
        calls.append(source)
        return real_parse(source)

    monkeypatch.setattr(template_module, "parse", counting_parse)
    compile_template.cache_clear()
    items = [{"json": {"v": i}, "pairedItem": {"item": i}} for i in range(10_000)]
    ctx = make_ctx(items)
    results = [evaluate_template("={{ $json.v * 2 }}", ctx, i, "p") for i in range(10_000)]
    assert results == [i * 2 for i in range(10_000)]
    assert len(calls) == 1
    # A bad template is cached as a failure too: it fails every time, parsing once.
    for _ in range(3):
        with pytest.raises(ExpressionError):
            evaluate_template("={{ 1 + }}", ctx, 0, "p")
    assert len(calls) == 2


def test_the_error_names_the_node_the_parameter_and_the_expression() -> None:
    ctx = make_ctx(name="Compute Total")
    with pytest.raises(ExpressionError) as caught:
        evaluate_template("={{ $json.n + * 2 }}", ctx, 1, "assignments.total")
    error = caught.value
    assert isinstance(error, NodeError)
    assert error.error_type == "ExpressionError"
    assert "invalid syntax" in error.message
    assert "Compute Total" in error.message
    assert "assignments.total" in error.message
    assert "$json.n + * 2" in error.message
    assert error.item_index == 1
    assert error.to_dict("Compute Total")["parameter"] == "assignments.total"
    assert error.to_dict("Compute Total")["type"] == "ExpressionError"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("={{ $json.a = 1 }}", "assignment is not supported"),
        ("={{ 'unterminated }}", "unterminated string"),
        ("={{ }}", "empty expression"),
        ("={{ [1, 2 }}", "expected"),
        ("={{ x => x }}", "returns a function"),
        ("={{ Math }}", "returns the Math object"),
        ("={{ $('Nowhere').item.json.x }}", "hasn't been executed"),
        ("={{ $execution.customData.set('k', {}) }}", "must be a string or a number"),
    ],
)
def test_errors_raise_expression_error(template: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        ev(template)


def test_runtime_type_errors_become_undefined_as_in_n8n() -> None:
    # n8n's evaluator swallows TypeErrors inside {{ }}: the segment becomes undefined / "".
    assert ev("={{ $json.missing.deep.er }}") is None
    assert ev("={{ $json.name.noSuchMethod() }}") is None
    assert ev("={{ [].reduce((a, b) => a + b) }}") is None
    assert ev("={{ JSON.parse('not json') }}") is None
    assert ev("=[{{ null.x }}]") == "[]"


def test_no_input_item_at_the_index_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="no input data for item index 5"):
        ev("={{ $json.n }}", item_index=5)


# -- n8n variables ---------------------------------------------------------------------------------
def test_execution_workflow_and_variables() -> None:
    info = ExecutionInfo(
        execution_id="exec-7",
        mode="webhook",
        workflow_id="wf-1",
        workflow_name="Orders",
        workflow_active=True,
        root_mode="webhook",
        resume_url="https://budflow.example/resume/abc",
        extra={"vars": {"REGION": "eu"}},
    )
    ctx = make_ctx(execution=info)
    assert ev("={{ $execution.id }}", ctx) == "exec-7"
    assert ev("={{ $execution.mode }}", ctx) == "production"
    assert ev("={{ $execution.resumeUrl }}", ctx) == "https://budflow.example/resume/abc"
    assert ev("={{ $workflow.id }}/{{ $workflow.name }}/{{ $workflow.active }}", ctx) == "wf-1/Orders/true"
    assert ev("={{ $vars.REGION }}", ctx) == "eu"
    assert ev("={{ $vars.MISSING }}", ctx) is None
    for root in ("manual", "test"):
        assert ev("={{ $execution.mode }}", make_ctx(execution=ExecutionInfo(root_mode=root))) == "test"


def test_custom_data_is_written_to_the_execution() -> None:
    custom: dict[str, Any] = {}
    ctx = make_ctx(custom_data=custom)
    assert ev("={{ $execution.customData.set('user', $json.name) }}", ctx) is None
    assert ev("={{ $execution.customData.setAll({ n: $json.n, tag: 'x' }) }}", ctx) is None
    assert custom == {"user": "Ada Lovelace", "n": "5", "tag": "x"}
    assert ev("={{ $execution.customData.get('n') }}", ctx) == "5"
    assert ev("={{ $execution.customData.getAll() }}", ctx) == custom
    # n8n's limits (key 50, value 255 characters, 10 keys) are refused, never truncated: in a
    # test run (this context's root mode is manual) the expression fails. tests/executions/
    # test_custom_data.py covers production runs (refused with a warning).
    with pytest.raises(ExpressionError, match="longer than 50 characters"):
        ev("={{ $execution.customData.set('k'.repeat(51), 'v') }}", ctx)
    with pytest.raises(ExpressionError, match="longer than 255 characters"):
        ev("={{ $execution.customData.set('k', 'v'.repeat(256)) }}", ctx)
    for i in range(7):
        ev(f"={{{{ $execution.customData.set('extra{i}', 1) }}}}", ctx)
    with pytest.raises(ExpressionError, match="at most 10 keys"):
        ev("={{ $execution.customData.set('one_too_many', 1) }}", ctx)
    assert len(custom) == 10 and "k" not in custom


def test_prev_node_and_indices() -> None:
    source = [{"previousNode": "Fetch", "previousNodeOutput": 1, "previousNodeRun": 2}]
    ctx = make_ctx(source=source, run_index=3)
    assert ev("={{ $prevNode.name }}:{{ $prevNode.outputIndex }}:{{ $prevNode.runIndex }}", ctx) == "Fetch:1:2"
    assert ev("={{ $runIndex }}", ctx) == 3
    assert ev("={{ $itemIndex }}", ctx, item_index=1) == 1
    assert ev("={{ $json.name }}", ctx, item_index=1) == "Grace Hopper"


def test_env_is_blocked_unless_the_host_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDFLOW_TEST_VAR", "visible")
    with pytest.raises(ExpressionError, match="access to environment variables is blocked"):
        ev("={{ $env.BUDFLOW_TEST_VAR }}")
    allowed = make_ctx(execution=ExecutionInfo(extra={"allow_env": True}))
    assert ev("={{ $env.BUDFLOW_TEST_VAR }}", allowed) == "visible"


def test_now_and_today_are_luxon_like_datetimes() -> None:
    berlin = make_ctx(execution=ExecutionInfo(extra={"timezone": "Europe/Berlin"}))
    iso = ev("={{ $now }}", berlin)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", iso)
    assert ev("={{ $now.toISO() === $now.toString() && $now.toMillis() === $now.valueOf() }}", berlin) is True
    assert ev("={{ $today.hour + $today.minute + $today.second }}", berlin) == 0
    assert ev("={{ $now.toMillis() > 1.7e12 }}") is True
    assert ev("={{ $now.zoneName }}") == "UTC"
    assert ev("=at {{ $today }}").endswith("T00:00:00.000Z")
    # As in JavaScript, `+` asks a DateTime for its number (epoch ms); templates use its string.
    assert ev("={{ '' + $today }}").isdigit()
    assert ev("={{ `${$today}` }}") == ev("={{ $today.toISO() }}")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("={{ DateTime.fromISO('2024-01-15T10:30:00Z').toFormat('yyyy-MM-dd HH:mm') }}", "2024-01-15 10:30"),
        (
            "={{ DateTime.fromISO('2024-01-15T10:30:00Z').toFormat(\"EEE d MMM yy, h:mm a 'UTC'\") }}",
            "Mon 15 Jan 24, 10:30 AM UTC",
        ),
        ("={{ DateTime.fromISO('2024-01-31T10:30:00Z').plus({ months: 1 }).toISODate() }}", "2024-02-29"),
        ("={{ DateTime.fromISO('2024-01-15T10:30:00Z').plus(1, 'day').toISO() }}", "2024-01-16T10:30:00.000Z"),
        ("={{ DateTime.fromISO('2024-01-15T10:30:00Z').minus({ hours: 2 }).hour }}", 8),
        ("={{ DateTime.fromISO('2024-01-15T10:30:45.123Z').startOf('day').toISO() }}", "2024-01-15T00:00:00.000Z"),
        ("={{ DateTime.fromISO('2024-01-15T10:30:00Z').endOf('month').toISO() }}", "2024-01-31T23:59:59.999Z"),
        ("={{ DateTime.fromISO('2024-01-15T10:30:00Z').weekday }}", 1),
        ("={{ DateTime.fromISO('2024-03-01').diff(DateTime.fromISO('2024-01-01'), 'days').days }}", 60),
        (
            "={{ DateTime.fromISO('2024-01-15T10:30:00Z').setZone('Europe/Berlin').toISO() }}",
            "2024-01-15T11:30:00.000+01:00",
        ),
        ("={{ DateTime.fromISO('nope').isValid }}", False),
        ("={{ '2024-01-15'.toDateTime().year }}", 2024),
        ("={{ DateTime.fromMillis(0).toISO() }}", "1970-01-01T00:00:00.000Z"),
        ("={{ new Date(Date.UTC(2024, 0, 31)).toISOString() }}", "2024-01-31T00:00:00.000Z"),
        ("={{ new Date('2024-02-10T00:00:00Z').getUTCDay() }}", 6),
    ],
)
def test_dates(template: str, expected: Any) -> None:
    assert ev(template) == expected


# -- $('Node'), $node and item lineage ------------------------------------------------------------
def _record(node: str, output: list[list[dict[str, Any]]], source: list[Any]) -> NodeRunRecord:
    return NodeRunRecord(node, "n8n-nodes-base.set", 0, 0, "success", 0.0, 0.0, source, output)


def lineage_ctx() -> Any:
    """Trigger → Enrich (3 items) → Filter (keeps items 2 and 0, in that order) → current node."""
    trigger_out = [{"json": {"id": i}, "pairedItem": {"item": i}} for i in range(3)]
    enrich_out = [{"json": {"id": i, "label": f"L{i}"}, "pairedItem": {"item": i}} for i in range(3)]
    filter_out = [{"json": {"id": 2}, "pairedItem": {"item": 2}}, {"json": {"id": 0}, "pairedItem": {"item": 0}}]
    src = {"previousNodeOutput": 0, "previousNodeRun": 0}
    run_data = {
        "Trigger": [_record("Trigger", [trigger_out], [None])],
        "Enrich": [_record("Enrich", [enrich_out], [{"previousNode": "Trigger", **src}])],
        "Filter": [_record("Filter", [filter_out], [{"previousNode": "Enrich", **src}])],
    }
    return make_ctx(filter_out, source=[{"previousNode": "Filter", **src}], run_data=run_data)


def test_dollar_item_follows_paired_item_lineage() -> None:
    ctx = lineage_ctx()
    assert ev("={{ $('Enrich').item.json.label }}", ctx, 0) == "L2"
    assert ev("={{ $('Enrich').item.json.label }}", ctx, 1) == "L0"
    assert ev("={{ $('Trigger').item.json.id }}", ctx, 1) == 0
    assert ev("={{ $('Filter').item.json.id }}", ctx, 0) == 2
    assert ev("={{ $('Enrich').itemMatching(1).json.label }}", ctx) == "L0"
    # The legacy $node syntax reads the same index, whatever the lineage.
    assert ev("={{ $node['Enrich'].json.label }}", ctx, 1) == "L1"


def test_dollar_first_last_all_and_is_executed() -> None:
    ctx = lineage_ctx()
    assert ev("={{ $('Enrich').first().json.label }}", ctx) == "L0"
    assert ev("={{ $('Enrich').last().json.label }}", ctx) == "L2"
    assert ev("={{ $('Enrich').all().map(i => i.json.id) }}", ctx) == [0, 1, 2]
    assert ev("={{ $('Enrich').isExecuted }}", ctx) is True
    assert ev("={{ $('Later').isExecuted }}", ctx) is False
    assert ev("={{ $items('Enrich').length }}", ctx) == 3
    with pytest.raises(ExpressionError, match="node 'Later' hasn't been executed"):
        ev("={{ $('Later').first() }}", ctx)
    with pytest.raises(ExpressionError, match="specify a node"):
        ev("={{ $('') }}", ctx)


def test_missing_lineage_falls_back_to_the_same_index() -> None:
    ctx = lineage_ctx()
    for item in ctx.input(0):
        item.pop("pairedItem")
    assert ev("={{ $('Enrich').item.json.label }}", ctx, 1) == "L1"


def test_no_path_back_is_an_error() -> None:
    ctx = lineage_ctx()
    ctx.run_data["Elsewhere"] = [_record("Elsewhere", [[{"json": {}}]], [None])]
    with pytest.raises(ExpressionError, match="no path back"):
        ev("={{ $('Elsewhere').item.json }}", ctx)


# -- integration: a workflow run through WorkflowRunner ----------------------------------------------
def set_node(name: str, assignments: dict[str, tuple[str, str]], position: tuple[int, int], **params: Any) -> Any:
    entries = [{"id": key, "name": key, "value": value, "type": kind} for key, (value, kind) in assignments.items()]
    return make_node(
        name, "set", 3.4, position, parameters={"mode": "manual", "assignments": {"assignments": entries}, **params}
    )


def run_with_expressions(nodes: list[dict[str, Any]], conns: dict[str, Any], items: Any, **info: Any) -> Run:
    runner = WorkflowRunner(
        nodes=nodes,
        connections=conns,
        registry=default_registry(),
        state=start_state(nodes[0]["name"], items),
        execution=ExecutionInfo(**info),
        evaluator=evaluate_template,
    )
    return Run(runner, runner.run())


def lineage_workflow() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    nodes = [
        make_node("Start", "manualTrigger"),
        set_node(
            "First Set",
            {
                "x": ("={{ $json.n * 10 }}", "number"),
                "label": ("=item {{ $json.n }} of {{ $input.all().length }}", "string"),
            },
            (200, 0),
            includeOtherFields=True,
        ),
        make_node(
            "Even",
            "if",
            2.2,
            (400, 0),
            parameters={"conditions": conditions(condition("={{ $json.n % 2 === 0 }}", "boolean", "true"))},
        ),
        set_node(
            "Final",
            {
                "fromFirst": ("={{ $('First Set').item.json.x }}", "number"),
                "sameIndex": ("={{ $node['First Set'].json.x }}", "number"),
                "summary": ("={{ $json.label.toUpperCase() }} via {{ $prevNode.name }}", "string"),
                "run": ("={{ $execution.id }}:{{ $execution.mode }}:{{ $workflow.name }}", "string"),
            },
            (600, 0),
        ),
    ]
    conns = connect(("Start", "First Set"), ("First Set", "Even"), ("Even", "Final", 0, 0))
    return nodes, conns


def test_workflow_with_expressions_and_lineage_through_a_filtering_if() -> None:
    nodes, conns = lineage_workflow()
    run = run_with_expressions(
        nodes, conns, items_of(*({"n": n} for n in range(6))), execution_id="ex-1", workflow_name="Lineage"
    )

    assert run.result.status == "success"
    assert run.json("First Set")[1] == {"n": 1, "x": 10, "label": "item 1 of 6"}
    assert [j["n"] for j in run.json("Even", 0)] == [0, 2, 4]
    assert [j["n"] for j in run.json("Even", 1)] == [1, 3, 5]
    final = run.json("Final")
    # Even's item 1 is First Set's item 2: lineage gives 20; the legacy same-index read gives 10.
    assert [j["fromFirst"] for j in final] == [0, 20, 40]
    assert [j["sameIndex"] for j in final] == [0, 10, 20]
    assert final[1]["summary"] == "ITEM 2 OF 6 via Even"
    assert final[0]["run"] == "ex-1:test:Lineage"


def test_an_expression_error_fails_the_node_with_an_expression_error() -> None:
    nodes = [make_node("Start", "manualTrigger"), set_node("Broken", {"v": ("={{ $json.n + }}", "number")}, (200, 0))]
    run = run_with_expressions(nodes, connect(("Start", "Broken")), items_of({"n": 1}))

    assert run.result.status == "error"
    error = run.record("Broken").error
    assert error is not None
    assert error["type"] == "ExpressionError"
    assert error["node"] == "Broken"
    assert error["parameter"] == "assignments.v"
    assert "invalid syntax" in error["message"]


def test_if_node_routes_on_expression_conditions_comparing_values() -> None:
    nodes = [
        make_node("Start", "manualTrigger"),
        make_node(
            "Check",
            "if",
            2.2,
            (200, 0),
            parameters={
                "conditions": conditions(
                    condition("={{ $json.total }}", "number", "gt", "={{ $json.limit * 2 }}"),
                    condition("={{ $json.email }}", "string", "endsWith", "=@{{ 'example' + '.com' }}"),
                )
            },
        ),
    ]
    items = items_of(
        {"total": 30, "limit": 10, "email": "a@example.com"},
        {"total": 15, "limit": 10, "email": "b@example.com"},
        {"total": 50, "limit": 10, "email": "c@other.org"},
    )
    run = run_with_expressions(nodes, connect(("Start", "Check")), items)

    assert run.result.status == "success"
    assert [j["email"] for j in run.json("Check", 0)] == ["a@example.com"]
    assert [j["email"] for j in run.json("Check", 1)] == ["b@example.com", "c@other.org"]


def test_set_node_expression_types_are_converted_by_the_node() -> None:
    nodes = [
        make_node("Start", "manualTrigger"),
        set_node(
            "Types",
            {
                "count": ("={{ $json.items.length }}", "number"),
                "names": ("={{ $json.items.map(i => i.name) }}", "array"),
                "first": ("={{ $json.items[0] }}", "object"),
                "any": ("={{ $json.items.some(i => i.ok) }}", "boolean"),
                "text": ("={{ $json.items.length }} items", "string"),
            },
            (200, 0),
        ),
    ]
    items = items_of({"items": [{"name": "a", "ok": False}, {"name": "b", "ok": True}]})
    run = run_with_expressions(nodes, connect(("Start", "Types")), items)
    assert run.json("Types") == [
        {"count": 2, "names": ["a", "b"], "first": {"name": "a", "ok": False}, "any": True, "text": "2 items"}
    ]
