"""notify's Prometheus metrics (exposed with the shared ones at GET /metrics)."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERIES_PLANNED = Counter(
    "huiying_notify_deliveries_planned_total",
    "Delivery records written, by channel and first status",
    ["channel", "status"],
)
DELIVERY_ATTEMPTS = Counter(
    "huiying_notify_delivery_attempts_total",
    "Send attempts by channel and outcome (sent, retry, failed, deferred)",
    ["channel", "outcome"],
)
MISSING_TRANSLATIONS = Counter(
    "huiying_notify_missing_translations_total",
    "Messages rendered in zh-CN because the template lacks the resident's language",
    ["event_type", "language"],
)
