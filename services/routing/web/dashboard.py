"""The ledger dashboard (/console/ledger, supervisors and admins): the KPIs of a period, charts by category,
team and week (server-rendered SVG), the figures as tables, a table by grid, building, vulnerable group, filer,
channel or status (`group_by`), the per-team assessment (考核), and CSV / XLSX downloads from the ledger API
(the summaries, the assessment and the full ledger, one row per request). Filters (team, grid, vulnerable
group) narrow the whole page and its downloads.

The figures are the ledger API's (services/routing/domain/ledger.py): the same rows, the same definitions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.routing.api.deps import get_container
from services.routing.domain import assessment, ledger, ledger_table
from services.routing.domain.errors import Invalid
from services.routing.domain.ledger import MAX_DAYS, NONE, Filters, bound
from services.routing.domain.rules import VULNERABILITIES
from services.routing.service import RoutingService
from services.routing.web import charts
from services.routing.web.base import error_page, page, present, to_login
from services.routing.web.present import Present
from services.routing.web.session import load_session

router = APIRouter(include_in_schema=False)

CHARTED = ("category", "team", "week")
# The table below the charts: one of these, chosen on the page (`group_by`).
MORE_GROUPS = ("grid", "building", "vulnerable", "filer", "channel", "status")
KPIS = (
    ("count", "count"),
    ("resolved", "count"),
    ("on_time_closure_rate", "rate"),
    ("reply_rate", "rate"),
    ("satisfaction_rate", "rate"),
    ("median_hours_to_claim", "hours"),
    ("median_hours_to_resolve", "hours"),
    ("overdue", "count"),
)


class PeriodError(Exception):
    """The dates cannot be used; the message is in the page's language."""


def _period(raw_from: str, raw_to: str, today: date, zone: ZoneInfo, p: Present) -> tuple[str, str, datetime, datetime]:
    """The form's dates (defaults: the 30 days up to today) as the ledger API reads them."""
    to_day = raw_to or today.isoformat()
    if not raw_from:
        try:
            raw_from = (date.fromisoformat(to_day) - timedelta(days=29)).isoformat()
        except ValueError as exc:
            raise PeriodError(p.t("error.date", field=p.t("ledger.to"))) from exc
    try:
        start = bound(raw_from, zone, "from", end=False)
        end = bound(to_day, zone, "to", end=True)
    except (Invalid, OverflowError) as exc:
        field = getattr(exc, "field", "from")
        raise PeriodError(p.t("error.date", field=p.t(f"ledger.{field}"))) from exc
    assert start is not None and end is not None
    if start >= end:
        raise PeriodError(p.t("error.date_order"))
    if end - start > timedelta(days=MAX_DAYS):
        raise PeriodError(p.t("error.date_span", days=MAX_DAYS))
    return raw_from, to_day, start, end


async def _category_names(svc: RoutingService, codes: list[str], p: Present) -> dict[str, str]:
    stored = await svc.service_names(codes)
    return {code: p.pick(stored.get(code), code) for code in codes}


def _label(group_by: str, key: str, p: Present, categories: dict[str, str], request: Request) -> str:
    if group_by == "category":
        return categories.get(key, key)
    if group_by == "team":
        return p.t("team.referred") if key == ledger.REFERRED else p.team(key)
    if group_by == "week":
        return ledger_table.week_label(key, p.lang)  # 11月30日–12月6日, not 2026-W49
    directory = get_container(request).config.directory
    return ledger_table.group_labeller(group_by, p.lang, categories={}, directory=directory)(key)


def _filters(request: Request, p: Present) -> Filters:
    """The page's filters; a value the form does not offer is refused (422), naming the filter."""
    directory = get_container(request).config.directory
    allowed = {
        "team": {t.id for t in directory.teams},
        "grid": {g.id for g in directory.areas.grids} | {NONE},
        "vulnerable": {*VULNERABILITIES, NONE},
    }
    chosen: dict[str, str] = {}
    for name, values in allowed.items():
        value = request.query_params.get(name, "").strip()
        if value and value not in values:
            raise PeriodError(p.t("ledger.bad_filter", field=p.t(f"ledger.filter_{name}")))
        if value:
            chosen[name] = value
    return Filters(**chosen)


def _filter_options(request: Request, p: Present) -> dict[str, list[tuple[str, str]]]:
    directory = get_container(request).config.directory
    return {
        "team": [(t.id, p.team(t.id)) for t in directory.teams],
        "grid": [(g.id, p.grid(g.id)) for g in directory.areas.grids] + [(NONE, p.t("ledger.none_grid"))],
        "vulnerable": [(v, p.t(f"vulnerability.{v}")) for v in VULNERABILITIES]
        + [(NONE, p.t("ledger.none_vulnerable"))],
    }


@router.get("/console/ledger")
async def ledger_page(request: Request) -> Response:
    session = await load_session(request)
    if session is None:
        return to_login(request)
    p = present(request)
    if not session.supervises:
        return error_page(request, session, 403, p.t("error.supervisors_only"))
    container = get_container(request)
    svc, timezone = container.service, container.config.calendar.timezone
    zone = ZoneInfo(timezone)
    now = container.clock()
    today = now.astimezone(zone).date()
    raw_from = request.query_params.get("from", "").strip()[:40]
    raw_to = request.query_params.get("to", "").strip()[:40]
    ranges = [
        (days, {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()})
        for days in (7, 30, 90, 365)
    ]
    group_by = request.query_params.get("group_by", "grid")
    group_by = group_by if group_by in MORE_GROUPS else "grid"
    context: dict[str, Any] = {
        "from_value": raw_from,
        "to_value": raw_to,
        "ranges": ranges,
        "error": None,
        "group_by": group_by,
        "more_groups": MORE_GROUPS,
        "options": _filter_options(request, p),
        "chosen": {},
    }
    try:
        first, last, start, end = _period(raw_from, raw_to, today, zone, p)
        where = _filters(request, p)
    except PeriodError as exc:
        return page(request, "console/ledger.html", session, status_code=422, **{**context, "error": str(exc)})
    context["chosen"] = where.given()
    limit = container.settings.routing_ledger_max_tasks
    rows = await svc.ledger_rows(start, end, limit, where.query(), history=True)  # history: the assessment's returns
    if len(rows) > limit:
        context |= {"from_value": first, "to_value": last, "error": p.t("error.too_many", limit=limit)}
        return page(request, "console/ledger.html", session, status_code=422, **context)
    summaries = {g: ledger.summarize(rows, g, now, zone) for g in (*CHARTED, group_by)}
    categories = await _category_names(svc, [g["group"] for g in summaries["category"]["groups"]], p)
    tables = {
        g: [{**row, "label": _label(g, row["group"], p, categories, request)} for row in summaries[g]["groups"]]
        for g in (*CHARTED, group_by)
    }
    teams = [where.team] if where.team else [t.id for t in container.config.directory.teams]
    assessed = assessment.assess(rows, teams, now, container.config.assessment.weights)
    assessed = [{**a, "label": p.team(a["team"])} for a in assessed if not where.team or a["team"] == where.team]
    common = {"received": p.t("ledger.received"), "resolved": p.t("ledger.resolved"), "empty": p.t("ledger.empty")}
    by_count = sorted(tables["category"], key=lambda r: (-r["count"], r["label"]))
    by_team = sorted(tables["team"], key=lambda r: (-r["count"], r["label"]))
    chart = {
        "category": charts.bars(
            [charts.Bar(r["label"], r["count"], r["resolved"]) for r in by_count],
            title=p.t("ledger.by_category"),
            **common,
        ),
        "team": charts.bars(
            [
                charts.Bar(
                    r["label"],
                    r["count"],
                    r["resolved"],
                    p.t("ledger.on_time_short", rate=p.percent(r["on_time_closure_rate"])),
                )
                for r in by_team
            ],
            title=p.t("ledger.by_team"),
            **common,
        ),
        "week": charts.columns(
            [
                charts.Bar(ledger_table.week_label(r["group"], p.lang, short=True), r["count"], r["resolved"])
                for r in tables["week"]
            ],
            title=p.t("ledger.by_week"),
            **common,
        ),
    }
    chosen = where.given()
    downloads = {
        g: {
            kind: "/v1/ledger/summary?"
            + urlencode({"from": first, "to": last, "group_by": g, "format": kind, "lang": p.lang, **chosen})
            for kind in ("csv", "xlsx")
        }
        for g in (*CHARTED, *MORE_GROUPS)
    }
    for name, path in (("rows", "/v1/ledger/rows"), ("assessment", "/v1/ledger/assessment")):
        downloads[name] = {
            kind: f"{path}?" + urlencode({"from": first, "to": last, "format": kind, "lang": p.lang, **chosen})
            for kind in ("csv", "xlsx")
        }
    context |= {
        "from_value": first,
        "to_value": last,
        "total": summaries["category"]["total"],
        "kpis": KPIS,
        "tables": {"category": by_count, "team": by_team, "week": tables["week"], group_by: tables[group_by]},
        "more_total": summaries[group_by]["total"],
        "assessment": assessed,
        "assessment_figures": assessment.FIGURES,
        "weights": container.config.assessment.weights,
        "chart": chart,
        "downloads": downloads,
        "columns": ledger.COLUMNS[1:],
        "timezone": timezone,
    }
    return page(request, "console/ledger.html", session, **context)
