"""Notify's rules: who the recipient is and what they are told. No I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.notify.templates import Rendered, Templates
from shared.events import Envelope, RequestSubmitted, TaskEvent
from shared.i18n import pick


def recipient_from(submitted: RequestSubmitted) -> dict[str, Any]:
    r = submitted.resident
    return {
        "_id": submitted.request_id,
        "tracking_code": submitted.tracking_code,
        "language": r.language,
        "name": r.name,
        "phone": r.phone,
        "email": r.email,
        "preferred_channel": r.preferred_channel,
        "channel": submitted.channel,
        "service_name": submitted.service_name,
    }


def format_time(value: datetime | None, language: str, tz: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz))
    return local.strftime("%Y年%m月%d日 %H:%M") if language == "zh-CN" else local.strftime("%d %b %Y %H:%M")


def message_for(
    envelope: Envelope,
    data: Any,
    recipient: dict[str, Any],
    templates: Templates,
    *,
    track_base_url: str,
    tz: str,
) -> Rendered | None:
    """The message the resident gets for this event, or None if this event is not told."""
    if not templates.has(envelope.type):
        return None
    language = recipient.get("language") or "zh-CN"
    context: dict[str, Any] = {
        "tracking_code": recipient["tracking_code"],
        "service_name": pick(recipient.get("service_name") or {}, language),
        "track_url": f"{track_base_url}/{recipient['tracking_code']}",
        "status": getattr(data, "status", None),
    }
    if isinstance(data, TaskEvent):
        context["team_name"] = pick(data.team.name, language) if data.team else ""
        context["public_note"] = data.public_note or ""
        context["due_at"] = format_time(data.due_at, language, tz)
    return templates.render(envelope.type, language, context)


def inbox_message(envelope: Envelope, recipient: dict[str, Any], rendered: Rendered, now: datetime) -> dict[str, Any]:
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
