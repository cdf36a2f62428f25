"""Builders of the events notify consumes, for the notify tests (unit and integration)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.events import Envelope, RequestSubmitted, event_types, new_event

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai, a Monday

LEGAL_AID = {"id": "legal_aid", "name": {"zh-CN": "法律援助组", "en": "Legal aid"}}


def submitted(
    request_id: str,
    code: str,
    *,
    language: str = "zh-CN",
    email: str | None = None,
    phone: str | None = "13800138000",
    preferred: str = "inbox",
    webhook_url: str | None = None,
    seq: int = 1,
    at: datetime = T0,
    **extra: Any,
) -> Envelope:
    data = RequestSubmitted(
        request_id=request_id,
        tracking_code=code,
        service_code="legal_aid",
        service_name={"zh-CN": "法律援助咨询", "en": "Legal aid consultation"},
        description="想咨询劳动合同纠纷",
        location={"address": "5号楼1单元302"},  # type: ignore[arg-type]
        resident={  # type: ignore[arg-type]
            "name": "李师傅",
            "phone": phone,
            "email": email,
            "language": language,
            "preferred_channel": preferred,
        },
        channel="web",
        channel_webhook_url=webhook_url,
        submitted_at=at,
        **extra,
    )
    return new_event(data, producer="intake", seq=seq, occurred_at=at)


def task_event(
    event_type: str,
    request_id: str,
    code: str,
    *,
    seq: int,
    at: datetime = T0,
    team: dict[str, Any] | None = None,
    status: str = "dispatched",
    priority: str = "normal",
    **fields: Any,
) -> Envelope:
    cls = event_types()[event_type]
    data = cls.model_validate(
        {
            "request_id": request_id,
            "tracking_code": code,
            "status": status,
            "team": LEGAL_AID if team is None else team,
            "priority": priority,
            **fields,
        }
    )
    return new_event(data, producer="routing", seq=seq, occurred_at=at)


def dispatched(request_id: str, code: str, *, seq: int = 1, **fields: Any) -> Envelope:
    return task_event("task.dispatched", request_id, code, seq=seq, rule="legal_aid@1", **fields)
