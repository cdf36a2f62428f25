"""Who filed on a resident's behalf, from intake's event to the task API, the console page, its history and
the ledger; routing's list endpoints refuse query parameters they do not support; the task events routing
publishes carry no tracking code."""

from __future__ import annotations

from tests.integration.routing.conftest import Routing, submitted
from tests.integration.routing.test_console_pages import browser

SUP = "supervisor"


async def test_the_filer_reaches_the_task_the_page_the_history_and_the_ledger(routing: Routing) -> None:
    by_grid_worker = submitted(channel="grid").model_copy(
        update={"channel_kind": "grid_worker", "on_behalf": True, "filed_by": "网格员老赵"}
    )
    own = submitted()
    task = await routing.submit(by_grid_worker)
    await routing.submit(own)
    assert task["filed_by"] == "网格员老赵" and task["on_behalf"] is True
    assert task["history"][0]["details"]["filed_by"] == "网格员老赵"

    async with browser(routing) as c:
        await c.sign_in(SUP)
        page = (await c.get(f"/console/tasks/{task['id']}")).text
        assert "代办人 网格员老赵" in page and "代办人: 网格员老赵" in page  # the task's facts and its history

    r = await routing.http.get("/v1/ledger/summary?group_by=filer", headers=await routing.headers(SUP))
    assert r.status_code == 200, r.text
    groups = {g["group"]: g["count"] for g in r.json()["groups"]}
    assert groups["网格员老赵"] == 1 and groups["self"] >= 1

    [dispatched] = await routing.events_of(task["id"], 1)
    assert dispatched.data.get("tracking_code") is None  # the resident's proof stays off the broker


async def test_list_endpoints_refuse_unknown_query_parameters(routing: Routing) -> None:
    headers = await routing.headers(SUP)
    for path in (
        "/v1/queue?updated_after=2026-01-01",
        "/v1/staff?q=zhang",
        "/v1/teams?extensions=true",
        "/v1/rules/versions?page=2",
        "/v1/ledger/summary?group=team",
    ):
        r = await routing.http.get(path, headers=headers)
        name = path.split("?")[1].split("=")[0]
        assert r.status_code == 400, (path, r.text)
        assert f"unsupported query parameter(s): {name}" in r.json()["message"], r.text
    assert (await routing.http.get("/v1/queue?status=dispatched", headers=headers)).status_code == 200


async def test_the_dashboard_offers_the_ledger_by_filer(routing: Routing) -> None:
    async with browser(routing) as c:
        await c.sign_in(SUP)
        page = (await c.get("/console/ledger")).text
        assert "group_by=filer&amp;format=csv" in page and "代办人" in page
