"""End to end: the three services as OS processes, driven over HTTP as a front end would."""

from __future__ import annotations

import httpx

from huiying.stack import Stack
from tests.e2e.conftest import dump_logs
from tests.support import wait_sync


def test_post_request_reaches_team_and_inbox(stack: Stack) -> None:
    intake, notify = stack.url("intake"), stack.url("notify")
    with httpx.Client(timeout=10) as http:
        r = http.post(
            f"{intake}/v1/requests",
            headers={"X-API-Key": "dev-web-key"},
            json={
                "service_code": "legal_aid",
                "description": "想咨询劳动合同纠纷",
                "location": {"address": "5号楼1单元302"},
                "resident": {"name": "李师傅", "phone": "13912345678", "language": "zh-CN"},
            },
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["status"] == "submitted" and created["tracking_code"].startswith("HY")
        code = created["tracking_code"]

        def dispatched() -> dict | None:
            track = http.get(f"{intake}/v1/track/{code}").json()
            return track if track["status"] == "dispatched" else None

        track = wait_sync(dispatched, timeout=30, what=f"dispatched on the track page\n{dump_logs(stack)}")
        assert track["team"]["id"] == "legal_aid"

        def inbox() -> list | None:
            r = http.get(f"{notify}/v1/inbox/{code}")
            return r.json()["messages"] if r.status_code == 200 and len(r.json()["messages"]) >= 2 else None

        messages = wait_sync(inbox, timeout=30, what=f"two inbox messages\n{dump_logs(stack)}")
        assert [m["event_type"] for m in messages] == ["request.submitted", "task.dispatched"]
        assert messages[0]["language"] == "zh-CN" and code in messages[0]["subject"]

        assert http.get(f"{intake}/v1/track/HY0000000000").status_code == 404
        for service in ("intake", "routing", "notify"):
            assert http.get(f"{stack.url(service)}/readyz").json()["status"] == "ready"
            assert "huiying_http_requests_total" in http.get(f"{stack.url(service)}/metrics").text
