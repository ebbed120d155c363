"""The router of every BudFlow API app."""

from __future__ import annotations

from typing import Any

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """API.md: every path works with and without its trailing slash.

    DRF turns any true ``trailing_slash`` into ``"/"``, so the optional slash is set after init.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"
