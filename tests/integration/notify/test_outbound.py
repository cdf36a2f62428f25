"""Outbound calls are checked at every send (shared/outbound.py): a webhook or SMS gateway on loopback,
a private or a metadata address is refused and never reached; redirects are not followed; the delivery
log keeps the status and its reason, never the receiver's answer."""

from __future__ import annotations

from typing import Any

from tests.integration.notify.conftest import FAST, deliveries
from tests.integration.notify.servers import SECRET_BODY, HttpPeer, MovableClock
from tests.support import eventually
from tests.unit.notify.events import submitted

STRICT = {**FAST, "outbound_allow": ""}  # loopback not listed: the test peers are off limits


async def failed(notify: Any, request_id: str, channel: str, token: Any) -> Any:
    async def probe() -> Any:
        log = [d for d in await deliveries(notify, request_id, token()) if d["channel"] == channel]
        return log[0] if log and log[0]["status"] == "failed" else None

    return await eventually(probe, timeout=30, what=f"the {channel} delivery recorded as failed")


async def test_a_webhook_to_loopback_is_refused_at_send_and_never_reached(
    run_service: Any, peer: HttpPeer, publish: Any, token: Any, clock: MovableClock
) -> None:
    async with run_service("notify", clock=clock, **STRICT) as (notify, _):
        await publish(submitted("r1", "HY0000000001", preferred="webhook", webhook_url=f"{peer.base}/hook"))
        hook = await failed(notify, "r1", "webhook", token)
        assert hook["attempts"] == 1 and "refused" in hook["last_error"] and "loopback" in hook["last_error"]
        assert peer.on("/hook") == []


async def test_an_sms_gateway_on_loopback_is_refused_at_send(
    run_service: Any, peer: HttpPeer, publish: Any, token: Any, clock: MovableClock
) -> None:
    async with run_service("notify", clock=clock, notify_sms_url=f"{peer.base}/sms", **STRICT) as (notify, _):
        await publish(submitted("r1", "HY0000000001", preferred="sms"))
        sms = await failed(notify, "r1", "sms", token)
        assert "refused" in sms["last_error"] and peer.on("/sms") == []


async def test_redirects_are_not_followed_and_answers_stay_out_of_the_log(
    run_service: Any, peer: HttpPeer, publish: Any, token: Any, clock: MovableClock
) -> None:
    peer.script["/hook"] = [302, 400]
    hook = f"{peer.base}/hook"
    async with run_service("notify", clock=clock, **FAST) as (notify, _):
        await publish(submitted("r1", "HY0000000001", preferred="webhook", webhook_url=hook))
        redirected = await failed(notify, "r1", "webhook", token)
        assert "HTTP 302 Found" in redirected["last_error"] and "redirects are not followed" in redirected["last_error"]
        await publish(submitted("r2", "HY0000000002", preferred="webhook", webhook_url=hook))
        refused = await failed(notify, "r2", "webhook", token)
        assert refused["last_error"] == "webhook receiver answered HTTP 400 Bad Request"
        assert peer.on("/sms") == []  # the redirect's target was never called
        for row in (redirected, refused):
            assert SECRET_BODY not in str(row) and "/sms" not in row["last_error"]
