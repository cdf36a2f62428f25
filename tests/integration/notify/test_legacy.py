"""Records written before one document per request (three collections) are moved at start: the inbox, the
delivery log and the pending sends carry on from them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient

from services.notify.legacy import MARKER
from tests.integration.notify.conftest import DAYTIME, FAST, deliveries
from tests.integration.notify.servers import SmtpServer
from tests.support import eventually


def legacy_delivery(channel: str, status: str, **fields: Any) -> dict[str, Any]:
    event_id = fields.pop("event_id", "e-1")
    return {
        "_id": f"{event_id}:{channel}:resident",
        "event_id": event_id,
        "event_type": "request.submitted",
        "request_id": "r-old",
        "tracking_code": "HY00000000A1",
        "team_id": None,
        "event_at": DAYTIME,
        "channel": channel,
        "recipient": "resident",
        "address": "old@example.com" if channel == "email" else None,
        "language": "en",
        "urgent": False,
        "message": {"subject": "Received", "text": "We have received your request.", "html": "<p>Received</p>"},
        "status": status,
        "attempts": 1 if status == "sent" else 0,
        "next_attempt_at": DAYTIME if status == "pending" else None,
        "deferred_until": None,
        "lease_owner": None,
        "lease_until": None,
        "last_error": None,
        "created_at": DAYTIME,
        "updated_at": DAYTIME,
        "sent_at": DAYTIME if status == "sent" else None,
        **fields,
    }


async def test_the_collections_of_before_become_one_document_per_request(
    run_service: Any, make_settings: Any, mongo: AsyncMongoClient[dict[str, Any]], smtp: SmtpServer, token: Any
) -> None:
    db = mongo[make_settings().mongodb_db("notify")]
    await db["recipients"].insert_one(
        {"_id": "r-old", "tracking_code": "HY00000000A1", "language": "en", "name": "Li", "phone": None,
         "email": "old@example.com", "preferred_channel": "inbox", "channel": "web", "webhook_url": None,
         "service_name": {}, "team_id": "legal_aid", "team_seq": 1}
    )  # fmt: skip
    await db["inbox"].insert_one(
        {"_id": "e-1", "request_id": "r-old", "tracking_code": "HY00000000A1", "event_type": "request.submitted",
         "language": "en", "subject": "Received", "body": "We have received your request.",
         "created_at": DAYTIME, "event_at": DAYTIME}
    )  # fmt: skip
    await db["deliveries"].insert_many(
        [
            legacy_delivery("inbox", "sent"),
            # caught mid-send by the upgrade: sent again, at least once
            legacy_delivery("email", "sending", lease_owner="old-replica", lease_until=DAYTIME + timedelta(seconds=1)),
        ]
    )
    async with run_service("notify", notify_smtp_url=smtp.url, **FAST) as (http, _):
        r = await http.get("/v1/inbox/HY00000000A1")
        inbox = r.json()["messages"]
        assert [m["subject"] for m in inbox] == ["Received"]
        await eventually(lambda: len(smtp.handler.to("old@example.com")) == 1, timeout=30, what="the email resent")

        async def email_sent() -> Any:
            log = await deliveries(http, "r-old", token(role="member", team="legal_aid"))
            return log if any(d["channel"] == "email" and d["status"] == "sent" for d in log) else None

        log = await eventually(email_sent, what="the legacy email recorded as sent")
        assert sorted(d["channel"] for d in log) == ["email", "inbox"]
    assert (await db["migrations"].find_one({"_id": MARKER}))["documents"] == 1
    assert await db["requests"].count_documents({}) == 1
