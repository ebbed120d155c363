"""HTTP Request 4.2–4.3 against a real local server: requests sent, responses as items, errors."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import connect, make_node
from tests.workflows.engine_helpers import Run, items_of, run_workflow
from workflows.engine.errors import WorkflowValidationError
from workflows.engine.nodes import http_request
from workflows.engine.registry import default_registry
from workflows.engine.validation import validate_workflow


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str


@dataclass
class Server:
    url: str
    requests: list[Received] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


class Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        received = Received(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        self.server.log.append(received)  # type: ignore[attr-defined]
        route = parts.path.rstrip("/")
        query = received.query
        if route == "/echo":
            self._json(
                200,
                {
                    "method": received.method,
                    "path": received.path,
                    "query": query,
                    "headers": received.headers,
                    "body": body,
                },
            )
        elif route == "/array":
            self._json(200, [{"id": 1}, {"id": 2}, {"id": 3}])
        elif route == "/scalars":
            self._json(200, [1, "two"])
        elif route == "/text":
            self._send(200, b"hello world", "text/plain; charset=utf-8")
        elif route == "/empty":
            self._send(204, b"", None)
        elif route == "/bad-json":
            self._send(200, b"{nope", "application/json")
        elif route == "/image":
            self._send(200, b"\x89PNG\r\n", "image/png")
        elif route.startswith("/status/"):
            code = int(route.rsplit("/", 1)[1])
            headers = {"Retry-After": query["retry"][0]} if "retry" in query else {}
            if code == 404:
                self._json(code, {"message": "no such thing"}, headers)
            else:
                self._send(code, b"something broke", "text/plain", headers)
        elif route == "/sleep":
            time.sleep(float(query["s"][0]))
            self._json(200, {"slept": True})
        elif route == "/redirect":
            self._send(302, b"", None, {"Location": query["to"][0]})
        elif route == "/loop":
            self._send(302, b"", None, {"Location": "/loop"})
        else:
            self._send(500, b"unknown route", "text/plain")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _json(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(code, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

    def _send(self, code: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    log: list[Received] = []
    httpd.log = log  # type: ignore[attr-defined]
    httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", log)
    finally:
        httpd.shutdown()
        httpd.server_close()


def http_node(version: float = 4.2, **parameters: Any) -> dict[str, Any]:
    return make_node("HTTP", "httpRequest", version, parameters=parameters)


def run_http(node: dict[str, Any], *payloads: dict[str, Any]) -> Run:
    nodes = [make_node("T", "manualTrigger"), node]
    return run_workflow(nodes, connect(("T", "HTTP")), items_of(*(payloads or ({},))))


def error_of(run: Run) -> dict[str, Any]:
    assert run.result.status == "error", run.result
    assert run.result.error is not None
    return run.result.error


# -- requests -------------------------------------------------------------------------------
def test_get_json_object_gives_one_item_per_input_item(server: Server) -> None:
    run = run_http(http_node(url=f"{server.url}/echo"), {"n": 1}, {"n": 2})

    assert run.result.status == "success"
    assert [r.method for r in server.requests] == ["GET", "GET"]
    items = run.items("HTTP")
    assert [item["pairedItem"] for item in items] == [{"item": 0}, {"item": 1}]
    assert items[0]["json"]["method"] == "GET"
    assert items[0]["json"]["path"] == "/echo"
    assert items[0]["json"]["headers"]["accept"].startswith("application/json,text/html")


def test_json_array_gives_one_item_per_element(server: Server) -> None:
    run = run_http(http_node(4.3, url=f"{server.url}/array"), {"n": 1}, {"n": 2})

    assert len(server.requests) == 2
    assert run.json("HTTP") == [{"id": 1}, {"id": 2}, {"id": 3}] * 2
    assert [item["pairedItem"] for item in run.items("HTTP")] == [{"item": 0}] * 3 + [{"item": 1}] * 3


def test_json_scalars_are_wrapped_in_data(server: Server) -> None:
    assert run_http(http_node(url=f"{server.url}/scalars")).json("HTTP") == [{"data": 1}, {"data": "two"}]


def test_text_response_goes_under_data(server: Server) -> None:
    default = run_http(http_node(url=f"{server.url}/text"))
    renamed = run_http(
        http_node(
            url=f"{server.url}/text",
            options={"response": {"response": {"responseFormat": "text", "outputPropertyName": "page"}}},
        )
    )

    assert default.json("HTTP") == [{"data": "hello world"}]
    assert renamed.json("HTTP") == [{"page": "hello world"}]
    assert server.requests[1].headers["accept"].endswith("*/*;q=0.1")


def test_empty_response_gives_an_empty_item(server: Server) -> None:
    assert run_http(http_node(method="DELETE", url=f"{server.url}/empty")).json("HTTP") == [{}]
    assert server.requests[0].method == "DELETE"


def test_full_response_json(server: Server) -> None:
    options = {"response": {"response": {"fullResponse": True}}}
    run = run_http(http_node(url=f"{server.url}/array", options=options))

    [item] = run.json("HTTP")
    assert item["body"] == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert item["statusCode"] == 200
    assert item["statusMessage"] == "OK"
    assert item["headers"]["content-type"] == "application/json; charset=utf-8"


def test_full_response_text_keeps_the_body_under_the_output_field(server: Server) -> None:
    options = {"response": {"response": {"fullResponse": True}}}
    [item] = run_http(http_node(url=f"{server.url}/text", options=options)).json("HTTP")

    assert item["data"] == "hello world"
    assert item["statusCode"] == 200
    assert "body" not in item


def test_head_and_options_methods(server: Server) -> None:
    head = run_http(http_node(method="HEAD", url=f"{server.url}/echo"))
    options = run_http(http_node(method="OPTIONS", url=f"{server.url}/echo"))

    assert [r.method for r in server.requests] == ["HEAD", "OPTIONS"]
    assert head.json("HTTP") == [{}]
    assert options.json("HTTP")[0]["method"] == "OPTIONS"


# -- query and headers ----------------------------------------------------------------------
def test_query_parameters_as_fields_and_in_the_url(server: Server) -> None:
    node = http_node(
        url=f"{server.url}/echo?fixed=1",
        sendQuery=True,
        queryParameters={"parameters": [{"name": "q", "value": "a b"}, {"name": "page", "value": "2"}]},
    )
    [item] = run_http(node).json("HTTP")

    assert item["query"] == {"fixed": ["1"], "q": ["a b"], "page": ["2"]}


@pytest.mark.parametrize(
    ("version", "options", "expected"),
    [
        (4.2, {}, {"tag": ["b"]}),
        (4.3, {}, {"tag[]": ["a", "b"]}),
        (4.3, {"queryParameterArrays": "repeat"}, {"tag": ["a", "b"]}),
        (4.3, {"queryParameterArrays": "indices"}, {"tag[0]": ["a"], "tag[1]": ["b"]}),
    ],
)
def test_repeated_query_names(server: Server, version: float, options: dict[str, Any], expected: Any) -> None:
    pairs = [{"name": "tag", "value": "a"}, {"name": "tag", "value": "b"}]
    node = http_node(
        version, url=f"{server.url}/echo", sendQuery=True, queryParameters={"parameters": pairs}, options=options
    )

    assert run_http(node).json("HTTP")[0]["query"] == expected


def test_query_parameters_as_json(server: Server) -> None:
    node = http_node(
        url=f"{server.url}/echo",
        sendQuery=True,
        specifyQuery="json",
        jsonQuery='{"a": 1, "ok": true, "nested": {"b": "c"}}',
    )

    assert run_http(node).json("HTTP")[0]["query"] == {"a": ["1"], "ok": ["true"], "nested[b]": ["c"]}


def test_invalid_json_query_fails_before_any_request(server: Server) -> None:
    node = http_node(url=f"{server.url}/echo", sendQuery=True, specifyQuery="json", jsonQuery="{a: 1}")
    error = error_of(run_http(node))

    assert error["message"] == "JSON parameter needs to be valid JSON"
    assert server.requests == []


def test_headers_as_fields_and_as_json(server: Server) -> None:
    fields = http_node(
        url=f"{server.url}/echo",
        sendHeaders=True,
        headerParameters={"parameters": [{"name": "X-Token", "value": "abc"}, {"name": "", "value": "ignored"}]},
    )
    as_json = http_node(
        url=f"{server.url}/echo",
        sendHeaders=True,
        specifyHeaders="json",
        jsonHeaders='{"X-Num": 5, "Accept": "text/plain"}',
    )
    run_http(fields)
    run_http(as_json)

    assert server.requests[0].headers["x-token"] == "abc"
    assert server.requests[1].headers["x-num"] == "5"
    assert server.requests[1].headers["accept"] == "text/plain"  # a user Accept header wins


# -- bodies ---------------------------------------------------------------------------------
def test_json_body_from_fields_nests_dotted_names(server: Server) -> None:
    node = http_node(
        method="POST",
        url=f"{server.url}/echo",
        sendBody=True,
        bodyParameters={"parameters": [{"name": "user.name", "value": "ann"}, {"name": "id", "value": "7"}]},
    )
    run_http(node)

    [received] = server.requests
    assert received.headers["content-type"] == "application/json"
    assert json.loads(received.body) == {"user": {"name": "ann"}, "id": "7"}


def test_json_body_from_json(server: Server) -> None:
    node = http_node(
        method="PUT", url=f"{server.url}/echo", sendBody=True, specifyBody="json", jsonBody='{"a": [1, 2], "b": null}'
    )
    run_http(node)

    assert json.loads(server.requests[0].body) == {"a": [1, 2], "b": None}


def test_invalid_json_body_fails_without_a_request(server: Server) -> None:
    node = http_node(method="POST", url=f"{server.url}/echo", sendBody=True, specifyBody="json", jsonBody="{oops")
    error = error_of(run_http(node))

    assert error["message"] == "JSON parameter needs to be valid JSON"
    assert error["type"] == "NodeOperationError"
    assert server.requests == []


def test_form_urlencoded_body(server: Server) -> None:
    node = http_node(
        method="POST",
        url=f"{server.url}/echo",
        sendBody=True,
        contentType="form-urlencoded",
        bodyParameters={"parameters": [{"name": "a", "value": "1 2"}, {"name": "b", "value": "x&y"}]},
    )
    run_http(node)

    [received] = server.requests
    assert received.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(received.body) == {"a": ["1 2"], "b": ["x&y"]}


def test_form_urlencoded_single_field(server: Server) -> None:
    node = http_node(
        method="PATCH",
        url=f"{server.url}/echo",
        sendBody=True,
        contentType="form-urlencoded",
        specifyBody="string",
        body="a=1&b=2",
    )
    run_http(node)

    assert parse_qs(server.requests[0].body) == {"a": ["1"], "b": ["2"]}


def test_multipart_form_data_with_plain_fields(server: Server) -> None:
    node = http_node(
        method="POST",
        url=f"{server.url}/echo",
        sendBody=True,
        contentType="multipart-form-data",
        bodyParameters={"parameters": [{"parameterType": "formData", "name": "title", "value": "hello"}]},
    )
    run_http(node)

    [received] = server.requests
    assert received.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert 'name="title"' in received.body
    assert "\r\n\r\nhello\r\n" in received.body


def test_multipart_binary_fields_are_not_supported(server: Server) -> None:
    node = http_node(
        method="POST",
        url=f"{server.url}/echo",
        sendBody=True,
        contentType="multipart-form-data",
        bodyParameters={"parameters": [{"parameterType": "formBinaryData", "name": "f", "inputDataFieldName": "data"}]},
    )

    assert "not supported yet" in error_of(run_http(node))["message"]
    assert server.requests == []


def test_raw_body_with_its_content_type(server: Server) -> None:
    node = http_node(
        method="POST",
        url=f"{server.url}/echo",
        sendBody=True,
        contentType="raw",
        rawContentType="text/csv",
        body="a,b\n1,2",
    )
    run_http(node)

    assert server.requests[0].headers["content-type"] == "text/csv"
    assert server.requests[0].body == "a,b\n1,2"


# -- errors ---------------------------------------------------------------------------------
def test_404_raises_node_api_error_with_n8ns_message(server: Server) -> None:
    error = error_of(run_http(http_node(url=f"{server.url}/status/404")))

    assert error["type"] == "NodeApiError"
    assert error["message"] == "The resource you are requesting could not be found"
    assert error["description"] == '404 - {"message": "no such thing"}'
    assert error["http_code"] == 404
    assert error["item_index"] == 0
    assert "retry_after" not in error


def test_unlisted_status_uses_status_and_body_excerpt(server: Server) -> None:
    error = error_of(run_http(http_node(url=f"{server.url}/status/418")))

    assert error["message"] == "418 - something broke"
    assert error["http_code"] == 418


def test_500_fails_the_node_and_stops_at_the_first_failing_item(server: Server) -> None:
    error = error_of(run_http(http_node(url=f"{server.url}/status/500"), {"n": 1}, {"n": 2}))

    assert error["message"] == "The service was not able to process your request"
    assert error["description"] == "500 - something broke"
    assert len(server.requests) == 1


def test_429_carries_retry_after(server: Server) -> None:
    error = error_of(run_http(http_node(url=f"{server.url}/status/429?retry=7")))

    assert error["http_code"] == 429
    assert error["message"] == "The service is receiving too many requests from you"
    assert error["retry_after"] == "7"


def test_raised_error_is_an_http_error_subclass(server: Server) -> None:
    from workflows.engine.context import ExecutionInfo, NodeContext

    node = http_node(url=f"{server.url}/status/429?retry=3")
    ctx = NodeContext(node, [items_of({})], [None], 0, ExecutionInfo(), {}, {})
    with pytest.raises(http_request.HttpError) as info:
        http_request.HttpRequest().execute(ctx)

    assert info.value.error_type == "NodeApiError"
    assert info.value.http_code == 429
    assert info.value.extra["retry_after"] == "3"


def test_never_error_returns_the_error_response(server: Server) -> None:
    options = {"response": {"response": {"neverError": True, "fullResponse": True}}}
    [item] = run_http(http_node(url=f"{server.url}/status/404", options=options)).json("HTTP")

    assert item["statusCode"] == 404
    assert item["statusMessage"] == "Not Found"
    assert item["body"] == {"message": "no such thing"}


def test_retry_on_fail_repeats_the_request(server: Server) -> None:
    node = http_node(url=f"{server.url}/status/503")
    node.update(retryOnFail=True, maxTries=2, waitBetweenTries=0)
    error = error_of(run_http(node))

    assert error["http_code"] == 503
    assert server.paths() == ["/status/503", "/status/503"]


def test_continue_regular_output_turns_the_error_into_an_item(server: Server) -> None:
    node = http_node(url=f"{server.url}/status/404")
    node["onError"] = "continueRegularOutput"
    run = run_http(node)

    assert run.result.status == "success"
    assert run.json("HTTP") == [{"error": "The resource you are requesting could not be found"}]


def test_timeout_raises_node_timeout_error(server: Server) -> None:
    node = http_node(url=f"{server.url}/sleep?s=1", options={"timeout": 100})
    started = time.perf_counter()
    error = error_of(run_http(node))

    assert time.perf_counter() - started < 0.9
    assert error["type"] == "NodeTimeoutError"
    assert error["description"] == "timeout of 100ms exceeded"
    assert "timed out" in error["message"]


def test_connection_refused_is_a_node_api_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = error_of(run_http(http_node(url=f"http://127.0.0.1:{port}/")))

    assert error["type"] == "NodeApiError"
    assert error["message"] == "The service refused the connection - perhaps it is offline"


def test_credentials_are_not_supported_and_nothing_is_sent(server: Server) -> None:
    node = http_node(url=f"{server.url}/echo", authentication="genericCredentialType", genericAuthType="httpHeaderAuth")
    error = error_of(run_http(node))

    assert error["message"] == "credentials are not supported yet"
    assert server.requests == []


# -- responses we do not read yet -----------------------------------------------------------
def test_binary_responses_are_not_supported_yet(server: Server) -> None:
    auto = error_of(run_http(http_node(url=f"{server.url}/image")))
    forced = error_of(
        run_http(http_node(url=f"{server.url}/echo", options={"response": {"response": {"responseFormat": "file"}}}))
    )

    assert auto["message"] == forced["message"] == "file responses are not supported yet"
    assert "image/png" in auto["description"]


def test_invalid_json_responses(server: Server) -> None:
    auto = error_of(run_http(http_node(url=f"{server.url}/bad-json")))
    forced = error_of(
        run_http(http_node(url=f"{server.url}/text", options={"response": {"response": {"responseFormat": "json"}}}))
    )
    forgiving = run_http(
        http_node(url=f"{server.url}/bad-json", options={"response": {"response": {"neverError": True}}})
    )

    assert auto["message"] == "Invalid JSON in response body"
    assert forced["message"] == 'Response body is not valid JSON. Change "Response Format" to "Text"'
    assert forgiving.json("HTTP") == [{}]


# -- redirects, batching, private networks --------------------------------------------------
def test_redirects_are_followed_by_default(server: Server) -> None:
    [item] = run_http(http_node(url=f"{server.url}/redirect?to=/echo")).json("HTTP")

    assert item["path"] == "/echo"
    assert server.paths() == ["/redirect", "/echo"]


def test_redirects_can_be_turned_off(server: Server) -> None:
    options = {
        "redirect": {"redirect": {"followRedirects": False}},
        "response": {"response": {"fullResponse": True}},
    }
    [item] = run_http(http_node(url=f"{server.url}/redirect?to=/echo", options=options)).json("HTTP")

    assert item["statusCode"] == 302
    assert item["headers"]["location"] == "/echo"
    assert server.paths() == ["/redirect"]


def test_max_redirects(server: Server) -> None:
    options = {"redirect": {"redirect": {"followRedirects": True, "maxRedirects": 3}}}
    error = error_of(run_http(http_node(url=f"{server.url}/loop", options=options)))

    assert error["type"] == "NodeApiError"
    assert "redirects" in error["message"]
    assert len(server.requests) == 4  # the first request and three redirects


def test_batching_waits_between_batches(server: Server) -> None:
    options = {"batching": {"batch": {"batchSize": 1, "batchInterval": 150}}}
    started = time.perf_counter()
    run_http(http_node(url=f"{server.url}/echo", options=options), {"n": 1}, {"n": 2})

    assert time.perf_counter() - started >= 0.15
    assert len(server.requests) == 2


def test_private_networks_can_be_blocked(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_request, "BLOCK_PRIVATE_NETWORKS", True)
    error = error_of(run_http(http_node(url=f"{server.url}/echo")))

    assert "private network" in error["message"]
    assert server.requests == []


def test_private_network_block_covers_redirect_targets(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_request, "_blocked_address", lambda host: "10.0.0.1" if host == "localhost" else None)
    monkeypatch.setattr(http_request, "BLOCK_PRIVATE_NETWORKS", True)
    port = server.url.rsplit(":", 1)[1]
    error = error_of(run_http(http_node(url=f"{server.url}/redirect?to=http://localhost:{port}/echo")))

    assert "private network" in error["message"]
    assert server.paths() == ["/redirect"]


# -- validation -----------------------------------------------------------------------------
def test_http_request_has_side_effects() -> None:
    assert default_registry().get("n8n-nodes-base.httpRequest").side_effects is True  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"method": "FETCH", "url": "http://x"}, "nodes[1].parameters.method"),
        ({}, "nodes[1].parameters.url"),
        ({"url": "  "}, "nodes[1].parameters.url"),
        ({"url": "example.com/api"}, "nodes[1].parameters.url"),
        ({"url": "http://x", "authentication": "basic"}, "nodes[1].parameters.authentication"),
        ({"url": "http://x", "sendBody": True, "contentType": "xml"}, "nodes[1].parameters.contentType"),
        ({"url": "http://x", "sendQuery": "yes"}, "nodes[1].parameters.sendQuery"),
        ({"url": "http://x", "specifyQuery": "csv"}, "nodes[1].parameters.specifyQuery"),
        (
            {"url": "http://x", "queryParameters": {"parameters": "a=1"}},
            "nodes[1].parameters.queryParameters.parameters",
        ),
        ({"url": "http://x", "options": {"timeout": 0}}, "nodes[1].parameters.options.timeout"),
        ({"url": "http://x", "options": {"timeout": -5}}, "nodes[1].parameters.options.timeout"),
        ({"url": "http://x", "options": {"timeout": "soon"}}, "nodes[1].parameters.options.timeout"),
        (
            {"url": "http://x", "options": {"response": {"response": {"responseFormat": "xml"}}}},
            "nodes[1].parameters.options.response.response.responseFormat",
        ),
        (
            {"url": "http://x", "options": {"redirect": {"redirect": {"maxRedirects": -1}}}},
            "nodes[1].parameters.options.redirect.redirect.maxRedirects",
        ),
        (
            {"url": "http://x", "options": {"queryParameterArrays": "comma"}},
            "nodes[1].parameters.options.queryParameterArrays",
        ),
    ],
)
def test_invalid_parameters_name_the_parameter(parameters: dict[str, Any], field: str) -> None:
    nodes = [make_node("T", "manualTrigger"), http_node(**parameters)]
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(nodes, connect(("T", "HTTP")), {}, default_registry())

    assert field in info.value.errors, info.value.errors


def test_expression_url_and_timeout_pass_validation() -> None:
    node = http_node(url="={{ $json.url }}", options={"timeout": "={{ 1000 }}"})

    validate_workflow([node], {}, {}, default_registry())


def test_n8n_export_shape_validates() -> None:
    node = http_node(
        4.2,
        method="POST",
        url="https://api.example.com/items",
        sendQuery=True,
        queryParameters={"parameters": [{"name": "limit", "value": "10"}]},
        sendHeaders=True,
        headerParameters={"parameters": [{"name": "X-Trace", "value": "1"}]},
        sendBody=True,
        bodyParameters={"parameters": [{"name": "title", "value": "={{ $json.title }}"}]},
        options={
            "timeout": 10000,
            "response": {"response": {"fullResponse": False, "neverError": False, "responseFormat": "autodetect"}},
            "redirect": {"redirect": {"followRedirects": True, "maxRedirects": 21}},
            "allowUnauthorizedCerts": False,
        },
    )

    nodes, _, _ = validate_workflow([node], {}, {}, default_registry())
    assert nodes[0]["parameters"]["options"]["timeout"] == 10000


@pytest.mark.parametrize("on_error", ["continueRegularOutput", "continueErrorOutput", "stopWorkflow"])
def test_a_failing_item_is_routed_by_on_error_and_the_others_go_on(server: Server, on_error: str) -> None:
    # item 1 asks for a 404, items 0 and 2 for a JSON answer
    node = http_node(url=f"={server.url}/{{{{ $json.path }}}}")
    node["onError"] = on_error
    after = [make_node("Ok", position=(400, 0)), make_node("Failed", position=(400, 200))]
    conns = connect(("Start", "HTTP"), ("HTTP", "Ok"), ("HTTP", "Failed", 1, 0))
    if on_error != "continueErrorOutput":
        conns = connect(("Start", "HTTP"), ("HTTP", "Ok"))
    paths = [{"path": "echo?n=0"}, {"path": "status/404"}, {"path": "echo?n=2"}]
    run = run_workflow([make_node("Start", "manualTrigger"), node, *after], conns, [{"json": p} for p in paths])
    if on_error == "stopWorkflow":
        assert run.result.status == "error"
        assert run.result.error["http_code"] == 404
        return
    assert run.result.status == "success"
    assert len(server.paths()) == 3
    missing = "The resource you are requesting could not be found"
    if on_error == "continueRegularOutput":
        ok = run.json("Ok")
        assert [item.get("error") for item in ok] == [None, missing, None]
        assert [item.get("query", {}).get("n") for item in ok] == [["0"], None, ["2"]]
    else:
        assert [item["query"]["n"] for item in run.json("Ok")] == [["0"], ["2"]]
        assert run.json("Failed") == [{"path": "status/404", "error": missing}]
    assert run.records[1].metadata["failed_items"] == 1
