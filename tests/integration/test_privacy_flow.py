"""Privacy end to end (issue 15 point 7): a request through intake -> routing -> notify, then one resident's
export and erasure by phone, across the three services' real apps in one process, on the real broker and
MongoDB. After the erasure no document of any of the three databases holds the phone, and the ledgers count
the same."""

from __future__ import annotations

import json
from typing import Any

from tests.support import eventually

PHONE = "13800138000"
REQUEST = {
    "service_code": "property_repair",
    "description": f"厨房水管漏水，请打{PHONE}",
    "location": {"address": "幸福路8号3号楼2单元501", "building": "3"},
    "resident": {"name": "王阿姨", "phone": PHONE, "email": "wang.ayi@example.com", "language": "zh-CN"},
}
OTHER = {**REQUEST, "description": "楼道灯不亮", "resident": {"name": "李师傅", "phone": "13700137000"}}


async def everything(app: Any) -> str:
    """Every document of a service's database, as text."""
    db = app.state.container.infra.db
    out = []
    for name in await db.list_collection_names():
        out += [str(doc) async for doc in db[name].find({})]
    return "\n".join(out)


async def test_export_then_erasure_by_phone_across_the_three_services(run_service: Any) -> None:
    async with (
        run_service("intake") as (intake, intake_app),
        run_service("routing") as (routing, routing_app),
        run_service("notify") as (notify, notify_app),
    ):
        codes = []
        for body in (REQUEST, OTHER):
            r = await intake.post("/v1/requests", json=body, headers={"X-API-Key": "dev-web-key"})
            assert r.status_code == 201, r.text
            codes.append(r.json()["tracking_code"])

        async def told(code: str) -> Any:
            r = await notify.get(f"/v1/inbox/{code}")
            return r.json() if r.status_code == 200 and len(r.json()["messages"]) == 2 else None

        for code in codes:
            await eventually(lambda c=code: told(c), what="both messages in the inbox", timeout=90)  # type: ignore[misc]
        for app in (intake_app, routing_app, notify_app):
            assert PHONE in await everything(app)  # each service holds it: the test can fail

        login = await routing.post("/v1/auth/login", json={"username": "admin", "password": "dev-password"})
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        ledger = (await routing.get("/v1/ledger/summary", headers=admin)).json()

        async def finished(pid: str) -> Any:
            got = (await routing.get(f"/v1/privacy/requests/{pid}", headers=admin)).json()
            return got if got["complete"] else None

        # Export: the three parts, downloadable as one JSON file.
        r = await routing.post("/v1/privacy/requests", json={"kind": "export", "phone": PHONE}, headers=admin)
        assert r.status_code == 202, r.text
        pid = r.json()["id"]
        state = await eventually(lambda: finished(pid), what="3 of 3 export parts", timeout=90)
        assert state["progress"] == "3 of 3"
        assert {s: p["counts"] for s, p in state["parts"].items()} == {
            "intake": {"requests": 1},
            "routing": {"tasks": 1},
            "notify": {"requests": 1},
        }
        r = await routing.get(f"/v1/privacy/requests/{pid}/export", headers=admin)
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        export = json.loads(r.content)
        assert set(export["data"]) == {"intake", "routing", "notify"}
        assert PHONE in json.dumps(export["data"]["routing"]) and "13700137000" not in r.text  # theirs only

        # Erasure, the phone spelled another way.
        r = await routing.post(
            "/v1/privacy/requests", json={"kind": "erasure", "phone": "+86 138 0013 8000"}, headers=admin
        )
        assert r.status_code == 202, r.text
        pid = r.json()["id"]
        state = await eventually(lambda: finished(pid), what="3 of 3 erasures", timeout=90)
        assert state["parts"]["intake"]["counts"] == {"requests": 1}
        assert state["parts"]["notify"]["counts"] == {"requests": 1}
        assert state["parts"]["routing"]["counts"]["tasks"] == 1

        async def gone() -> bool:
            texts = [await everything(app) for app in (intake_app, routing_app, notify_app)]
            return all(PHONE not in t and "wang.ayi@example.com" not in t for t in texts)

        await eventually(gone, what="no phone left in any database (outboxes settled)", timeout=90)
        for app in (intake_app, routing_app, notify_app):
            assert "13700137000" in await everything(app)  # the other resident's data stays
        assert (await routing.get("/v1/ledger/summary", headers=admin)).json() == ledger

        # The request still tracks (anonymous), and the inbox still answers by tracking code.
        track = await intake.get(f"/v1/track/{codes[0]}")
        assert track.status_code == 200 and track.json()["status"] == "dispatched"
        assert (await notify.get(f"/v1/inbox/{codes[0]}")).status_code == 200
        audit = (await routing.get("/v1/privacy/audit", headers=admin)).json()["items"]
        assert {"export_requested", "export_downloaded", "erasure_requested"} <= {e["action"] for e in audit}
