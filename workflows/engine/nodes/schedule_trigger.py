"""``n8n-nodes-base.scheduleTrigger`` 1.2: starts executions on intervals or cron (via the timer process)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from workflows.engine.context import NodeContext
from workflows.engine.nodes.base import NodeType
from workflows.engine.registry import registry
from workflows.engine.schedule import schedule_crons, zone
from workflows.engine.state import Items


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def fire_item(when: dt.datetime) -> dict[str, Any]:
    """The item n8n's Schedule Trigger outputs for one fire time."""
    hour12 = when.hour % 12 or 12
    ampm = "am" if when.hour < 12 else "pm"
    offset = when.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else "+00:00"
    return {
        "timestamp": when.isoformat(),
        "Readable date": f"{when.strftime('%B')} {_ordinal(when.day)} {when.year}, "
        f"{hour12}:{when.minute:02d}:{when.second:02d} {ampm}",
        "Readable time": f"{hour12}:{when.minute:02d}:{when.second:02d} {ampm}",
        "Day of week": when.strftime("%A"),
        "Year": str(when.year),
        "Month": when.strftime("%B"),
        "Day of month": f"{when.day:02d}",
        "Hour": f"{when.hour:02d}",
        "Minute": f"{when.minute:02d}",
        "Second": f"{when.second:02d}",
        "Timezone": f"{when.tzname() or 'UTC'} (UTC{offset})",
    }


@registry.register
class ScheduleTrigger(NodeType):
    type = "n8n-nodes-base.scheduleTrigger"
    versions = (1.2,)
    description = "Starts `trigger` executions of an active workflow on `rule.interval[]` (intervals or cron)."
    is_trigger = True
    inputs = 0

    def validate_parameters(self, parameters: Mapping[str, Any], node: Mapping[str, Any]) -> None:
        schedule_crons(parameters)

    def execute(self, ctx: NodeContext) -> list[Items]:
        items = ctx.input(0)
        if items:
            return [items]
        tz = zone(str(ctx.execution.extra.get("timezone") or "UTC"))
        return [[{"json": fire_item(dt.datetime.now(tz).replace(microsecond=0))}]]
