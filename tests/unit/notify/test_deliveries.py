from datetime import UTC, datetime, timedelta

from services.notify.domain.deliveries import (
    FAILED,
    PENDING,
    SENT,
    SKIPPED,
    RetryPolicy,
    claim_update,
    defer_update,
    delivery_id,
    failure_update,
    new_delivery,
    sent_update,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
EVENT = {"event_id": "e1", "event_type": "task.resolved", "request_id": "r1", "tracking_code": "HY1", "team_id": "t"}


def test_the_id_is_deterministic_per_event_channel_and_recipient() -> None:
    assert delivery_id("e1", "sms", "resident") == delivery_id("e1", "sms", "resident")
    assert (
        len(
            {
                delivery_id("e1", "sms", "resident"),
                delivery_id("e1", "email", "resident"),
                delivery_id("e2", "sms", "resident"),
                delivery_id("e1", "sms", "staff:a"),
            }
        )
        == 4
    )


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=4, max_s=60)
    low = [policy.delay(n, rng=lambda: 0.0).total_seconds() for n in range(1, 7)]
    high = [policy.delay(n, rng=lambda: 0.999999).total_seconds() for n in range(1, 7)]
    assert low == [2, 4, 8, 16, 30, 30]  # half the step is fixed
    assert [round(h) for h in high] == [4, 8, 16, 32, 60, 60]  # the other half is random; capped at max_s
    assert all(lo < hi for lo, hi in zip(low, high, strict=True))


def test_retry_after_is_honoured_but_capped() -> None:
    policy = RetryPolicy(base_s=1, max_s=120)
    assert policy.delay(1, rng=lambda: 0.0, at_least_s=90).total_seconds() == 90
    assert policy.delay(1, rng=lambda: 0.0, at_least_s=9000).total_seconds() == 120


def test_a_transient_failure_with_attempts_left_is_retried_later() -> None:
    policy = RetryPolicy(max_attempts=3, base_s=10, max_s=100)
    outcome, update = failure_update(
        1, "gateway answered HTTP 503", permanent=False, now=NOW, policy=policy, rng=lambda: 0.5
    )
    assert outcome == "retry"
    assert update["$set"]["status"] == PENDING
    assert update["$set"]["next_attempt_at"] == NOW + timedelta(seconds=7.5)
    assert update["$set"]["last_error"] == "gateway answered HTTP 503"


def test_the_last_transient_failure_gives_up() -> None:
    policy = RetryPolicy(max_attempts=3)
    outcome, update = failure_update(3, "timeout", permanent=False, now=NOW, policy=policy)
    assert outcome == FAILED
    assert update["$set"]["status"] == FAILED and update["$set"]["next_attempt_at"] is None
    assert update["$set"]["last_error"] == "gave up after 3 attempts: timeout"


def test_a_permanent_failure_is_not_retried() -> None:
    outcome, update = failure_update(1, "bad email address", permanent=True, now=NOW, policy=RetryPolicy())
    assert outcome == FAILED and update["$set"]["last_error"] == "bad email address"


def test_records_start_pending_sent_or_skipped() -> None:
    common = {"event": EVENT, "recipient": "resident", "language": "en", "urgent": False, "message": {}, "now": NOW}
    pending = new_delivery(channel="sms", address="13800138000", **common)
    assert pending["status"] == PENDING and pending["next_attempt_at"] == NOW and pending["attempts"] == 0
    deferred = new_delivery(channel="sms", address="1", not_before=NOW + timedelta(hours=8), **common)
    assert deferred["next_attempt_at"] == deferred["deferred_until"] == NOW + timedelta(hours=8)
    inbox = new_delivery(channel="inbox", address=None, status=SENT, **common)
    assert inbox["attempts"] == 1 and inbox["sent_at"] == NOW and inbox["next_attempt_at"] is None
    skipped = new_delivery(channel="email", address=None, status=SKIPPED, reason="no email address was given", **common)
    assert skipped["next_attempt_at"] is None and skipped["last_error"] == "no email address was given"


def test_a_claim_leases_the_request_document_and_counts_the_lease_and_defer_counts_no_attempt() -> None:
    claim = claim_update("replica-a", NOW, 60)
    assert claim["$set"] == {"lease_owner": "replica-a", "lease_until": NOW + timedelta(seconds=60)}
    assert claim["$inc"] == {"claims": 1}
    later = NOW + timedelta(hours=5)
    deferred = defer_update(later, NOW)
    assert "attempts" not in deferred["$set"] and "$inc" not in deferred
    assert sent_update(NOW, "m-1")["$set"] == {
        "status": SENT,
        "sent_at": NOW,
        "updated_at": NOW,
        "next_attempt_at": None,
        "provider_id": "m-1",
    }
