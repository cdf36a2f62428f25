"""What is told: whether an event is told, whether it is urgent, the template variables, and the message
forms each channel carries. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.notify.domain.deliveries import EMAIL, SMS, WEBHOOK, delivery_id
from services.notify.domain.reports import report_context
from services.notify.domain.servicedays import signup_context
from services.notify.domain.templates import Rendered, Templates
from shared.events import Envelope, EventData, FeedbackReceived, RequestNotAccepted, TaskEvent
from shared.events.care import CareEvent
from shared.events.ledger import LedgerWeeklyReport
from shared.events.servicedays import SignupEvent
from shared.i18n import pick

Document = dict[str, Any]

STAFF_EVENTS = frozenset(
    {"task.reminder", "task.escalated", "care.visit_due", "care.visit_reminder", "care.visit_escalated"}
)
# routing's weekly report, e-mailed to the supervisors it names (services/notify/domain/reports.py)
STAFF_EVENTS |= {"ledger.weekly_report"}
URGENT_EVENTS = frozenset({"request.not_accepted", "task.not_accepted", "task.escalated", "care.visit_escalated"})
# task.closed after a cancellation or as a duplicate: the resident has already been told by the
# request.cancelled / task.duplicate message.
SILENT_CLOSE_REASONS = frozenset({"cancelled", "duplicate"})


@dataclass(frozen=True)
class Links:
    intake: str  # intake's public base URL (the resident portal)
    routing: str  # routing's public base URL (the staff console)

    def track(self, code: str) -> str:
        return f"{self.intake}/track/{code}"

    def feedback(self, code: str) -> str:
        return f"{self.intake}/feedback/{code}"

    def console(self) -> str:
        return f"{self.routing}/console/"


def is_told(envelope: Envelope, data: EventData, templates: Templates) -> bool:
    if not templates.has(envelope.type):
        return False
    return not (envelope.type == "task.closed" and getattr(data, "reason", None) in SILENT_CLOSE_REASONS)


def is_urgent(envelope: Envelope, data: EventData) -> bool:
    priority = getattr(data, "priority", None) or envelope.data.get("priority")
    return envelope.type in URGENT_EVENTS or priority == "urgent"


def format_time(value: datetime | str | None, language: str, tz: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    local = moment.astimezone(ZoneInfo(tz))
    return local.strftime("%Y年%m月%d日 %H:%M") if language == "zh-CN" else local.strftime("%d %b %Y %H:%M")


def context_for(
    envelope: Envelope,
    data: EventData,
    recipient: Document | None,
    language: str,
    templates: Templates,
    links: Links,
    tz: str,
) -> Document:
    """The template variables (see deploy/notify/templates.yaml) in one language."""
    raw = envelope.data
    code = str(getattr(data, "tracking_code", None) or (recipient or {}).get("tracking_code") or "")
    service_name = (recipient or {}).get("service_name") or raw.get("service_name")
    ctx: Document = {
        "tracking_code": code,
        "service_name": pick(service_name, language),
        "status": getattr(data, "status", None) or "",
        "priority": getattr(data, "priority", None) or raw.get("priority") or "normal",
        "urgent": is_urgent(envelope, data),
        "track_url": links.track(code),
        "feedback_url": "",
        "console_url": links.console(),
        "expected_at": format_time(raw.get("expected_at") or raw.get("expected_datetime"), language, tz),
        "reason": templates.label("reasons", raw.get("reason_code"), language),
    }
    if isinstance(data, TaskEvent):
        # A returned task has no team any more; the message names the team that sent it back.
        returned_by = raw.get("returned_by_team") or {}
        team_names = data.team.name if data.team else returned_by.get("name") if isinstance(returned_by, dict) else None
        ctx["team_name"] = pick(team_names, language)
        ctx["public_note"] = data.public_note or ""
        ctx["extension_reason"] = raw.get("extension_reason") or ""
        ctx["due_at"] = format_time(data.due_at, language, tz)
        ctx["redispatch"] = bool(raw.get("redispatch"))
        ctx["reply"] = raw.get("reply") or data.public_note or ""
        ctx["referral"] = data.public_note or ""
        from_team = raw.get("from_team") or {}
        ctx["from_team_name"] = pick(from_team.get("name") if isinstance(from_team, dict) else None, language)
        ctx["level"] = raw.get("level") or ""
        ctx["clock"] = raw.get("clock") or ""
        ctx["overdue_since"] = format_time(raw.get("overdue_since"), language, tz)
        if envelope.type == "task.resolved":
            ctx["feedback_url"] = links.feedback(code)
    if isinstance(data, CareEvent):
        # a care visit (routing's care register): no resident's name or contact travels with it
        ctx["team_name"] = pick(data.team.name if data.team else None, language)
        ctx["due_at"] = format_time(data.due_at, language, tz)
        ctx["building"], ctx["grid"] = data.building or "", data.grid or ""
        ctx["household_id"] = data.household_id
        ctx["level"] = raw.get("level") or ""
        ctx["overdue_since"] = format_time(raw.get("overdue_since"), language, tz)
    if isinstance(data, RequestNotAccepted):
        ctx["referral"] = pick(data.referral, language)
    if isinstance(data, FeedbackReceived):
        ctx["rating"] = data.rating
        ctx["comment"] = data.comment or ""
    # service days (便民服务日): the sign-up templates' variables
    if isinstance(data, SignupEvent):
        ctx |= signup_context(data, language, links.intake)
    # the weekly report (ledger.weekly_report): the week's figures and the teams' assessment
    if isinstance(data, LedgerWeeklyReport):
        ctx |= report_context(data, language, links.routing)
    return ctx


def inbox_message(envelope: Envelope, recipient: Document, rendered: Rendered, now: datetime) -> Document:
    return {
        "_id": str(envelope.event_id),  # one inbox message per event, whatever the redeliveries
        "request_id": envelope.correlation_id,
        "tracking_code": recipient["tracking_code"],
        "event_type": envelope.type,
        "language": rendered.language,
        "subject": rendered.subject,
        "body": rendered.body,
        "created_at": now,
        "event_at": envelope.occurred_at,
    }


def message_for(channel: str, rendered: Rendered) -> Document:
    if channel == EMAIL:
        return {"subject": rendered.subject, "text": rendered.body, "html": rendered.html}
    if channel == SMS:
        return {"text": rendered.sms}
    return {"subject": rendered.subject, "text": rendered.body}


def webhook_payload(
    envelope: Envelope, data: EventData, recipient_key: str, rendered: Rendered, ctx: Document
) -> Document:
    """The JSON a channel's webhook receives (documented in docs/notify.md). No contact details."""
    return {
        "id": delivery_id(str(envelope.event_id), WEBHOOK, recipient_key),
        "event_id": str(envelope.event_id),
        "event_type": envelope.type,
        "occurred_at": envelope.occurred_at.isoformat(),
        "request_id": data.request_id,
        "tracking_code": ctx["tracking_code"],
        "status": ctx["status"] or None,
        "urgent": ctx["urgent"],
        "language": rendered.language,
        "subject": rendered.subject,
        "text": rendered.body,
        "links": {"track": ctx["track_url"], "feedback": ctx["feedback_url"] or None},
    }
