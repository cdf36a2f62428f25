"""GET /v1/deliveries for staff, and staff hearing of escalations addressed to them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.integration.notify.conftest import FAST, deliveries
from tests.integration.notify.servers import SmtpServer, text_of
from tests.support import eventually
from tests.unit.notify.events import dispatched, submitted, task_event


async def test_the_delivery_log_is_for_staff_of_the_requests_team(
    run_service: Any, publish: Any, token: Any, smtp: SmtpServer
) -> None:
    async with run_service("notify", notify_smtp_url=smtp.url, **FAST) as (notify, _):
        await publish(submitted("r1", "HY0000000001", email="li@example.com"))
        await eventually(lambda: smtp.messages, timeout=30, what="the receipt")
        await publish(dispatched("r1", "HY0000000001", seq=1))  # to legal_aid
        await eventually(lambda: len(smtp.messages) == 2, timeout=30, what="the dispatch notice")

        url = "/v1/deliveries"
        assert (await notify.get(url, params={"request_id": "r1"})).status_code == 401
        bad = await notify.get(url, params={"request_id": "r1"}, headers={"Authorization": "Bearer forged"})
        assert bad.status_code == 401

        def auth(bearer: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {bearer}"}

        member = token("member", "legal_aid", "legal_aid.member")
        other = token("lead", "mediation", "mediation.lead")
        r = await notify.get(url, params={"request_id": "r1"}, headers=auth(member))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["team_id"] == "legal_aid" and body["tracking_code"] == "HY0000000001"
        rows = {(d["event_type"], d["channel"]): d for d in body["deliveries"]}
        assert set(rows) == {
            ("request.submitted", "inbox"),
            ("request.submitted", "email"),
            ("task.dispatched", "inbox"),
            ("task.dispatched", "email"),
        }
        for row in rows.values():
            assert set(row) >= {"channel", "status", "attempts", "last_error"}
        assert (await notify.get(url, params={"request_id": "r1"}, headers=auth(other))).status_code == 404
        assert await deliveries(notify, "r1", token("supervisor")) != []
        assert await deliveries(notify, "r1", token("admin")) != []
        assert (await notify.get(url, params={"request_id": "nope"}, headers=auth(token()))).status_code == 404
        missing = await notify.get(url, headers=auth(member))
        assert missing.status_code == 422 and "request_id" in missing.json()["message"]


async def test_staff_hear_of_escalations_addressed_to_them(
    run_service: Any, publish: Any, smtp: SmtpServer, token: Any
) -> None:
    async with run_service("notify", notify_smtp_url=smtp.url, **FAST) as (notify, _):
        await publish(submitted("r1", "HY0000000001"))
        escalation = task_event(
            "task.escalated",
            "r1",
            "HY0000000001",
            seq=4,
            level="lead",
            clock="handle",
            overdue_since=datetime(2026, 3, 5, 10, 0, tzinfo=UTC),
            recipients=[
                {
                    "username": "legal_aid.lead",
                    "role": "lead",
                    "team_id": "legal_aid",
                    "email": "lead@example.com",
                    "language": "zh-CN",
                    "display_name": "张组长",
                },
                {"username": "supervisor", "role": "supervisor", "email": "sup@example.com", "language": "en"},
            ],
        )
        await publish(escalation, escalation)
        await eventually(lambda: len(smtp.messages) == 2, timeout=30, what="the two escalation mails")
        (lead,) = smtp.handler.to("lead@example.com")
        (sup,) = smtp.handler.to("sup@example.com")
        assert str(lead["Subject"]).startswith("【催办】") and "张组长" in text_of(lead)
        assert "2026年03月05日 18:00" in text_of(lead)
        assert "overdue" in str(sup["Subject"]) and "/console/" in text_of(sup)
        log = await deliveries(notify, "r1", token())
        staff = sorted(d["recipient"] for d in log if d["event_type"] == "task.escalated")
        assert staff == ["staff:legal_aid.lead", "staff:supervisor"]
        # The resident's inbox does not show staff escalations.
        inbox = (await notify.get("/v1/inbox/HY0000000001")).json()["messages"]
        assert [m["event_type"] for m in inbox] == ["request.submitted"]
