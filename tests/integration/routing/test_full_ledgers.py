"""The full ledgers over real tasks (issue 15): groups by grid, building, vulnerable group and filer; filters;
the full ledger as CSV (UTF-8 with BOM, Chinese headers) and XLSX, paged through the store; the per-team
assessment; the console page's new sections."""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from services.routing.api import ledger as ledger_api
from services.routing.api.ledger import XLSX
from tests.integration.routing.conftest import Routing, submitted
from tests.integration.routing.test_console_pages import browser

M, LA = "property_maintenance.member", "legal_aid.member"
PERIOD = "from=2026-11-01&to=2026-11-30"
NAME = {"service_name": {"zh-CN": "物业报修", "en": "Property repair"}}  # as intake sends it
PRIVATE = ("王阿姨", "13800138000", "幸福路", "门锁", "劳动合同", "HY")


async def three_requests(routing: Routing) -> dict[str, Any]:
    """Nov 24 2026, all at the same second (ties on submitted_at: the paging continues by id):
    a: building 3 (grid-1), living alone, filed by a grid worker, resolved on time, rated satisfied;
    b: building 8 (grid-2), returned by property maintenance; c: legal aid, no building at all."""
    a = submitted("property_repair", "门锁坏了", building="3", vulnerability=["elderly_alone"], channel="hotline")
    a = a.model_copy(update={"channel_kind": "grid_worker", "on_behalf": True, "filed_by": "网格员老赵", **NAME})
    b = submitted("property_repair", "门锁又坏了", building="8", address="幸福路8号8号楼")
    c = submitted("legal_aid", "劳动合同纠纷", building=None, address=None)
    for data in (a, b, c):
        await routing.submit(data)
    routing.clock.advance(hours=1)
    await routing.ok(a.request_id, "claim", M)
    await routing.ok(b.request_id, "claim", M)
    routing.clock.advance(hours=1)
    await routing.ok(a.request_id, "resolve", M, {"reply": "已修好"})
    await routing.ok(b.request_id, "return", M, {"reason_code": "wrong_locality"})
    await routing.feedback(a.request_id, a.tracking_code, "satisfied")
    await routing.wait_task(a.request_id, lambda t: t["status"] == "closed", "closed")
    return {"a": a, "b": b, "c": c}


async def get(routing: Routing, path: str, as_: str = "supervisor") -> Any:
    return await routing.http.get(path, headers=await routing.headers(as_))


async def groups(routing: Routing, query: str) -> dict[str, int]:
    r = await get(routing, f"/v1/ledger/summary?{PERIOD}&{query}")
    assert r.status_code == 200, r.text
    return {g["group"]: g["count"] for g in r.json()["groups"]}


async def test_groups_and_filters(routing: Routing) -> None:
    await three_requests(routing)
    assert await groups(routing, "group_by=grid") == {"grid-1": 1, "grid-2": 1, "none": 1}
    assert await groups(routing, "group_by=building") == {"3": 1, "8": 1, "none": 1}
    assert await groups(routing, "group_by=vulnerable") == {"elderly_alone": 1, "none": 2}
    assert await groups(routing, "group_by=filer") == {"网格员老赵": 1, "self": 2}
    # filters narrow any grouping
    assert await groups(routing, "group_by=category&grid=grid-1") == {"property_repair": 1}
    assert await groups(routing, "group_by=category&grid=none") == {"legal_aid": 1}
    assert await groups(routing, "group_by=grid&vulnerable=none") == {"grid-2": 1, "none": 1}
    assert await groups(routing, "group_by=team&filer=self") == {"legal_aid": 1, "none": 1}
    r = await get(routing, f"/v1/ledger/summary?{PERIOD}&group_by=grid&team=legal_aid")
    assert r.json()["filters"] == {"team": "legal_aid"} and r.json()["total"]["count"] == 1
    # the CSV of a group names it in words
    r = await get(routing, f"/v1/ledger/summary?{PERIOD}&group_by=vulnerable&format=csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["困难群体"] for row in rows} == {"独居老人", "不属困难群体", "合计"}
    r = await get(routing, f"/v1/ledger/summary?{PERIOD}&group_by=filer&format=csv")
    assert r.status_code == 200 and "代办人" in r.content.decode("utf-8-sig")  # a 500 before
    # wrong group: 422 naming the field
    r = await get(routing, f"/v1/ledger/summary?{PERIOD}&group_by=street")
    assert r.status_code == 422 and "group_by" in r.text


async def test_the_full_ledger_as_csv_with_bom_and_chinese_headers(routing: Routing, monkeypatch: Any) -> None:
    made = await three_requests(routing)
    monkeypatch.setattr(ledger_api, "PAGE", 2)  # three tasks at one second: two pages, a tie across them
    r = await get(routing, f"/v1/ledger/rows?{PERIOD}&format=csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "ledger-rows-20261101-20261130.csv" in r.headers["content-disposition"]
    assert r.content.startswith(codecs.BOM_UTF8) and r.content.count(codecs.BOM_UTF8) == 1
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("工单编号,受理时间,诉求类别")
    rows = {row["工单编号"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {made[k].request_id for k in "abc"}  # each once, across the pages
    a, b, c = (rows[made[k].request_id] for k in "abc")
    assert (a["诉求类别"], a["承办团队"], a["楼栋"], a["困难群体"], a["代办人"]) == (
        "物业报修",
        "物业维修组",
        "3号楼",
        "独居老人",
        "网格员老赵",
    )
    assert a["受理时间"] == "2026-11-24 09:00" and a["签收用时（小时）"] == "1.0" and a["办结用时（小时）"] == "2.0"
    assert (a["按时办结"], a["评价"], a["评价方式"], a["当前状态"]) == ("是", "满意", "群众自评", "已归档")
    assert a["网格"] and a["网格"] != b["网格"] and c["网格"] == "" and c["楼栋"] == ""
    assert c["诉求类别"] == c["类别代码"] == "legal_aid"  # no name sent: the code
    assert (b["退单次数"], b["承办团队"], b["签收时间"]) == ("1", "未分派", "2026-11-24 10:00")
    for private in PRIVATE:
        assert private not in text, private
    english = await get(routing, f"/v1/ledger/rows?{PERIOD}&format=csv&lang=en&vulnerable=elderly_alone")
    lines = list(csv.DictReader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert [(x["Request id"], x["Kind"], x["How rated"]) for x in lines] == [
        (made["a"].request_id, "Property repair", "By the resident")
    ]


async def test_the_full_ledger_as_xlsx(routing: Routing, monkeypatch: Any) -> None:
    made = await three_requests(routing)
    monkeypatch.setattr(ledger_api, "PAGE", 2)
    r = await get(routing, f"/v1/ledger/rows?{PERIOD}&format=xlsx", "admin")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None and sheet.title == "2026-11-01~2026-11-30"
    values = list(sheet.iter_rows(values_only=True))
    header, body = values[0], values[1:]
    assert header[:3] == ("工单编号", "受理时间", "诉求类别") and sheet["A1"].font.b
    assert {row[0] for row in body} == {made[k].request_id for k in "abc"}
    a = next(row for row in body if row[0] == made["a"].request_id)
    assert a[1].isoformat() == "2026-11-24T09:00:00"  # a real date cell, local time
    assert a[header.index("办结用时（小时）")] == 2.0 and a[header.index("退单次数")] == 0


async def test_the_full_ledger_refuses_wrong_input_and_other_roles(routing: Routing) -> None:
    r = await get(routing, f"/v1/ledger/rows?{PERIOD}&format=pdf")
    assert r.status_code == 422 and "format" in r.text
    r = await get(routing, "/v1/ledger/rows?from=2026-12-01&to=2026-11-01")
    assert r.status_code == 422 and "from" in r.text and "before" in r.text
    r = await get(routing, "/v1/ledger/rows?from=yesterday")
    assert r.status_code == 422 and "2026-11-01" in r.text
    assert (await get(routing, f"/v1/ledger/rows?{PERIOD}", M)).status_code == 403
    assert (await get(routing, f"/v1/ledger/assessment?{PERIOD}", "property_maintenance.lead")).status_code == 403


async def test_the_assessment(routing: Routing) -> None:
    await three_requests(routing)
    r = await get(routing, f"/v1/ledger/assessment?{PERIOD}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["weights"] == {"on_time": 0.4, "reply": 0.2, "satisfaction": 0.3, "returns": 0.1}
    teams = {t["team"]: t for t in body["teams"]}
    pm = teams["property_maintenance"]
    # holds a (resolved on time, satisfied); sent b back
    assert (pm["received"], pm["handled"], pm["returned"], pm["return_rate"]) == (2, 1, 1, 0.5)
    assert (pm["on_time_rate"], pm["reply_rate"], pm["satisfaction_rate"]) == (1.0, 1.0, 1.0)
    assert pm["score"] == 95.0  # 100 x (0.4 + 0.2 + 0.3 + 0.1 x 0.5)
    la = teams["legal_aid"]
    assert (la["received"], la["reply_rate"], la["on_time_rate"], la["score"]) == (1, 0.0, None, 33.3)
    assert body["teams"][0]["team"] == "property_maintenance"  # best first
    only = (await get(routing, f"/v1/ledger/assessment?{PERIOD}&team=legal_aid")).json()["teams"]
    assert [t["team"] for t in only] == ["legal_aid"]
    r = await get(routing, f"/v1/ledger/assessment?{PERIOD}&format=csv")
    assert r.content.startswith(codecs.BOM_UTF8)
    rows = {row["代码"]: row for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
    assert (rows["property_maintenance"]["考核得分"], rows["property_maintenance"]["退单率（%）"]) == ("95.0", "50.0")
    x = await get(routing, f"/v1/ledger/assessment?{PERIOD}&format=xlsx&lang=en")
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None and sheet["A1"].value == "Team" and "Score" in [c.value for c in sheet[1]]


@pytest.mark.parametrize("lang", ["zh-CN"])
async def test_the_console_page_groups_filters_and_offers_the_downloads(routing: Routing, lang: str) -> None:
    made = await three_requests(routing)
    async with browser(routing) as c:
        await c.sign_in("supervisor")
        page = await c.get(f"/console/ledger?{PERIOD}&group_by=vulnerable")
        assert page.status_code == 200, page.text
        html = page.text
        assert 'data-table="vulnerable"' in html and "独居老人" in html and "各行相加可能多于合计" in html
        assert 'data-team="property_maintenance"' in html and "团队考核" in html and "明细台账" in html
        assert 'href="/v1/ledger/rows?from=2026-11-01&amp;to=2026-11-30&amp;format=csv&amp;lang=zh-CN"' in html
        # a filter narrows the page and its downloads
        page = await c.get(f"/console/ledger?{PERIOD}&group_by=grid&grid=grid-1")
        assert 'data-group="grid-1"' in page.text and 'data-group="grid-2"' not in page.text
        assert "format=csv&amp;lang=zh-CN&amp;grid=grid-1" in page.text
        link = "/v1/ledger/rows?from=2026-11-01&to=2026-11-30&format=csv&lang=zh-CN&grid=grid-1"
        r = await c.get(link)  # with the console's cookie
        assert r.status_code == 200 and r.content.startswith(codecs.BOM_UTF8)
        assert [row["工单编号"] for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))] == [
            made["a"].request_id
        ]
        bad = await c.get(f"/console/ledger?{PERIOD}&grid=grid-99")
        assert bad.status_code == 422 and "请从列表中选择" in bad.text
