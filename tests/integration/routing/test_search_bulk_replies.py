"""Staff search, bulk actions and canned replies over routing's HTTP API, on the real broker and the embedded
MongoDB (issue 15, points 1-3)."""

from __future__ import annotations

import uuid
from typing import Any

from services.routing.domain.search import SearchQuery
from services.routing.searchstore import search_filter
from shared.events import Location, RequestSubmitted, Resident
from tests.integration.routing.conftest import TUESDAY_9AM, Routing, submitted

M, M2, L = "property_maintenance.member", "property_maintenance.member2", "property_maintenance.lead"
OTHER = "community_work_group.member"


def request(description: str, phone: str = "13800138000", address: str = "幸福路8号3号楼2单元501",
            service_code: str = "property_repair", building: str | None = "3") -> RequestSubmitted:  # fmt: skip
    return RequestSubmitted(
        request_id=str(uuid.uuid4()),
        tracking_code="HY" + uuid.uuid4().hex[:10].upper(),
        service_code=service_code,
        description=description,
        location=Location(address=address, building=building, unit="2单元501"),
        resident=Resident(name="王阿姨", phone=phone, language="zh-CN"),
        channel="web",
        submitted_at=TUESDAY_9AM,
    )


async def search(routing: Routing, as_: str, **params: str) -> Any:
    r = await routing.http.get("/v1/search", params=params, headers=await routing.headers(as_))
    assert r.status_code == 200, r.text
    return r.json()


def ids(result: dict[str, Any]) -> set[str]:
    return {item["id"] for item in result["items"]}


async def test_search_by_words_phone_address_and_the_team_boundary(routing: Routing) -> None:
    leak = await routing.submit(request("厨房水管漏水，楼下也在渗水", phone="+8613912345678"))
    lock = await routing.submit(request("卫生间门锁坏了", phone="13800138000", address="和平街2号5栋", building=None))
    english = await routing.submit(request("The kitchen pipe is leaking", phone="13700001111"))
    elsewhere = await routing.submit(request("小区绿化带水管破裂", service_code="environment_order"))
    assert elsewhere["team"]["id"] != "property_maintenance"

    # 水管 finds 厨房水管漏水 (segmented words on the task, not a scan of the text); never another team's task
    assert ids(await search(routing, M, q="水管")) == {leak["id"]}
    assert ids(await search(routing, "supervisor", q="水管")) == {leak["id"], elsewhere["id"]}
    assert ids(await search(routing, M, q="水管 漏水")) == {leak["id"]}
    assert ids(await search(routing, M, q="水管 门锁")) == set()  # every word must be there
    assert ids(await search(routing, M, q="PIPE")) == {english["id"]}
    # the phone: its last four digits, or the whole number in any usual form
    assert ids(await search(routing, M, phone="5678")) == {leak["id"]}
    assert ids(await search(routing, M, phone="139 1234 5678")) == {leak["id"]}
    assert ids(await search(routing, M, phone="+86 13800138000")) == {lock["id"]}
    assert ids(await search(routing, M, phone="13800005678")) == set()  # same last four, another number
    # address words look in the address only; building; status; kind; assignee; dates
    assert ids(await search(routing, M, address="和平街")) == {lock["id"]}
    assert ids(await search(routing, M, q="和平街")) == {lock["id"]}
    assert ids(await search(routing, M, building="5号楼")) == {lock["id"]}
    assert ids(await search(routing, M, status="dispatched", kind="property_repair", assignee=M)) >= {leak["id"]}
    assert ids(await search(routing, M, status="closed")) == set()
    assert ids(await search(routing, M, **{"from": "2026-11-24", "to": "2026-11-24"})) >= {leak["id"], lock["id"]}
    assert ids(await search(routing, M, **{"from": "2026-11-25"})) == set()
    # a member cannot widen the search to another team
    r = await routing.http.get("/v1/search", params={"team": "public_order"}, headers=await routing.headers(M))
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "team"


async def test_unknown_search_parameters_are_422_naming_each(routing: Routing) -> None:
    r = await routing.http.get("/v1/search?q=水管&text=x&sort=new", headers=await routing.headers(M))
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["fields"]] == ["sort", "text"]
    assert "unknown search parameter" in r.json()["message"]
    r = await routing.http.get("/v1/search?phone=12", headers=await routing.headers(M))
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "phone"
    # the other endpoints keep the API's rule for unknown query parameters: 400 naming them
    r = await routing.http.get("/v1/search/views?x=1", headers=await routing.headers(M))
    assert r.status_code == 400 and "x" in r.json()["message"]


async def test_the_search_uses_the_indexes_it_declares(routing: Routing) -> None:
    indexes = await routing.app.state.container.store.tasks.index_information()
    assert {"search_terms", "search_phone_last4", "search_team_newest"} <= set(indexes)
    assert search_filter(SearchQuery(team="t", terms=("水管",), phone_last4="5678")) == {
        "$and": [{"phone_last4": "5678"}, {"terms": "水管"}],
        "team_id": "t",
    }


async def test_saved_views_belong_to_their_owner(routing: Routing) -> None:
    h = await routing.headers(M)
    r = await routing.http.put("/v1/search/views", json={"name": "漏水", "query": {"q": "漏水", "status": "open"}},
                               headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    r = await routing.http.put("/v1/search/views", json={"name": "bad", "query": {"qq": "x"}}, headers=h)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "query.qq"
    r = await routing.http.put("/v1/search/views", json={"name": "p", "query": {"phone": "5678"}}, headers=h)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "query.phone"
    views = (await routing.http.get("/v1/search/views", headers=h)).json()["items"]
    assert [(v["name"], v["query"]) for v in views] == [("漏水", {"q": "漏水", "status": "open"})]
    others = (await routing.http.get("/v1/search/views", headers=await routing.headers(M2))).json()["items"]
    assert others == []
    assert (await routing.http.delete("/v1/search/views/漏水", headers=h)).status_code == 204
    assert (await routing.http.get("/v1/search/views", headers=h)).json()["items"] == []


async def test_bulk_claim_reports_each_task(routing: Routing) -> None:
    tasks = [await routing.submit(submitted(description=f"楼道灯坏了 {i}")) for i in range(3)]
    await routing.ok(tasks[1]["id"], "claim", M2)  # already claimed by someone else
    body = {"action": "claim", "ids": [t["id"] for t in tasks]}
    r = await routing.http.post("/v1/tasks/bulk", json=body, headers=await routing.headers(M))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["done"], out["refused"]) == (2, 1)
    by_id = {item["id"]: item for item in out["results"]}
    assert by_id[tasks[0]["id"]]["result"] == "done" and by_id[tasks[0]["id"]]["status"] == "claimed"
    refused = by_id[tasks[1]["id"]]
    assert refused["result"] == "refused" and refused["error"] == "illegal_transition"
    assert "claimed" in refused["message"]
    for task in (tasks[0], tasks[2]):
        assert (await routing.task(task["id"])).json()["assignee"] == M
    assert (await routing.task(tasks[1]["id"])).json()["assignee"] == M2


async def test_bulk_transfer_and_note_hold_permissions_per_task(routing: Routing) -> None:
    mine = await routing.submit(submitted(description="门禁坏了"))
    theirs = await routing.submit(submitted("environment_order", "垃圾没人清运"))
    body = {"action": "note", "ids": [mine["id"], theirs["id"], "no-such-task"],
            "params": {"text": "已电话联系", "visibility": "internal"}}  # fmt: skip
    out = (await routing.http.post("/v1/tasks/bulk", json=body, headers=await routing.headers(M))).json()
    assert [(i["result"], i.get("error")) for i in out["results"]] == [
        ("done", None), ("refused", "not_found"), ("refused", "not_found")
    ]  # fmt: skip
    body = {"action": "transfer", "ids": [mine["id"]], "params": {"team_id": "public_order", "reason": "治安"}}
    out = (await routing.http.post("/v1/tasks/bulk", json=body, headers=await routing.headers(M))).json()
    assert out["results"][0]["error"] == "forbidden"  # a member may not transfer
    out = (await routing.http.post("/v1/tasks/bulk", json=body, headers=await routing.headers(L))).json()
    assert out["done"] == 1
    # the list is bounded, and a wrong parameter refuses the whole request before any write
    too_many = {"action": "claim", "ids": [str(uuid.uuid4()) for _ in range(101)]}
    r = await routing.http.post("/v1/tasks/bulk", json=too_many, headers=await routing.headers(M))
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "ids"
    r = await routing.http.post("/v1/tasks/bulk", json={"action": "transfer", "ids": [mine["id"]], "params": {}},
                                headers=await routing.headers(L))  # fmt: skip
    assert r.status_code == 422 and r.json()["fields"][0]["field"].startswith("params.")


async def test_canned_replies_kept_by_leads_read_by_members_offered_filled_in(routing: Routing) -> None:
    lead, member = await routing.headers(L), await routing.headers(M)
    body = {
        "title": "已派师傅",
        "text": "您好，{team}已收到您的{kind}请求，{staff}于{date}安排师傅上门。",
        "kind": "property_repair",
    }
    r = await routing.http.post("/v1/replies", json=body, headers=member)
    assert r.status_code == 403 and "lead" in r.json()["message"]
    r = await routing.http.post("/v1/replies", json=body | {"text": "{resident_name}您好"}, headers=lead)
    assert r.status_code == 422 and "{resident_name}" in r.json()["message"]
    assert r.json()["fields"][0]["field"] == "text"
    r = await routing.http.post("/v1/replies", json=body, headers=lead)
    assert r.status_code == 201, r.text
    reply = r.json()
    listed = (await routing.http.get("/v1/replies", headers=member)).json()
    assert [x["id"] for x in listed["items"]] == [reply["id"]] and "team" in listed["variables"]
    other = (await routing.http.get("/v1/replies", headers=await routing.headers(OTHER))).json()
    assert other["items"] == []
    assert (
        await routing.http.get(f"/v1/replies/{reply['id']}", headers=await routing.headers(OTHER))
    ).status_code == 404

    task = await routing.submit(submitted(description="水龙头坏了"))
    offers = (await routing.http.get(f"/v1/tasks/{task['id']}/replies", headers=member)).json()["items"]
    assert len(offers) == 1 and offers[0]["title"] == "已派师傅"
    assert "物业" in offers[0]["text"] and "{" not in offers[0]["text"] and "2026年11月24日" in offers[0]["text"]

    changed = body | {"text": "{team}：维修已安排。"}
    assert (await routing.http.put(f"/v1/replies/{reply['id']}", json=changed, headers=member)).status_code == 403
    r = await routing.http.put(f"/v1/replies/{reply['id']}", json=changed, headers=lead)
    assert r.status_code == 200 and r.json()["version"] == 2
    assert (await routing.http.delete(f"/v1/replies/{reply['id']}", headers=member)).status_code == 403
    assert (await routing.http.delete(f"/v1/replies/{reply['id']}", headers=lead)).status_code == 204
    assert (await routing.http.get("/v1/replies", headers=member)).json()["items"] == []


async def test_tasks_stored_before_search_get_their_words_from_the_backfill(routing: Routing) -> None:
    from services.routing.searchstore import BACKFILL, SearchBackfill

    container = routing.app.state.container
    db = container.infra.db
    await container.search_backfill.stop()  # this test drives the walk itself, a batch at a time
    old = [await routing.submit(request(f"楼顶水箱漏水第{i}次", phone=f"1390000{i:04d}")) for i in range(3)]
    # As a task from before search: no search fields; one touched by a staff action since: stored empty.
    await db["tasks"].update_many(
        {"_id": {"$in": [t["id"] for t in old[:2]]}}, {"$unset": {"terms": "", "phone_last4": ""}}
    )
    await db["tasks"].update_one({"_id": old[2]["id"]}, {"$set": {"terms": [], "phone_last4": None}})
    await db["migrations"].delete_one({"_id": BACKFILL})
    assert ids(await search(routing, "supervisor", q="水箱")) == set()

    backfill = SearchBackfill(db, container.service.segmenter.search_words, batch=2)
    passes = 0
    while await backfill.step():
        passes += 1
        assert passes < 10_000
    assert ids(await search(routing, "supervisor", q="水箱")) == {t["id"] for t in old}
    assert ids(await search(routing, "supervisor", phone="0002")) == {old[2]["id"]}
    assert (await db["migrations"].find_one({"_id": BACKFILL}))["done"] is True
    assert await backfill.step() is False  # once done, a pass only reads the marker
