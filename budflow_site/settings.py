"""BudFlow settings: read from the environment only (see ``.env.example``).

Without ``REDIS_URL`` BudFlow runs on the embedded default: SQLite (WAL), the django-q2 ORM
broker, a database cache and a SQLite-file channel layer shared by the web, worker and timer
processes of one machine. With ``REDIS_URL`` (and PostgreSQL in ``DATABASE_URL``) it uses
channels-redis, the django-q2 Redis broker and a Redis cache, for any number of hosts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url

from budflow_site.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    load_env_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent
load_env_file(Path(os.environ.get("BUDFLOW_ENV_FILE", BASE_DIR / ".env")))

DATA_DIR = Path(env_str("BUDFLOW_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
INSECURE_DEV_KEY = "insecure-dev-key-only-for-debug-and-tests"
TESTING = "pytest" in sys.modules
# Tests get a key of their own (not the development key the deploy check refuses), so the worker
# and timer processes they start run their system checks cleanly.
TEST_KEY = "budflow-test-suite-key-not-for-production"
SECRET_KEY = env_str("SECRET_KEY", INSECURE_DEV_KEY if DEBUG else TEST_KEY if TESTING else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

BUDFLOW_PUBLIC_URL = env_str("BUDFLOW_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
if urlparse(BUDFLOW_PUBLIC_URL).scheme not in ("http", "https"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("BUDFLOW_PUBLIC_URL must be an absolute http(s) URL")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "django_q",
    "budflow_site",
    "workflows",
    "executions",
    "pindata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "budflow_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "budflow_site.wsgi.application"
ASGI_APPLICATION = "budflow_site.asgi.application"

# -- database ---------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'budflow.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=0 if TESTING else env_int("DB_CONN_MAX_AGE", 60))
}
IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if IS_SQLITE:
    # Several processes share the file: WAL lets readers run beside the writer, IMMEDIATE
    # takes the write lock at BEGIN so two writers queue instead of failing mid-transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if TESTING else 60
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not memory) so worker processes started by tests share it; one per test run.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test_budflow_{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# -- redis / queue / channel layer / cache ----------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Executions mostly wait on I/O (database, HTTP), and continuations of due waits need free
# workers at once: twice the cores, at least four.
Q_WORKERS = env_int("BUDFLOW_WORKERS", max(4, 2 * (os.cpu_count() or 1)), minimum=1, maximum=64)
Q_TASK_TIMEOUT = env_int("BUDFLOW_TASK_TIMEOUT", 3600, minimum=10)
Q_CLUSTER: dict[str, object] = {
    "name": env_str("BUDFLOW_QUEUE_NAME", "budflow"),
    "workers": Q_WORKERS,
    # Few prefetched tasks, so urgent continuations queued at the head are picked up soon.
    "queue_limit": Q_WORKERS,
    "timeout": Q_TASK_TIMEOUT,
    "retry": Q_TASK_TIMEOUT + 60,
    "max_attempts": 1,
    "recycle": 500,
    "save_limit": 250,
    "ack_failures": True,
    "catch_up": False,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis on a blocking pool: bursts of subscriptions wait for a connection.
            "BACKEND": "budflow_site.redis_layer.RedisChannelLayer",
            # redis-py 8 defaults to a 5 s socket timeout, which kills idle websockets.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "max_connections": 100, "timeout": 20}],
                "capacity": 1500,
                "expiry": 30,
            },
        }
    }
    # Keys are scoped like the queue: deployments (and test runs) sharing a Redis never read
    # each other's entries (cached pins naming ids of another database).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": str(Q_CLUSTER["name"]),
        }
    }
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.05
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "budflow_site.channel_layer.SQLiteChannelLayer",
            "CONFIG": {"path": str(DATA_DIR / "channels.sqlite3")},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "budflow_cache"}}

# -- auth / API -------------------------------------------------------------------------
if TESTING:
    # Hashing passwords properly is most of a user fixture's cost; tests need no strength.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Owners who are not staff sign in here (the admin's login is for staff only).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/api/executions/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "budflow_site.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BudFlow API",
    "DESCRIPTION": "Durable workflow execution engine (n8n-compatible workflows).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "ExecutionModeEnum": "executions.choices.ExecutionMode",
        "ExecutionStatusEnum": "executions.choices.ExecutionStatus",
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("BUDFLOW_MAX_BODY_BYTES", 16 * 1024 * 1024, minimum=1024)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

if not DEBUG:
    # An https public URL means TLS in front of daphne (docs/deploy.md): secure cookies, redirect
    # http to https and HSTS by default, each overridable by the variable of the same name.
    _HTTPS = BUDFLOW_PUBLIC_URL.startswith("https")
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
    # Load balancers probe each web process over plain http: never redirect the health checks.
    SECURE_REDIRECT_EXEMPT = [r"^healthz(/|$)"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS else 0, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole registrable domain to https in browsers for months: an
        # operator's decision (SECURE_HSTS_PRELOAD=true), not a default the deploy check nags for.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # Behind a proxy that sets this header (and strips it from clients), e.g. X-Forwarded-Proto,
    # when daphne does not run with --proxy-headers.
    if _proxy_ssl_header := env_str("SECURE_PROXY_SSL_HEADER", ""):
        SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Records carry the execution id and node they were logged under (budflow_site/logs.py).
    "filters": {"execution": {"()": "budflow_site.logs.ExecutionContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(context)s %(message)s"},
        "json": {"()": "budflow_site.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env_choice("LOG_FORMAT", "plain", ("plain", "json")),
            "filters": ["execution"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django_q": {"level": env_str("Q_LOG_LEVEL", "WARNING")},
        # httpx logs full request URLs (query strings may carry tokens) at INFO.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# -- BudFlow engine ---------------------------------------------------------------------
BUDFLOW: dict[str, Any] = {
    "LEASE_SECONDS": env_float("BUDFLOW_LEASE_SECONDS", 30.0, minimum=1.0),
    "HEARTBEAT_SECONDS": env_float("BUDFLOW_HEARTBEAT_SECONDS", 10.0, minimum=0.1),
    "MAX_RECOVERIES": env_int("BUDFLOW_MAX_RECOVERIES", 3, minimum=0),
    "MAX_NODE_RUNS": env_int("BUDFLOW_MAX_NODE_RUNS", 100_000, minimum=10),
    "CHECKPOINT_BATCH": env_int("BUDFLOW_CHECKPOINT_BATCH", 50, minimum=1),
    "CHECKPOINT_INTERVAL_MS": env_int("BUDFLOW_CHECKPOINT_INTERVAL_MS", 20, minimum=0),
    "WAIT_TILL_COMPLETION_SECONDS": env_float("BUDFLOW_WAIT_TILL_COMPLETION_SECONDS", 60.0, minimum=0.1),
    "TIMER_POLL_SECONDS": env_float("BUDFLOW_TIMER_POLL_SECONDS", 1.0, minimum=0.05),
    # Time waits are handed to a worker this early; it restores the run and continues on time.
    "TIMER_LEAD_MS": env_int("BUDFLOW_TIMER_LEAD_MS", 250, minimum=0, maximum=5000),
    # The timer process runs due continuations itself (threads) for up to this long, then hands
    # them to the workers; 0 queues them for the workers at once.
    "TIMER_RUN_BUDGET_SECONDS": env_float("BUDFLOW_TIMER_RUN_BUDGET_SECONDS", 0.5, minimum=0.0),
    "TIMER_THREADS": env_int("BUDFLOW_TIMER_THREADS", 32, minimum=1, maximum=256),
    "UNCLAIMED_REQUEUE_SECONDS": env_float("BUDFLOW_UNCLAIMED_REQUEUE_SECONDS", 30.0, minimum=1.0),
    # A node's retry wait longer than this parks the run as a timed wait instead of holding the worker.
    "RETRY_INLINE_MAX_SECONDS": env_float("BUDFLOW_RETRY_INLINE_MAX_SECONDS", 2.0, minimum=0.0),
    # A run its workflow's saving settings do not keep (``saveManualExecutions: false``,
    # ``saveData*Execution: "none"``) is deleted this long after it ends (time for its caller to
    # read the result); a waiting run is kept until it ends.
    "UNSAVED_KEEP_SECONDS": env_float("BUDFLOW_UNSAVED_KEEP_SECONDS", 60.0, minimum=0.0),
    "RUN_INLINE": env_bool("BUDFLOW_RUN_INLINE", False),
    # Pin data: limits per pin (refused, never truncated) and keys masked by default (regexes).
    "PIN_MAX_ITEMS": env_int("BUDFLOW_PIN_MAX_ITEMS", 10_000, minimum=1),
    "PIN_MAX_BYTES": env_int("BUDFLOW_PIN_MAX_BYTES", 10 * 1024 * 1024, minimum=1024),
    "PIN_SENSITIVE_KEYS": env_list(
        "BUDFLOW_PIN_SENSITIVE_KEYS",
        [r"passw(or)?d", r"secret", r"token", r"api[_-]?key", r"authorization", r"private[_-]?key", r"credential"],
    ),
    # Webhooks answering with the last node or a Respond node run short executions in the web
    # process (the execution row exists first, so a web crash is recovered like a worker crash).
    "WEBHOOK_INLINE": env_bool("BUDFLOW_WEBHOOK_INLINE", True),
    "WEBHOOK_RESPONSE_TIMEOUT_SECONDS": env_float("BUDFLOW_WEBHOOK_RESPONSE_TIMEOUT_SECONDS", 60.0, minimum=0.1),
    # A websocket subscription re-reads whether its user may still see the execution at most
    # this often, when events flow (a revoked user stops receiving them within about this long).
    "PROGRESS_RECHECK_SECONDS": env_float("BUDFLOW_PROGRESS_RECHECK_SECONDS", 5.0, minimum=0.0),
    # Sub-workflows: the top execution has depth 0 and each child one more; deeper calls fail.
    "MAX_SUBWORKFLOW_DEPTH": env_int("BUDFLOW_MAX_SUBWORKFLOW_DEPTH", 10, minimum=1, maximum=100),
    # Saving (n8n's instance defaults, used when a workflow's setting is absent or "DEFAULT"):
    # a production run ending that way with "none" is deleted after it ends (see UNSAVED_KEEP_SECONDS).
    "SAVE_DATA_ON_ERROR": env_choice("BUDFLOW_SAVE_DATA_ON_ERROR", "all", ("all", "none")),
    "SAVE_DATA_ON_SUCCESS": env_choice("BUDFLOW_SAVE_DATA_ON_SUCCESS", "all", ("all", "none")),
    "SAVE_MANUAL_EXECUTIONS": env_bool("BUDFLOW_SAVE_MANUAL_EXECUTIONS", True),
    # Pruning (a scheduled django-q2 task, ``executions.services.pruning``): ended executions older
    # than MAX_AGE or beyond the newest MAX_COUNT (0 = no limit) are hidden (soft-deleted), then
    # deleted HARD_DELETE_BUFFER later. Never new, running or waiting ones.
    "PRUNE": env_bool("BUDFLOW_PRUNE", True),
    "PRUNE_MAX_AGE_HOURS": env_float("BUDFLOW_PRUNE_MAX_AGE_HOURS", 336.0, minimum=0.0),
    "PRUNE_MAX_COUNT": env_int("BUDFLOW_PRUNE_MAX_COUNT", 10_000, minimum=0),
    "PRUNE_HARD_DELETE_BUFFER_HOURS": env_float("BUDFLOW_PRUNE_HARD_DELETE_BUFFER_HOURS", 1.0, minimum=0.0),
    "PRUNE_INTERVAL_MINUTES": env_int("BUDFLOW_PRUNE_INTERVAL_MINUTES", 15, minimum=1),
    "PRUNE_BATCH": env_int("BUDFLOW_PRUNE_BATCH", 500, minimum=1),
    # While a node runs, its worker looks for a stop request this often (a stop aborts the node).
    "CANCEL_POLL_SECONDS": env_float("BUDFLOW_CANCEL_POLL_SECONDS", 0.25, minimum=0.01),
    # Execution timeout in seconds of running time (n8n's EXECUTIONS_TIMEOUT / _MAX): the default
    # for workflows without ``executionTimeout`` (-1 = none), and the most any workflow may set.
    "EXECUTION_TIMEOUT": env_float("BUDFLOW_EXECUTION_TIMEOUT", -1.0, minimum=-1.0),
    "EXECUTION_TIMEOUT_MAX": env_float("BUDFLOW_EXECUTION_TIMEOUT_MAX", 3600.0, minimum=1.0),
    # Most ``webhook`` and ``trigger`` executions running at once (0 = unlimited; a workflow may
    # set a lower ``concurrencyLimit``); the rest stay ``new``, started first in, first out.
    "PRODUCTION_CONCURRENCY": env_int("BUDFLOW_PRODUCTION_CONCURRENCY", 0, minimum=0),
}
