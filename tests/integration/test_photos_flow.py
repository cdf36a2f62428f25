"""Photos and additions across the three services' real apps (real broker, embedded MongoDB): the photos'
references reach routing's task, an addition reaches the task's history at once with the console's badge,
the team's work queue gets an item, and notify's inbox tells the resident it arrived."""

from __future__ import annotations

import json
from typing import Any

from services.routing.domain.additions import resident_added
from tests.integration.routing.test_work_queues import team_system
from tests.support import eventually
from tests.support_photos import jpeg_with_gps

REQUEST = {
    "service_code": "property_repair",
    "description": "厨房水管漏水",
    "location": {"address": "3号楼2单元501"},
    "resident": {"name": "王阿姨", "phone": "13800138000", "language": "en"},
}
WEB = {"X-API-Key": "dev-web-key"}


async def test_photos_and_an_addition_reach_routing_the_team_queue_and_the_inbox(
    run_service: Any, amqp_url: str
) -> None:
    async with (
        run_service("intake") as (intake, _),
        run_service("routing") as (_routing, routing_app),
        run_service("notify") as (notify, _),
    ):
        r = await intake.post(
            "/v1/requests/with-photos",
            data={"request": json.dumps(REQUEST)},
            files=[("photos", ("leak.jpg", jpeg_with_gps(), "image/jpeg"))],
            headers=WEB,
        )
        assert r.status_code == 201, r.text
        rid, code = r.json()["id"], r.json()["tracking_code"]
        store = routing_app.state.container.store

        async def task_with_photo() -> Any:
            task = await store.get(rid)
            return task if task and task.photos else None

        task = await eventually(task_with_photo, what="the task with the photo's reference")
        assert task.photos[0]["name"] == "leak.jpg" and not resident_added(task)

        bus = routing_app.state.container.infra.bus
        async with team_system(amqp_url, bus.work_queue_name("property_maintenance")) as team:
            await eventually(lambda: len(team.items) == 1, timeout=20, what="the dispatch's work item")
            added = await intake.post(
                f"/v1/track/{code}/additions",
                data={"text": "楼下天花板也湿了，电话13800138000"},
                files=[("photos", ("ceiling.jpg", jpeg_with_gps(), "image/jpeg"))],
            )
            assert added.status_code == 201, added.text

            async def task_with_addition() -> Any:
                task = await store.get(rid)
                return task if task and any(h.action == "resident_added" for h in task.history) else None

            task = await eventually(task_with_addition, what="the addition in the task's history")
            entry = next(h for h in task.history if h.action == "resident_added")
            assert (
                entry.note == "楼下天花板也湿了，电话13800138000" and entry.details["photos"] == added.json()["photos"]
            )
            assert len(task.photos) == 2 and resident_added(task)  # the console's "new from the resident"

            await eventually(lambda: len(team.items) == 2, timeout=20, what="the addition's work item")
            _, item = team.items[1]
            assert item.kind == "resident_added" and item.request_id == rid
            assert "13800138000" not in item.description and "1 photo" in item.description

        async def told() -> Any:
            r = await notify.get(f"/v1/inbox/{code}")
            messages = r.json()["messages"] if r.status_code == 200 else []
            return [m for m in messages if m["event_type"] == "request.supplemented"] or None

        message = (await eventually(told, what="the inbox message for the addition"))[0]
        assert "received what you added" in message["subject"] and code in message["subject"]
