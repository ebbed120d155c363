"""Production settings pass ``manage.py check --deploy`` and behave behind a TLS load balancer.

Each check runs in a child process with a production environment only (no pytest, no DEBUG,
no ``.env`` file), as a web, worker or timer process on a production host would start.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest

from tests.executions.procs import ROOT

# Both backends: the scale-out one (docs/deploy.md) and the single-host embedded default.
# `check` connects to neither, so the addresses need not be reachable.
BACKENDS = {
    "postgres+redis": {
        "DATABASE_URL": "postgres://budflow:budflow@127.0.0.1:5432/budflow",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    },
    "embedded": {},
}


def production_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "BUDFLOW_PUBLIC_URL", "ALLOWED_HOSTS")
        and not k.startswith(("SECURE_", "SESSION_COOKIE_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "budflow_site.settings",
            "BUDFLOW_ENV_FILE": str(tmp_path / "none.env"),
            "BUDFLOW_DATA_DIR": str(tmp_path),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "flows.example.com",
            "BUDFLOW_PUBLIC_URL": "https://flows.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://flows.example.com",
        }
    )
    env.update(extra)
    return env


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_deploy_check_is_clean_with_production_settings(tmp_path, backend):
    result = deploy_check(production_env(tmp_path, **BACKENDS[backend]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


def test_deploy_check_warns_about_a_plain_http_public_url(tmp_path):
    """The check above can fail: served over plain http, the security checks do warn."""
    result = deploy_check(production_env(tmp_path, BUDFLOW_PUBLIC_URL="http://flows.example.com"))
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, result.stderr


def test_choosing_hsts_preload_keeps_the_check_clean(tmp_path):
    result = deploy_check(production_env(tmp_path, SECURE_HSTS_PRELOAD="true"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="flows.example.com")
print(json.dumps({
    "healthz": client.get("/healthz").status_code,
    "page": client.get("/accounts/login/").status_code,
    "location": client.get("/accounts/login/").get("Location"),
    "forwarded_https": client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code,
    "hsts": client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").get("Strict-Transport-Security"),
    "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
}))
"""


def test_behind_a_tls_proxy_pages_redirect_but_health_checks_do_not(tmp_path):
    env = production_env(tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["healthz"] == 200  # a load balancer's plain-http probe
    assert seen["page"] == 301 and seen["location"] == "https://flows.example.com/accounts/login/"
    assert seen["forwarded_https"] == 200  # the proxy terminated TLS: no redirect loop
    assert seen["hsts"] == "max-age=31536000; includeSubDomains"
    assert seen["secure_cookies"] == [True, True]
