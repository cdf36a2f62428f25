"""intake's own Prometheus metrics (the common ones are in shared/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# A heard emergency stores nothing, so this is where referrals are counted: per rule, and whether the
# client sent it back confirmed as not an emergency (then it was filed).
EMERGENCY_DECISIONS = Counter(
    "huiying_intake_emergency_decisions_total",
    "Submissions emergency triage heard as an emergency",
    ["rule", "outcome"],  # outcome: referred | confirmed_not_emergency
)
TRIAGE_SECONDS = Histogram("huiying_intake_triage_seconds", "Time emergency triage took for one submission")
