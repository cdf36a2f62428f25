"""The SLA sweeper on the real broker and database, with TWO routing replicas sweeping the same tasks:
every reminder, 催办 and 督办 happens once, and a resolved task without feedback closes once."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.integration.routing.conftest import Routing, local, submitted
from tests.support import eventually

M = "property_maintenance.member"


async def both_swept_again(replicas: list[Routing], passes: int = 3) -> None:
    """Wait until each replica's sweeper has completed `passes` more passes (nothing more may happen then)."""
    start = [r.app.state.container.sweeper.passes for r in replicas]

    def done() -> bool:
        return all(r.app.state.container.sweeper.passes >= s + passes for r, s in zip(replicas, start, strict=True))

    await eventually(done, timeout=30, what="two more sweeps on every replica")


def sla_events(routing: Routing, request_ids: set[str]) -> Counter[tuple[str, str, str]]:
    """The SLA steps taken, one per event id. A redelivered copy (same id) is not a second step: delivery is at
    least once and consumers drop a copy by its id. Copies do happen here: the test moves the services' clock a
    day at a time, so an event published a moment ago but not yet settled (the relay settles once a second)
    looks a day overdue to the other replica's outbox sweeper, which publishes it again."""
    counts: Counter[tuple[str, str, str]] = Counter()
    seen: set[str] = set()
    for e in routing.listener.events:
        if e.correlation_id in request_ids and e.type in ("task.reminder", "task.escalated", "task.closed"):
            if str(e.event_id) in seen:
                continue
            seen.add(str(e.event_id))
            detail = e.data.get("level") or e.data.get("reason") or "-"
            counts[(e.correlation_id, e.type, f"{e.data.get('clock', '-')}:{detail}")] += 1
    return counts


def total(routing: Routing, request_ids: set[str]) -> int:
    return sum(sla_events(routing, request_ids).values())


async def test_two_replicas_remind_and_escalate_each_task_once(start_routing: Any) -> None:
    async with start_routing() as a, start_routing() as b:
        assert a.settings.routing_mongodb_db == b.settings.routing_mongodb_db  # one database, two replicas
        tasks = [await a.submit(submitted(description=f"门锁坏了 {i}")) for i in range(4)]
        ids = {t["id"] for t in tasks}
        # property maintenance: claim within 4 working hours of 09:00 -> 14:00 (lunch 12:00-13:00)
        assert {t["claim_due_at"] for t in tasks} == {local(2026, 11, 24, 14).isoformat().replace("+00:00", "Z")}

        # Both replicas also sweep by hand at the same moment, on top of their own loops.
        a.clock.set(local(2026, 11, 24, 13, 35))  # 25 minutes before the due time: reminders
        await asyncio.gather(a.app.state.container.service.sweep_once(), b.app.state.container.service.sweep_once())
        await eventually(lambda: total(a, ids) == 4, timeout=30, what="four reminders")
        a.clock.set(local(2026, 11, 24, 14))  # the due time: 催办 to the lead
        await asyncio.gather(a.app.state.container.service.sweep_once(), b.app.state.container.service.sweep_once())
        await eventually(lambda: total(a, ids) == 8, timeout=30, what="four lead escalations")
        a.clock.set(local(2026, 11, 24, 16, 30))  # 2 working hours late: 督办 to the supervisors
        await asyncio.gather(a.app.state.container.service.sweep_once(), b.app.state.container.service.sweep_once())
        await eventually(lambda: total(a, ids) == 12, timeout=30, what="four supervisor escalations")
        await both_swept_again([a, b])

        counts = sla_events(a, ids)
        assert set(counts.values()) == {1}, counts  # nothing twice
        for rid in ids:
            assert {k[1:] for k in counts if k[0] == rid} == {
                ("task.reminder", "claim:-"),
                ("task.escalated", "claim:lead"),
                ("task.escalated", "claim:supervisor"),
            }
            task = (await a.task(rid)).json()
            assert [h["action"] for h in task["history"]] == ["dispatch", "remind", "escalate", "escalate"]
            assert task["counts"] == {**task["counts"], "reminders": 1, "escalations": 2}
            assert task["sla"]["claim"]["lead_at"] and task["sla"]["claim"]["supervisor_at"]
            assert task["seq"] == 4 and task["overdue"] is True

        lead = next(e for e in a.listener.of("task.escalated") if e.data["level"] == "lead")
        assert {r["username"] for r in lead.data["recipients"]} >= {"property_maintenance.lead"}
        sup = next(e for e in a.listener.of("task.escalated") if e.data["level"] == "supervisor")
        assert "supervisor" in {r["username"] for r in sup.data["recipients"]}
        assert all(r["email"] for r in sup.data["recipients"])  # notify can reach them


async def test_the_handling_clock_and_an_extension_with_two_replicas(start_routing: Any) -> None:
    async with start_routing() as a, start_routing() as b:
        task = await a.submit()
        rid = task["id"]
        claimed = await a.ok(rid, "claim", M)  # Tuesday 09:00: handle within 5 working days
        assert claimed["handle_due_at"] == local(2026, 12, 1, 9).isoformat().replace("+00:00", "Z")
        # the reminder comes 4 working hours earlier (team hours 08:00-12:00, 13:00-18:00): Monday 15:00
        a.clock.set(local(2026, 11, 30, 14, 59))
        await both_swept_again([a, b])
        assert total(a, {rid}) == 0
        a.clock.set(local(2026, 11, 30, 15))
        await eventually(lambda: total(a, {rid}) == 1, timeout=30, what="the reminder")
        a.clock.set(local(2026, 12, 1, 9))
        await eventually(lambda: total(a, {rid}) == 2, timeout=30, what="催办")
        assert Counter(k[2] for k in sla_events(a, {rid})) == {"handle:-": 1, "handle:lead": 1}
        await a.ok(rid, "extend", M, {"reason": "等待配件", "working_days": 3})
        await b.ok(rid, "approve-extension", "property_maintenance.lead")  # a lead on the other replica
        await both_swept_again([a, b])
        assert total(a, {rid}) == 2  # the new due time is days away
        a.clock.set(local(2026, 12, 3, 15))
        await eventually(lambda: total(a, {rid}) == 3, timeout=30, what="a second reminder")
        a.clock.set(local(2026, 12, 4, 9))
        await eventually(lambda: total(a, {rid}) == 4, timeout=30, what="a second 催办")
        await both_swept_again([a, b])
        assert total(a, {rid}) == 4
        assert sla_events(a, {rid})[(rid, "task.reminder", "handle:-")] == 2


async def test_a_task_on_hold_is_not_chased(start_routing: Any) -> None:
    async with start_routing() as a:
        task = await a.submit()
        await a.ok(task["id"], "claim", M)
        await a.ok(task["id"], "hold", M, {"reason": "住户出差"})
        a.clock.set(local(2026, 12, 20, 9))
        await both_swept_again([a])
        assert sla_events(a, {task["id"]}) == Counter()


async def test_a_resolved_task_without_feedback_closes_once_after_the_configured_days(start_routing: Any) -> None:
    async with start_routing() as a, start_routing() as b:
        data = submitted()
        await a.submit(data)
        await a.ok(data.request_id, "claim", M)
        resolved = await a.ok(data.request_id, "resolve", M, {"reply": "已修好"})
        a.clock.advance(days=6, hours=23)
        await both_swept_again([a, b])
        assert (await a.task(data.request_id)).json()["status"] == "resolved"
        a.clock.advance(hours=1)
        closed = await a.wait_task(data.request_id, lambda t: t["status"] == "closed", "auto-close")
        await both_swept_again([a, b])
        assert closed["closed_reason"] == "no_feedback" and resolved["status"] == "resolved"
        closes = a.listener.of("task.closed", data.request_id)
        assert len(closes) == 1 and closes[0].data["reason"] == "no_feedback"
        # feedback that comes later is recorded for the ledgers and changes nothing else
        await a.feedback(data.request_id, data.tracking_code, "dissatisfied")
        late = await a.wait_task(data.request_id, lambda t: len(t["feedback"]) == 1, "the late feedback recorded")
        assert late["status"] == "closed" and late["feedback"][0]["applied"] is False
