"""Webhooks: the JSON message POSTed to the request's channel callback URL, signed (see domain/signing.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from services.notify.channels.base import classify_http, http_failure
from services.notify.domain.signing import DELIVERY_HEADER, EVENT_HEADER, sign

Document = dict[str, Any]


def webhook_body(payload: Document) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class WebhookSender:
    def __init__(
        self, http: httpx.AsyncClient, *, secret: str, timeout_s: float, clock: Callable[[], datetime]
    ) -> None:
        self.http, self.secret, self.timeout_s, self.clock = http, secret, timeout_s, clock

    async def send(self, delivery: Document) -> str | None:
        body = webhook_body(delivery["message"]["payload"])
        # Signed afresh on every attempt: the timestamp is when this attempt leaves.
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: delivery["_id"],
            EVENT_HEADER: delivery.get("event_type") or "",
            **sign(self.secret, int(self.clock().timestamp()), body),
        }
        try:
            response = await self.http.post(
                str(delivery["address"]), content=body, headers=headers, timeout=self.timeout_s
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise http_failure(exc, "webhook receiver") from exc
        classify_http(response, "webhook receiver")
        return None
