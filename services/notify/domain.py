"""Notify's rules: who hears of an event, what they are told, on which channels, and when. No I/O.

- Residents hear of every step of their request: the inbox always, plus their preferred channel (and
  email when they left an address but kept the default preference, see NotifySettings).
- Staff hear of reminders and escalations addressed to them (the event's `recipients`): by email when
  they have an address, by SMS when they have a phone.
- An event type without a template is not told; a community silences a step by removing its template.
- Urgent messages (priority urgent, not-accepted referrals, escalations) go at once; other SMS wait for
  the end of the quiet hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.notify.deliveries import (
    EMAIL,
    INBOX,
    PENDING,
    SENT,
    SKIPPED,
    SMS,
    WEBHOOK,
    delivery_id,
    new_delivery,
)
from services.notify.quiet_hours import QuietHours
from services.notify.templates import Rendered, Templates
from shared.events import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Envelope,
    EventData,
    FeedbackReceived,
    RequestNotAccepted,
    RequestSubmitted,
    TaskEvent,
)
from shared.i18n import pick

Document = dict[str, Any]

RESIDENT = "resident"
STAFF_EVENTS = frozenset({"task.reminder", "task.escalated"})
URGENT_EVENTS = frozenset({"request.not_accepted", "task.not_accepted", "task.escalated"})
# task.closed after a cancellation or as a duplicate: the resident has already been told by the
# request.cancelled / task.duplicate message.
SILENT_CLOSE_REASONS = frozenset({"cancelled", "duplicate"})

_ADDRESS_FIELD = {EMAIL: "email", SMS: "phone", WEBHOOK: "webhook_url"}
_NO_ADDRESS = {
    EMAIL: "no email address was given",
    SMS: "no phone number was given",
    WEBHOOK: "the request's channel has no webhook URL",
}
_DISABLED = {
    EMAIL: "email is disabled: set HUIYING_NOTIFY_SMTP_URL",
    SMS: "SMS is disabled: set HUIYING_NOTIFY_SMS_URL",
    WEBHOOK: "webhooks are disabled",
}


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


@dataclass(frozen=True)
class Policy:
    links: Links
    tz: str = "Asia/Shanghai"
    quiet: QuietHours | None = None
    enabled: frozenset[str] = frozenset({INBOX, WEBHOOK})  # channels that can send on this deployment
    email_when_given: bool = True


@dataclass
class Plan:
    inbox: Document | None = None
    deliveries: list[Document] = field(default_factory=list)


# --- the resident ------------------------------------------------------------------------------------


def recipient_from(envelope: Envelope, data: RequestSubmitted | RequestNotAccepted) -> Document:
    """The resident of a request, from the event that introduces it."""
    r = data.resident
    webhook_url = getattr(data, "channel_webhook_url", None) or envelope.data.get("channel_webhook_url")
    return {
        "_id": data.request_id,
        "tracking_code": data.tracking_code,
        "language": r.language,
        "name": r.name,
        "phone": r.phone,
        "email": r.email,
        "preferred_channel": r.preferred_channel,
        "channel": data.channel,
        "webhook_url": webhook_url,
        "service_name": getattr(data, "service_name", None) or envelope.data.get("service_name") or {},
    }


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def resident_channels(recipient: Document, *, email_when_given: bool) -> list[str]:
    """The channels besides the inbox."""
    preferred = recipient.get("preferred_channel") or INBOX
    channels = [] if preferred == INBOX else [preferred]
    if preferred == INBOX and email_when_given and recipient.get("email"):
        channels.append(EMAIL)
    return channels


# --- what is told ------------------------------------------------------------------------------------


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
    policy: Policy,
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
        "track_url": policy.links.track(code),
        "feedback_url": "",
        "console_url": policy.links.console(),
        "expected_at": format_time(raw.get("expected_at") or raw.get("expected_datetime"), language, policy.tz),
        "reason": templates.label("reasons", raw.get("reason_code"), language),
    }
    if isinstance(data, TaskEvent):
        # A returned task has no team any more; the message names the team that sent it back.
        returned_by = raw.get("returned_by_team") or {}
        team_names = data.team.name if data.team else returned_by.get("name") if isinstance(returned_by, dict) else None
        ctx["team_name"] = pick(team_names, language)
        ctx["original_tracking_code"] = raw.get("original_tracking_code") or ""
        ctx["public_note"] = data.public_note or ""
        ctx["due_at"] = format_time(data.due_at, language, policy.tz)
        ctx["redispatch"] = bool(raw.get("redispatch"))
        ctx["reply"] = raw.get("reply") or data.public_note or ""
        ctx["referral"] = data.public_note or ""
        from_team = raw.get("from_team") or {}
        ctx["from_team_name"] = pick(from_team.get("name") if isinstance(from_team, dict) else None, language)
        ctx["level"] = raw.get("level") or ""
        ctx["clock"] = raw.get("clock") or ""
        ctx["overdue_since"] = format_time(raw.get("overdue_since"), language, policy.tz)
        if envelope.type == "task.resolved":
            ctx["feedback_url"] = policy.links.feedback(code)
    if isinstance(data, RequestNotAccepted):
        ctx["referral"] = pick(data.referral, language)
    if isinstance(data, FeedbackReceived):
        ctx["rating"] = data.rating
        ctx["comment"] = data.comment or ""
    return ctx


# --- the plan: inbox message and delivery records ------------------------------------------------------


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


def _message_for(channel: str, rendered: Rendered) -> Document:
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


def _channel_delivery(
    *,
    event: Document,
    channel: str,
    recipient_key: str,
    address: str | None,
    rendered: Rendered,
    urgent: bool,
    policy: Policy,
    now: datetime,
    payload: Document | None = None,
) -> Document:
    message = _message_for(channel, rendered)
    if payload is not None:
        message["payload"] = payload
    common: Document = {
        "event": event,
        "channel": channel,
        "recipient": recipient_key,
        "address": address,
        "language": rendered.language,
        "urgent": urgent,
        "message": message,
        "now": now,
    }
    if not address:
        return new_delivery(**common, status=SKIPPED, reason=_NO_ADDRESS.get(channel, "no address"))
    if channel not in policy.enabled:
        return new_delivery(**common, status=SKIPPED, reason=_DISABLED.get(channel, f"{channel} is disabled"))
    not_before = None
    if channel == SMS and not urgent and policy.quiet is not None:
        not_before = policy.quiet.defer_until(now, policy.tz)
    return new_delivery(**common, status=PENDING, not_before=not_before)


def _event_fields(envelope: Envelope, data: EventData, recipient: Document | None) -> Document:
    team = getattr(data, "team", None)
    return {
        "event_id": str(envelope.event_id),
        "event_type": envelope.type,
        "request_id": data.request_id,
        "tracking_code": getattr(data, "tracking_code", None) or (recipient or {}).get("tracking_code"),
        "team_id": team.id if team is not None else (recipient or {}).get("team_id"),
        "event_at": envelope.occurred_at,
    }


def plan_for_resident(
    envelope: Envelope, data: EventData, recipient: Document, templates: Templates, policy: Policy, now: datetime
) -> Plan:
    if not is_told(envelope, data, templates):
        return Plan()
    language = language_of(recipient.get("language"))
    ctx = context_for(envelope, data, recipient, language, templates, policy)
    rendered = templates.render(envelope.type, language, ctx)
    urgent = is_urgent(envelope, data)
    event = _event_fields(envelope, data, recipient)
    plan = Plan(inbox=inbox_message(envelope, recipient, rendered, now))
    plan.deliveries.append(
        new_delivery(
            event=event,
            channel=INBOX,
            recipient=RESIDENT,
            address=None,
            language=rendered.language,
            urgent=urgent,
            message={"subject": rendered.subject},
            now=now,
            status=SENT,
        )
    )
    for channel in resident_channels(recipient, email_when_given=policy.email_when_given):
        plan.deliveries.append(
            _channel_delivery(
                event=event,
                channel=channel,
                recipient_key=RESIDENT,
                address=recipient.get(_ADDRESS_FIELD.get(channel, "")),
                rendered=rendered,
                urgent=urgent,
                policy=policy,
                now=now,
                payload=webhook_payload(envelope, data, RESIDENT, rendered, ctx) if channel == WEBHOOK else None,
            )
        )
    return plan


def plan_for_staff(
    envelope: Envelope,
    data: EventData,
    recipient: Document | None,
    templates: Templates,
    policy: Policy,
    now: datetime,
) -> Plan:
    """Reminders and escalations: one delivery per addressed staff member and channel they can be reached on."""
    if not is_told(envelope, data, templates):
        return Plan()
    urgent = is_urgent(envelope, data)
    event = _event_fields(envelope, data, recipient)
    plan = Plan()
    staff_list: Iterable[Any] = getattr(data, "recipients", None) or []
    for staff in staff_list:
        language = language_of(staff.language)
        ctx = context_for(envelope, data, recipient, language, templates, policy)
        ctx["staff_name"] = staff.display_name or staff.username
        ctx["track_url"] = ""  # staff work from the console, not the resident's track page
        rendered = templates.render(envelope.type, language, ctx)
        key = f"staff:{staff.username}"
        reachable = [(c, a) for c, a in ((EMAIL, staff.email), (SMS, staff.phone)) if a]
        # Nobody to write to is recorded too (as a skipped email), so the log shows who did not hear.
        for channel, address in reachable or [(EMAIL, None)]:
            plan.deliveries.append(
                _channel_delivery(
                    event=event,
                    channel=channel,
                    recipient_key=key,
                    address=address,
                    rendered=rendered,
                    urgent=urgent,
                    policy=policy,
                    now=now,
                )
            )
    return plan


def is_for_staff(envelope: Envelope) -> bool:
    return envelope.type in STAFF_EVENTS
