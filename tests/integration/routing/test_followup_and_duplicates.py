"""Call-backs (回访) and duplicates (并单) on the real broker and the embedded MongoDB, with two routing replicas
where a race matters: near-identical requests dispatched at once flag each other; a merge closes one and its
resident is told (notify, in-process); no rating in 3 days gives one call-back however many sweeps; a
dissatisfied rating gives one; a rating given on the phone closes the task and counts in the ledger."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from shared.events import Location, RequestSubmitted
from tests.integration.routing.conftest import Routing, submitted
from tests.integration.routing.test_sla_sweeper import both_swept_again
from tests.support import eventually

M, DESK = "property_maintenance.member", "community_work_group.member"


async def resolved(routing: Routing, **kw: Any) -> dict[str, Any]:
    task = await routing.submit(**kw)
    await routing.ok(task["id"], "claim", M)
    return await routing.ok(task["id"], "resolve", M, {"reply": "已更换水管，请验收。"})


def of_type(routing: Routing, request_id: str, kind: str) -> list[Any]:
    return [e for e in routing.listener.for_request(request_id) if e.type == kind]


async def test_two_near_identical_requests_at_once_are_flagged_to_each_other(start_routing: Any) -> None:
    async with start_routing() as a, start_routing() as b:
        first = submitted(description="3号楼2单元厨房水管漏水，水流到楼下了", building="3")
        second = submitted(description="厨房的水管一直在漏水，楼下也渗水", building="3")
        other_building = submitted(description="厨房水管漏水", building="5")
        other_words = submitted(description="楼道灯不亮", building="3")
        # Published on two replicas' shared queue 60 ms apart: two consumers dispatch them concurrently.
        await a.publish(first)
        await asyncio.sleep(0.06)  # the 60 ms, on purpose: not a wait for a condition
        await asyncio.gather(b.publish(second), a.publish(other_building), a.publish(other_words))

        async def flagged(rid: str, other: str) -> dict[str, Any]:
            return await a.wait_task(
                rid, lambda t: other in {c["id"] for c in t["duplicate_candidates"]}, what=f"{rid} flagged"
            )

        one = await flagged(first.request_id, second.request_id)
        two = await flagged(second.request_id, first.request_id)
        for task in (one, two):
            (candidate,) = task["duplicate_candidates"]  # neither the other building nor the other matter
            assert candidate["place"] == "unit" and candidate["similarity"] >= 0.5
            assert task["priority"] == "urgent"  # two urgent tasks: flagged, not silently merged
        assert (await a.task(other_building.request_id)).json()["duplicate_candidates"] == []
        assert (await a.task(other_words.request_id)).json()["duplicate_candidates"] == []

        # The queue row carries the mark; the duplicates list shows the other one to its team.
        r = await a.http.get("/v1/queue", headers=await a.headers(M))
        marks = {i["id"]: i["possible_duplicates"] for i in r.json()["items"]}
        assert marks[first.request_id] == 1 and marks[second.request_id] == 1
        r = await a.http.get(f"/v1/tasks/{second.request_id}/duplicates", headers=await a.headers(M))
        assert [i["id"] for i in r.json()["items"]] == [first.request_id]


async def test_coordinates_within_the_distance_are_the_same_place(routing: Routing) -> None:
    def near(lat: float, long: float, text: str) -> RequestSubmitted:
        data = submitted(description=text, building=None, address=None)
        return data.model_copy(update={"location": Location(lat=lat, long=long)})

    a = near(39.90000, 116.40000, "路灯不亮，晚上很黑")
    b = near(39.90020, 116.40010, "这里的路灯不亮了")  # about 24 m away
    c = near(39.90300, 116.40000, "路灯不亮")  # about 330 m away
    for data in (a, b, c):
        await routing.submit(data)
    task = await routing.wait_task(b.request_id, lambda t: bool(t["duplicate_candidates"]))
    assert [(x["id"], x["place"]) for x in task["duplicate_candidates"]] == [(a.request_id, "distance")]
    assert (await routing.task(c.request_id)).json()["duplicate_candidates"] == []


async def test_a_merge_closes_one_and_its_resident_is_told(routing: Routing, run_service: Any) -> None:
    async with run_service("notify", clock=routing.clock) as (notify, _):
        original = submitted(description="7号楼电梯坏了，困在一楼", building="7")
        merged = submitted(description="电梯坏了，有人困在一楼出不去", building="7")
        await routing.submit(original)
        await routing.submit(merged)
        await routing.wait_task(merged.request_id, lambda t: bool(t["duplicate_candidates"]))

        done = await routing.ok(merged.request_id, "merge", M, {"into": original.request_id})
        assert done["status"] == "duplicate" and done["duplicate_of"] == original.request_id
        # The original's mark goes with it; the merged one's event tells its resident, never the other code.
        assert (await routing.task(original.request_id)).json()["duplicate_candidates"] == []
        (event,) = of_type(routing, merged.request_id, "task.duplicate")
        assert original.tracking_code not in str(event.data)

        async def told() -> Any:
            r = await notify.get(f"/v1/inbox/{merged.tracking_code}")
            messages = r.json()["messages"] if r.status_code == 200 else []
            return next((m for m in messages if m["event_type"] == "task.duplicate"), None)

        message = await eventually(told, timeout=30, what="the merged resident's message")
        assert "合并" in message["subject"] and original.tracking_code not in message["body"]
        assert "不用再" in message["body"]  # plainly: nothing more to do


async def test_a_burst_of_one_matter_marks_each_task_with_its_few_closest(routing: Routing) -> None:
    # Eight residents of one building report the same outage: each task carries at most max_marks (5) marks,
    # so a report costs a few writes however many came before it.
    burst = [submitted(description=f"11号楼停水了，家里没有水（{i}）", building="11") for i in range(8)]
    for data in burst:
        await routing.submit(data)
    last = await routing.wait_task(burst[-1].request_id, lambda t: len(t["duplicate_candidates"]) == 5)
    assert {c["id"] for c in last["duplicate_candidates"]} <= {d.request_id for d in burst[:-1]}
    for data in burst:
        marks = (await routing.task(data.request_id)).json()["duplicate_candidates"]
        assert 1 <= len(marks) <= 5, (data.request_id, len(marks))
    first = (await routing.task(burst[0].request_id)).json()
    assert len(first["duplicate_candidates"]) == 5  # seven later reports matched it: it took five


async def test_not_the_same_matter_drops_the_mark_from_both(routing: Routing) -> None:
    one = submitted(description="9号楼楼道灯不亮，晚上很黑", building="9")
    two = submitted(description="楼道的灯不亮了，晚上很黑", building="9")
    await routing.submit(one)
    await routing.submit(two)
    await routing.wait_task(two.request_id, lambda t: bool(t["duplicate_candidates"]))
    url = f"/v1/tasks/{two.request_id}/duplicates/{one.request_id}/dismiss"

    r = await routing.http.post(url, headers=await routing.headers(DESK))  # another team: as if it did not exist
    assert r.status_code == 404
    r = await routing.http.post(f"/v1/tasks/{two.request_id}/duplicates/nope/dismiss", headers=await routing.headers(M))
    assert r.status_code == 404  # not a flagged one
    r = await routing.http.post(url, headers=await routing.headers(M))
    assert r.status_code == 200 and r.json()["items"] == []
    for rid in (one.request_id, two.request_id):
        task = (await routing.task(rid)).json()
        assert task["duplicate_candidates"] == [] and task["status"] != "duplicate"


async def test_no_rating_in_three_days_gives_one_call_back(start_routing: Any) -> None:
    async with start_routing() as a, start_routing() as b:
        task = await resolved(a)
        rid = task["id"]
        a.clock.advance(days=2, hours=23)
        await asyncio.gather(a.app.state.container.service.sweep_once(), b.app.state.container.service.sweep_once())
        assert of_type(a, rid, "task.followup_opened") == []
        a.clock.advance(hours=1)
        await asyncio.gather(a.app.state.container.service.sweep_once(), b.app.state.container.service.sweep_once())
        await eventually(lambda: of_type(a, rid, "task.followup_opened"), timeout=20, what="the call-back")
        await both_swept_again([a, b])
        (opened,) = of_type(a, rid, "task.followup_opened")
        assert opened.data["reason"] == "no_rating" and opened.data["followup_team"]["id"] == "community_work_group"

        # It lands in the desk's queue (not the handling team's), with what the desk needs to call.
        r = await a.http.get("/v1/followups", headers=await a.headers(DESK))
        (item,) = [i for i in r.json()["items"] if i["id"] == rid]
        assert item["resident"]["phone"] == "13800138000" and item["reply"] == "已更换水管，请验收。"
        r = await a.http.get("/v1/followups", headers=await a.headers(M))
        assert r.status_code == 403
        # The task itself stays its team's: the desk reads the call-back view, not the task.
        assert (await a.task(rid, as_=DESK)).status_code == 404


async def test_a_dissatisfied_rating_gives_one_call_back(routing: Routing) -> None:
    task = await resolved(routing)
    rid, code = task["id"], task["tracking_code"]
    envelope = await routing.feedback(rid, code, "dissatisfied")
    await routing.bus.publish(envelope)  # redelivered: nothing twice
    reopened = await routing.wait_task(rid, lambda t: t["status"] == "reopened")
    await eventually(lambda: of_type(routing, rid, "task.followup_opened"), what="the call-back")
    assert reopened["followup"]["reason"] == "dissatisfied" and reopened["rating_source"] == "resident"
    assert reopened["counts"]["followups"] == 1 and len(reopened["feedback"]) == 1
    r = await routing.http.get("/v1/followups", headers=await routing.headers(DESK))
    assert rid in {i["id"] for i in r.json()["items"]}


async def test_a_rating_given_on_the_phone_counts_like_the_residents_own(routing: Routing) -> None:
    task = await resolved(routing)
    rid = task["id"]
    routing.clock.advance(days=3)
    await routing.app.state.container.service.sweep_once()
    await eventually(lambda: of_type(routing, rid, "task.followup_opened"), what="the call-back")

    desk = await routing.headers(DESK)
    url = f"/v1/followups/{rid}/calls"
    r = await routing.http.post(url, json={"outcome": "no_answer", "rating": "satisfied"}, headers=desk)
    assert r.status_code == 422 and "rating" in r.text  # nobody answered: nobody rated
    r = await routing.http.post(url, json={"outcome": "no_answer"}, headers=desk)
    assert r.status_code == 200 and r.json()["followup_open"] is True  # try again later
    called_at = (routing.clock() - timedelta(minutes=10)).isoformat()
    body = {"outcome": "reached", "rating": "satisfied", "called_at": called_at, "comment": "住户说修好了"}
    r = await routing.http.post(url, json=body, headers=desk)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["followup_open"] is False and view["followup"]["closed_reason"] == "called"
    assert [c["outcome"] for c in view["followup"]["calls"]] == ["no_answer", "reached"]
    assert view["followup"]["calls"][1]["caller"] == DESK

    closed = await routing.wait_task(rid, lambda t: t["status"] == "closed")
    assert closed["closed_reason"] == "satisfied" and closed["rating_source"] == "callback"
    kinds = [e.type for e in routing.listener.for_request(rid)]
    assert kinds[-3:] == ["task.callback_recorded", "task.callback_recorded", "task.closed"]
    # The handling team cannot record call-backs.
    r = await routing.http.post(url, json={"outcome": "declined"}, headers=await routing.headers(M))
    assert r.status_code == 403

    r = await routing.http.get(
        "/v1/ledger/summary?from=2026-11-01&to=2026-12-31&group_by=team", headers=await routing.headers("supervisor")
    )
    total = r.json()["total"]
    assert total["rated"] == 1 and total["satisfaction_rate"] == 1.0  # it counts like the resident's own
    assert (total["rated_by_phone"], total["rated_online"], total["not_rated"]) == (1, 0, 0)
    assert (total["followups"], total["followed_up"], total["followup_rate"]) == (1, 1, 1.0)


async def test_the_same_resident_and_matter_after_an_answer_is_a_repeat(routing: Routing) -> None:
    first = await resolved(routing, description="楼下广场舞噪音太大，晚上十点还在跳")
    routing.clock.advance(days=10)
    again = await routing.submit(
        submitted(description="广场舞噪音又来了，晚上十点还在跳", building="9", at=routing.clock())
    )
    task = await routing.wait_task(again["id"], lambda t: t["repeat_of"] is not None)
    assert task["repeat_of"] == first["id"]
    r = await routing.http.get(
        "/v1/ledger/summary?from=2026-11-01&to=2026-12-31&group_by=team", headers=await routing.headers("supervisor")
    )
    assert r.json()["total"]["repeats"] == 1
