"""Personal data in routing (issue 15 point 7): the masked phone and its logged reveal, the access-audit log,
a privacy request with the services' answers, and the retention sweep over closed tasks. Real RabbitMQ,
embedded MongoDB."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.events import new_event
from shared.events.privacy import Erased
from tests.integration.routing.conftest import Routing, submitted
from tests.support import eventually

M, M2, L = "property_maintenance.member", "property_maintenance.member2", "property_maintenance.lead"


async def test_only_the_assignee_sees_the_phone_and_a_reveal_is_logged(routing: Routing) -> None:
    data = submitted("property_repair", "水管漏水，急，电话13800138000", phone="13800138000")
    task = await routing.submit(data)
    rid = task["id"]
    assert task["assignee"] == M
    for who in ("supervisor", L, M2):
        view = (await routing.task(rid, as_=who)).json()
        assert view["resident"]["phone"] == "138****8000" and view["resident"]["phone_masked"] is True, who
        assert "13800138000" not in view["description"] and "13800138000" not in str(view), who
    mine = (await routing.task(rid, as_=M)).json()
    assert mine["resident"]["phone"] == "13800138000" and mine["resident"]["phone_masked"] is False

    # A non-assignee reveals it: the whole number, and an audit entry saying who, when, which task and why.
    r = await routing.http.post(
        f"/v1/tasks/{rid}/reveal-phone", json={"reason": "居民要求回电"}, headers=await routing.headers(L)
    )
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "13800138000"
    audit = await routing.http.get(f"/v1/privacy/audit?task={rid}", headers=await routing.headers("supervisor"))
    (entry,) = audit.json()["items"]
    assert (entry["actor"], entry["action"], entry["task_id"]) == (L, "reveal_phone", rid)
    assert entry["reason"] == "居民要求回电" and entry["subject"] == "138****8000" and entry["assignee"] is False
    assert "13800138000" not in audit.text  # the log says whose number, never the number
    # ...and the masking holds afterwards: revealing is per request, not a permission.
    assert (await routing.task(rid, as_=L)).json()["resident"]["phone"] == "138****8000"

    # Members and leads do not read the log; bad input names the field; another team's task is 404.
    assert (await routing.http.get("/v1/privacy/audit", headers=await routing.headers(L))).status_code == 403
    r = await routing.http.post(f"/v1/tasks/{rid}/reveal-phone", json={"why": "x"}, headers=await routing.headers(L))
    assert r.status_code == 422 and "why" in r.text
    other = await routing.http.post(f"/v1/tasks/{rid}/reveal-phone", headers=await routing.headers("legal_aid.member"))
    assert other.status_code == 404
    assert len((await routing.http.get(f"/v1/privacy/audit?task={rid}", headers=await routing.headers("admin"))).json()[
        "items"
    ]) == 1  # fmt: skip


async def test_an_erasure_request_anonymises_routing_and_collects_the_answers(routing: Routing) -> None:
    phone = "13900137001"
    data = submitted("property_repair", f"门锁坏了，请打{phone}", phone=phone)
    await routing.submit(data)
    other = await routing.submit(submitted("property_repair", "楼道灯不亮", phone="13700137000"))
    admin = await routing.headers("admin")

    # Bad requests name the field.
    r = await routing.http.post("/v1/privacy/requests", json={"kind": "erasure"}, headers=admin)
    assert r.status_code == 422 and "phone" in r.text
    r = await routing.http.post("/v1/privacy/requests", json={"kind": "erasure", "phone": "12"}, headers=admin)
    assert r.status_code == 422 and "phone" in r.text
    r = await routing.http.post(
        "/v1/privacy/requests", json={"kind": "erasure", "tracking_code": "HYNOSUCH"}, headers=admin
    )
    assert r.status_code == 422 and "tracking_code" in r.text
    lead = await routing.headers(L)
    r = await routing.http.post("/v1/privacy/requests", json={"kind": "erasure", "phone": phone}, headers=lead)
    assert r.status_code == 403

    r = await routing.http.post(
        "/v1/privacy/requests",
        json={"kind": "erasure", "tracking_code": data.tracking_code, "reason": "本人书面申请"},
        headers=admin,
    )
    assert r.status_code == 202, r.text
    pid = r.json()["id"]
    assert r.json()["progress"] == "0 of 3" and r.json()["subject"].endswith("7001") and phone not in r.text

    async def routing_done() -> dict[str, Any] | None:
        got = (await routing.http.get(f"/v1/privacy/requests/{pid}", headers=admin)).json()
        return got if "routing" in got["done"] else None

    state = await eventually(routing_done, timeout=60, what="routing's part of the erasure")
    assert state["parts"]["routing"]["counts"]["tasks"] == 1 and not state["complete"]
    tasks = routing.app.state.container.store.tasks
    doc = await tasks.find_one({"_id": data.request_id})
    assert phone not in str(doc) and doc["resident"]["phone"] is None and doc["building"] == "3"
    assert doc["address"] is None and doc["unit"] is None and doc["status"] == "dispatched"
    assert (await tasks.find_one({"_id": other["id"]}))["resident"]["phone"] == "13700137000"  # not theirs

    # intake and notify answer (as they would, on the bus): 3 of 3.
    for service in ("intake", "notify"):
        answer = Erased(
            request_id=f"privacy:{pid}", privacy_id=pid, service=service, counts={"requests": 1},
            done_at=routing.clock(),
        )  # fmt: skip
        await routing.bus.publish(new_event(answer, producer=service, seq=1))

    async def complete() -> dict[str, Any] | None:
        got = (await routing.http.get(f"/v1/privacy/requests/{pid}", headers=admin)).json()
        return got if got["complete"] else None

    state = await eventually(complete, timeout=60, what="all three answers")
    assert state["progress"] == "3 of 3"
    audit = (await routing.http.get("/v1/privacy/audit", headers=admin)).json()["items"]
    assert any(e["action"] == "erasure_requested" and e.get("privacy_id") == pid for e in audit)


async def test_the_retention_sweep_anonymises_only_tasks_closed_long_enough_ago(routing: Routing) -> None:
    container = routing.app.state.container
    old = await routing.submit(submitted("property_repair", "旧的报修", phone="13600136001"))
    recent = await routing.submit(submitted("property_repair", "新的报修", phone="13600136002"))
    still_open = await routing.submit(submitted("property_repair", "还没办完", phone="13600136003"))
    tasks = container.store.tasks
    now = routing.clock()
    # Closed 400 and 10 days ago (the lifecycle's own closing is tested elsewhere; here only the dates count).
    await tasks.update_one({"_id": old["id"]}, {"$set": {"status": "closed", "closed_at": now - timedelta(days=400)}})
    await tasks.update_one({"_id": recent["id"]}, {"$set": {"status": "closed", "closed_at": now - timedelta(days=10)}})
    before = await container.service.ledger_rows(now - timedelta(days=800), now + timedelta(days=1), 1000)

    retention = container.retention
    passes = retention.passes
    retention.wake()
    await eventually(lambda: retention.passes > passes, timeout=60, what="a retention pass")
    docs = {d["_id"]: d async for d in tasks.find({"_id": {"$in": [old["id"], recent["id"], still_open["id"]]}})}
    assert docs[old["id"]]["resident"]["phone"] is None and docs[old["id"]]["anonymised_at"] is not None
    assert docs[recent["id"]]["resident"]["phone"] == "13600136002"
    assert docs[still_open["id"]]["resident"]["phone"] == "13600136003"
    after = await container.service.ledger_rows(now - timedelta(days=800), now + timedelta(days=1), 1000)
    assert after == before  # the ledgers count the same
