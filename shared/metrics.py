"""Prometheus metrics shared by every service, exposed at GET /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter("huiying_events_published_total", "Events published (confirmed)", ["producer", "type"])
EVENTS_HANDLED = Counter(
    "huiying_events_handled_total",
    "Events taken off a queue, by outcome (ok, ignored, retry, requeued, dead_lettered)",
    ["queue", "type", "outcome"],
)
EVENT_HANDLE_SECONDS = Histogram("huiying_event_handle_seconds", "Time spent handling one event", ["queue", "type"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "huiying_outbox_publish_failures_total",
    "Outbox publishes that failed and were left for the sweeper",
    ["collection"],
)
OUTBOX_SWEPT = Counter(
    "huiying_outbox_swept_total",
    "Events published by the sweeper (left behind by a failed or dead relay)",
    ["collection"],
)
OUTBOX_PENDING = Gauge(
    "huiying_outbox_pending_documents", "Documents with unpublished events at the last sweep", ["collection"]
)
HTTP_REQUESTS = Counter("huiying_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_SECONDS = Histogram("huiying_http_request_seconds", "HTTP request latency", ["service", "method", "route"])
LOOP_FAILURES = Counter(
    "huiying_background_failures_total", "Background passes (sweepers, workers) that raised", ["loop"]
)
EVENTS_RETURNED = Counter(
    "huiying_events_returned_total",
    "Mandatory publishes the broker returned unroutable (the event stays in its outbox and is retried)",
    ["producer", "type"],
)
UNROUTABLE_MESSAGES = Gauge(
    "huiying_unroutable_messages",
    "Messages waiting in the alternate exchange's queue huiying.unroutable (no queue was bound to their type); "
    "alert when above 0",
)
DB_COMMANDS = Counter(
    "huiying_db_commands_total",
    "Database commands sent by this process (PyMongo command monitoring), by command name",
    ["service", "command"],
)
DB_SLOW_SECONDS = Histogram(
    "huiying_db_command_seconds",
    "Database command latency as the driver saw it",
    ["service"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PUBLISH_CHANNEL_RENEWALS = Counter(
    "huiying_publish_channel_renewals_total",
    "Publishing channels reopened after the broker refused a publish (shared/renewal.py)",
)
