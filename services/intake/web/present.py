"""How the portal shows a request: local times, the steps of the lifecycle, the timeline. No I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

# The five steps a resident sees (受理 → 派单 → 办理 → 办结 → 归档) and the step each status stands at.
STEPS = ("received", "dispatched", "handling", "resolved", "closed")
STEP_OF_STATUS = {
    "submitted": 0,
    "dispatched": 1,
    "returned": 1,
    "claimed": 2,
    "in_progress": 2,
    "on_hold": 2,
    "reopened": 2,
    "resolved": 3,
    "closed": 4,
}
# Statuses that end a request outside the normal steps: the page says so instead of drawing steps.
OFF_STEPS = frozenset({"cancelled", "not_accepted", "duplicate"})


def local_time(moment: datetime | None, lang: str, tz: str) -> str:
    """`2025年5月1日 10:30` / `1 May 2025, 10:30` in the community's time zone."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(tz))
    if lang == "en":
        return f"{local.day} {local:%b %Y, %H:%M}"
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def steps(status: str) -> list[dict[str, Any]] | None:
    """The steps with their state (done, current, todo), or None for a request that left them."""
    if status in OFF_STEPS or status not in STEP_OF_STATUS:
        return None
    at = STEP_OF_STATUS[status]
    return [
        {"key": key, "state": "done" if i < at else "current" if i == at else "todo"} for i, key in enumerate(STEPS)
    ]


def timeline(entries: list[dict[str, Any]], known: set[str]) -> list[dict[str, Any]]:
    """The entries a resident is told about, newest last. Staff-side steps (reminders, escalations,
    extension requests) have no portal text and are left out, as notify leaves them out."""
    return [e for e in entries if f"event.{e['type']}" in known]
