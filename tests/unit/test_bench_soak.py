"""The soak's fill: a copy of a journey's documents is another request, consistent across the three services."""

from __future__ import annotations

from datetime import datetime, timedelta

from huiying.bench_soak import HISTORY_SPACING, as_history, copy_journey

REQUEST = "93a4177d-ae4c-43f9-ab63-eb4c64d267a3"
EVENT = "13b892c8-a627-4a15-a6c8-e73abb82d275"
AT = datetime(2026, 12, 3, 2, 51, 6, 913000)


def journey() -> dict[str, dict[str, object]]:
    return {
        "intake": {
            "_id": REQUEST,
            "tracking_code": "HY2P6V6B2C9K",
            "submitted_at": AT,
            "timeline": [{"event_id": EVENT}],
        },
        "routing": {"_id": REQUEST, "tracking_code": "HY2P6V6B2C9K", "next_check_at": AT, "priority_rank": 2},
        "notify": {
            "_id": REQUEST,
            "events": [EVENT],
            "deliveries": [{"_id": f"{EVENT}:inbox:resident"}],
            "messages": [{"body": "Your tracking code is HY2P6V6B2C9K."}],
        },
    }


def test_a_copy_has_new_ids_and_code_the_same_in_every_service() -> None:
    original = journey()
    copy = copy_journey(original, "HY2P6V6B2C9K", "HY0000000001", timedelta(milliseconds=10))
    new_id = copy["intake"]["_id"]
    assert new_id != REQUEST and copy["routing"]["_id"] == new_id and copy["notify"]["_id"] == new_id
    new_event = copy["intake"]["timeline"][0]["event_id"]  # type: ignore[index]
    assert new_event != EVENT and copy["notify"]["events"] == [new_event]
    assert copy["notify"]["deliveries"] == [{"_id": f"{new_event}:inbox:resident"}]
    assert copy["notify"]["messages"] == [{"body": "Your tracking code is HY0000000001."}]
    assert copy["routing"]["tracking_code"] == "HY0000000001" and copy["routing"]["priority_rank"] == 2
    assert copy["intake"]["submitted_at"] == AT - timedelta(milliseconds=10)
    assert original == journey()  # the template is left as it was


def test_two_copies_do_not_share_ids() -> None:
    a = copy_journey(journey(), "HY2P6V6B2C9K", "HY0000000001", timedelta(0))
    b = copy_journey(journey(), "HY2P6V6B2C9K", "HY0000000002", timedelta(0))
    assert a["intake"]["_id"] != b["intake"]["_id"]
    assert a["notify"]["events"] != b["notify"]["events"]


def test_a_copy_of_the_history_is_a_finished_request_left_for_no_loop() -> None:
    original = journey()
    original["routing"]["submitted_at"] = AT
    original["notify"]["due_at"] = AT
    copy = as_history(copy_journey(original, "HY2P6V6B2C9K", "HY0000000001", HISTORY_SPACING * 48))
    task = copy["routing"]
    assert task["status"] == "closed" and "next_check_at" not in task  # the SLA sweeper passes it by
    assert task["closed_at"] == AT  # submitted a day before AT (48 copies back), closed a day later
    assert copy["intake"]["status"] == "closed" and "due_at" not in copy["notify"]
    assert copy["intake"]["submitted_at"] == AT - timedelta(days=1)  # 48 copies back: a day earlier
