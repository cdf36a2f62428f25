"""GET /v1/ledger/summary: the classified ledgers (分类台账) for supervisors and admins, as JSON, CSV or XLSX.

JSON keeps machine keys (group codes, rates as fractions, medians in hours). CSV and XLSX are for people:
headers and group names in `lang` (zh-CN by default), week ranges as dates, rates in percent, the units in
the headers; the CSV is UTF-8 with a byte-order mark so that Excel reads the Chinese text."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.routing.api.deps import ContainerDep, CurrentActor, require
from services.routing.domain import ledger, ledger_table
from services.routing.domain.errors import Invalid
from services.routing.domain.ledger import MAX_DAYS, bound

router = APIRouter(prefix="/v1", tags=["ledger"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/ledger/summary",
    summary="Counts and KPIs per category, team, channel, filer, status or week (supervisors, admins)",
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}, 403: {"description": "Members and leads"}},
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
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
    lang: Annotated[Literal["zh-CN", "en"], Query(description="language of the CSV / XLSX headers")] = "zh-CN",
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
    if format != "json":
        codes = [g["group"] for g in result["groups"]] if group_by == "category" else []
        categories = await container.service.service_names(codes)
        name = ledger_table.group_labeller(group_by, lang, categories=categories, directory=container.config.directory)
        header, table = ledger_table.table(result, lang, name)
        first, last = start.astimezone(zone), (end - timedelta(seconds=1)).astimezone(zone)
        filename = f"ledger-{group_by}-{first:%Y%m%d}-{last:%Y%m%d}.{format}"
        disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if format == "csv":
            return Response(ledger.to_csv(header, table), media_type="text/csv; charset=utf-8", headers=disposition)
        sheet = f"{first:%Y-%m-%d}~{last:%Y-%m-%d}"
        return Response(ledger_table.to_xlsx(header, table, sheet), media_type=XLSX, headers=disposition)
    return {"from": start, "to": end, "timezone": timezone, **result}
