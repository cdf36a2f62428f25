"""GET /v1/ledger/summary: the classified ledgers (分类台账) for supervisors and admins, as JSON or CSV."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from services.routing.api.deps import ContainerDep, CurrentActor, require
from services.routing.domain import ledger
from services.routing.domain.errors import Invalid
from services.routing.domain.ledger import MAX_DAYS, bound

router = APIRouter(prefix="/v1", tags=["ledger"])


@router.get(
    "/ledger/summary",
    summary="Counts and KPIs per category, team, channel, filer, status or week (supervisors, admins)",
    responses={200: {"content": {"text/csv": {}}}, 403: {"description": "Members and leads"}},
)
async def summary(
    actor: CurrentActor,
    container: ContainerDep,
    from_: Annotated[str | None, Query(alias="from", description="first day (default: 30 days before `to`)")] = None,
    to: Annotated[str | None, Query(description="last day, included (default: today)")] = None,
    group_by: Annotated[
        Literal["category", "team", "channel", "filer", "status", "week"],
        Query(description="filer: who filed on the resident's behalf (grid worker, operator, clerk); `self` if nobody"),
    ] = "category",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    require(actor, "supervisor", "admin")
    timezone = container.config.calendar.timezone
    zone = ZoneInfo(timezone)
    now = container.clock()
    try:
        end = bound(to, zone, "to", end=True) or datetime.combine(
            now.astimezone(zone).date() + timedelta(days=1), time(0), zone
        ).astimezone(UTC)
        start = bound(from_, zone, "from", end=False) or end - timedelta(days=30)
    except OverflowError as exc:
        raise Invalid("from" if from_ else "to", "the date is out of range") from exc
    if start >= end:
        raise Invalid("from", "must be before `to`")
    if end - start > timedelta(days=MAX_DAYS):
        raise Invalid("from", f"the period is at most {MAX_DAYS} days; narrow it")
    limit = container.settings.routing_ledger_max_tasks
    rows = await container.service.ledger_rows(start, end, limit)
    if len(rows) > limit:
        raise Invalid("from", f"more than {limit} tasks in the period; narrow it")
    result = ledger.summarize(rows, group_by, now, zone)
    if format == "csv":
        first, last = start.astimezone(zone), (end - timedelta(seconds=1)).astimezone(zone)
        name = f"ledger-{group_by}-{first:%Y%m%d}-{last:%Y%m%d}.csv"
        return PlainTextResponse(
            ledger.to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return {"from": start, "to": end, "timezone": timezone, **result}
