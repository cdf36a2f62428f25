"""SMS through a local HTTP gateway and signed webhooks to a local receiver, over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

from shared.settings import DEV_WEBHOOK_SECRET
from tests.integration.notify.conftest import FAST, deliveries
from tests.integration.notify.servers import HttpPeer, MovableClock
from tests.support import eventually
from tests.unit.notify.events import dispatched, submitted


async def test_a_gateway_that_fails_then_recovers_gets_the_sms_once_accepted(
    run_service: Any, peer: HttpPeer, publish: Any, token: Any, clock: MovableClock
) -> None:
    peer.script["/sms"] = [503, 502, 429]
    sms = {"notify_sms_url": f"{peer.base}/sms", "notify_sms_api_key": "gw-key"}
    async with run_service("notify", clock=clock, **sms, **FAST) as (notify, _):
        await publish(submitted("r1", "HY0000000001", preferred="sms", language="en"))
        await eventually(lambda: [r for r in peer.on("/sms") if r.status == 200], timeout=30, what="an accepted SMS")
        tries = peer.on("/sms")
        assert [r.status for r in tries] == [503, 502, 429, 200]
        # The provider-neutral contract, identical on every retry (the id is the idempotency key).
        assert all(r.body == tries[0].body for r in tries)
        body = tries[0].json
        assert body["to"] == "+8613800138000" and body["language"] == "en" and body["urgent"] is False
        assert body["reference"] == "HY0000000001" and "HY0000000001" in body["text"]
        assert all(r.headers["idempotency-key"] == body["id"] for r in tries)
        assert tries[0].headers["authorization"] == "Bearer gw-key"

        async def sent() -> Any:
            log = [d for d in await deliveries(notify, "r1", token()) if d["channel"] == "sms"]
            return log[0] if log and log[0]["status"] == "sent" else None

        sms = await eventually(sent, timeout=15, what="the SMS recorded as sent")
        assert sms["attempts"] == 4 and "429" in sms["last_error"] and sms["address"] == "138****8000"


async def test_a_refused_number_fails_at_once_and_is_not_retried(
    run_service: Any, peer: HttpPeer, publish: Any, token: Any, clock: MovableClock
) -> None:
    peer.refuse_numbers.add("+8613900000000")
    async with run_service("notify", clock=clock, notify_sms_url=f"{peer.base}/sms", **FAST) as (notify, _):
        await publish(submitted("r-bad", "HY0000000002", preferred="sms", phone="13900000000"))

        async def failed() -> Any:
            log = [d for d in await deliveries(notify, "r-bad", token()) if d["channel"] == "sms"]
            return log[0] if log and log[0]["status"] == "failed" else None

        bad = await eventually(failed, timeout=30, what="the refused SMS recorded as failed")
        assert bad["attempts"] == 1 and "HTTP 400" in bad["last_error"] and "13900000000" not in bad["last_error"]
        # Something sent afterwards goes through, and the refused number was asked only once.
        await publish(submitted("r-ok", "HY0000000003", preferred="sms"))
        await eventually(lambda: [r for r in peer.on("/sms") if r.status == 200], timeout=30, what="the next SMS")
        assert [r.json["to"] for r in peer.on("/sms")].count("+8613900000000") == 1


def independent_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def test_webhooks_are_signed_so_the_receiver_can_reject_forgeries_and_replays(
    run_service: Any, peer: HttpPeer, publish: Any, clock: MovableClock, token: Any
) -> None:
    hook = f"{peer.base}/hook"
    async with run_service("notify", clock=clock, intake_public_url="https://portal.example", **FAST) as (notify, _):
        await publish(submitted("r1", "HY0000000001", preferred="webhook", webhook_url=hook, language="en"))
        (got,) = await eventually(lambda: peer.on("/hook"), timeout=30, what="the webhook")
        assert got.verified == "ok" and got.status == 200
        ts = got.headers["x-huiying-timestamp"]
        assert got.headers["x-huiying-signature"] == independent_signature(DEV_WEBHOOK_SECRET, ts, got.body)
        assert abs(int(ts) - clock().timestamp()) < 60
        payload = got.json
        assert got.headers["x-huiying-delivery"] == payload["id"]
        assert got.headers["x-huiying-event"] == payload["event_type"] == "request.submitted"
        assert payload["tracking_code"] == "HY0000000001" and payload["language"] == "en"
        assert payload["links"]["track"] == "https://portal.example/track/HY0000000001"
        assert "13800138000" not in got.body.decode()

        # What a receiver does with a forgery, a tampered body and a replay (docs/notify.md):
        forged = independent_signature("a-guess", ts, got.body)
        assert not hmac.compare_digest(forged, got.headers["x-huiying-signature"])
        tampered = got.body.replace(b"HY0000000001", b"HY0000000009")
        assert independent_signature(DEV_WEBHOOK_SECRET, ts, tampered) != got.headers["x-huiying-signature"]

        # A receiver whose clock is 10 minutes ahead sees the next webhook as a replay and refuses it
        # (401): notify records that as permanent and does not hammer it.
        peer.clock = lambda: clock() + timedelta(minutes=10)
        await publish(dispatched("r1", "HY0000000001", seq=1))

        async def refused() -> Any:
            log = [d for d in await deliveries(notify, "r1", token()) if d["channel"] == "webhook"]
            return [d for d in log if d["status"] == "failed"]

        (failed,) = await eventually(refused, timeout=30, what="the refused webhook recorded")
        assert "HTTP 401" in failed["last_error"] and failed["attempts"] == 1
        assert [r.verified for r in peer.on("/hook")] == ["ok", "timestamp outside the tolerance"]


async def test_a_webhook_receiver_that_is_down_is_retried_every_attempt_signed(
    run_service: Any, peer: HttpPeer, publish: Any, clock: MovableClock
) -> None:
    peer.script["/hook"] = [500, 503]
    hook = f"{peer.base}/hook"
    async with run_service("notify", clock=clock, **FAST):
        await publish(submitted("r1", "HY0000000001", preferred="webhook", webhook_url=hook))
        await eventually(lambda: len(peer.on("/hook")) == 3, timeout=30, what="three webhook attempts")
        tries = peer.on("/hook")
        assert [r.status for r in tries] == [500, 503, 200] and all(r.verified == "ok" for r in tries)
        assert len({r.headers["x-huiying-delivery"] for r in tries}) == 1
        assert json.loads(tries[0].body) == json.loads(tries[-1].body)
