"""Privacy (issue 15 point 7): phone spellings, the scrub of free text, each service's anonymisation of its
documents (what goes, what the ledgers keep), and who sees a phone whole in routing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.intake.privacy import anonymised_request as intake_anonymised
from services.notify.privacy import anonymised_request as notify_anonymised
from services.routing.domain.model import Actor, Task
from services.routing.domain.privacy import description_for, resident_for
from services.routing.privacy import anonymised_task, progress
from services.routing.store import LEDGER_FIELDS
from shared.privacy import national_phone, personal_words, phone_variants, scrub

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
PHONE = "13800138000"


def test_phone_spellings_meet() -> None:
    for spelling in ("+86 138 0013 8000", "008613800138000", "8613800138000", "138-0013-8000", PHONE):
        assert national_phone(spelling) == PHONE, spelling
    assert {PHONE, "+8613800138000"} <= set(phone_variants("+86 138 0013 8000"))
    assert phone_variants(None) == [] and phone_variants("") == []
    assert national_phone("010-12345678") == "01012345678"  # a landline keeps its area code


def test_scrub_removes_contact_details_and_the_residents_words_but_not_ids_or_times() -> None:
    words = personal_words("王阿姨", PHONE, "wang@example.com", "幸福路8号3号楼2单元501")
    doc = {
        "note": "王阿姨说打+86 138 0013 8000或wang@example.com，住幸福路8号3号楼2单元501",
        "event_id": "8613800138000",  # an id-like key is left alone
        "at": NOW,
        "nested": [{"text": "call 13800138000"}],
    }
    out = scrub(doc, words)
    assert "王阿姨" not in out["note"] and "138" not in out["note"] and "wang@" not in out["note"]
    assert "幸福路" not in out["note"]
    assert out["event_id"] == "8613800138000" and out["at"] == NOW
    assert out["nested"][0]["text"] == "call ***"


def routing_task_doc() -> dict[str, Any]:
    return {
        "_id": "r1",
        "tracking_code": "HY1",
        "service_code": "property_repair",
        "team_id": "property_maintenance",
        "channel": "web",
        "status": "closed",
        "submitted_at": NOW,
        "closed_at": NOW,
        "description": "漏水，电话13800138000",
        "address": "幸福路8号3号楼2单元501",
        "building": "3",
        "unit": "2单元501",
        "lat": 31.2,
        "long": 121.4,
        "resident": {"name": "王阿姨", "phone": PHONE, "email": None, "language": "zh-CN"},
        "phone_last4": "8000",
        "terms": ["漏水", "8000"],
        "reply": "已修好，王阿姨请验收",
        "rating": "satisfied",
        "history": [
            {
                "action": "note",
                "actor": "m",
                "status": "claimed",
                "at": NOW,
                "details": {"text": "打了13800138000没人接"},
            }
        ],
    }


def test_routing_anonymises_a_task_and_keeps_what_the_ledgers_count() -> None:
    doc = routing_task_doc()
    fields = anonymised_task(doc, NOW)
    after = {**doc, **fields}
    assert PHONE not in str(after) and "王阿姨" not in str(after) and "2单元501" not in str(after)
    assert after["building"] == "3" and after["resident"]["anonymised_at"] == NOW and after["terms"] == []
    assert not set(fields) & (set(LEDGER_FIELDS) - {"reply"})  # only the reply's words change
    assert after["reply"] == "已修好，***请验收"


def test_intake_anonymises_a_request() -> None:
    doc = {
        "_id": "r1",
        "tracking_code": "HY1",
        "status": "closed",
        "description": "王阿姨家漏水 13800138000",
        "location": {"address": "幸福路8号3号楼2单元501", "building": "3", "unit": "2单元501", "lat": 1.0},
        "resident": {"name": "王阿姨", "phone": "+8613800138000", "email": "w@example.com", "language": "en"},
        "feedback": [{"rating": "satisfied", "comment": "谢谢，有事打13800138000"}],
        "timeline": [{"event_id": "e1", "type": "task.resolved", "status": "resolved", "at": NOW, "note": "王阿姨好"}],
    }
    after = {**doc, **intake_anonymised(doc, NOW)}
    assert "138" not in str(after) and "王阿姨" not in str(after) and "w@example.com" not in str(after)
    assert after["location"] == {"building": "3", "address_id": None} and after["status"] == "closed"
    assert after["resident"]["language"] == "en" and after["resident"]["name"] == ""
    assert after["feedback"][0]["rating"] == "satisfied" and after["timeline"][0]["event_id"] == "e1"


def test_notify_anonymises_recipient_messages_and_delivery_addresses_and_skips_what_was_pending() -> None:
    doc = {
        "_id": "r1",
        "version": 4,
        "tracking_code": "HY1",
        "recipient": {"name": "王阿姨", "phone": PHONE, "webhook_url": "https://x.example/h", "language": "zh-CN"},
        "messages": [{"id": "m1", "title": "王阿姨，您的报修已受理", "body": "…"}],
        "deliveries": [
            {"_id": "d1", "channel": "sms", "address": PHONE, "status": "sent", "attempts": 1},
            {"_id": "d2", "channel": "webhook", "address": "https://x.example/h", "status": "pending"},
        ],
        "due_at": NOW,
    }  # fmt: skip
    update = notify_anonymised(doc, NOW)
    after = {**doc, **update["$set"]}
    assert PHONE not in str(after) and "王阿姨" not in str(after) and "x.example" not in str(after)
    assert [d["status"] for d in after["deliveries"]] == ["sent", "skipped"]
    assert after["deliveries"][0]["attempts"] == 1 and after["tracking_code"] == "HY1"
    assert update["$unset"] == {"due_at": ""} and update["$inc"] == {"version": 1}


def task(assignee: str | None) -> Task:
    return Task.model_validate({**routing_task_doc(), "status": "claimed", "assignee": assignee})


def test_only_the_assignee_sees_the_phone_whole() -> None:
    mine, lead, boss = Actor("m", "member", "t"), Actor("l", "lead", "t"), Actor("s", "supervisor")
    assert resident_for(task("m"), mine)["phone"] == PHONE  # type: ignore[index]
    for actor in (lead, boss, Actor("m2", "member", "t")):
        shown = resident_for(task("m"), actor)
        assert shown is not None and shown["phone"] == "138****8000" and shown["phone_masked"] is True
        assert PHONE not in description_for(task("m"), actor)
    assert resident_for(task(None), mine)["phone"] == "138****8000"  # type: ignore[index]  # nobody claimed it


def test_progress_counts_the_services_done() -> None:
    doc = {"_id": "p1", "kind": "erasure", "parts": {"routing": {"counts": {"tasks": 1}, "done_at": NOW}}}
    assert progress(doc)["progress"] == "1 of 3" and not progress(doc)["complete"]
    doc["parts"] |= {"intake": {}, "notify": {}}
    assert progress(doc)["complete"]
