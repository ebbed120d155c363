"""Public webhook endpoints: ``ANY /webhook/{path}`` and ``ANY /webhook-test/{path}`` (thin views)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from executions.choices import PauseType
from executions.services.pauses import form_values, pause_lookup_by_token, pause_webhook_call
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


@csrf_exempt
def webhook_waiting(request: HttpRequest, token: str) -> HttpResponse:
    """``ANY /webhook-waiting/{token}``: resume a webhook or form wait (public, token-protected)."""
    try:
        _execution, pause = pause_lookup_by_token(token=token)
    except ServiceError as exc:
        return JsonResponse({"message": exc.message}, status=exc.status)
    if pause.pause_type == PauseType.FORM:
        return _form(request, token, pause.metadata.get("form") or {})
    try:
        call = _call(request, "")
    except (ValueError, UnicodeDecodeError) as exc:
        return JsonResponse({"message": f"The request body is not valid JSON: {exc}", "field": "body"}, status=400)
    return _resume_call(token, call, form=False)


def _resume_call(token: str, call: WebhookCall, form: bool) -> HttpResponse:
    item = {"headers": call.headers, "params": {}, "query": call.query, "body": call.body}
    try:
        pause_webhook_call(token=token, method=call.method, request_item=item, form=form)
    except ServiceError as exc:
        return JsonResponse({"message": exc.message}, status=exc.status)
    return JsonResponse({"message": "Resumed"})


def _form(request: HttpRequest, token: str, form: dict[str, Any]) -> HttpResponse:
    fields = [f for f in form.get("fields") or [] if isinstance(f, dict) and f.get("fieldLabel")]
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        try:
            submitted = _body(request)
        except (ValueError, UnicodeDecodeError):
            submitted = None
        if not isinstance(submitted, dict):
            errors["form"] = "Send the form fields as form data or a JSON object."
            submitted = {}
        values, field_errors = form_values(fields, submitted)
        errors.update(field_errors)
        if not errors:
            call = WebhookCall(
                method="POST",
                path="",
                headers={k.lower(): v for k, v in request.headers.items()},
                query={},
                body=values,
            )
            response = _resume_call(token, call, form=True)
            if response.status_code != 200:
                return response
            return render(request, "executions/wait_form.html", {"title": form.get("title"), "done": True})
    status = 400 if errors else 200
    return render(
        request,
        "executions/wait_form.html",
        {
            "title": form.get("title") or "Form",
            "description": form.get("description") or "",
            "fields": fields,
            "errors": errors,
            "values": values,
            "done": False,
        },
        status=status,
    )
