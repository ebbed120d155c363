"""System checks for settings combinations that would break BudFlow at run time."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def budflow_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    conf = settings.BUDFLOW
    if conf["HEARTBEAT_SECONDS"] * 2 > conf["LEASE_SECONDS"]:
        problems.append(
            Error(
                "BUDFLOW_HEARTBEAT_SECONDS must be at most half of BUDFLOW_LEASE_SECONDS",
                hint="A lease must survive one missed heartbeat; e.g. lease 30, heartbeat 10.",
                id="budflow.E001",
            )
        )
    engine = settings.DATABASES["default"]["ENGINE"]
    if settings.REDIS_URL and engine.endswith("sqlite3"):
        problems.append(
            Warning(
                "REDIS_URL is set but the database is SQLite",
                hint="Scale-out needs PostgreSQL in DATABASE_URL; SQLite only works on one machine.",
                id="budflow.W001",
            )
        )
    if not settings.DEBUG and settings.SECRET_KEY == settings.INSECURE_DEV_KEY and not settings.TESTING:
        problems.append(Error("SECRET_KEY is the insecure development key", id="budflow.E002"))
    q = settings.Q_CLUSTER
    if int(q["timeout"]) >= int(q["retry"]):  # type: ignore[call-overload]
        problems.append(Error("Q_CLUSTER timeout must be lower than retry", id="budflow.E003"))
    if conf["RUN_INLINE"] and not settings.DEBUG and not settings.TESTING:
        problems.append(
            Warning(
                "BUDFLOW_RUN_INLINE runs executions inside web requests",
                hint="Only for tests and command-line runs.",
                id="budflow.W002",
            )
        )
    return problems
