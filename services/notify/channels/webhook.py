"""Webhooks: the JSON message POSTed to the request's channel callback URL, signed (see domain/signing.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from services.notify.channels.base import classify_http, pinned_target, post_pinned
from services.notify.domain.signing import DELIVERY_HEADER, EVENT_HEADER, sign
from shared.outbound import AllowList

Document = dict[str, Any]


def webhook_body(payload: Document) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class WebhookSender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        secret: str,
        timeout_s: float,
        clock: Callable[[], datetime],
        require_https: bool,
        allow: AllowList,
    ) -> None:
        self.http, self.secret, self.timeout_s, self.clock = http, secret, timeout_s, clock
        self.require_https, self.allow = require_https, allow  # the outbound check at every send

    async def send(self, delivery: Document) -> str | None:
        body = webhook_body(delivery["message"]["payload"])
        # Signed afresh on every attempt: the timestamp is when this attempt leaves.
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: delivery["_id"],
            EVENT_HEADER: delivery.get("event_type") or "",
            **sign(self.secret, int(self.clock().timestamp()), body),
        }
        what = "webhook receiver"
        target = await pinned_target(str(delivery["address"]), what, require_https=self.require_https, allow=self.allow)
        response = await post_pinned(
            self.http, target, headers=headers, timeout_s=self.timeout_s, what=what, content=body
        )
        classify_http(response, what)
        return None
