"""The full ledger (明细台账): one row per request, as a manager opens it in Excel. Pure.

Each row says what came in (kind, channel, who filed it on the resident's behalf), where (building and grid,
the resident's vulnerable groups), who handled it and how fast (dispatched, claimed, resolved, closed, hours
to claim and to resolve, on time or not), what happened on the way (extensions, returns, transfers, reopens)
and how the resident rated it (and whether online or on a call-back).

Personal data: a row holds no resident's name, phone, address, description or tracking code (the code is the
resident's proof: it cancels and rates the request). The place is the building and the grid only. The request
id lets a supervisor open the task in the console.

`header` and `values` give the cells in one language; the API writes them as CSV lines (`csv_line`, UTF-8 with
a byte-order mark) or into a write-only XLSX workbook (`XlsxRows`), page by page, never the whole period in
memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.routing.domain import ledger_table
from services.routing.domain.labels import PRIORITY_LABELS, RATING_LABELS, RATING_SOURCE_LABELS, VULNERABILITY_LABELS
from services.routing.domain.ledger import REFERRED
from services.routing.domain.teams import Directory
from shared.i18n import LocalizedText, pick
from shared.statuses import labels as status_labels

# What the rows read of a task (the store's projection): nothing of the resident's but building and grid.
FIELDS = (
    "service_code",
    "service_name",
    "team_id",
    "status",
    "priority",
    "channel",
    "channel_kind",
    "filed_by",
    "building",
    "grid",
    "vulnerability",
    "submitted_at",
    "first_dispatched_at",
    "first_claimed_at",
    "first_resolved_at",
    "closed_at",
    "resolved_on_time",
    "counts",
    "rating",
    "rating_source",
    "repeat_of",
)

# (key, zh-CN header, en header): the columns, in order.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("request_id", "工单编号", "Request id"),
    ("submitted_at", "受理时间", "Submitted"),
    ("kind", "诉求类别", "Kind"),
    ("kind_code", "类别代码", "Kind code"),
    ("team", "承办团队", "Team"),
    ("status", "当前状态", "Status"),
    ("priority", "紧急程度", "Priority"),
    ("channel", "受理渠道", "Channel"),
    ("filed_by", "代办人", "Filed on behalf by"),
    ("building", "楼栋", "Building"),
    ("grid", "网格", "Grid"),
    ("vulnerable", "困难群体", "Vulnerable group"),
    ("dispatched_at", "派单时间", "Dispatched"),
    ("claimed_at", "签收时间", "Claimed"),
    ("resolved_at", "办结时间", "Resolved"),
    ("closed_at", "归档时间", "Closed"),
    ("hours_to_claim", "签收用时（小时）", "Hours to claim"),
    ("hours_to_resolve", "办结用时（小时）", "Hours to resolve"),
    ("on_time", "按时办结", "Resolved on time"),
    ("extensions", "延期次数", "Extensions"),
    ("returns", "退单次数", "Returns"),
    ("transfers", "转派次数", "Transfers"),
    ("reopens", "重办次数", "Reopened"),
    ("rating", "评价", "Rating"),
    ("rated_via", "评价方式", "How rated"),
    ("repeat", "重复反映", "Repeat request"),
)
KEYS = tuple(key for key, _, _ in COLUMNS)
YES: LocalizedText = {"zh-CN": "是", "en": "yes"}
NO: LocalizedText = {"zh-CN": "否", "en": "no"}
TIME_FORMAT = "%Y-%m-%d %H:%M"
# A CSV or XLSX cell that starts with one of these is read as a formula by Excel: prefix a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def header(lang: str) -> list[str]:
    return [en if lang == "en" else zh for _, zh, en in COLUMNS]


def _local(value: Any, zone: ZoneInfo) -> datetime | None:
    """A stored UTC time as a naive local time (what a spreadsheet cell holds)."""
    if not isinstance(value, datetime):
        return None
    return value.astimezone(zone).replace(tzinfo=None)


def _hours(start: Any, end: Any) -> float | None:
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return None
    return round((end - start).total_seconds() / 3600, 2)


def _team(row: dict[str, Any], directory: Directory, lang: str) -> str:
    team_id = row.get("team_id")
    if not team_id:
        return pick(ledger_table.REFERRED_LABEL if row.get("status") == "not_accepted" else ledger_table.NO_TEAM, lang)
    ref = directory.ref(team_id) if team_id != REFERRED else None
    return pick(ref.name, lang) if ref else str(team_id)


def values(row: dict[str, Any], lang: str, zone: ZoneInfo, directory: Directory) -> list[Any]:
    """The cells of one task (times as naive local datetimes, hours as numbers, words in `lang`)."""
    counts = row.get("counts") or {}
    kinds = [pick(VULNERABILITY_LABELS.get(k), lang) or str(k) for k in dict.fromkeys(row.get("vulnerability") or ())]
    on_time = row.get("resolved_on_time")
    rating = row.get("rating")
    cells: dict[str, Any] = {
        "request_id": str(row.get("_id") or ""),
        "submitted_at": _local(row.get("submitted_at"), zone),
        "kind": pick(row.get("service_name"), lang) or row.get("service_code") or "",
        "kind_code": row.get("service_code") or "",
        "team": _team(row, directory, lang),
        "status": pick(status_labels(str(row.get("status") or ""), "staff"), lang) or row.get("status") or "",
        "priority": pick(PRIORITY_LABELS.get(str(row.get("priority") or "normal")), lang),
        "channel": ledger_table.channel_label(str(row.get("channel") or "unknown"), lang, row.get("channel_kind")),
        "filed_by": row.get("filed_by") or "",
        "building": ledger_table.building_label(row["building"], lang) if row.get("building") else "",
        "grid": ledger_table.grid_label(directory, row["grid"], lang) if row.get("grid") else "",
        "vulnerable": ("、" if lang != "en" else ", ").join(kinds),
        "dispatched_at": _local(row.get("first_dispatched_at"), zone),
        "claimed_at": _local(row.get("first_claimed_at"), zone),
        "resolved_at": _local(row.get("first_resolved_at"), zone),
        "closed_at": _local(row.get("closed_at"), zone),
        "hours_to_claim": _hours(row.get("first_dispatched_at"), row.get("first_claimed_at")),
        "hours_to_resolve": _hours(row.get("first_dispatched_at"), row.get("first_resolved_at")),
        "on_time": "" if on_time is None else pick(YES if on_time else NO, lang),
        "extensions": int(counts.get("extensions") or 0),
        "returns": int(counts.get("returns") or 0),
        "transfers": int(counts.get("transfers") or 0),
        "reopens": int(counts.get("reopens") or 0),
        "rating": pick(RATING_LABELS.get(rating), lang) if rating else "",
        "rated_via": pick(RATING_SOURCE_LABELS.get(row.get("rating_source") or "resident"), lang) if rating else "",
        "repeat": pick(YES, lang) if row.get("repeat_of") else "",
    }
    return [cells[key] for key in KEYS]


def _text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_line(cells: Iterable[Any]) -> str:
    """One CSV line (CRLF), times as `2026-11-24 09:00`, blanks for none; the caller adds the BOM once."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    shown = []
    for value in cells:
        if value is None:
            shown.append("")
        elif isinstance(value, datetime):
            shown.append(value.strftime(TIME_FORMAT))
        else:
            shown.append(_text(value))
    writer.writerow(shown)
    return out.getvalue()


class XlsxRows:
    """A write-only workbook (openpyxl streams its rows to a temporary file, so memory stays flat): a bold
    header, times as Excel dates, numbers as numbers."""

    def __init__(self, title: str, head: list[str]) -> None:
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title[:31])  # Excel's limit for a sheet name
        for index, heading in enumerate(head):
            width = 38 if index == 0 else min(max(10, len(heading) * 2 + 2), 30)
            self.sheet.column_dimensions[get_column_letter(index + 1)].width = width
        self.sheet.freeze_panes = "A2"
        bold = []
        for heading in head:
            cell = WriteOnlyCell(self.sheet, value=heading)
            cell.font = Font(bold=True)
            bold.append(cell)
        self.sheet.append(bold)

    def add(self, cells: list[Any]) -> None:
        row: list[Any] = []
        for value in cells:
            if isinstance(value, datetime):
                cell = WriteOnlyCell(self.sheet, value=value)
                cell.number_format = "yyyy-mm-dd hh:mm"
                row.append(cell)
            else:
                row.append(_text(value))
        self.sheet.append(row)

    def save(self, out: IO[bytes]) -> None:
        self.book.save(out)
