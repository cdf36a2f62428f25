"""The ledger dashboard over real tasks: the KPIs and charts of a period, the same figures as the ledger
API, CSV downloads through the API with the console's cookie, and wrong dates answered in words."""

from __future__ import annotations

import csv
import io
import re

from tests.integration.routing.conftest import Routing, submitted
from tests.integration.routing.test_console_pages import browser
from tests.integration.routing.test_ledger import build_month

NOVEMBER = "from=2026-11-01&to=2026-11-30"


def kpi(html: str, key: str) -> str:
    found = re.search(
        rf'data-kpi="{key}">\s*<span class="kpi-label">[^<]*</span>\s*<span class="kpi-value">([^<]*)<', html
    )
    assert found, key
    return found.group(1).strip()


async def test_the_dashboard_shows_the_ledgers_figures(routing: Routing) -> None:
    await build_month(routing)
    api = await routing.http.get(f"/v1/ledger/summary?{NOVEMBER}", headers=await routing.headers("supervisor"))
    total = api.json()["total"]
    async with browser(routing) as c:
        await c.sign_in("supervisor")
        page = await c.get(f"/console/ledger?{NOVEMBER}")
        assert page.status_code == 200, page.text
        html = page.text
        assert (
            (kpi(html, "count"), kpi(html, "resolved")) == (str(total["count"]), str(total["resolved"])) == ("4", "2")
        )
        assert kpi(html, "reply_rate") == "67%" and kpi(html, "satisfaction_rate") == "50%"
        assert kpi(html, "on_time_closure_rate") == "50%" and kpi(html, "overdue") == str(total["overdue"])
        assert kpi(html, "median_hours_to_claim") == "1小时0分"
        # three charts, each an accessible SVG with its figures also in a table
        assert html.count('<svg class="chart"') == 3 and html.count('role="img"') == 3
        assert "物业维修组" in html and "法律援助组" in html
        assert re.search(r'<tr data-group="property_maintenance">.*?data-column="count">2<', html, re.S)
        assert re.search(
            r'<tr data-group="2026-W48"><th scope="row">11月23日–11月29日</th>.*?data-column="count">4<', html, re.S
        )
        assert "W48" not in re.sub(r'data-group="[^"]*"', "", html)  # weeks read as dates
        assert 'value="2026-11-01"' in html and 'value="2026-11-30"' in html

        link = re.search(r'href="(/v1/ledger/summary\?[^"]*group_by=team[^"]*format=csv[^"]*)"', html).group(1)  # type: ignore[union-attr]
        download = await c.get(link.replace("&amp;", "&"))  # the API takes the console's cookie
        assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
        rows = {r["代码"]: r for r in csv.DictReader(io.StringIO(download.content.decode("utf-8-sig")))}
        assert rows["property_maintenance"]["受理件数"] == "2" and rows[""]["受理件数"] == "4"
        xlsx = re.search(r'href="(/v1/ledger/summary\?[^"]*group_by=team[^"]*format=xlsx[^"]*)"', html)
        assert xlsx is not None and (await c.get(xlsx.group(1).replace("&amp;", "&"))).status_code == 200

        english = await c.get(f"/console/ledger?{NOVEMBER}&lang=en")
        assert "On-time closure" in english.text and kpi(english.text, "median_hours_to_claim") == "1 h 0 min"


async def test_the_dashboard_follows_new_work(routing: Routing) -> None:
    async with browser(routing) as c:
        await c.sign_in("admin")
        before = await c.get("/console/ledger")
        assert before.status_code == 200 and kpi(before.text, "count") == "0" and "该时间段没有工单" in before.text
        task = await routing.submit(submitted("property_repair", "门锁坏了"))
        await routing.ok(task["id"], "claim", "property_maintenance.member")
        await routing.ok(task["id"], "resolve", "property_maintenance.member", {"reply": "修好了"})
        after = await c.get("/console/ledger")
        assert (kpi(after.text, "count"), kpi(after.text, "resolved"), kpi(after.text, "reply_rate")) == (
            "1",
            "1",
            "100%",
        )


async def test_wrong_dates_are_explained_and_only_supervisors_see_the_ledger(routing: Routing) -> None:
    async with browser(routing) as c:
        await c.sign_in("supervisor")
        cases = {
            "from=2026-13-01&to=2026-11-30": "「开始日期」请填写日期",
            "from=2026-11-30&to=2026-11-01": "开始日期必须早于结束日期",
            "from=2020-01-01&to=2026-11-30": "时间段最长 366 天",
            "to=nonsense": "「结束日期（含）」请填写日期",
            "from=9999-12-31&to=9999-12-31": "请填写日期",
        }
        for query, message in cases.items():
            r = await c.get(f"/console/ledger?{query}")
            assert r.status_code == 422 and message in r.text, (query, r.status_code)
    async with browser(routing) as c:
        await c.sign_in("property_maintenance.lead")
        r = await c.get("/console/ledger")
        assert r.status_code == 403 and "只有督办人员和管理员可以查看此页" in r.text
        assert (await c.get("/v1/ledger/summary?format=csv")).status_code == 403
