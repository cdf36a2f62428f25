"""SMS through an HTTP gateway with a provider-neutral JSON contract (docs/notify.md, "SMS gateway").

    POST <HUIYING_NOTIFY_SMS_URL>
    Authorization: Bearer <HUIYING_NOTIFY_SMS_API_KEY>     (when set)
    Idempotency-Key: <delivery id>                          (the same on every retry)
    {"id": "<delivery id>", "to": "+8613800138000", "text": "...", "language": "zh-CN",
     "urgent": false, "reference": "HY..."}

    2xx: accepted (optionally {"message_id": "..."}); 408/425/429/5xx: retried (Retry-After honoured);
    other 4xx: permanent (e.g. a number the provider refuses), recorded and not retried.

A small adapter service in front of a real provider (Aliyun, Tencent Cloud, Twilio ...) maps this to the
provider's API, so notify never changes when the provider does.
"""

from __future__ import annotations

from typing import Any

import httpx
import phonenumbers

from services.notify.channels.base import SendFailed, classify_http, pinned_target, post_pinned
from shared.outbound import AllowList

Document = dict[str, Any]


def e164(raw: str, region: str) -> str:
    """The number in E.164 form, or a permanent failure (a bad address is not worth retrying)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise SendFailed(f"not a phone number ({exc})", permanent=True) from exc
    if not phonenumbers.is_valid_number(number):
        raise SendFailed("not a valid phone number", permanent=True)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sms_request(delivery: Document, region: str) -> Document:
    return {
        "id": delivery["_id"],
        "to": e164(str(delivery.get("address") or ""), region),
        "text": delivery["message"]["text"],
        "language": delivery.get("language"),
        "urgent": bool(delivery.get("urgent")),
        "reference": delivery.get("tracking_code"),
    }


class SmsSender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        api_key: str | None,
        timeout_s: float,
        region: str = "CN",
        require_https: bool,
        allow: AllowList,
    ) -> None:
        self.http, self.url, self.api_key, self.timeout_s, self.region = http, url, api_key, timeout_s, region
        self.require_https, self.allow = require_https, allow  # the outbound check at every send

    async def send(self, delivery: Document) -> str | None:
        body = sms_request(delivery, self.region)
        headers = {"Idempotency-Key": delivery["_id"]}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        what = "SMS gateway"
        target = await pinned_target(self.url, what, require_https=self.require_https, allow=self.allow)
        response = await post_pinned(self.http, target, headers=headers, timeout_s=self.timeout_s, what=what, json=body)
        classify_http(response, what)
        try:
            answer = response.json()
        except ValueError:
            return None
        message_id = answer.get("message_id") if isinstance(answer, dict) else None
        return str(message_id) if message_id else None
