"""Exactly once per step: redelivered events, several replicas, quiet hours on the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import RequestNotAccepted, new_event
from tests.integration.notify.conftest import FAST, deliveries
from tests.integration.notify.servers import HttpPeer, MovableClock, SmtpServer
from tests.support import eventually
from tests.unit.notify.events import dispatched, submitted

NIGHT = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
MORNING = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 07:00 the next morning in Shanghai


async def test_a_redelivered_event_sends_nothing_twice(
    run_service: Any, peer: HttpPeer, smtp: SmtpServer, publish: Any, handled: Any, clock: MovableClock, token: Any
) -> None:
    channels = {"notify_sms_url": f"{peer.base}/sms", "notify_smtp_url": smtp.url}
    async with run_service("notify", clock=clock, **channels, **FAST) as (notify, _):
        receipt = submitted("r1", "HY0000000001", preferred="sms", email="li@example.com")
        dispatch = dispatched("r1", "HY0000000001", seq=1)
        mail_receipt = submitted("r2", "HY0000000002", email="wang@example.com")
        # Every event twice (a broker redelivery or a producer's re-publish carries the same event_id).
        await publish(receipt, mail_receipt, receipt, mail_receipt)
        await eventually(lambda: handled() >= 4, timeout=30, what="all four copies handled")
        await publish(dispatch, dispatch)
        await eventually(lambda: handled() >= 6, timeout=30, what="both dispatch copies handled")

        async def settled() -> Any:
            log = await deliveries(notify, "r1", token()) + await deliveries(notify, "r2", token())
            return log if log and all(d["status"] == "sent" for d in log) and len(log) >= 4 else None

        log = await eventually(settled, timeout=30, what="every delivery sent")
        assert sorted((d["event_type"], d["channel"]) for d in log) == [
            ("request.submitted", "email"),
            ("request.submitted", "inbox"),
            ("request.submitted", "inbox"),
            ("request.submitted", "sms"),
            ("task.dispatched", "inbox"),
            ("task.dispatched", "sms"),
        ]
        assert all(d["attempts"] == 1 for d in log)
        sms_ids = [r.json["id"] for r in peer.on("/sms")]
        assert len(sms_ids) == 2 and len(set(sms_ids)) == 2
        assert len(smtp.messages) == 1
        inbox = (await notify.get("/v1/inbox/HY0000000001")).json()["messages"]
        assert [m["event_type"] for m in inbox] == ["request.submitted", "task.dispatched"]


async def test_two_replicas_share_the_work_and_send_each_message_once(
    run_service: Any, peer: HttpPeer, publish: Any, clock: MovableClock
) -> None:
    settings = {"notify_sms_url": f"{peer.base}/sms", **FAST}
    n = 12
    async with run_service("notify", clock=clock, **settings), run_service("notify", clock=clock, **settings):
        await publish(*[submitted(f"r{i}", f"HY{i:010d}", preferred="sms") for i in range(n)])
        await eventually(lambda: len(peer.on("/sms")) >= n, timeout=60, what=f"{n} SMS")
        # Let any duplicate that a broken lease would cause arrive before counting: one more round trip.
        await publish(submitted("r-last", "HY9999999999", preferred="sms"))
        await eventually(lambda: len(peer.on("/sms")) >= n + 1, timeout=30, what="the last SMS")
        ids = [r.json["id"] for r in peer.on("/sms")]
        assert len(ids) == len(set(ids)) == n + 1


async def test_quiet_hours_hold_non_urgent_sms_until_the_morning_and_urgent_goes_now(
    run_service: Any, peer: HttpPeer, publish: Any, token: Any
) -> None:
    clock = MovableClock(NIGHT)
    async with run_service("notify", clock=clock, notify_sms_url=f"{peer.base}/sms", **FAST) as (notify, _):
        await publish(
            submitted("r1", "HY0000000001", preferred="sms", at=NIGHT),
            submitted("r2", "HY0000000002", preferred="sms", language="en", at=NIGHT),
        )

        async def planned(request_id: str) -> Any:
            log = [d for d in await deliveries(notify, request_id, token()) if d["channel"] == "sms"]
            return log or None

        (held,) = await eventually(lambda: planned("r1"), timeout=30, what="the receipt SMS planned")
        assert held["status"] == "pending" and held["attempts"] == 0
        assert datetime.fromisoformat(held["deferred_until"]) == MORNING
        # Urgent: an urgent dispatch and a not-accepted referral go at once, at night.
        referral = RequestNotAccepted(
            request_id="r3",
            tracking_code="HY0000000003",
            service_code="property_repair",
            reason_code="emergency",
            referral={"zh-CN": "燃气泄漏请立即拨打119。", "en": "For a gas leak call 119 now."},
            channel="web",
            resident={"name": "王", "phone": "13800138003", "language": "en", "preferred_channel": "sms"},  # type: ignore[arg-type]
        )
        await publish(
            dispatched("r1", "HY0000000001", seq=1, priority="urgent"),
            new_event(referral, producer="intake", seq=1, occurred_at=NIGHT),
        )
        await eventually(lambda: len(peer.on("/sms")) == 2, timeout=30, what="the two urgent SMS at night")
        texts = {r.json["reference"]: r.json for r in peer.on("/sms")}
        assert set(texts) == {"HY0000000001", "HY0000000003"}
        assert texts["HY0000000003"]["urgent"] is True and "call 119" in texts["HY0000000003"]["text"]
        # Still night: the two receipts wait.
        assert [d["status"] for d in await planned("r1") if d["event_type"] == "request.submitted"] == ["pending"]

        clock.set(MORNING + timedelta(seconds=1))
        await eventually(lambda: len(peer.on("/sms")) == 4, timeout=30, what="the held receipts in the morning")
        morning = [r.json for r in peer.on("/sms")[2:]]
        assert sorted(m["reference"] for m in morning) == ["HY0000000001", "HY0000000002"]
        by_code = {m["reference"]: m for m in morning}
        assert by_code["HY0000000001"]["text"].startswith("【回应】") and by_code["HY0000000001"]["language"] == "zh-CN"
        assert by_code["HY0000000002"]["text"].startswith("[Huiying]") and by_code["HY0000000002"]["language"] == "en"
