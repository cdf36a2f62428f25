"""The care register (走访慰问) on the real broker and the embedded MongoDB, with the movable business clock:
a due visit opens exactly once with two routing replicas sweeping, a missed visit is reminded, escalated to
the lead and then to the supervisors (once each), and a recorded visit files a request on the household's
behalf that reaches intake's store and routing's queue."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from shared.bus import Bus
from shared.events import Envelope
from tests.integration.observer import listening
from tests.integration.routing.conftest import FAST, MovableClock, Routing, local
from tests.integration.routing.test_sla_sweeper import both_swept_again
from tests.support import eventually

LEAD = "community_work_group.lead"
MEMBER = "community_work_group.member"
HOUSEHOLD = {
    "name": "王秀英",
    "phone": "13800138000",
    "address": "幸福路8号 3号楼2单元501",
    "building": "3",
    "kinds": ["elderly_alone"],
    "consent": {"given_by": "王秀英", "given_at": "2026-11-24T08:30:00+08:00", "how": "signed"},
    "team_id": "community_work_group",
    "frequency_days": 7,
}


async def register(routing: Routing, as_: str = LEAD, **changes: Any) -> dict[str, Any]:
    r = await routing.http.post(
        "/v1/care/households", json={**HOUSEHOLD, **changes}, headers=await routing.headers(as_)
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def care_events(routing: Routing, household_id: str) -> list[Envelope]:
    return [e for e in routing.listener.events if e.correlation_id == f"care:{household_id}"]


def kinds(events: list[Envelope]) -> Counter[str]:
    return Counter(f"{e.type}:{e.data.get('level', '-')}" for e in events)


async def sweep_both(a: Routing, b: Routing) -> None:
    await asyncio.gather(a.app.state.container.care.sweep_once(), b.app.state.container.care.sweep_once())


async def test_two_replicas_open_a_due_visit_once_and_escalate_a_missed_one_once(start_routing: Any) -> None:
    async with start_routing() as a, start_routing() as b:
        h = await register(a)
        hid = h["id"]
        # registered Tuesday 09:00; every 7 days -> due the next Tuesday 09:00, opens 2 days before
        assert h["next_due_at"] == local(2026, 12, 1, 9).isoformat().replace("+00:00", "Z")
        assert h["consent"] == {**h["consent"], "given_by": "王秀英", "how": "signed", "recorded_by": LEAD}
        assert h["grid"] == "grid-1" and h["audit"][0]["by"] == LEAD

        a.clock.set(local(2026, 11, 29, 8, 59))  # a minute before the visit opens: nothing
        await sweep_both(a, b)
        a.clock.set(local(2026, 11, 29, 9))  # Sunday 09:00: the visit opens, once
        await sweep_both(a, b)
        await eventually(lambda: kinds(care_events(a, hid))["care.visit_due:-"] == 1, what="the visit opened")
        await both_swept_again([a, b])
        assert kinds(care_events(a, hid)) == {"care.visit_due:-": 1}
        due = care_events(a, hid)[0]
        # The whole team is told (nobody is named); no name or phone travels with it.
        assert {r["username"] for r in due.data["recipients"]} == {MEMBER, LEAD}
        assert "王秀英" not in str(due.data) and "13800138000" not in str(due.data)

        a.clock.set(local(2026, 12, 1, 9))  # the due time passes without a visit: 催办 to the lead
        await sweep_both(a, b)
        a.clock.set(local(2026, 12, 2, 10))  # still missed a working day later: 督办 to the supervisors
        await sweep_both(a, b)
        await eventually(
            lambda: kinds(care_events(a, hid))["care.visit_escalated:supervisor"] == 1, what="the supervisors told"
        )
        await both_swept_again([a, b])
        counts = kinds(care_events(a, hid))
        assert counts["care.visit_due:-"] == 1
        assert counts["care.visit_escalated:lead"] == 1 and counts["care.visit_escalated:supervisor"] == 1
        assert counts["care.visit_reminder:-"] <= 1  # before the due time, when the schedule leaves room for one
        sup = next(e for e in care_events(a, hid) if e.data.get("level") == "supervisor")
        assert "supervisor" in {r["username"] for r in sup.data["recipients"]}

        # The supervisors' overdue list shows it; another team's staff see nothing of it.
        r = await a.http.get("/v1/care/households?overdue=true", headers=await a.headers("supervisor"))
        assert [row["id"] for row in r.json()["households"]] == [hid]
        assert r.json()["households"][0]["phone"] == "138****8000" and r.json()["households"][0]["days_overdue"] == 1
        other = await a.headers("property_maintenance.lead")
        assert (await a.http.get("/v1/care/households", headers=other)).json()["households"] == []
        assert (await a.http.get(f"/v1/care/households/{hid}", headers=other)).status_code == 404
        assert (await a.http.post("/v1/care/households", json=HOUSEHOLD, headers=other)).status_code == 403

        # The visit is recorded: the next one is due 7 days after it, nothing is overdue.
        r = await a.http.post(
            f"/v1/care/households/{hid}/visits",
            json={"visited_at": "2026-12-02T10:00:00+08:00", "found": "身体还好，按时吃药"},
            headers=await a.headers(MEMBER),
        )
        assert r.status_code == 201, r.text
        after = r.json()
        assert after["visit"] is None and after["visits"][0]["late"] is True
        assert after["next_due_at"] == local(2026, 12, 9, 10).isoformat().replace("+00:00", "Z")
        r = await a.http.get("/v1/care/households?overdue=true", headers=await a.headers("supervisor"))
        assert r.json()["households"] == []


async def test_register_refuses_bad_fields_and_members_may_not_edit(routing: Routing) -> None:
    lead = await routing.headers(LEAD)
    bad = {**HOUSEHOLD, "frequency_days": 0, "phone": "123", "kinds": []}
    r = await routing.http.post("/v1/care/households", json=bad, headers=lead)
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["fields"]}
    assert {"frequency_days", "phone", "kinds"} <= fields
    r = await routing.http.post("/v1/care/households", json={**HOUSEHOLD, "team_id": "nobody"}, headers=lead)
    assert r.status_code == 403  # a lead registers for their own team only
    r = await routing.http.post(
        "/v1/care/households", json={**HOUSEHOLD, "team_id": "nobody"}, headers=await routing.headers("supervisor")
    )
    assert r.status_code == 422 and "team_id" in r.text
    r = await routing.http.post("/v1/care/households", json=HOUSEHOLD, headers=await routing.headers(MEMBER))
    assert r.status_code == 403
    assert (await routing.http.get("/v1/care/households", headers=lead)).json()["count"] == 0


async def test_a_visit_files_a_request_on_behalf_end_to_end(run_service: Any, amqp_url: str) -> None:
    clock = MovableClock(local(2026, 11, 24, 9))
    async with (
        run_service("intake", clock=clock) as (_intake, intake_app),
        run_service("routing", clock=clock, **FAST) as (http, routing_app),
        listening(amqp_url, routing_app.state.settings.events_exchange) as listener,
    ):
        routing = Routing(http, routing_app, clock, listener, bus=None)  # type: ignore[arg-type]
        h = await register(routing)
        clock.advance(days=3, hours=4)  # Friday 13:00
        r = await http.post(
            f"/v1/care/households/{h['id']}/visits",
            json={
                "visited_at": "2026-11-27T10:00:00+08:00",
                "found": "老人精神不错",
                "needs": "卫生间水龙头坏了",
                "file_request": {"service_code": "property_repair", "description": "卫生间水龙头坏了，需要上门修理"},
            },
            headers=await routing.headers(MEMBER),
        )
        assert r.status_code == 201, r.text
        filing_id = r.json()["visit_id"]
        assert r.json()["visits"][0]["filing_id"] == filing_id

        store = intake_app.state.container.store

        async def filed() -> dict[str, Any] | None:
            query = {"filed_by": MEMBER, "service_code": "property_repair"}
            return await store.requests.find_one(query)  # type: ignore[no-any-return]

        request = await eventually(filed, timeout=30, what="intake to take the request filed on behalf")
        assert request["channel"] == "care" and request["filed_by"] == MEMBER
        assert request["resident"]["name"] == "王秀英" and request["resident"]["vulnerability"] == ["elderly_alone"]

        # routing dispatches it like any request: a task in the property team's queue, priority raised for a
        # resident living alone, filed by the member who visited.
        task = await routing.wait_task(request["_id"], lambda t: t["status"] == "dispatched", timeout=30)
        assert task["team"]["id"] == "property_maintenance" and task["filed_by"] == MEMBER
        assert task["on_behalf"] is True and "vulnerable-resident" in str(task["decision"])
        r = await http.get("/v1/queue", headers=await routing.headers("property_maintenance.member"))
        assert request["_id"] in [t["id"] for t in r.json()["items"]]

        # A redelivered visit event files nothing twice (intake's Idempotency-Key is the visit id): publish it
        # again, then a second visit with a request of its own; when that one is there, there are two, not three.
        recorded = next(e for e in listener.of("care.visit_recorded") if e.data["visit_id"] == filing_id)
        bus = Bus(routing_app.state.settings, producer="routing")
        await bus.connect()
        try:
            await bus.publish(recorded)
        finally:
            await bus.close()
        r = await http.post(
            f"/v1/care/households/{h['id']}/visits",
            json={
                "visited_at": "2026-11-27T08:30:00+08:00",
                "found": "复查",
                "file_request": {"service_code": "community_health", "description": "想预约上门量血压"},
            },
            headers=await routing.headers(MEMBER),
        )
        assert r.status_code == 201, r.text
        second = r.json()["visit_id"]

        async def second_filed() -> bool:
            return await store.requests.find_one({"filed_by": MEMBER, "service_code": "community_health"}) is not None

        await eventually(second_filed, timeout=30, what="the second filing")
        assert await store.requests.count_documents({"filed_by": MEMBER}) == 2
        assert second != filing_id


async def test_a_registered_household_filing_itself_is_recognised_by_its_phone(routing: Routing) -> None:
    await register(routing)
    # The resident phones in a request themselves, without saying they live alone (intake sends E.164).
    task = await routing.submit(description="楼道灯坏了", vulnerability=[], phone="+8613800138000")
    assert task["vulnerability"] == ["elderly_alone"]
    assert "vulnerable-resident@1" in task["decision"]["priority_rules"] and task["priority"] == "high"
    other = await routing.submit(description="楼道灯坏了", vulnerability=[], phone="+8613900000001")
    assert other["vulnerability"] == [] and other["priority"] == "normal"
