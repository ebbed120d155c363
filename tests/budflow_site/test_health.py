"""``/healthz`` (liveness) and ``/healthz/ready`` (database, django-q2 broker, channel layer):
public, 200 when ready, 503 naming each failing part, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError
from django.test import Client

from budflow_site import health


@pytest.fixture(autouse=True)
def fresh_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "_broker", None)


def test_liveness_answers_without_auth_or_database() -> None:
    client = Client()
    for path in ("/healthz", "/healthz/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    assert client.post("/healthz").status_code == 405
    assert "no-cache" in client.get("/healthz")["Cache-Control"]


@pytest.mark.django_db
def test_ready_when_database_broker_and_channel_layer_answer() -> None:
    response = Client().get("/healthz/ready")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "channel_layer": "ok"},
    }


def broken_layers(tmp_path: Any) -> list[dict[str, Any]]:
    return [
        {"BACKEND": "budflow_site.no_such_module.Layer"},  # not importable
        {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}},
        # the embedded layer's shared file cannot be opened
        {"BACKEND": "budflow_site.channel_layer.SQLiteChannelLayer", "CONFIG": {"path": str(tmp_path / "no/dir/x")}},
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("which", [0, 1, 2], ids=["unimportable", "redis-unreachable", "sqlite-unopenable"])
def test_a_broken_channel_layer_makes_readiness_fail_naming_it(settings: Any, tmp_path: Any, which: int) -> None:
    settings.CHANNEL_LAYERS = {"default": broken_layers(tmp_path)[which]}

    response = Client().get("/healthz/ready/")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["channel_layer"]
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
    assert body["checks"]["channel_layer"].startswith("failed (")
    assert "channel_layer" in body["detail"]
    assert "127.0.0.1" not in response.content.decode()  # details go to the log, not to the public


@pytest.mark.django_db
def test_a_broker_that_does_not_answer_makes_readiness_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    if django_settings.REDIS_URL:
        import redis
        from django_q.brokers.redis_broker import Redis

        broker = Redis(list_key="health-test")
        broker.connection = redis.Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    else:
        from django_q.brokers.orm import ORM

        broker = ORM(list_key="health-test")

        def unreachable(*args: Any) -> Any:
            raise DatabaseError("the queue table cannot be read")

        monkeypatch.setattr(broker, "queue_size", unreachable)
    monkeypatch.setattr(health, "_broker", broker)

    response = Client().get("/healthz/ready")

    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


@pytest.mark.django_db
def test_every_failing_part_is_named(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    def database_down() -> None:
        raise DatabaseError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", database_down)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "budflow_site.no_such_module.Layer"}}

    response = Client().get("/healthz/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database", "channel_layer"]
    assert body["checks"]["database"] == "failed (DatabaseError)"
    assert body["detail"] == "not ready: database, channel_layer"
