"""routing's Prometheus metrics (exposed with the shared ones at GET /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TASK_CHANGES = Counter(
    "huiying_routing_task_changes_total",
    "Task changes written, by action (dispatch, claim, ..., remind, escalate, close)",
    ["action"],
)
LOST_RACES = Counter(
    "huiying_routing_lost_races_total",
    "Task writes that found the task changed meanwhile and were decided again (two clicks, two replicas)",
    ["source"],
)
SLA_SWEEP_SECONDS = Histogram("huiying_routing_sla_sweep_seconds", "Duration of one SLA sweeper pass")
SIGNIN_FAILURES = Counter(
    "huiying_routing_signin_failures_total",
    "Sign-ins refused for a wrong username or password, or a disabled account (api or console)",
    ["where"],
)
SIGNIN_REFUSED = Counter(
    "huiying_routing_signin_throttled_total",
    "Sign-ins refused before any password check: too many attempts (rate) or a locked account (locked)",
    ["where", "reason"],
)
