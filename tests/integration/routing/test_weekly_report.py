"""The weekly report (周报) end to end: TWO routing replicas sweep, the report on the week before is written
and published once (a write keyed by the ISO week), and notify e-mails it once to the supervisor, over the real
broker, the embedded MongoDB and a real SMTP server."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.events import Envelope
from tests.integration.notify.conftest import FAST as NOTIFY_FAST
from tests.integration.notify.conftest import smtp  # noqa: F401 (the fixture)
from tests.integration.notify.servers import SmtpServer, html_of, text_of
from tests.integration.routing.conftest import Routing, local, submitted
from tests.integration.routing.test_sla_sweeper import both_swept_again
from tests.support import eventually

M = "property_maintenance.member"
SUPERVISOR_MAIL = "supervisor@example.org"  # the dev seed's address


def report_mails(server: SmtpServer) -> list[Any]:
    """The report's e-mails (the supervisor also hears of 督办 on the task left open)."""
    return [m for m in server.handler.to(SUPERVISOR_MAIL) if "周报" in str(m["Subject"])]


def reports(routing: Routing) -> list[Envelope]:
    return [e for e in routing.listener.events if e.type == "ledger.weekly_report"]


async def test_two_replicas_report_the_week_once_and_notify_mails_it_once(
    start_routing: Any,
    run_service: Any,
    smtp: SmtpServer,  # noqa: F811
) -> None:
    notify_settings = {"notify_smtp_url": smtp.url, "routing_public_url": "https://console.example", **NOTIFY_FAST}
    async with start_routing() as a, start_routing() as b, run_service("notify", **notify_settings):
        # Week 48 (23-29 Nov 2026): two repairs, one resolved on time and rated satisfied, one still open.
        done, waiting = submitted(description="门锁坏了"), submitted(description="窗户关不上")
        await a.submit(done)
        await a.submit(waiting)
        a.clock.advance(hours=1)
        await a.ok(done.request_id, "claim", M)
        await a.ok(done.request_id, "resolve", M, {"reply": "已修好"})
        await a.feedback(done.request_id, done.tracking_code, "satisfied")
        await a.wait_task(done.request_id, lambda t: t["status"] == "closed", "closed")

        # Monday 30 Nov, 07:59: the report on week 48 is not due yet (week 47's is: nothing came in, no e-mail).
        a.clock.set(local(2026, 11, 30, 7, 59))
        await both_swept_again([a, b])
        assert reports(a) == []
        collection = a.app.state.container.reports.collection
        week_47 = await collection.find_one({"_id": "2026-W47"})
        assert week_47 is not None and week_47["note"] == "nothing was submitted" and week_47["count"] == 0

        # 08:00: both replicas' sweepers, and both by hand at the same moment, try to write it.
        a.clock.set(local(2026, 11, 30, 8, 0))
        await asyncio.gather(a.app.state.container.reports.tick(), b.app.state.container.reports.tick())
        await eventually(lambda: len(reports(a)) == 1, timeout=30, what="the weekly report published")
        await both_swept_again([a, b])
        assert len(reports(a)) == 1 and len(reports(b)) == 1  # once, whoever wrote it
        (event,) = reports(a)
        assert event.correlation_id == "ledger:2026-W48" and event.producer == "routing"
        data = event.data
        assert (data["week"], data["first_day"], data["last_day"]) == ("2026-W48", "2026-11-23", "2026-11-29")
        assert (data["totals"]["count"], data["totals"]["resolved"], data["totals"]["satisfaction_rate"]) == (2, 1, 1.0)
        pm = next(t for t in data["teams"] if t["team"]["id"] == "property_maintenance")
        assert (pm["received"], pm["resolved"], pm["on_time_rate"], pm["return_rate"]) == (2, 1, 1.0, 0.0)
        # the supervisors with an e-mail address, and no phone (it is e-mailed, not texted)
        assert [(r["username"], r["email"], r["phone"]) for r in data["recipients"]] == [
            ("supervisor", SUPERVISOR_MAIL, None)
        ]
        assert data["console_path"] == "/console/ledger?from=2026-11-23&to=2026-11-29"
        assert "13800138000" not in str(data) and "王阿姨" not in str(data)
        assert await collection.count_documents({"_id": "2026-W48"}) == 1

        # notify: one e-mail to the supervisor, in Chinese, with the teams' table and the link to the ledger
        await eventually(lambda: len(report_mails(smtp)) >= 1, timeout=30, what="the report e-mail")
        (mail,) = report_mails(smtp)
        assert "周报" in str(mail["Subject"]) and "受理 2 件" in str(mail["Subject"])
        text = text_of(mail)
        assert "物业维修组" in text and "按时办结率 100.0%" in text
        assert "https://console.example/console/ledger?from=2026-11-23&to=2026-11-29" in text
        assert "<table" in html_of(mail) and "物业维修组" in html_of(mail)
        # a later pass of either replica sends nothing more
        await both_swept_again([a, b])
        assert len(reports(a)) == 1 and len(report_mails(smtp)) == 1
        assert len([m for m in smtp.messages if "周报" in str(m["Subject"])]) == 1  # nobody else got it
