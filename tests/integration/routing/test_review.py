"""Reply review (审核) over routing's API, on the real broker and the embedded MongoDB, with notify running:
the resident hears nothing while a member's reply waits for the lead, and hears the approved reply."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.routing.config import DEPLOY
from tests.integration.routing.conftest import Routing, submitted
from tests.support import eventually

M, L = "property_maintenance.member", "property_maintenance.lead"
OTHER_LEAD = "legal_aid.lead"


def reviewed_teams(tmp_path: Path) -> Path:
    """deploy/teams.yaml with review on for the repair team (`review: true`)."""
    config = yaml.safe_load((DEPLOY / "teams.yaml").read_text(encoding="utf-8"))
    for team in config["teams"]:
        if team["id"] == "property_maintenance":
            team["review"] = True
    path = tmp_path / "teams.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
async def reviewed(start_routing: Callable[..., Any], tmp_path: Path) -> AsyncIterator[Routing]:
    async with start_routing(teams_path=reviewed_teams(tmp_path)) as r:
        yield r


async def in_progress(routing: Routing, **kw: Any) -> Any:
    data = submitted(**kw)
    await routing.submit(data)
    await routing.ok(data.request_id, "claim", M)
    await routing.ok(data.request_id, "start", M, {"public_note": "师傅今天下午上门"})
    return data


async def test_the_resident_hears_the_reply_only_once_the_lead_approves(reviewed: Routing, run_service: Any) -> None:
    routing = reviewed
    async with run_service("notify", clock=routing.clock) as (notify, _):
        data = await in_progress(routing)
        rid = data.request_id

        async def inbox_types() -> list[str]:
            r = await notify.get(f"/v1/inbox/{data.tracking_code}")
            return [m["event_type"] for m in r.json()["messages"]] if r.status_code == 200 else []

        # The resident has heard of the start: notify is caught up with everything routing published so far.
        await eventually(lambda: _has(inbox_types, "task.started"), timeout=30, what="the start message")

        pending = await routing.ok(rid, "resolve", M, {"reply": "已更换门锁，请验收。", "note": "换了新锁芯"})
        assert pending["status"] == "awaiting_review" and pending["review_pending"] is True
        assert pending["review"]["reply"] == "已更换门锁，请验收。" and pending["review"]["status"] == "pending"
        assert pending["reply"] is None and pending["resolved_at"] is None
        assert pending["allowed_actions"] == ["note"]

        # The lead's review queue has it, with the proposed reply.
        queue = await routing.http.get("/v1/review", headers=await routing.headers(L))
        assert queue.status_code == 200, queue.text
        (item,) = [i for i in queue.json()["items"] if i["id"] == rid]
        assert item["review"]["submitted_by"] == M and item["review"]["reply"] == "已更换门锁，请验收。"
        assert {"approve-reply", "send-back"} <= set(item["allowed_actions"])

        # Nothing reached the resident: the intake-side status is still in progress, no message about a reply.
        assert "task.resolved" not in await inbox_types()
        assert [e.type for e in routing.listener.for_request(rid)] == [
            "task.dispatched",
            "task.claimed",
            "task.started",
        ]

        routing.clock.advance(minutes=30)
        approved = await routing.ok(rid, "approve-reply", L, {"note": "可以"})
        assert approved["status"] == "resolved" and approved["reply"] == "已更换门锁，请验收。"
        # The clock stops at approval: the reply time counts when the resident is answered.
        assert datetime.fromisoformat(approved["resolved_at"]) == routing.clock()
        assert approved["review"]["status"] == "approved" and approved["review"]["decided_by"] == L

        # The same event a direct resolve publishes, straight after the start: nothing was published in between.
        events = await routing.events_of(rid, 4)
        assert [e.type for e in events] == ["task.dispatched", "task.claimed", "task.started", "task.resolved"]
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert events[-1].data["reply"] == "已更换门锁，请验收。" and events[-1].data["actor"] == L
        assert not any("换了新锁芯" in e.to_bytes().decode() for e in events)  # the internal note stays inside

        await eventually(lambda: _has(inbox_types, "task.resolved"), timeout=30, what="the reply to the resident")

        # A second click is a conflict, not a second resolution.
        again = await routing.act(rid, "approve-reply", L)
        assert again.status_code == 409 and again.json()["status"] == "resolved"
        assert "`approve-reply` is not possible while the task is `resolved`" in again.json()["message"]
        history = [h["action"] for h in (await routing.task(rid)).json()["history"]]
        assert history[-2:] == ["submit-review", "approve-reply"]


async def _has(probe: Callable[[], Any], event_type: str) -> bool:
    return event_type in await probe()


async def test_send_back_returns_the_reply_to_the_member_with_the_note(reviewed: Routing) -> None:
    routing = reviewed
    data = await in_progress(routing)
    rid = data.request_id
    await routing.ok(rid, "resolve", M, {"reply": "修好了"})

    missing = await routing.act(rid, "send-back", L, {})
    assert missing.status_code == 422 and "note" in missing.json()["message"]

    back = await routing.ok(rid, "send-back", L, {"note": "请写明更换了什么、何时更换"})
    assert back["status"] == "in_progress" and back["review"]["status"] == "sent_back"
    assert back["review"]["decision_note"] == "请写明更换了什么、何时更换"
    assert back["history"][-1]["action"] == "send-back" and back["history"][-1]["visibility"] == "internal"

    # The member sees it in their queue, marked as sent back, with the note on the task.
    queue = (await routing.http.get("/v1/queue?assignee=me", headers=await routing.headers(M))).json()
    (row,) = [i for i in queue["items"] if i["id"] == rid]
    assert row["review_sent_back"] is True and row["status"] == "in_progress"
    mine = (await routing.task(rid, as_=M)).json()
    assert mine["review"]["decision_note"] == "请写明更换了什么、何时更换" and "resolve" in mine["allowed_actions"]

    # The lead's queue no longer has it; nothing was published about the review.
    waiting = (await routing.http.get("/v1/review", headers=await routing.headers(L))).json()
    assert rid not in [i["id"] for i in waiting["items"]]
    assert [e.type for e in routing.listener.for_request(rid)] == ["task.dispatched", "task.claimed", "task.started"]

    second = await routing.ok(rid, "resolve", M, {"reply": "已于今天下午更换卫生间门锁，请验收。"})
    assert second["status"] == "awaiting_review" and second["review"]["rounds"] == 2
    done = await routing.ok(rid, "approve-reply", "supervisor")
    assert done["reply"] == "已于今天下午更换卫生间门锁，请验收。"
    events = await routing.events_of(rid, 4)
    assert [e.type for e in events][-1] == "task.resolved"


async def test_who_may_review(reviewed: Routing) -> None:
    routing = reviewed
    data = await in_progress(routing)
    rid = data.request_id
    await routing.ok(rid, "resolve", M, {"reply": "修好了"})

    r = await routing.http.get("/v1/review", headers=await routing.headers(M))
    assert r.status_code == 403 and "only a team lead or a supervisor" in r.json()["message"]
    r = await routing.act(rid, "approve-reply", M)
    assert r.status_code == 403 and "team lead" in r.json()["message"]
    # Another team's lead does not see the task at all, nor its review.
    assert (await routing.act(rid, "approve-reply", OTHER_LEAD)).status_code == 404
    theirs = (await routing.http.get("/v1/review", headers=await routing.headers(OTHER_LEAD))).json()
    assert rid not in [i["id"] for i in theirs["items"]]
    r = await routing.http.get("/v1/review?team=property_maintenance", headers=await routing.headers(OTHER_LEAD))
    assert r.status_code == 422 and "team" in r.json()["message"]
    # A supervisor sees every team's.
    all_ = (await routing.http.get("/v1/review", headers=await routing.headers("supervisor"))).json()
    assert rid in [i["id"] for i in all_["items"]]
    # The member may still not resolve again while it waits.
    r = await routing.act(rid, "resolve", M, {"reply": "再改一下"})
    assert r.status_code == 409 and r.json()["status"] == "awaiting_review"

    # A lead's own resolution goes straight through.
    other = await in_progress(routing)
    lead_done = await routing.ok(other.request_id, "resolve", L, {"reply": "组长直接办结"})
    assert lead_done["status"] == "resolved"


async def test_without_review_configured_a_members_resolve_resolves(routing: Routing) -> None:
    data = await in_progress(routing)
    resolved = await routing.ok(data.request_id, "resolve", M, {"reply": "已修好"})
    assert resolved["status"] == "resolved" and resolved["review"] is None
