"""The lifecycle over routing's HTTP API, on the real broker: every transition is one write carrying its event."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.metrics import EVENTS_HANDLED
from tests.integration.routing.conftest import Routing, local, submitted
from tests.support import eventually

M, M2, L = "property_maintenance.member", "property_maintenance.member2", "property_maintenance.lead"


async def test_request_submitted_becomes_a_dispatched_task_with_rule_priority_clock_and_event(routing: Routing) -> None:
    data = submitted("property_repair", "厨房水管漏水，楼下也在渗水", vulnerability=["elderly_alone"])
    task = await routing.submit(data)
    assert (task["team"]["id"], task["priority"], task["assignee"]) == ("property_maintenance", "urgent", M)
    assert task["decision"]["team_rule"] == "repair@1"
    assert task["decision"]["priority_rules"] == ["urgent-words@1", "vulnerable-resident@1"]
    assert task["grid"] == "grid-1" and task["location"]["building"] == "3"
    assert task["claim_due_at"].startswith("2026-11-24T01:30")  # 30 working minutes
    assert task["resident"]["phone"] == "138****8000"  # the supervisor is not the assignee: masked (privacy)
    mine = (await routing.task(data.request_id, as_=M)).json()
    assert mine["resident"]["phone"] == "13800138000"  # the assignee may call the resident
    (event,) = await routing.events_of(data.request_id, 1)
    assert event.type == "task.dispatched" and event.seq == 1 and event.producer == "routing"
    assert event.data["rule"] == "repair@1" and event.data["team"]["id"] == "property_maintenance"
    assert event.data["priority"] == "urgent" and event.data["due_at"] is not None
    assert "13800138000" not in event.to_bytes().decode()  # no contact details in task events
    # a redelivered request.submitted changes nothing: wait until routing has handled it, then look
    queue = routing.settings.queue("routing.request-events")
    handled = EVENTS_HANDLED.labels(queue=queue, type="request.submitted", outcome="ok")
    before = handled._value.get()
    await routing.publish(data)
    await eventually(lambda: handled._value.get() > before, what="the redelivered event handled")
    await routing.wait_task(data.request_id, lambda t: t["seq"] == 1 and len(t["history"]) == 1)


async def test_the_whole_lifecycle_over_http(routing: Routing) -> None:
    data = submitted("property_repair", "卫生间门锁坏了")
    rid = data.request_id
    await routing.submit(data)
    claimed = await routing.ok(rid, "claim", M)
    assert claimed["status"] == "claimed" and claimed["handle_due_at"] is not None
    assert "start" in claimed["allowed_actions"] and "claim" not in claimed["allowed_actions"]
    await routing.ok(rid, "start", M, {"public_note": "师傅今天下午上门"})
    await routing.ok(rid, "note", M, {"text": "住户下午两点后在家", "visibility": "internal"})
    routing.clock.advance(hours=1)
    await routing.ok(rid, "hold", M, {"reason": "等待配件"})
    routing.clock.advance(hours=2)
    await routing.ok(rid, "resume", M)
    asked = await routing.ok(rid, "extend", M, {"reason": "配件缺货", "working_days": 2})
    assert asked["extension"]["status"] == "requested" and asked["extension_pending"] is True
    again = await routing.act(rid, "extend", M, {"reason": "再延", "working_days": 1})
    assert again.status_code == 409 and "already waiting" in again.json()["message"]
    assert "approve-extension" in again.json()["allowed_actions"] and "extend" not in again.json()["your_actions"]
    approved = await routing.ok(rid, "approve-extension", L, {"note": "同意"})
    assert approved["handle_due_at"] == approved["extension"]["requested_due_at"]
    resolved = await routing.ok(rid, "resolve", M, {"reply": "已更换门锁，请验收。"})
    assert resolved["status"] == "resolved" and resolved["public_note"] == "已更换门锁，请验收。"
    await routing.feedback(rid, data.tracking_code, "satisfied")
    closed = await routing.wait_task(rid, lambda t: t["status"] == "closed", "closed after feedback")
    assert closed["closed_reason"] == "satisfied" and closed["allowed_actions"] == ["note"]

    events = await routing.events_of(rid, 9)
    assert [e.type for e in events] == [
        "task.dispatched",
        "task.claimed",
        "task.started",
        "task.held",
        "task.resumed",
        "task.extension_requested",
        "task.extension_approved",
        "task.resolved",
        "task.closed",
    ]
    assert [e.seq for e in events] == list(range(1, 10))
    by_type = {e.type: e for e in events}
    assert by_type["task.started"].data["public_note"] == "师傅今天下午上门"
    assert by_type["task.resolved"].data["reply"] == "已更换门锁，请验收。"
    assert by_type["task.resolved"].data["public_note"] == "已更换门锁，请验收。"
    assert by_type["task.closed"].data["reason"] == "satisfied"
    # the internal note is in the history, not on the bus
    history = closed["history"]
    assert [h["action"] for h in history] == [
        "dispatch", "claim", "start", "note", "hold", "resume", "extend", "approve-extension", "resolve", "close",
    ]  # fmt: skip
    assert history[3]["visibility"] == "internal" and history[3]["event_id"] is None
    assert all(h["event_id"] for i, h in enumerate(history) if i != 3)
    assert not any("住户下午两点后在家" in e.to_bytes().decode() for e in events)


async def test_an_illegal_transition_answers_409_naming_the_allowed_actions(routing: Routing) -> None:
    task = await routing.submit()
    r = await routing.act(task["id"], "resolve", M, {"reply": "done"})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "illegal_transition" and body["status"] == "dispatched"
    assert set(body["allowed_actions"]) == {
        "claim", "note", "return", "transfer", "dispatch", "assign", "duplicate", "not-accept",
    }  # fmt: skip
    assert set(body["your_actions"]) == {"claim", "note", "return", "duplicate"}
    assert "claim" in body["message"]


async def test_two_members_claiming_at_once_one_wins(routing: Routing) -> None:
    task = await routing.submit()
    h1, h2 = await routing.headers(M), await routing.headers(M2)
    r1, r2 = await asyncio.gather(
        routing.http.post(f"/v1/tasks/{task['id']}/claim", headers=h1),
        routing.http.post(f"/v1/tasks/{task['id']}/claim", headers=h2),
    )
    assert sorted([r1.status_code, r2.status_code]) == [200, 409], (r1.text, r2.text)
    winner = M if r1.status_code == 200 else M2
    final = (await routing.task(task["id"])).json()
    assert final["assignee"] == winner and final["seq"] == 2
    claims = [h for h in final["history"] if h["action"] == "claim"]
    assert len(claims) == 1
    events = await routing.events_of(task["id"], 2)
    assert [e.type for e in events] == ["task.dispatched", "task.claimed"]


async def test_return_then_the_supervisor_redispatches(routing: Routing) -> None:
    task = await routing.submit()
    returned = await routing.ok(task["id"], "return", M, {"reason_code": "wrong_locality", "note": "不在本片区"})
    assert returned["status"] == "returned" and returned["team"] is None
    # the team no longer sees it; the supervisors' queue does
    assert (await routing.task(task["id"], as_=M)).status_code == 404
    queue = (await routing.http.get("/v1/queue?status=returned", headers=await routing.headers("supervisor"))).json()
    assert [i["id"] for i in queue["items"]] == [task["id"]]
    redispatched = await routing.ok(task["id"], "dispatch", "supervisor", {"team_id": "community_work_group"})
    assert (redispatched["status"], redispatched["team"]["id"]) == ("dispatched", "community_work_group")
    assert redispatched["decision"]["team_rule"] == "manual:supervisor"
    events = await routing.events_of(task["id"], 3)
    assert [e.type for e in events] == ["task.dispatched", "task.returned", "task.dispatched"]
    assert events[1].data["reason_code"] == "wrong_locality" and events[1].data["returned_by_team"]["id"] == (
        "property_maintenance"
    )
    assert events[2].data["redispatch"] is True


async def test_transfer_by_a_lead(routing: Routing) -> None:
    task = await routing.submit()
    await routing.ok(task["id"], "claim", M)
    moved = await routing.ok(task["id"], "transfer", L, {"team_id": "public_order", "reason": "属于治安问题"})
    assert (moved["status"], moved["team"]["id"], moved["counts"]["transfers"]) == ("dispatched", "public_order", 1)
    # public_order assigns by load: its only member on duty is proposed
    assert moved["assignee"] == "public_order.member"
    events = await routing.events_of(task["id"], 3)
    assert events[-1].type == "task.transferred" and events[-1].data["from_team"]["id"] == "property_maintenance"
    assert (await routing.task(task["id"], as_="public_order.member")).status_code == 200
    assert (await routing.task(task["id"], as_=M)).status_code == 404


async def test_dissatisfied_feedback_reopens_the_task_for_the_same_team(routing: Routing) -> None:
    data = submitted()
    await routing.submit(data)
    await routing.ok(data.request_id, "claim", M)
    await routing.ok(data.request_id, "resolve", M, {"reply": "已修好"})
    cause = await routing.feedback(data.request_id, data.tracking_code, "dissatisfied")
    reopened = await routing.wait_task(data.request_id, lambda t: t["status"] == "reopened", "reopened")
    assert reopened["team"]["id"] == "property_maintenance" and reopened["counts"]["reopens"] == 1
    events = await routing.events_of(data.request_id, 5)  # the dissatisfied rating also opens a call-back (回访)
    (event,) = [e for e in events if e.type == "task.reopened"]
    assert event.causation_id == str(cause.event_id)
    assert [e.type for e in events[3:]] == ["task.reopened", "task.followup_opened"]
    # the same feedback event delivered twice reopens once
    await routing.bus.publish(cause)
    again = await routing.ok(data.request_id, "claim", M)
    assert again["status"] == "claimed" and again["counts"]["reopens"] == 1
    assert len(again["feedback"]) == 1


async def test_the_residents_cancel_cancels_the_task(routing: Routing) -> None:
    data = submitted()
    await routing.submit(data)
    await routing.ok(data.request_id, "claim", M)
    await routing.cancel(data.request_id, data.tracking_code)
    cancelled = await routing.wait_task(data.request_id, lambda t: t["status"] == "cancelled", "cancelled")
    assert cancelled["allowed_actions"] == ["note"]
    events = await routing.events_of(data.request_id, 3)
    assert events[-1].type == "task.cancelled"
    r = await routing.act(data.request_id, "resolve", M, {"reply": "x"})
    assert r.status_code == 409


async def test_a_front_door_not_accepted_request_is_recorded_without_a_team_or_any_event(routing: Routing) -> None:
    from shared.events import RequestNotAccepted, Resident

    data = RequestNotAccepted(
        request_id="na-" + submitted().request_id,
        tracking_code="HYNA00000001",
        service_code="emergency",
        reason_code="emergency",
        referral={"zh-CN": "请立即拨打119", "en": "Call 119 now"},
        channel="web",
        resident=Resident(name="x", phone="13800138000"),
    )
    await routing.publish(data)
    task = await routing.wait_task(data.request_id, lambda t: t["status"] == "not_accepted", "the record")
    assert task["team"] is None and task["reason_code"] == "emergency" and task["seq"] == 0
    await routing.publish(data)  # a redelivery: still one record
    ledger = await routing.http.get("/v1/ledger/summary?group_by=status", headers=await routing.headers("supervisor"))
    assert {g["group"]: g["count"] for g in ledger.json()["groups"]}["not_accepted"] == 1
    assert routing.listener.for_request(data.request_id) == []


async def test_duplicate_links_to_the_original_by_tracking_code(routing: Routing) -> None:
    original = submitted(description="楼道灯坏了")
    copy = submitted(description="楼道灯又坏了")
    await routing.submit(original)
    await routing.submit(copy)
    dup = await routing.ok(copy.request_id, "duplicate", M, {"original": original.tracking_code.lower()})
    assert dup["status"] == "duplicate" and dup["duplicate_of"] == original.request_id
    events = await routing.events_of(copy.request_id, 2)
    # The original's code is its resident's key: neither the event nor the history carries it.
    assert events[-1].data["original_request_id"] == original.request_id
    assert events[-1].data.get("original_tracking_code") is None
    assert original.tracking_code not in str(dup)
    r = await routing.act(submitted().request_id, "claim", M)
    assert r.status_code == 404


async def test_duplicate_never_reveals_another_teams_request(routing: Routing) -> None:
    mine = await routing.submit()
    theirs = submitted("legal_aid", "想咨询劳动合同纠纷")
    task = await routing.submit(theirs)
    assert task["team"]["id"] != mine["team"]["id"]
    answers = []
    for original in (theirs.request_id, theirs.tracking_code, "5f1c3a52-0000-4000-8000-000000000000", "HY0000000999"):
        r = await routing.act(mine["id"], "duplicate", M, {"original": original})
        assert r.status_code == 422, r.text
        answers.append(r.json()["message"].replace(original, "<original>"))
    assert len(set(answers)) == 1  # another team's request answers exactly as one that does not exist
    assert (await routing.task(mine["id"])).json()["status"] == "dispatched"


async def test_bad_bodies_are_refused_naming_the_field_and_nothing_changes(routing: Routing) -> None:
    task = await routing.submit()
    cases: list[tuple[str, dict[str, Any] | None, str]] = [
        ("return", {"reason_code": "bored"}, "reason_code"),
        ("return", {}, "reason_code"),
        ("note", {"text": "", "visibility": "internal"}, "text"),
        ("note", {"text": "x", "colour": "red"}, "colour"),
        ("transfer", {"team_id": "nowhere", "reason": "x"}, "team_id"),
        ("dispatch", {"team_id": "legal_aid", "assignee": M}, "assignee"),
    ]
    for action, body, field_name in cases:
        as_ = "supervisor" if action == "dispatch" else (L if action == "transfer" else M)
        r = await routing.act(task["id"], action, as_, body)
        assert r.status_code == 422, (action, r.text)
        assert field_name in r.json()["message"], (action, r.text)
    after = (await routing.task(task["id"])).json()
    assert after["seq"] == 1 and after["status"] == "dispatched" and len(after["history"]) == 1


async def test_the_queue_sorts_by_priority_then_due_time_and_filters(routing: Routing) -> None:
    normal = await routing.submit(description="门锁坏了")
    routing.clock.advance(minutes=5)
    urgent = await routing.submit(description="水管漏水了")
    routing.clock.advance(minutes=5)
    other_team = await routing.submit(service_code="legal_aid", description="劳动合同")
    headers = await routing.headers(M)
    items = (await routing.http.get("/v1/queue", headers=headers)).json()["items"]
    assert [i["id"] for i in items] == [urgent["id"], normal["id"]]
    assert items[0]["priority"] == "urgent" and items[0]["allowed_actions"]
    # load-based assignment: member had one open task, so member2 was proposed for the second
    assert (normal["assignee"], urgent["assignee"]) == (M, M2)
    await routing.ok(normal["id"], "claim", M2)
    mine = (await routing.http.get("/v1/queue?assignee=me", headers=await routing.headers(M2))).json()
    assert [i["id"] for i in mine["items"]] == [urgent["id"], normal["id"]]
    unassigned = (await routing.http.get("/v1/queue?assignee=none", headers=headers)).json()
    assert unassigned["items"] == []
    everyone = (await routing.http.get("/v1/queue", headers=await routing.headers("supervisor"))).json()
    assert {i["id"] for i in everyone["items"]} == {normal["id"], urgent["id"], other_team["id"]}
    routing.clock.set(local(2026, 11, 24, 16))
    overdue = (await routing.http.get("/v1/queue?overdue=true", headers=headers)).json()
    assert [i["id"] for i in overdue["items"]] == [urgent["id"]] and overdue["items"][0]["overdue"] is True
    r = await routing.http.get("/v1/queue?status=flying", headers=headers)
    assert r.status_code == 422 and "status" in r.json()["message"]


async def test_a_public_note_is_published_and_an_internal_one_is_not(routing: Routing) -> None:
    task = await routing.submit()
    await routing.ok(task["id"], "note", M, {"text": "内部备注", "visibility": "internal"})
    await routing.ok(task["id"], "note", M, {"text": "明天上午上门", "visibility": "public"})
    events = await routing.events_of(task["id"], 2)
    assert [e.type for e in events] == ["task.dispatched", "task.noted"]
    assert events[1].data["public_note"] == "明天上午上门" and events[1].seq == 2

    async def settled() -> bool:
        doc = await routing.app.state.container.store.tasks.find_one({"_id": task["id"]})
        return not doc.get("outbox")

    await eventually(settled, what="the outbox emptied after publishing")
