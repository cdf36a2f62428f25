"""The three services' real apps in one test process, wired through the real broker and MongoDB."""

from __future__ import annotations

from typing import Any

from tests.support import eventually

REQUEST = {
    "service_code": "property_repair",
    "description": "厨房水管漏水",
    "location": {"address": "3号楼2单元501"},
    "resident": {"name": "王阿姨", "phone": "13800138000", "language": "en"},
}


async def test_request_travels_to_team_and_inbox(run_service: Any) -> None:
    async with (
        run_service("intake") as (intake, _),
        run_service("routing") as (_routing, _),
        run_service("notify") as (notify, _),
    ):
        r = await intake.post("/v1/requests", json=REQUEST, headers={"X-API-Key": "dev-web-key"})
        assert r.status_code == 201, r.text
        code = r.json()["tracking_code"]

        async def dispatched() -> Any:
            track = (await intake.get(f"/v1/track/{code}")).json()
            return track if track["status"] == "dispatched" else None

        track = await eventually(dispatched, what="the track view to show dispatched")
        assert track["team"] == {"id": "property_maintenance", "name": "Property maintenance"}
        assert [e["type"] for e in track["timeline"]] == ["request.submitted", "task.dispatched"]

        async def two_messages() -> Any:
            r = await notify.get(f"/v1/inbox/{code}")
            return r.json()["messages"] if r.status_code == 200 and len(r.json()["messages"]) == 2 else None

        messages = await eventually(two_messages, what="two inbox messages")
        assert [m["event_type"] for m in messages] == ["request.submitted", "task.dispatched"]
        assert all(m["language"] == "en" for m in messages)
        assert code in messages[0]["subject"] and "Property maintenance" in messages[1]["body"]
        # The public views never carry the resident's contact details.
        assert "13800138000" not in str(track) and "王阿姨" not in str(track)
