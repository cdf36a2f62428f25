"""The ledgers (台账) for supervisors and admins:

- GET /v1/ledger/summary: counts and KPIs per group (分类台账), as JSON, CSV or XLSX;
- GET /v1/ledger/rows: the full ledger, one row per request (明细台账), as CSV or XLSX;
- GET /v1/ledger/assessment: the per-team assessment (考核), as JSON, CSV or XLSX.

All three take the same period (`from`, `to`) and filters (team, category, channel, grid, building,
vulnerable, filer). JSON keeps machine keys (group codes, rates as fractions, medians in hours). CSV and XLSX
are for people: headers and names in `lang` (zh-CN by default), rates in percent, the units in the headers;
the CSV is UTF-8 with a byte-order mark so that Excel reads the Chinese text. The full ledger is read from the
database a page at a time and streamed: memory stays flat whatever the period."""

from __future__ import annotations

import asyncio
import codecs
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse

from services.routing.api.deps import ContainerDep, CurrentActor, require
from services.routing.bootstrap import Container
from services.routing.domain import assessment, ledger, ledger_rows, ledger_table
from services.routing.domain.errors import Invalid
from services.routing.domain.ledger import MAX_DAYS, Filters, bound

router = APIRouter(prefix="/v1", tags=["ledger"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE = 500  # tasks per read of the full ledger
_Short = Annotated[str | None, Query(max_length=100)]
Lang = Annotated[Literal["zh-CN", "en"], Query(description="language of the CSV / XLSX headers and names")]
From = Annotated[str | None, Query(alias="from", description="first day (default: 30 days before `to`)")]
To = Annotated[str | None, Query(description="last day, included (default: today)")]


def filters(
    team: Annotated[str | None, Query(max_length=100, description="a team id (GET /v1/teams)")] = None,
    category: Annotated[str | None, Query(max_length=100, description="a service code")] = None,
    channel: _Short = None,
    grid: Annotated[str | None, Query(max_length=100, description="a grid id; `none`: tasks in no grid")] = None,
    building: Annotated[str | None, Query(max_length=100, description="a building, e.g. 3; `none`: none given")] = None,
    vulnerable: Annotated[
        str | None,
        Query(max_length=40, description="elderly_alone, disabled, widowed, hardship; `none`: in no group"),
    ] = None,
    filer: Annotated[
        str | None, Query(max_length=100, description="who filed on the resident's behalf; `self`")
    ] = None,
) -> Filters:
    return Filters(team, category, channel, grid, building, vulnerable, filer)


FiltersDep = Annotated[Filters, Depends(filters)]


def period(container: Container, from_: str | None, to: str | None) -> tuple[datetime, datetime]:
    """[start, end) in UTC from the query's days (or ISO times), checked: 422 naming the field."""
    zone = ZoneInfo(container.config.calendar.timezone)
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
    return start, end


def _filename(kind: str, start: datetime, end: datetime, zone: ZoneInfo, ext: str) -> tuple[str, str]:
    first, last = start.astimezone(zone), (end - timedelta(seconds=1)).astimezone(zone)
    return f"ledger-{kind}-{first:%Y%m%d}-{last:%Y%m%d}.{ext}", f"{first:%Y-%m-%d}~{last:%Y-%m-%d}"


def _download(body: bytes, format: str, filename: str) -> Response:
    media = "text/csv; charset=utf-8" if format == "csv" else XLSX
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def _rows(container: Container, start: datetime, end: datetime, where: Filters, history: bool = False) -> Any:
    limit = container.settings.routing_ledger_max_tasks
    rows = await container.service.ledger_rows(start, end, limit, where.query(), history)
    if len(rows) > limit:
        raise Invalid("from", f"more than {limit} tasks in the period; narrow it")
    return rows


@router.get(
    "/ledger/summary",
    summary="Counts and KPIs per category, team, channel, filer, status, week, grid, building or vulnerable group",
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}, 403: {"description": "Members and leads"}},
)
async def summary(
    actor: CurrentActor,
    container: ContainerDep,
    where: FiltersDep,
    from_: From = None,
    to: To = None,
    group_by: Annotated[
        ledger.GroupBy,
        Query(
            description="filer: who filed on the resident's behalf (grid worker, operator, clerk), `self` if nobody; "
            "vulnerable: a resident in two groups counts in both; grid, building, vulnerable: `none` for none"
        ),
    ] = "category",
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
    lang: Lang = "zh-CN",
) -> Any:
    require(actor, "supervisor", "admin")
    timezone = container.config.calendar.timezone
    zone = ZoneInfo(timezone)
    start, end = period(container, from_, to)
    rows = await _rows(container, start, end, where)
    result = ledger.summarize(rows, group_by, container.clock(), zone)
    if format != "json":
        codes = [g["group"] for g in result["groups"]] if group_by == "category" else []
        categories = await container.service.service_names(codes)
        name = ledger_table.group_labeller(group_by, lang, categories=categories, directory=container.config.directory)
        header, table = ledger_table.table(result, lang, name)
        filename, sheet = _filename(group_by, start, end, zone, format)
        if format == "csv":
            return _download(ledger.to_csv(header, table), format, filename)
        return _download(ledger_table.to_xlsx(header, table, sheet), format, filename)
    return {"from": start, "to": end, "timezone": timezone, "filters": where.given(), **result}


async def _pages(container: Container, start: datetime, end: datetime, where: Filters) -> AsyncIterator[list[Any]]:
    """The full ledger's tasks, oldest first, PAGE at a time (keyset paging: no skip, no cursor held open)."""
    after: tuple[datetime, str] | None = None
    query = where.query()
    while True:
        page = await container.store.ledger_page(start, end, query, ledger_rows.FIELDS, after, PAGE)
        if not page:
            return
        yield page
        if len(page) < PAGE:
            return
        after = (page[-1]["submitted_at"], page[-1]["_id"])


@router.get(
    "/ledger/rows",
    summary="The full ledger: one row per request, as CSV or XLSX (supervisors, admins)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}, 403: {"description": "Members and leads"}},
)
async def rows(
    actor: CurrentActor,
    container: ContainerDep,
    where: FiltersDep,
    from_: From = None,
    to: To = None,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    lang: Lang = "zh-CN",
) -> Response:
    """Kind, team, channel, building, grid, vulnerable group, filer, dates, hours to claim and resolve, on time,
    extensions, returns, transfers, reopens, rating and how it was given. No resident's name, phone, address,
    description or tracking code."""
    require(actor, "supervisor", "admin")
    zone = ZoneInfo(container.config.calendar.timezone)
    directory = container.config.directory
    start, end = period(container, from_, to)
    limit = container.settings.routing_ledger_max_tasks
    if await container.store.ledger_count(start, end, where.query()) > limit:
        raise Invalid("from", f"more than {limit} tasks in the period; narrow it")
    filename, sheet = _filename("rows", start, end, zone, format)
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    head = ledger_rows.header(lang)
    if format == "csv":

        async def lines() -> AsyncIterator[bytes]:
            yield codecs.BOM_UTF8 + ledger_rows.csv_line(head).encode()
            async for page in _pages(container, start, end, where):
                yield "".join(ledger_rows.csv_line(ledger_rows.values(r, lang, zone, directory)) for r in page).encode()

        return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=disposition)

    workbook = ledger_rows.XlsxRows(sheet, head)
    async for page in _pages(container, start, end, where):
        for row in page:
            workbook.add(ledger_rows.values(row, lang, zone, directory))
    # The workbook is written to a temporary file (spilling to disk past 8 MB), off the event loop.
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    await asyncio.to_thread(workbook.save, spool)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            spool.seek(0)
            while chunk := await asyncio.to_thread(spool.read, 1 << 16):
                yield chunk
        finally:
            spool.close()

    return StreamingResponse(chunks(), media_type=XLSX, headers=disposition)


@router.get(
    "/ledger/assessment",
    summary="The per-team assessment (考核): on-time, reply, satisfaction and return rates and a weighted score",
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}, 403: {"description": "Members and leads"}},
)
async def assess(
    actor: CurrentActor,
    container: ContainerDep,
    where: FiltersDep,
    from_: From = None,
    to: To = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
    lang: Lang = "zh-CN",
) -> Any:
    require(actor, "supervisor", "admin")
    zone = ZoneInfo(container.config.calendar.timezone)
    start, end = period(container, from_, to)
    rows = await _rows(container, start, end, where, history=True)
    directory = container.config.directory
    weights = container.config.assessment.weights
    teams = [where.team] if where.team else [t.id for t in directory.teams]
    result = assessment.assess(rows, teams, container.clock(), weights)
    if where.team:
        result = [r for r in result if r["team"] == where.team]
    if format == "json":
        return {
            "from": start,
            "to": end,
            "timezone": str(zone),
            "filters": where.given(),
            "weights": weights.model_dump(),
            "teams": result,
        }
    header, table = ledger_table.assessment_table(result, lang, directory)
    filename, sheet = _filename("assessment", start, end, zone, format)
    if format == "csv":
        return _download(ledger.to_csv(header, table), format, filename)
    return _download(ledger_table.to_xlsx(header, table, sheet), format, filename)
