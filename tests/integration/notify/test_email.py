"""Email: a real SMTP server (aiosmtpd) receives the mail, in the resident's language."""

from __future__ import annotations

from typing import Any

from tests.integration.notify.conftest import FAST, deliveries
from tests.integration.notify.servers import SmtpServer, html_of, text_of
from tests.support import eventually
from tests.unit.notify.events import dispatched, submitted, task_event


async def test_receipt_by_mail_and_in_the_inbox_in_each_language(
    run_service: Any, smtp: SmtpServer, publish: Any, token: Any
) -> None:
    async with run_service("notify", notify_smtp_url=smtp.url, intake_public_url="https://portal.example", **FAST) as (
        notify,
        _,
    ):
        await publish(
            submitted("r-en", "HY00000000E1", language="en", email="li.en@example.com"),
            submitted("r-zh", "HY00000000Z1", language="zh-CN", email="li.zh@example.com"),
        )
        await eventually(lambda: len(smtp.messages) == 2, timeout=30, what="two receipts by mail")
        en = smtp.handler.to("li.en@example.com")[0]
        zh = smtp.handler.to("li.zh@example.com")[0]
        assert en["Subject"] == "We have received your request (tracking code HY00000000E1)"
        assert zh["Subject"] == "我们已收到您反映的问题（查询码 HY00000000Z1）"
        assert "Legal aid consultation" in text_of(en) and "法律援助咨询" in text_of(zh)
        assert "https://portal.example/track/HY00000000E1" in text_of(en)
        assert 'href="https://portal.example/track/HY00000000Z1"' in html_of(zh)
        assert en["Content-Language"] == "en" and zh["Content-Language"] == "zh-CN"

        for code, language in (("HY00000000E1", "en"), ("HY00000000Z1", "zh-CN")):
            inbox = (await notify.get(f"/v1/inbox/{code}")).json()["messages"]
            assert [(m["event_type"], m["language"]) for m in inbox] == [("request.submitted", language)]

        async def email_sent() -> Any:
            log = await deliveries(notify, "r-en", token())
            return log if any(d["channel"] == "email" and d["status"] == "sent" for d in log) else None

        log = await eventually(email_sent, timeout=15, what="the email delivery recorded as sent")
        by_channel = {d["channel"]: d for d in log}
        assert by_channel["email"]["attempts"] == 1 and by_channel["email"]["address"] == "l***@example.com"
        assert by_channel["inbox"]["status"] == "sent"


async def test_the_resolution_mail_links_to_the_feedback_page(run_service: Any, smtp: SmtpServer, publish: Any) -> None:
    async with run_service("notify", notify_smtp_url=smtp.url, intake_public_url="https://portal.example", **FAST):
        await publish(submitted("r1", "HY0000000001", language="en", email="li@example.com"))
        await eventually(lambda: len(smtp.messages) == 1, timeout=30, what="the receipt")
        await publish(
            dispatched("r1", "HY0000000001", seq=1),
            task_event("task.resolved", "r1", "HY0000000001", seq=2, status="resolved", reply="Fixed the <pipe>."),
        )
        await eventually(lambda: len(smtp.messages) == 3, timeout=30, what="dispatch and resolution mails")
        (resolved,) = [m for m in smtp.messages if "resolved" in str(m["Subject"])]
        feedback = "https://portal.example/feedback/HY0000000001"
        assert feedback in text_of(resolved) and f'href="{feedback}"' in html_of(resolved)
        assert "Fixed the <pipe>." in text_of(resolved) and "Fixed the &lt;pipe&gt;." in html_of(resolved)


async def test_smtp_down_is_retried_until_it_is_up_and_a_refused_address_is_not(
    run_service: Any, publish: Any, token: Any
) -> None:
    server = SmtpServer()  # not started yet: connection refused
    async with run_service("notify", notify_smtp_url=server.url, **FAST) as (notify, _):
        await publish(
            submitted("r-ok", "HY0000000001", email="li@example.com"),
            submitted("r-bad", "HY0000000002", email="bounce@example.com"),
        )

        async def retried() -> Any:
            log = [d for d in await deliveries(notify, "r-ok", token()) if d["channel"] == "email"]
            return log if log and log[0]["attempts"] >= 2 and log[0]["status"] == "pending" else None

        (waiting,) = await eventually(retried, timeout=30, what="the mail to be retried while SMTP is down")
        assert "unreachable" in waiting["last_error"] and waiting["next_attempt_at"] is not None
        await server.start()
        try:

            async def sent(request_id: str, status: str) -> Any:
                log = [d for d in await deliveries(notify, request_id, token()) if d["channel"] == "email"]
                return log[0] if log and log[0]["status"] == status else None

            ok = await eventually(lambda: sent("r-ok", "sent"), timeout=30, what="the mail sent once SMTP is up")
            bad = await eventually(lambda: sent("r-bad", "failed"), timeout=30, what="the refused address failed")
            assert ok["attempts"] >= 3 and len(server.handler.to("li@example.com")) == 1
            assert "550" in bad["last_error"] and server.handler.to("bounce@example.com") == []
            attempts_when_failed = bad["attempts"]
            # Later mail still goes out, and the refused one was not tried again meanwhile.
            await publish(dispatched("r-ok", "HY0000000001", seq=1))
            await eventually(lambda: len(server.handler.to("li@example.com")) == 2, timeout=30, what="the next mail")
            assert (await sent("r-bad", "failed"))["attempts"] == attempts_when_failed
        finally:
            await server.stop()


async def test_without_an_smtp_url_email_is_recorded_as_disabled(run_service: Any, publish: Any, token: Any) -> None:
    async with run_service("notify", **FAST) as (notify, _):
        await publish(submitted("r1", "HY0000000001", email="li@example.com"))

        async def planned() -> Any:
            return [d for d in await deliveries(notify, "r1", token()) if d["channel"] == "email"]

        (email,) = await eventually(planned, timeout=30, what="the email delivery record")
        assert email["status"] == "skipped" and "HUIYING_NOTIFY_SMTP_URL" in email["last_error"]
        assert email["attempts"] == 0
