"""Planning: who hears of an event, on which channels, and when (what they are told: messages.py).
No I/O: the service reads the recipient, plans here, and writes the plan.

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

from services.notify.domain.deliveries import EMAIL, INBOX, PENDING, SENT, SKIPPED, SMS, WEBHOOK, new_delivery
from services.notify.domain.messages import (
    STAFF_EVENTS,
    Links,
    context_for,
    inbox_message,
    is_told,
    is_urgent,
    message_for,
    webhook_payload,
)
from services.notify.domain.quiet_hours import QuietHours, held_until
from services.notify.domain.templates import Rendered, Templates
from shared.events import DEFAULT_LANGUAGE, LANGUAGES, Envelope, EventData, RequestNotAccepted, RequestSubmitted
from shared.events.servicedays import SignupMade

Document = dict[str, Any]

RESIDENT = "resident"

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
class Policy:
    links: Links
    tz: str = "Asia/Shanghai"
    quiet: QuietHours | None = None
    enabled: frozenset[str] = frozenset({INBOX, WEBHOOK})  # channels that can send on this deployment
    email_when_given: bool = True


@dataclass
class Plan:
    """What one event causes: at most one inbox message and the delivery records to write."""

    inbox: Document | None = None
    deliveries: list[Document] = field(default_factory=list)
    # Languages asked for that the event's template lacks (zh-CN was used): the service counts them.
    missing_translations: list[str] = field(default_factory=list)

    def note(self, rendered: Rendered) -> Rendered:
        """Note a rendering's missing translation, and hand the rendering back."""
        if rendered.missing_language is not None:
            self.missing_translations.append(rendered.missing_language)
        return rendered


# --- the resident ------------------------------------------------------------------------------------


def recipient_from(envelope: Envelope, data: RequestSubmitted | RequestNotAccepted | SignupMade) -> Document:
    """The resident of a request (or of a service-day sign-up), from the event that introduces it."""
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


# --- the plan: inbox message and delivery records ------------------------------------------------------


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
    message = message_for(channel, rendered)
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
    not_before = held_until(channel, urgent, policy.quiet, now, policy.tz)
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
    ctx = context_for(envelope, data, recipient, language, templates, policy.links, policy.tz)
    plan = Plan()
    rendered = plan.note(templates.render(envelope.type, language, ctx))
    urgent = is_urgent(envelope, data)
    event = _event_fields(envelope, data, recipient)
    plan.inbox = inbox_message(envelope, recipient, rendered, now)
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
        ctx = context_for(envelope, data, recipient, language, templates, policy.links, policy.tz)
        ctx["staff_name"] = staff.display_name or staff.username
        ctx["track_url"] = ""  # staff work from the console, not the resident's track page
        rendered = plan.note(templates.render(envelope.type, language, ctx))
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
