"""The ledger's arithmetic: groups, rates, medians, weeks in local time, CSV."""

from __future__ import annotations

import codecs
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from services.routing.config import DEPLOY, read_directory
from services.routing.domain.ledger import metrics, summarize, to_csv
from services.routing.domain.ledger_table import group_labeller, table, to_xlsx, week_label

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
DIRECTORY = read_directory(DEPLOY / "teams.yaml")


def row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "service_code": "property_repair",
        "team_id": "property_maintenance",
        "channel": "web",
        "status": "dispatched",
        "submitted_at": datetime(2026, 11, 24, 1, tzinfo=UTC),
        "first_dispatched_at": datetime(2026, 11, 24, 1, tzinfo=UTC),
    }
    return {**base, **kw}


def test_empty_groups_have_no_rates() -> None:
    m = metrics([], NOW)
    assert m["count"] == 0 and m["on_time_closure_rate"] is None and m["median_hours_to_claim"] is None


def test_rates_and_medians() -> None:
    t0 = datetime(2026, 11, 24, 1, tzinfo=UTC)
    rows = [
        row(status="closed", first_claimed_at=t0 + timedelta(hours=1), first_resolved_at=t0 + timedelta(hours=5),
            resolved_on_time=True, rating="satisfied"),
        row(status="resolved", first_claimed_at=t0 + timedelta(hours=3), first_resolved_at=t0 + timedelta(hours=30),
            resolved_on_time=False, rating="dissatisfied"),
        row(status="claimed", first_claimed_at=t0 + timedelta(hours=2), handle_due_at=NOW - timedelta(hours=1)),
        row(status="cancelled"),
        row(status="not_accepted", team_id=None),
    ]  # fmt: skip
    m = metrics(rows, NOW)
    assert (m["count"], m["resolved"], m["closed"]) == (5, 2, 1)
    assert m["on_time_closure_rate"] == 0.5 and m["resolved_late"] == 1
    assert m["reply_rate"] == 0.75  # 2 resolutions + 1 referral of 4 (the cancelled one needed no answer)
    assert m["satisfaction_rate"] == 0.5 and m["rated"] == 2
    assert m["median_hours_to_claim"] == 2.0 and m["median_hours_to_resolve"] == 17.5
    assert m["overdue"] == 1


def test_weeks_are_iso_weeks_in_local_time() -> None:
    sunday_night_utc = datetime(2026, 11, 29, 17, tzinfo=UTC)  # Monday 01:00 in Shanghai: week 49
    result = summarize([row(submitted_at=sunday_night_utc), row()], "week", NOW, SH)
    assert [(g["group"], g["count"]) for g in result["groups"]] == [("2026-W48", 1), ("2026-W49", 1)]


def test_groups_and_csv() -> None:
    result = summarize([row(), row(team_id=None, status="not_accepted")], "team", NOW, SH)
    # A request referred at the door never waited for a team: its own group, not "no team (awaiting dispatch)".
    assert [g["group"] for g in result["groups"]] == ["property_maintenance", "referred"]
    header, rows = table(result, "zh-CN", group_labeller("team", "zh-CN", categories={}, directory=DIRECTORY))
    data = to_csv(header, rows)
    assert data.startswith(codecs.BOM_UTF8)  # Excel reads UTF-8 only with its byte-order mark
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("承办团队,代码,受理件数,办结件数,归档件数,按时办结率（%）")
    assert lines[1].startswith("物业维修组,property_maintenance,1,") and lines[2].startswith(
        "已转介（紧急或其他部门）,referred,1,"
    )
    assert lines[3].startswith("合计,,2,0,0,,") and lines[4] == ""


def test_a_quick_claim_keeps_its_minutes() -> None:
    t0 = datetime(2026, 11, 24, 1, tzinfo=UTC)
    m = metrics([row(first_claimed_at=t0 + timedelta(minutes=3))], NOW)
    assert m["median_hours_to_claim"] == 0.05  # 3 minutes, not rounded away to 0.0


def test_weeks_read_as_dates() -> None:
    assert week_label("2026-W49", "zh-CN") == "11月30日–12月6日"
    assert week_label("2026-W49", "en") == "30 Nov – 6 Dec"
    assert week_label("2026-W49", "zh-CN", short=True) == "11月30日"
    assert week_label("2027-W01", "zh-CN") == "1月4日–1月10日"
    assert week_label("nonsense", "en") == "nonsense"


def test_the_table_names_groups_and_gives_units() -> None:
    rows_ = [row(channel="portal", status="closed", first_claimed_at=datetime(2026, 11, 24, 1, 30, tzinfo=UTC))]
    by_channel = summarize(rows_, "channel", NOW, SH)
    header, rows = table(by_channel, "en", group_labeller("channel", "en", categories={}, directory=DIRECTORY))
    assert header[:3] == ["Channel", "Code", "Received"] and "Median time to claim (hours)" in header
    assert rows[0][:3] == ["Resident website", "portal", 1]
    assert rows[0][header.index("Median time to claim (hours)")] == 0.5
    by_status = summarize(rows_, "status", NOW, SH)
    _, rows = table(by_status, "zh-CN", group_labeller("status", "zh-CN", categories={}, directory=DIRECTORY))
    assert rows[0][0] == "已归档"
    by_category = summarize(rows_, "category", NOW, SH)
    names = {"property_repair": {"zh-CN": "物业报修", "en": "Property repair"}}
    _, rows = table(by_category, "zh-CN", group_labeller("category", "zh-CN", categories=names, directory=DIRECTORY))
    assert rows[0][0] == "物业报修"


def test_the_xlsx_opens_with_the_same_cells() -> None:
    result = summarize([row(), row(team_id=None, status="not_accepted")], "team", NOW, SH)
    header, rows = table(result, "zh-CN", group_labeller("team", "zh-CN", categories={}, directory=DIRECTORY))
    book = load_workbook(io.BytesIO(to_xlsx(header, rows, "2026-11-01~2026-11-30")))
    sheet = book.active
    assert sheet is not None and sheet.title == "2026-11-01~2026-11-30"
    read = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert read[0] == header and read[1][:3] == ["物业维修组", "property_maintenance", 1]
    assert read[-1][0] == "合计" and read[-1][2] == 2
