"""End to end: the whole work-order lifecycle over HTTP against the three services as OS processes (the
same `Stack` as `make run`): a resident files at intake, staff sign in at routing and work the task, the
resident tracks it, rates it (重办 when dissatisfied), and a team system consumes its work queue."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import aio_pika
import httpx
import pytest

from huiying.stack import Stack
from tests.e2e.conftest import dump_logs, settings_from, stack_env
from tests.support import eventually, wait_sync

WEB = {"X-API-Key": "dev-web-key"}
REPAIR = {
    "service_code": "property_repair",
    "description": "厨房水管漏水，楼下也在渗水",
    "location": {"address": "幸福路8号", "building": "3号楼", "unit": "2单元501"},
    "resident": {"name": "王阿姨", "phone": "13800138000", "language": "zh-CN", "vulnerability": ["elderly_alone"]},
    "attributes": {"place": "kitchen", "urgency": "leaking_now"},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("routing-stack")
    env = stack_env(tmp, HUIYING_AMQP_URL=amqp_url, HUIYING_ROUTING_SLA_SWEEP_INTERVAL_S="1")
    s = Stack(settings_from(env), env=env, log_dir=tmp / "logs")
    s.start()
    yield s
    s.stop()


class Staff:
    def __init__(self, http: httpx.Client, routing: str) -> None:
        self.http, self.routing = http, routing
        self.tokens: dict[str, str] = {}

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = self.http.post(f"{self.routing}/v1/auth/login", json={"username": username, "password": "dev-password"})
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def act(self, task_id: str, action: str, username: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.http.post(f"{self.routing}/v1/tasks/{task_id}/{action}", json=body, headers=self.headers(username))
        assert r.status_code == 200, f"{action}: {r.status_code} {r.text}"
        return r.json()  # type: ignore[no-any-return]

    def find(self, tracking_code: str, username: str) -> dict[str, Any] | None:
        r = self.http.get(
            f"{self.routing}/v1/queue",
            params={"tracking_code": tracking_code, "status": "all"},
            headers=self.headers(username),
        )
        items = r.json()["items"] if r.status_code == 200 else []
        return items[0] if items else None


def test_the_whole_lifecycle_over_http(stack: Stack) -> None:
    intake, routing = stack.url("intake"), stack.url("routing")
    queue_name = f"{stack.settings.queue_prefix}work.property_maintenance"
    with httpx.Client(timeout=15) as http:
        staff = Staff(http, routing)
        r = http.post(f"{intake}/v1/requests", headers=WEB, json=REPAIR)
        assert r.status_code == 201, r.text
        created = r.json()
        code, request_id = created["tracking_code"], created["id"]
        member, lead = "property_maintenance.member", "property_maintenance.lead"

        task = wait_sync(lambda: staff.find(code, member), timeout=30, what=f"the task\n{dump_logs(stack)}")
        assert task["id"] == request_id and task["priority"] == "urgent" and task["assignee"] == member
        assert (staff.find(code, "legal_aid.member")) is None  # another team does not see it
        full = http.get(f"{routing}/v1/tasks/{request_id}", headers=staff.headers(member)).json()
        assert full["decision"]["team_rule"] == "repair@1"
        assert full["decision"]["priority_rules"] == ["urgent-words@1", "urgency-answer@1", "vulnerable-resident@1"]

        # 409 names what is possible
        r = http.post(f"{routing}/v1/tasks/{request_id}/resolve", json={"reply": "x"}, headers=staff.headers(member))
        assert r.status_code == 409 and "claim" in r.json()["allowed_actions"]

        staff.act(request_id, "claim", member)
        staff.act(request_id, "start", member, {"public_note": "维修师傅已出发"})

        def track(status: str) -> dict[str, Any] | None:
            body = http.get(f"{intake}/v1/track/{code}").json()
            return body if body["status"] == status else None

        seen = wait_sync(lambda: track("in_progress"), timeout=30, what=f"in_progress at intake\n{dump_logs(stack)}")
        assert seen["team"]["id"] == "property_maintenance" and seen["due_at"] is not None
        assert seen["public_note"] == "维修师傅已出发"

        staff.act(request_id, "extend", member, {"reason": "需要更换整段水管", "working_days": 1})
        staff.act(request_id, "approve-extension", lead)
        staff.act(request_id, "resolve", member, {"reply": "已更换水管，请检查。"})
        resolved = wait_sync(lambda: track("resolved"), timeout=30, what="resolved at intake")
        assert resolved["public_note"] == "已更换水管，请检查。"
        o311 = http.get(f"{intake}/open311/v2/requests/{request_id}.json").json()[0]
        assert o311["status_notes"] == "已更换水管，请检查。" and o311["agency_responsible"]

        # dissatisfied: 重办 for the same team
        r = http.post(f"{intake}/v1/feedback/{code}", json={"rating": "dissatisfied", "comment": "还在漏"})
        assert r.status_code == 201, r.text
        reopened = wait_sync(
            lambda: (t := staff.find(code, member)) and t["status"] == "reopened" and t,
            timeout=30,
            what=f"reopened\n{dump_logs(stack)}",
        )
        assert reopened["team"]["id"] == "property_maintenance"
        wait_sync(lambda: track("reopened"), timeout=30, what="reopened at intake")
        staff.act(request_id, "claim", member)
        staff.act(request_id, "resolve", member, {"reply": "已重新密封接口。"})
        wait_sync(lambda: track("resolved"), timeout=30, what="resolved again at intake")
        r = http.post(f"{intake}/v1/feedback/{code}", json={"rating": "satisfied"})
        assert r.status_code == 201, r.text
        closed = wait_sync(
            lambda: (t := staff.find(code, "supervisor")) and t["status"] == "closed" and t,
            timeout=30,
            what="closed",
        )
        assert closed["allowed_actions"] == ["note"]
        wait_sync(lambda: track("closed"), timeout=30, what="closed at intake")
        history = http.get(f"{routing}/v1/tasks/{request_id}", headers=staff.headers("supervisor")).json()["history"]
        assert [h["action"] for h in history] == [
            "dispatch", "claim", "start", "extend", "approve-extension", "resolve", "reopen", "followup", "claim",
            "resolve", "close",
        ]  # fmt: skip  # the dissatisfied rating also opened a call-back (回访) for the desk

        # the ledger counts it
        ledger = http.get(f"{routing}/v1/ledger/summary?group_by=team", headers=staff.headers("supervisor")).json()
        pm = next(g for g in ledger["groups"] if g["group"] == "property_maintenance")
        assert pm["count"] >= 1 and pm["closed"] >= 1 and pm["rated"] >= 1

    # the team's own system got a work item for the dispatch and one for the reopening
    items = consume(stack.settings.amqp_url, queue_name, 2)
    kinds = [i["kind"] for i in items if i["request_id"] == request_id]
    assert kinds == ["dispatched", "reopened"]


def test_return_redispatch_and_cancel(stack: Stack) -> None:
    intake, routing = stack.url("intake"), stack.url("routing")
    with httpx.Client(timeout=15) as http:
        staff = Staff(http, routing)
        body = {
            "service_code": "legal_aid",
            "description": f"想咨询劳动合同纠纷 {uuid.uuid4().hex[:6]}",
            "location": {"address": "5号楼1单元302"},
            "resident": {"name": "李师傅", "phone": "13912345678", "language": "en"},
            "attributes": {},
        }
        r = http.post(f"{intake}/v1/requests", headers=WEB, json=body)
        assert r.status_code == 201, r.text
        code, request_id = r.json()["tracking_code"], r.json()["id"]
        wait_sync(lambda: staff.find(code, "legal_aid.member"), timeout=30, what="the legal aid task")
        staff.act(request_id, "return", "legal_aid.member", {"reason_code": "outside_remit", "note": "属劳动仲裁"})
        returned = wait_sync(lambda: staff.find(code, "supervisor"), timeout=30, what="returned")
        assert returned["status"] == "returned" and returned["team"] is None
        staff.act(request_id, "dispatch", "supervisor", {"team_id": "employment_service"})
        assert staff.find(code, "employment_service.member") is not None

        def track(status: str) -> dict[str, Any] | None:
            got = http.get(f"{intake}/v1/track/{code}").json()
            return got if got["status"] == status else None

        seen = wait_sync(lambda: track("dispatched"), timeout=30, what="re-dispatched at intake")
        assert seen["team"]["id"] == "employment_service"
        r = http.post(f"{intake}/v1/requests/{request_id}/cancel", json={"tracking_code": code, "reason": "已解决"})
        assert r.status_code == 200, r.text
        cancelled = wait_sync(
            lambda: (t := staff.find(code, "supervisor")) and t["status"] == "cancelled" and t,
            timeout=30,
            what=f"cancelled in routing\n{dump_logs(stack)}",
        )
        assert cancelled["allowed_actions"] == ["note"]


def consume(amqp_url: str, queue: str, count: int) -> list[dict[str, Any]]:
    """A team's system, in its simplest form: read `count` items from its queue, ack each after storing it."""

    async def run() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            work = await channel.get_queue(queue, ensure=True)

            async def enough() -> bool:
                while len(items) < count and (message := await work.get(no_ack=False, fail=False)) is not None:
                    items.append({**json.loads(message.body), "message_id": message.message_id})
                    await message.ack()
                return len(items) >= count

            await eventually(enough, timeout=30, interval=0.2, what=f"{count} work items on {queue}")
        return items

    return asyncio.run(run())
