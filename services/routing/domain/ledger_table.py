"""The ledgers as people read them: week labels as dates, groups and columns in words, units in the headers,
for the dashboard and the CSV / XLSX downloads a manager opens in Excel. Pure.

A summary (services/routing/domain/ledger.py) keeps machine keys (`2026-W49`, `property_repair`, rates as
fractions, medians in hours); `table` turns it into a header row and rows of cells in one language.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.routing.domain.assessment import FIGURES as ASSESSMENT_FIGURES
from services.routing.domain.labels import CHANNEL_KIND_LABELS, CHANNEL_LABELS, VULNERABILITY_LABELS
from services.routing.domain.ledger import COLUMNS, NONE, REFERRED, SELF_FILED
from services.routing.domain.teams import Directory
from shared.i18n import LocalizedText, pick
from shared.statuses import labels as status_labels

GROUP_HEADERS: dict[str, LocalizedText] = {
    "category": {"zh-CN": "类别", "en": "Category"},
    "team": {"zh-CN": "承办团队", "en": "Team"},
    "channel": {"zh-CN": "渠道", "en": "Channel"},
    "status": {"zh-CN": "状态", "en": "Status"},
    "week": {"zh-CN": "周（周一至周日）", "en": "Week (Monday to Sunday)"},
    "filer": {"zh-CN": "代办人", "en": "Filed on behalf by"},
    "grid": {"zh-CN": "网格", "en": "Grid"},
    "building": {"zh-CN": "楼栋", "en": "Building"},
    "vulnerable": {"zh-CN": "困难群体", "en": "Vulnerable group"},
}
# The group of the tasks without a grid, building or vulnerable group (ledger.NONE), and of self-filed ones.
NONE_LABELS: dict[str, LocalizedText] = {
    "grid": {"zh-CN": "未划入网格", "en": "In no grid"},
    "building": {"zh-CN": "未填楼栋", "en": "No building given"},
    "vulnerable": {"zh-CN": "不属困难群体", "en": "In no vulnerable group"},
}
SELF_FILED_LABEL: LocalizedText = {"zh-CN": "居民本人提交", "en": "Filed by the resident"}
CODE_HEADER: LocalizedText = {"zh-CN": "代码", "en": "Code"}
COLUMN_HEADERS: dict[str, LocalizedText] = {
    "count": {"zh-CN": "受理件数", "en": "Received"},
    "resolved": {"zh-CN": "办结件数", "en": "Resolved"},
    "closed": {"zh-CN": "归档件数", "en": "Closed"},
    "on_time_closure_rate": {"zh-CN": "按时办结率（%）", "en": "On-time closure (%)"},
    "reply_rate": {"zh-CN": "答复率（%）", "en": "Reply rate (%)"},
    "satisfaction_rate": {"zh-CN": "满意率（%）", "en": "Satisfaction (%)"},
    "rated": {"zh-CN": "已评价件数", "en": "Rated"},
    "median_hours_to_claim": {"zh-CN": "签收用时中位数（小时）", "en": "Median time to claim (hours)"},
    "median_hours_to_resolve": {"zh-CN": "办结用时中位数（小时）", "en": "Median time to resolve (hours)"},
    "overdue": {"zh-CN": "当前超时件数", "en": "Overdue now"},
    "resolved_late": {"zh-CN": "超时办结件数", "en": "Resolved late"},
    # call-backs (回访) and repeats (并单)
    "followups": {"zh-CN": "需回访件数", "en": "Call-backs due"},
    "followed_up": {"zh-CN": "已回访件数", "en": "Called back"},
    "followup_rate": {"zh-CN": "回访率（%）", "en": "Call-back rate (%)"},
    "rated_online": {"zh-CN": "群众自评件数", "en": "Rated by the resident"},
    "rated_by_phone": {"zh-CN": "电话回访评价件数", "en": "Rated on a call-back"},
    "not_rated": {"zh-CN": "未评价件数", "en": "Not rated"},
    "repeats": {"zh-CN": "重复反映件数", "en": "Repeat requests"},
}
# The per-team assessment (考核, services/routing/domain/assessment.py).
ASSESSMENT_HEADERS: dict[str, LocalizedText] = {
    "received": {"zh-CN": "收件数", "en": "Received"},
    "handled": {"zh-CN": "在办及办结件数", "en": "Held"},
    "resolved": {"zh-CN": "办结件数", "en": "Resolved"},
    "on_time_rate": {"zh-CN": "按时办结率（%）", "en": "On-time closure (%)"},
    "reply_rate": {"zh-CN": "答复率（%）", "en": "Reply rate (%)"},
    "satisfaction_rate": {"zh-CN": "满意率（%）", "en": "Satisfaction (%)"},
    "rated": {"zh-CN": "已评价件数", "en": "Rated"},
    "returned": {"zh-CN": "退单件数", "en": "Returned"},
    "return_rate": {"zh-CN": "退单率（%）", "en": "Return rate (%)"},
    "overdue": {"zh-CN": "当前超时件数", "en": "Overdue now"},
    "score": {"zh-CN": "考核得分", "en": "Score"},
}
TOTAL: LocalizedText = {"zh-CN": "合计", "en": "Total"}
REFERRED_LABEL: LocalizedText = {"zh-CN": "已转介（紧急或其他部门）", "en": "Referred (emergency or another authority)"}
NO_TEAM: LocalizedText = {"zh-CN": "未分派", "en": "No team"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def week_days(key: str) -> tuple[date, date] | None:
    """`2026-W49` -> (Monday 30 Nov 2026, Sunday 6 Dec 2026); None for anything else."""
    try:
        year, week = key.split("-W")
        return date.fromisocalendar(int(year), int(week), 1), date.fromisocalendar(int(year), int(week), 7)
    except ValueError:
        return None


def day_label(day: date, lang: str) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]}" if lang == "en" else f"{day.month}月{day.day}日"


def week_label(key: str, lang: str, *, short: bool = False) -> str:
    """`11月30日–12月6日` / `30 Nov – 6 Dec` (short: the Monday only, for a chart's axis)."""
    days = week_days(key)
    if days is None:
        return key
    first, last = days
    if short:
        return day_label(first, lang)
    return (
        f"{day_label(first, lang)} – {day_label(last, lang)}"
        if lang == "en"
        else (f"{day_label(first, lang)}–{day_label(last, lang)}")
    )


def channel_label(channel: str, lang: str, kind: str | None = None) -> str:
    if channel in CHANNEL_LABELS:
        return pick(CHANNEL_LABELS[channel], lang)
    if channel in CHANNEL_KIND_LABELS:  # a channel named after its kind (hotline, window...)
        return pick(CHANNEL_KIND_LABELS[channel], lang)
    if kind in CHANNEL_KIND_LABELS:
        return f"{pick(CHANNEL_KIND_LABELS[kind], lang)} ({channel})"
    return channel


def group_labeller(
    group_by: str, lang: str, *, categories: Mapping[str, LocalizedText], directory: Directory
) -> Callable[[str], str]:
    """The function naming a group key in `lang`."""

    def name(key: str) -> str:
        if group_by == "category":
            return pick(categories.get(key), lang) or key
        if group_by == "team":
            if key == REFERRED:
                return pick(REFERRED_LABEL, lang)
            ref = directory.ref(key)
            return pick(ref.name, lang) if ref else pick(NO_TEAM, lang) if key == "none" else key
        if group_by == "channel":
            return channel_label(key, lang)
        if group_by == "status":
            return pick(status_labels(key, "staff"), lang)
        if group_by == "week":
            return week_label(key, lang)
        if key == NONE and group_by in NONE_LABELS:
            return pick(NONE_LABELS[group_by], lang)
        if group_by == "grid":
            return grid_label(directory, key, lang)
        if group_by == "building":
            return building_label(key, lang)
        if group_by == "vulnerable":
            return pick(VULNERABILITY_LABELS.get(key), lang) or key
        return pick(SELF_FILED_LABEL, lang) if key == SELF_FILED else key  # filer: the staff username

    return name


def grid_label(directory: Directory, grid_id: str, lang: str) -> str:
    found = next((g for g in directory.areas.grids if g.id == grid_id), None)
    return (pick(found.name, lang) or grid_id) if found else grid_id


def building_label(building: str, lang: str) -> str:
    """`3` -> 3号楼 / Building 3 (buildings are stored as their numbers, services/routing/domain/teams.py)."""
    if not building.isdigit():
        return building
    return f"Building {building}" if lang == "en" else f"{building}号楼"


def cell(column: str, value: Any) -> Any:
    """A figure as a spreadsheet shows it: rates in percent, medians in hours (2 decimals), blanks for none."""
    if value is None:
        return None
    if column.endswith("_rate"):
        return round(value * 100, 1)
    if column.startswith("median_hours"):
        return round(value, 2)
    return value


def table(summary: dict[str, Any], lang: str, name: Callable[[str], str]) -> tuple[list[str], list[list[Any]]]:
    """The header row and the rows (groups, then the total) of a summary, in `lang`."""
    figures = COLUMNS[1:]
    header = [pick(GROUP_HEADERS[summary["group_by"]], lang), pick(CODE_HEADER, lang)]
    header += [pick(COLUMN_HEADERS[c], lang) for c in figures]
    rows = [[name(g["group"]), g["group"], *(cell(c, g[c]) for c in figures)] for g in summary["groups"]]
    rows.append([pick(TOTAL, lang), "", *(cell(c, summary["total"][c]) for c in figures)])
    return header, rows


def to_xlsx(header: list[str], rows: list[list[Any]], title: str) -> bytes:
    """One worksheet: the header in bold and frozen, numbers as numbers, columns wide enough to read."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]  # Excel's limit for a sheet name
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for cell_ in sheet[1]:
        cell_.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, heading in enumerate(header, start=1):
        widest = max([len(str(heading)), *(len(str(r[index - 1] or "")) for r in rows)])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, widest * 2 + 2), 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def assessment_table(
    result: list[dict[str, Any]], lang: str, directory: Directory
) -> tuple[list[str], list[list[Any]]]:
    """The assessment's header row and one row per team, in `lang` (rates in percent, the score 0-100)."""
    header = [pick(GROUP_HEADERS["team"], lang), pick(CODE_HEADER, lang)]
    header += [pick(ASSESSMENT_HEADERS[c], lang) for c in ASSESSMENT_FIGURES]
    rows = []
    for entry in result:
        ref = directory.ref(entry["team"])
        name = pick(ref.name, lang) if ref else entry["team"]
        rows.append([name, entry["team"], *(cell(c, entry[c]) for c in ASSESSMENT_FIGURES)])
    return header, rows
