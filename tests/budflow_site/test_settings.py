"""Settings come from the environment only, fail loudly, and pick the right backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from budflow_site.env import env_bool, env_float, env_int, env_list, env_str, load_env_file
from executions.checks import budflow_settings_check
from tests.executions.procs import ROOT

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "options": settings.DATABASES["default"].get("OPTIONS", {}),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "broker": "redis" if "redis" in settings.Q_CLUSTER else settings.Q_CLUSTER.get("orm"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "public": settings.BUDFLOW_PUBLIC_URL,
}))
"""


def settings_in_child(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    child = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG")}
    child.update(
        {
            "DJANGO_SETTINGS_MODULE": "budflow_site.settings",
            "BUDFLOW_DATA_DIR": str(tmp_path),
            "BUDFLOW_ENV_FILE": str(tmp_path / "none.env"),
        }
    )
    child.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=child, capture_output=True, text=True, timeout=60
    )


def test_embedded_default_without_redis(tmp_path):
    result = settings_in_child(tmp_path, SECRET_KEY="k" * 40)
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout)
    assert chosen["engine"] == "django.db.backends.sqlite3"
    assert chosen["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in chosen["options"]["init_command"]
    assert chosen["layer"] == "budflow_site.channel_layer.SQLiteChannelLayer"
    assert chosen["broker"] == "default"
    assert chosen["cache"].endswith("DatabaseCache")


def test_redis_and_postgres_select_scale_out_backends(tmp_path):
    result = settings_in_child(
        tmp_path,
        SECRET_KEY="k" * 40,
        REDIS_URL="redis://127.0.0.1:6379/3",
        DATABASE_URL="postgres://u:p@db.example:5432/budflow",
        BUDFLOW_PUBLIC_URL="https://flows.example.com/",
    )
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout)
    assert chosen["engine"] == "django.db.backends.postgresql"
    assert chosen["layer"] == "budflow_site.redis_layer.RedisChannelLayer"
    assert chosen["broker"] == "redis"
    assert chosen["cache"].endswith("RedisCache")
    assert chosen["public"] == "https://flows.example.com"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY is required"),
        ({"SECRET_KEY": "k", "DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({"SECRET_KEY": "k", "BUDFLOW_WORKERS": "many"}, "BUDFLOW_WORKERS must be an integer"),
        ({"SECRET_KEY": "k", "BUDFLOW_WORKERS": "0"}, "BUDFLOW_WORKERS must be between 1 and 64"),
        ({"SECRET_KEY": "k", "BUDFLOW_LEASE_SECONDS": "soon"}, "BUDFLOW_LEASE_SECONDS must be a number"),
        ({"SECRET_KEY": "k", "BUDFLOW_PUBLIC_URL": "flows.example.com"}, "BUDFLOW_PUBLIC_URL must be an absolute"),
    ],
)
def test_bad_environment_fails_loudly(tmp_path, env, message):
    result = settings_in_child(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_env_readers(monkeypatch, tmp_path):
    monkeypatch.setenv("B", "yes")
    monkeypatch.setenv("I", "12")
    monkeypatch.setenv("F", "0.5")
    monkeypatch.setenv("L", "a, b,,c")
    assert env_bool("B", False) is True and env_bool("MISSING", True) is True
    assert env_int("I", 1) == 12 and env_float("F", 1.0) == 0.5
    assert env_list("L", []) == ["a", "b", "c"]
    assert env_str("MISSING", "d") == "d"
    with pytest.raises(ImproperlyConfigured, match="MISSING2 is required"):
        env_str("MISSING2")
    with pytest.raises(ImproperlyConfigured, match="between 20 and 30"):
        env_int("I", 25, minimum=20, maximum=30)
    env_file = tmp_path / "x.env"
    env_file.write_text("# comment\nNEW_KEY='value'\nI=99\n")
    monkeypatch.delenv("NEW_KEY", raising=False)
    load_env_file(env_file)
    assert os.environ["NEW_KEY"] == "value" and os.environ["I"] == "12"  # never overrides
    monkeypatch.delenv("NEW_KEY")
    env_file.write_text("no equals sign\n")
    with pytest.raises(ImproperlyConfigured, match="line 1"):
        load_env_file(env_file)


def test_system_check_rejects_heartbeat_longer_than_half_the_lease(settings):
    assert [p.id for p in budflow_settings_check()] == []
    settings.BUDFLOW = {**settings.BUDFLOW, "LEASE_SECONDS": 10, "HEARTBEAT_SECONDS": 8}
    assert "budflow.E001" in [p.id for p in budflow_settings_check()]


def test_system_check_warns_redis_with_sqlite(settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.sqlite3")
    assert "budflow.W001" in [p.id for p in budflow_settings_check()]
