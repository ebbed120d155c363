"""ASGI entry point: Django over HTTP, Channels consumers over websockets."""

import os
from typing import Any
from urllib.parse import parse_qs

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budflow_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from channels.middleware import BaseMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from executions.routing import websocket_urlpatterns  # noqa: E402


def _token_user(key: str) -> Any:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware(BaseMiddleware):  # type: ignore[misc]
    """``?token=<DRF token>`` authenticates a websocket (browsers cannot set headers on one).

    Inside ``AuthMiddlewareStack``: a token, when given, replaces the session's user (an invalid
    token leaves the connection anonymous).
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        keys = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        if keys:
            scope = dict(scope, user=await database_sync_to_async(_token_user)(keys[-1]))
        return await super().__call__(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
