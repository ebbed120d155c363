"""``n8n-nodes-base.httpRequest`` 4.2–4.3: one HTTP request per input item, on httpx."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

from workflows.engine.context import NodeContext
from workflows.engine.errors import (
    ExecutionCanceledError,
    ExecutionTimeoutError,
    NodeError,
    NodeTimeoutError,
    ParameterError,
)
from workflows.engine.items import set_path
from workflows.engine.nodes.base import NodeType, require_choice, require_type
from workflows.engine.registry import registry
from workflows.engine.state import Items

# Set to True (e.g. from Django settings at startup) to refuse loopback, private, link-local
# and other non-public addresses, redirects included. Off by default: n8n may call any address.
BLOCK_PRIVATE_NETWORKS = False

METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
AUTHENTICATIONS = ("none", "predefinedCredentialType", "genericCredentialType")
CONTENT_TYPES = ("json", "form-urlencoded", "multipart-form-data", "raw", "binaryData")
RESPONSE_FORMATS = ("autodetect", "json", "text", "file")
ARRAY_FORMATS = ("brackets", "repeat", "indices")
DEFAULT_TIMEOUT_MS = 300_000  # n8n's timeout when `options.timeout` is not set
DEFAULT_MAX_REDIRECTS = 21
EXCERPT_CHARS = 300

# n8n's NodeApiError messages for the common status codes.
STATUS_MESSAGES = {
    400: "Bad request - please check your parameters",
    401: "Authorization failed - please check your credentials",
    402: "Payment required - perhaps check your payment details?",
    403: "Forbidden - perhaps check your credentials?",
    404: "The resource you are requesting could not be found",
    405: "Method not allowed - please check you are using the right HTTP method",
    429: "The service is receiving too many requests from you",
    500: "The service was not able to process your request",
    502: "Bad gateway - the service failed to handle your request",
    503: "Service unavailable - try again later or consider setting this node to retry automatically "
    "(in the node settings)",
    504: "Gateway timed out - perhaps try again later?",
}
# n8n's `binaryContentTypes`: what autodetect treats as a file.
BINARY_CONTENT_TYPES = (
    "image/",
    "audio/",
    "video/",
    "application/octet-stream",
    "application/gzip",
    "application/zip",
    "application/vnd.rar",
    "application/epub+zip",
    "application/x-bzip",
    "application/x-bzip2",
    "application/x-cdf",
    "application/vnd.amazon.ebook",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-fontobject",
    "application/vnd.oasis.opendocument.presentation",
    "application/pdf",
    "application/x-tar",
    "application/vnd.visio",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/x-7z-compressed",
)


class HttpError(NodeError):
    """The server answered with an error status, or could not be reached (n8n's NodeApiError)."""

    error_type = "NodeApiError"


class HttpTimeoutError(NodeTimeoutError):
    """The server did not answer within ``options.timeout`` (or the node's ``timeout``)."""


def _is_expr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


# -- values as JavaScript (qs / axios) would write them ----------------------------------
def _js_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _flatten(key: str, value: Any, array_format: str) -> Iterator[tuple[str, str]]:
    """``qs.stringify`` for one key: nested objects as ``a[b]``, lists per ``array_format``."""
    if isinstance(value, dict):
        for sub, inner in value.items():
            yield from _flatten(f"{key}[{sub}]", inner, array_format)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            name = {"repeat": key, "indices": f"{key}[{i}]"}.get(array_format, f"{key}[]")
            yield from _flatten(name, inner, array_format)
    else:
        yield key, _js_str(value)


def _accumulate(target: dict[str, Any], name: str, value: Any, version: float) -> None:
    """n8n's key/value reducer: from 4.3 a repeated name collects its values into a list."""
    if version < 4.3 or name not in target:
        target[name] = value
    elif isinstance(target[name], list):
        target[name].append(value)
    else:
        target[name] = [target[name], value]


def _parse_json(value: Any, label: str, item_index: int) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise NodeError(
            "JSON parameter needs to be valid JSON", description=f"{label}: {exc}", item_index=item_index
        ) from exc


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return any(key.lower() == name for key in headers)


def _pairs(ctx: NodeContext, path: str, i: int) -> list[dict[str, Any]]:
    entries = ctx.param(path, [], item_index=i) or []
    return [e for e in entries if isinstance(e, dict)]


# -- private-network guard ---------------------------------------------------------------
def _blocked_address(host: str) -> str | None:
    """The first non-public address ``host`` resolves to, or None."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return None  # the request itself will report the unknown host
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            return str(address)
    return None


def _guard_request(request: httpx.Request) -> None:
    # Checked on every request the client sends, so redirects cannot reach a private host
    # either. A host whose DNS answer changes between this check and the connection could
    # still get through; that needs a resolver pinned in the transport.
    if not BLOCK_PRIVATE_NETWORKS:
        return
    address = _blocked_address(request.url.host)
    if address is not None:
        raise HttpError(
            f"Requests to private network addresses are blocked ({request.url.host} resolves to {address})",
            extra={"url": str(request.url)},
        )


# -- one request -------------------------------------------------------------------------
@dataclass
class _Request:
    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    data: dict[str, Any] | None = None
    files: list[tuple[str, tuple[None, str]]] | None = None
    timeout_ms: float = DEFAULT_TIMEOUT_MS
    follow_redirects: bool = True
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    verify: bool = True
    proxy: str | None = None
    response: dict[str, Any] = field(default_factory=dict)


def _build(ctx: NodeContext, i: int, version: float) -> _Request:
    if ctx.param("authentication", "none", item_index=i) != "none" or ctx.param("provideSslCertificates", False, i):
        raise NodeError(
            "credentials are not supported yet",
            description="BudFlow has no credential store yet: use authentication `none` and send the token in a header",
            item_index=i,
        )
    url = ctx.param("url", "", item_index=i)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise NodeError(f'Invalid URL: {url}. URL must start with "http" or "https".', item_index=i)
    options = ctx.param("options", {}, item_index=i) or {}
    redirect = (options.get("redirect") or {}).get("redirect") or {}
    request = _Request(
        method=str(ctx.param("method", "GET", item_index=i)).upper(),
        url=url,
        timeout_ms=float(options.get("timeout") or DEFAULT_TIMEOUT_MS),
        follow_redirects=redirect.get("followRedirects", True) is not False,
        max_redirects=int(redirect.get("maxRedirects", DEFAULT_MAX_REDIRECTS)),
        verify=not options.get("allowUnauthorizedCerts", False),
        proxy=options.get("proxy") or None,
        response=(options.get("response") or {}).get("response") or {},
    )
    pagination = (options.get("pagination") or {}).get("pagination") or {}
    if pagination.get("paginationMode", "off") != "off":
        raise NodeError("pagination is not supported yet", item_index=i)
    if ctx.param("sendQuery", False, item_index=i):
        request.params = _query(ctx, i, version, str(options.get("queryParameterArrays") or "brackets"))
    if ctx.param("sendHeaders", False, item_index=i):
        request.headers = _headers(ctx, i, lowercase=options.get("lowercaseHeaders", True) is not False)
    if ctx.param("sendBody", False, item_index=i):
        _body(ctx, i, version, request)
    if not _has_header(request.headers, "accept"):
        request.headers["accept"] = _accept(str(request.response.get("responseFormat") or "autodetect"))
    return request


def _query(ctx: NodeContext, i: int, version: float, array_format: str) -> list[tuple[str, str]]:
    if ctx.param("specifyQuery", "keypair", item_index=i) == "json":
        query = _parse_json(ctx.param("jsonQuery", "", item_index=i), "JSON Query Parameters", i)
        if not isinstance(query, dict):
            raise NodeError(
                "JSON parameter needs to be valid JSON", description="Query: expected an object", item_index=i
            )
    else:
        query = {}
        for entry in _pairs(ctx, "queryParameters.parameters", i):
            _accumulate(query, str(entry.get("name", "")), entry.get("value", ""), version)
    return [pair for key, value in query.items() for pair in _flatten(str(key), value, array_format)]


def _headers(ctx: NodeContext, i: int, lowercase: bool) -> dict[str, str]:
    if ctx.param("specifyHeaders", "keypair", item_index=i) == "json":
        raw = _parse_json(ctx.param("jsonHeaders", "", item_index=i), "JSON Headers", i)
        if not isinstance(raw, dict):
            raise NodeError(
                "JSON parameter needs to be valid JSON", description="Headers: expected an object", item_index=i
            )
        pairs = list(raw.items())
    else:
        pairs = [(e.get("name"), e.get("value", "")) for e in _pairs(ctx, "headerParameters.parameters", i)]
    return {(str(k).lower() if lowercase else str(k)): _js_str(v) for k, v in pairs if k}


def _body(ctx: NodeContext, i: int, version: float, request: _Request) -> None:
    content_type = ctx.param("contentType", "json", item_index=i)
    specify = ctx.param("specifyBody", "keypair", item_index=i)
    with_form_body = request.method in ("PATCH", "POST", "PUT", "GET")  # as n8n
    if content_type == "binaryData":
        raise NodeError("sending n8n binary files is not supported yet", item_index=i)
    if content_type == "json":
        body = _json_payload(ctx, i, specify)
        request.content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        if not _has_header(request.headers, "content-type"):
            request.headers["content-type"] = "application/json"
    elif not with_form_body:
        return
    elif content_type == "form-urlencoded":
        form = _form_payload(ctx, i, specify, version)
        request.data = {k: [_js_str(x) for x in v] if isinstance(v, list) else _js_str(v) for k, v in form.items()}
    elif content_type == "multipart-form-data":
        request.files = []
        for entry in _pairs(ctx, "bodyParameters.parameters", i):
            if entry.get("parameterType") == "formBinaryData":
                raise NodeError("sending n8n binary files in form data is not supported yet", item_index=i)
            request.files.append((str(entry.get("name", "")), (None, _js_str(entry.get("value", "")))))
    elif content_type == "raw":
        request.content = str(ctx.param("body", "", item_index=i)).encode()
        raw_type = ctx.param("rawContentType", "", item_index=i)
        if raw_type:
            for name in [h for h in request.headers if h.lower() == "content-type"]:
                del request.headers[name]
            request.headers["content-type"] = str(raw_type)


def _json_payload(ctx: NodeContext, i: int, specify: str) -> Any:
    if specify == "json":
        return _parse_json(ctx.param("jsonBody", "", item_index=i), "JSON Body", i)
    body: dict[str, Any] = {}
    for entry in _pairs(ctx, "bodyParameters.parameters", i):
        set_path(body, str(entry.get("name", "")), entry.get("value", ""))  # n8n 4+: dotted names nest
    return body


def _form_payload(ctx: NodeContext, i: int, specify: str, version: float) -> dict[str, Any]:
    if specify == "string":
        return dict(parse_qsl(str(ctx.param("body", "", item_index=i)), keep_blank_values=True))
    form: dict[str, Any] = {}
    for entry in _pairs(ctx, "bodyParameters.parameters", i):
        _accumulate(form, str(entry.get("name", "")), entry.get("value", ""), version)
    return form


def _accept(response_format: str) -> str:
    if response_format == "json":
        return "application/json,text/*;q=0.99"
    if response_format == "text":
        return "application/json,text/html,application/xhtml+xml,application/xml,text/*;q=0.9, */*;q=0.1"
    return "application/json,text/html,application/xhtml+xml,application/xml,text/*;q=0.9, image/*;q=0.8, */*;q=0.7"


def _send(client: httpx.Client, request: _Request, i: int, time_left: float | None = None) -> httpx.Response:
    timeout = request.timeout_ms / 1000.0
    # The node's own timeout aborts the call too (reported as the node timing out).
    node_bound = time_left is not None and time_left < timeout
    if node_bound:
        assert time_left is not None
        if time_left <= 0:
            raise HttpTimeoutError("The node ran longer than its timeout", item_index=i)
        timeout = time_left
    try:
        url = httpx.URL(request.url)
    except httpx.InvalidURL as exc:
        raise NodeError(f"Invalid URL: {request.url}", description=str(exc), item_index=i) from exc
    if request.params:
        # httpx would replace the URL's own query with `params`; n8n keeps both.
        url = url.copy_merge_params(tuple(request.params))
    try:
        return client.request(
            request.method,
            url,
            headers=request.headers,
            content=request.content,
            data=request.data,
            files=request.files,
            timeout=timeout,
            follow_redirects=request.follow_redirects,
        )
    except httpx.TimeoutException as exc:
        if node_bound:
            raise HttpTimeoutError(
                "The node ran longer than its timeout: the HTTP call was aborted", item_index=i
            ) from exc
        raise HttpTimeoutError(
            "The connection timed out, consider setting the 'Retry on Fail' option in the node settings",
            description=f"timeout of {request.timeout_ms:g}ms exceeded",
            item_index=i,
        ) from exc
    except httpx.TooManyRedirects as exc:
        raise HttpError(f"Max redirects exceeded ({request.max_redirects})", item_index=i) from exc
    except httpx.HTTPError as exc:
        raise HttpError(_connection_message(exc), description=str(exc) or type(exc).__name__, item_index=i) from exc


def _connection_message(exc: httpx.HTTPError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "The service refused the connection - perhaps it is offline"
    if "name or service not known" in text or "nodename" in text or "name resolution" in text:
        return "The connection cannot be established, this usually occurs due to an incorrect host (domain) value"
    return (
        "The connection to the server was closed unexpectedly, perhaps it is offline. "
        "You can retry the request immediately or wait and retry later."
    )


# -- the response as items -----------------------------------------------------------------
def _excerpt(response: httpx.Response) -> str:
    text = response.text.strip()
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _raise_for_status(response: httpx.Response, i: int) -> None:
    status = response.status_code
    detail = f"{status} - {_excerpt(response)}" if response.content else f"{status} - {response.reason_phrase}"
    extra: dict[str, Any] = {}
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        extra["retry_after"] = retry_after
    message = STATUS_MESSAGES.get(status, detail)
    raise HttpError(message, description=detail, http_code=status, item_index=i, extra=extra)


def _format(response: httpx.Response, configured: str) -> str:
    if configured != "autodetect":
        return configured
    content_type = response.headers.get("content-type", "")
    if "application/json" in content_type:
        return "json"
    if any(kind in content_type for kind in BINARY_CONTENT_TYPES):
        return "file"
    return "text"


def _wrap(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"data": value}


def _to_items(response: httpx.Response, settings: Mapping[str, Any], i: int) -> Items:
    configured = str(settings.get("responseFormat") or "autodetect")
    kind = _format(response, configured)
    if kind == "file":
        raise NodeError(
            "file responses are not supported yet",
            description=f"the response is {response.headers.get('content-type', 'binary')}; set "
            "`options.response.response.responseFormat` to `text` to read it as text",
            item_index=i,
        )
    full = bool(settings.get("fullResponse", False))
    meta = {
        "headers": dict(response.headers.items()),
        "statusCode": response.status_code,
        "statusMessage": response.reason_phrase,
    }
    paired = {"item": i}
    if kind == "text":
        name = str(settings.get("outputPropertyName") or "data")
        text = response.text
        json_out: dict[str, Any] = {name: text} if text else {}
        return [{"json": {**json_out, **meta} if full else json_out, "pairedItem": paired}]
    body = _json_body(response, configured, bool(settings.get("neverError", False)), i)
    if full:
        return [{"json": {"body": body, **meta}, "pairedItem": paired}]
    if isinstance(body, list):
        return [{"json": _wrap(element), "pairedItem": paired} for element in body]
    return [{"json": _wrap(body), "pairedItem": paired}]


def _json_body(response: httpx.Response, configured: str, never_error: bool, i: int) -> Any:
    if not response.content.strip():
        return {}
    try:
        return json.loads(response.text)
    except ValueError as exc:
        if configured == "json":
            message = 'Response body is not valid JSON. Change "Response Format" to "Text"'
        elif never_error:
            return {}
        else:
            message = "Invalid JSON in response body"
        raise NodeError(message, description=str(exc), item_index=i) from exc


@registry.register
class HttpRequest(NodeType):
    type = "n8n-nodes-base.httpRequest"
    versions = (4.2, 4.3)
    description = "Sends one HTTP request per input item (query, headers, body); the response becomes items."
    side_effects = True

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        require_choice(parameters, "method", METHODS, "GET")
        url = parameters.get("url")
        if not isinstance(url, str) or not url.strip() or url.strip() == "=":
            raise ParameterError("url", "is required")
        if not _is_expr(url) and not url.startswith(("http://", "https://")):
            raise ParameterError("url", f'must start with "http://" or "https://" (got {url!r})')
        require_choice(parameters, "authentication", AUTHENTICATIONS, "none")
        for name in ("sendQuery", "sendHeaders", "sendBody"):
            require_type(parameters, name, bool, "true or false")
        require_choice(parameters, "specifyQuery", ("keypair", "json"), "keypair")
        require_choice(parameters, "specifyHeaders", ("keypair", "json"), "keypair")
        if parameters.get("sendBody"):
            require_choice(parameters, "contentType", CONTENT_TYPES, "json")
            require_choice(parameters, "specifyBody", ("keypair", "json", "string"), "keypair")
        for name in ("queryParameters", "headerParameters", "bodyParameters"):
            _validate_pairs(parameters, name)
        _validate_options(parameters.get("options", {}))

    def execute(self, ctx: NodeContext) -> list[Items]:
        version = float(ctx.node.get("typeVersion", 4.2))
        out: Items = []
        with contextlib.ExitStack() as stack:
            clients: dict[tuple[bool, int, str | None], httpx.Client] = {}
            for i, _item in enumerate(ctx.input(0)):
                try:
                    out.extend(self._one(ctx, i, version, clients, stack))
                except (ExecutionCanceledError, ExecutionTimeoutError):
                    raise
                except NodeError as exc:
                    # As n8n's continueOnFail: this item fails, the others go on.
                    if not ctx.continue_on_fail:
                        raise
                    out.append(ctx.item_failed(i, exc))
        return [out]

    def _one(
        self,
        ctx: NodeContext,
        i: int,
        version: float,
        clients: dict[tuple[bool, int, str | None], httpx.Client],
        stack: contextlib.ExitStack,
    ) -> Items:
        request = _build(ctx, i, version)
        self._pause_between_batches(ctx, i)
        key = (request.verify, request.max_redirects, request.proxy)
        if key not in clients:
            clients[key] = stack.enter_context(
                httpx.Client(
                    verify=request.verify,
                    max_redirects=request.max_redirects,
                    proxy=request.proxy,
                    event_hooks={"request": [_guard_request]},
                )
            )
        client = clients[key]
        # A stop request or the deadline aborts the call in flight: closing the client drops
        # its connections, and the node gives up at once.
        response = ctx.interruptible(functools.partial(_send, client, request, i, ctx.time_left()), abort=client.close)
        if response.status_code >= 400 and not request.response.get("neverError", False):
            _raise_for_status(response, i)
        return _to_items(response, request.response, i)

    @staticmethod
    def _pause_between_batches(ctx: NodeContext, i: int) -> None:
        batch = (ctx.param("options.batching.batch", {}, item_index=i) or {}) if i else {}
        size, interval = int(batch.get("batchSize", 50) or 1), float(batch.get("batchInterval", 0) or 0)
        if batch and size > 0 and interval > 0 and i % size == 0:
            time.sleep(interval / 1000.0)


def _validate_pairs(parameters: Mapping[str, Any], name: str) -> None:
    collection = parameters.get(name)
    if collection is None or _is_expr(collection):
        return
    if not isinstance(collection, Mapping):
        raise ParameterError(name, "must be an object with a `parameters` list")
    entries = collection.get("parameters", [])
    if not isinstance(entries, list):
        raise ParameterError(f"{name}.parameters", "must be a list of {name, value}")
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ParameterError(f"{name}.parameters[{i}]", "must be an object with `name` and `value`")
        if not isinstance(entry.get("name", ""), str):
            raise ParameterError(f"{name}.parameters[{i}].name", "must be a string")


def _validate_options(options: Any) -> None:
    if not isinstance(options, Mapping):
        raise ParameterError("options", "must be an object")
    timeout = options.get("timeout")
    bad_number = isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    if timeout is not None and not _is_expr(timeout) and bad_number:
        raise ParameterError("options.timeout", f"must be a positive number of milliseconds (got {timeout!r})")
    response = _fixed_collection(options, "response")
    _nested_choice(response, "options.response.response", "responseFormat", RESPONSE_FORMATS, "autodetect")
    redirect = _fixed_collection(options, "redirect")
    limit = redirect.get("maxRedirects", DEFAULT_MAX_REDIRECTS)
    if not _is_expr(limit) and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ParameterError("options.redirect.redirect.maxRedirects", f"must be a whole number ≥ 0 (got {limit!r})")
    _nested_choice(options, "options", "queryParameterArrays", ARRAY_FORMATS, "brackets")


def _fixed_collection(options: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """``options.<name>.<name>``: n8n's single-valued fixedCollection (e.g. ``options.response.response``)."""
    outer = options.get(name) or {}
    inner = outer.get(name) or {} if isinstance(outer, Mapping) else None
    if not isinstance(inner, Mapping):
        raise ParameterError(f"options.{name}.{name}", "must be an object")
    return inner


def _nested_choice(params: Mapping[str, Any], prefix: str, name: str, choices: tuple[str, ...], default: str) -> None:
    try:
        require_choice(params, name, choices, default)
    except ParameterError as exc:
        raise ParameterError(f"{prefix}.{exc.parameter}", exc.message) from None
