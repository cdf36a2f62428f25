"""The classified ledgers over real tasks: counts and KPIs per category, team, channel, status and week."""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

from openpyxl import load_workbook

from services.routing.api.ledger import XLSX
from tests.integration.routing.conftest import Routing, local, submitted
from tests.support import eventually

M = "property_maintenance.member"
LA = "legal_aid.member"


async def build_month(routing: Routing) -> dict[str, Any]:
    """Five requests with different fates, on Tuesday 24 and Wednesday 25 November 2026 (Shanghai)."""
    on_time = submitted("property_repair", "门锁坏了", channel="web")
    late = submitted("property_repair", "窗户关不上", channel="hotline")
    open_overdue = submitted("legal_aid", "劳动合同纠纷", channel="web")
    cancelled = submitted("legal_aid", "咨询遗产继承", channel="miniprogram")
    for data in (on_time, late, open_overdue, cancelled):
        await routing.submit(data)
    # on time: claimed after 1 h, resolved after 3 h, resident satisfied
    routing.clock.advance(hours=1)
    await routing.ok(on_time.request_id, "claim", M)
    await routing.ok(late.request_id, "claim", M)
    routing.clock.advance(hours=2)
    await routing.ok(on_time.request_id, "resolve", M, {"reply": "已修好"})
    await routing.feedback(on_time.request_id, on_time.tracking_code, "satisfied")
    await routing.cancel(cancelled.request_id, cancelled.tracking_code)
    # late: resolved two weeks later, resident dissatisfied -> reopened
    routing.clock.set(local(2026, 12, 8, 10))
    await routing.ok(late.request_id, "resolve", M, {"reply": "已修好"})
    await routing.feedback(late.request_id, late.tracking_code, "dissatisfied")
    await routing.wait_task(late.request_id, lambda t: t["status"] == "reopened", "reopened")
    await routing.wait_task(on_time.request_id, lambda t: t["status"] == "closed", "closed")
    await routing.wait_task(cancelled.request_id, lambda t: t["status"] == "cancelled", "cancelled")
    return {"on_time": on_time, "late": late, "open": open_overdue, "cancelled": cancelled}


async def summary(routing: Routing, query: str) -> dict[str, Any]:
    r = await routing.http.get(f"/v1/ledger/summary?{query}", headers=await routing.headers("supervisor"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_the_ledger_by_category_team_channel_status_and_week(routing: Routing) -> None:
    await build_month(routing)
    by_category = await summary(routing, "from=2026-11-01&to=2026-11-30&group_by=category")
    groups = {g["group"]: g for g in by_category["groups"]}
    repair = groups["property_repair"]
    assert repair == {
        **repair,
        "count": 2,
        "resolved": 2,
        "closed": 1,
        "on_time_closure_rate": 0.5,
        "reply_rate": 1.0,
        "satisfaction_rate": 0.5,
        "rated": 2,
        "median_hours_to_claim": 1.0,
        "overdue": 0,  # the reopened one has a new claim clock that started just now
        "resolved_late": 1,
    }
    legal = groups["legal_aid"]
    assert (legal["count"], legal["resolved"], legal["reply_rate"], legal["satisfaction_rate"]) == (2, 0, 0.0, None)
    assert legal["overdue"] == 1  # the open one; the cancelled one is not overdue
    total = by_category["total"]
    assert (total["count"], total["resolved"], total["reply_rate"]) == (4, 2, round(2 / 3, 4))
    assert by_category["timezone"] == "Asia/Shanghai" and by_category["group_by"] == "category"

    by_team = await summary(routing, "from=2026-11-01&to=2026-11-30&group_by=team")
    assert {g["group"]: g["count"] for g in by_team["groups"]} == {"legal_aid": 2, "property_maintenance": 2}
    by_channel = await summary(routing, "from=2026-11-01&to=2026-11-30&group_by=channel")
    assert {g["group"]: g["count"] for g in by_channel["groups"]} == {"hotline": 1, "miniprogram": 1, "web": 2}
    by_status = await summary(routing, "from=2026-11-01&to=2026-11-30&group_by=status")
    assert {g["group"]: g["count"] for g in by_status["groups"]} == {
        "cancelled": 1,
        "closed": 1,
        "dispatched": 1,
        "reopened": 1,
    }
    by_week = await summary(routing, "from=2026-11-01&to=2026-11-30&group_by=week")
    assert [(g["group"], g["count"]) for g in by_week["groups"]] == [("2026-W48", 4)]
    outside = await summary(routing, "from=2026-10-01&to=2026-10-31")
    assert outside["total"]["count"] == 0 and outside["total"]["on_time_closure_rate"] is None


async def test_the_csv_has_the_same_figures(routing: Routing) -> None:
    await build_month(routing)
    r = await routing.http.get(
        "/v1/ledger/summary?from=2026-11-01&to=2026-11-30&group_by=team&format=csv",
        headers=await routing.headers("admin"),
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "ledger-team-20261101-20261130.csv" in r.headers["content-disposition"]
    assert r.content.startswith(codecs.BOM_UTF8)  # Excel opens the Chinese text correctly
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    as_json = await summary(routing, "from=2026-11-01&to=2026-11-30&group_by=team")
    assert [row["代码"] for row in rows] == [g["group"] for g in as_json["groups"]] + [""]
    pm = next(row for row in rows if row["代码"] == "property_maintenance")
    assert pm["承办团队"] == "物业维修组"
    assert (pm["受理件数"], pm["按时办结率（%）"], pm["满意率（%）"]) == ("2", "50.0", "50.0")
    assert rows[-1]["承办团队"] == "合计" and rows[-1]["受理件数"] == "4"

    english = await routing.http.get(
        "/v1/ledger/summary?from=2026-11-01&to=2026-11-30&group_by=week&format=csv&lang=en",
        headers=await routing.headers("admin"),
    )
    weeks = list(csv.DictReader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert weeks[0]["Week (Monday to Sunday)"] == "23 Nov – 29 Nov" and weeks[0]["Code"] == "2026-W48"


async def test_the_xlsx_download(routing: Routing) -> None:
    await build_month(routing)
    r = await routing.http.get(
        "/v1/ledger/summary?from=2026-11-01&to=2026-11-30&group_by=category&format=xlsx",
        headers=await routing.headers("admin"),
    )
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert "ledger-category-20261101-20261130.xlsx" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0][:3] == ["类别", "代码", "受理件数"]
    repair = next(row for row in cells if row[1] == "property_repair")
    assert repair[2] == 2 and cells[0][9] == "签收用时中位数（小时）" and repair[9] == 1.0  # numbers, not text
    assert cells[-1][0] == "合计" and cells[-1][2] == 4


async def test_the_default_period_is_the_last_30_days(routing: Routing) -> None:
    await routing.submit()
    body = await summary(routing, "")
    assert body["total"]["count"] == 1 and body["group_by"] == "category"


async def test_bad_ledger_parameters_name_the_field(routing: Routing) -> None:
    headers = await routing.headers("supervisor")
    for query, field_name in (
        ("from=2026-12-01&to=2026-11-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("from=2025-01-01&to=2026-11-30", "from"),
        ("from=2026-11-01T08:00:00", "from"),
        ("group_by=colour", "group_by"),
        ("format=xml", "format"),
    ):
        r = await routing.http.get(f"/v1/ledger/summary?{query}", headers=headers)
        assert r.status_code == 422, (query, r.text)
        assert field_name in r.json()["message"], (query, r.text)


async def test_front_door_refusals_count_in_the_reply_rate(routing: Routing) -> None:
    from shared.events import RequestNotAccepted, Resident

    data = RequestNotAccepted(
        request_id="na-ledger-1",
        tracking_code="HYNA00000002",
        service_code="emergency",
        reason_code="emergency",
        referral={"zh-CN": "请拨打120"},
        channel="hotline",
        resident=Resident(name="x"),
    )
    await routing.publish(data)

    async def counted() -> Any:
        body = await summary(routing, "group_by=category")
        return body if body["total"]["count"] == 1 else None

    body = await eventually(counted, what="the refusal in the ledger")
    assert body["groups"][0]["group"] == "emergency" and body["total"]["reply_rate"] == 1.0


async def test_dates_at_the_edge_of_the_calendar_are_refused_not_crashed(routing: Routing) -> None:
    headers = await routing.headers("supervisor")
    for query in ("to=9999-12-31", "to=0001-01-01", "from=0001-01-01T00:00:00+14:00&to=0001-01-02"):
        r = await routing.http.get(f"/v1/ledger/summary?{query}", headers=headers)
        assert r.status_code == 422, (query, r.text)
