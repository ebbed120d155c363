"""Public webhook endpoints: ``ANY /webhook/{path}`` and ``ANY /webhook-test/{path}`` (thin views)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from executions.services.webhooks import WebhookCall, WebhookResponse, webhook_receive, webhook_test_receive
from workflows.errors import ServiceError


def _body(request: HttpRequest) -> Any:
    content_type = (request.content_type or "").lower()
    raw = request.body
    if not raw:
        return {}
    if content_type == "application/json" or content_type.endswith("+json"):
        return json.loads(raw)
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {k: v if len(v) > 1 else v[0] for k, v in request.POST.lists()}
    return raw.decode("utf-8", errors="replace")


def _call(request: HttpRequest, path: str) -> WebhookCall:
    query = {k: v if len(v) > 1 else v[0] for k, v in request.GET.lists()}
    headers = {k.lower(): v for k, v in request.headers.items()}
    return WebhookCall(method=request.method or "GET", path=path, headers=headers, query=query, body=_body(request))


def _http(response: WebhookResponse) -> HttpResponse:
    if response.kind == "empty":
        http = HttpResponse(status=response.status)
    elif response.kind == "text":
        http = HttpResponse(str(response.body), status=response.status, content_type="text/plain; charset=utf-8")
    else:
        http = JsonResponse(response.body, status=response.status, safe=False)
    for name, value in response.headers.items():
        http[name] = value
    return http


def _handle(request: HttpRequest, path: str, receive: Callable[..., WebhookResponse]) -> HttpResponse:
    try:
        call = _call(request, path)
    except (ValueError, UnicodeDecodeError) as exc:
        return JsonResponse({"message": f"The request body is not valid JSON: {exc}", "field": "body"}, status=400)
    try:
        return _http(receive(call=call))
    except ServiceError as exc:
        return JsonResponse({"message": exc.message}, status=exc.status)


@csrf_exempt
def webhook(request: HttpRequest, path: str) -> HttpResponse:
    return _handle(request, path, webhook_receive)


@csrf_exempt
def webhook_test(request: HttpRequest, path: str) -> HttpResponse:
    return _handle(request, path, webhook_test_receive)
