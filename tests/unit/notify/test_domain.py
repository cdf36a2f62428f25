"""Who hears of what, on which channel, and when: the planning rules, without I/O."""

from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.config import NotifySettings, load_config
from services.notify.domain.messages import Links
from services.notify.domain.planning import (
    Plan,
    Policy,
    plan_for_resident,
    plan_for_staff,
    recipient_from,
)
from services.notify.domain.quiet_hours import QuietHours
from shared.events import Envelope, RequestNotAccepted, new_event
from tests.unit.notify.events import LEGAL_AID, T0, dispatched, submitted, task_event

TEMPLATES = load_config(NotifySettings()).templates
LINKS = Links(intake="https://portal.example", routing="https://staff.example")
ALL = frozenset({"inbox", "email", "sms", "webhook"})
QUIET = QuietHours.parse("22:00-07:00")
NIGHT = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
MORNING = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 07:00 the next day in Shanghai


def policy(**overrides: Any) -> Policy:
    return Policy(**{"links": LINKS, "quiet": QUIET, "enabled": ALL, **overrides})


def resident(envelope: Envelope) -> dict[str, Any]:
    return recipient_from(envelope, envelope.payload())  # type: ignore[arg-type]


def plan(envelope: Envelope, who: dict[str, Any], now: datetime = T0, **overrides: Any) -> Plan:
    return plan_for_resident(envelope, envelope.payload(), who, TEMPLATES, policy(**overrides), now)


def by_channel(p: Plan) -> dict[str, dict[str, Any]]:
    return {d["channel"]: d for d in p.deliveries}


def test_receipt_goes_to_the_inbox_always_and_by_email_when_an_address_is_given() -> None:
    e = submitted("r1", "HY0000000001", language="en", email="li@example.com")
    p = plan(e, resident(e))
    assert p.inbox is not None and p.inbox["_id"] == str(e.event_id)
    assert p.inbox["language"] == "en" and "HY0000000001" in p.inbox["subject"]
    assert "https://portal.example/track/HY0000000001" in p.inbox["body"]
    channels = by_channel(p)
    assert set(channels) == {"inbox", "email"}
    assert channels["inbox"]["status"] == "sent"
    assert channels["email"]["status"] == "pending" and channels["email"]["address"] == "li@example.com"
    assert channels["email"]["message"]["subject"] == p.inbox["subject"]
    assert "<html" in channels["email"]["message"]["html"]


def test_the_email_rule_can_be_switched_off_and_sms_is_never_implied() -> None:
    e = submitted("r1", "HY0000000001", email="li@example.com", phone="13800138000")
    assert set(by_channel(plan(e, resident(e), email_when_given=False))) == {"inbox"}
    assert "sms" not in by_channel(plan(e, resident(e)))


def test_the_preferred_channel_is_used() -> None:
    e = submitted("r1", "HY0000000001", preferred="sms", email="li@example.com")
    channels = by_channel(plan(e, resident(e)))
    assert set(channels) == {"inbox", "sms"}
    assert channels["sms"]["address"] == "13800138000" and channels["sms"]["message"]["text"].startswith("【回应】")


def test_a_channel_without_address_or_adapter_is_recorded_as_skipped() -> None:
    e = submitted("r1", "HY0000000001", preferred="sms", phone=None)
    assert by_channel(plan(e, resident(e)))["sms"]["last_error"] == "no phone number was given"
    e = submitted("r2", "HY0000000002", email="li@example.com")
    email = by_channel(plan(e, resident(e), enabled=frozenset({"inbox", "webhook"})))["email"]
    assert email["status"] == "skipped" and "HUIYING_NOTIFY_SMTP_URL" in email["last_error"]
    e = submitted("r3", "HY0000000003", preferred="webhook")
    assert by_channel(plan(e, resident(e)))["webhook"]["status"] == "skipped"


def test_non_urgent_sms_at_night_waits_for_the_morning_and_urgent_goes_now() -> None:
    e = submitted("r1", "HY0000000001", preferred="sms")
    who = resident(e)
    night = by_channel(plan(dispatched("r1", "HY0000000001"), who, NIGHT))["sms"]
    assert night["status"] == "pending" and night["next_attempt_at"] == MORNING == night["deferred_until"]
    urgent = by_channel(plan(dispatched("r1", "HY0000000001", priority="urgent"), who, NIGHT))["sms"]
    assert urgent["next_attempt_at"] == NIGHT and urgent["deferred_until"] is None and urgent["urgent"]
    day = by_channel(plan(dispatched("r1", "HY0000000001"), who, T0))["sms"]
    assert day["next_attempt_at"] == T0
    # quiet hours hold back SMS only
    e = submitted("r2", "HY0000000002", email="li@example.com")
    assert by_channel(plan(e, resident(e), NIGHT))["email"]["next_attempt_at"] == NIGHT


def test_not_accepted_referral_is_told_at_once_in_the_residents_language() -> None:
    data = RequestNotAccepted(
        request_id="r9",
        tracking_code="HY0000000009",
        service_code="property_repair",
        reason_code="emergency",
        referral={"zh-CN": "请立即拨打119。", "en": "Call 119 now."},
        channel="web",
        resident={"name": "王", "phone": "13800138000", "language": "en", "preferred_channel": "sms"},  # type: ignore[arg-type]
    )
    e = new_event(data, producer="intake", seq=1, occurred_at=NIGHT)
    p = plan(e, recipient_from(e, data), NIGHT)
    assert p.inbox is not None and "Call 119 now." in p.inbox["body"] and "it is an emergency" in p.inbox["body"]
    sms = by_channel(p)["sms"]
    assert sms["urgent"] and sms["next_attempt_at"] == NIGHT and "Call 119 now." in sms["message"]["text"]


def test_every_step_is_told_with_its_specific_facts() -> None:
    e = submitted("r1", "HY0000000001", language="en")
    who = resident(e)
    due = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)

    def body(event: Envelope) -> str:
        p = plan(event, who)
        assert p.inbox is not None, event.type
        return p.inbox["body"]

    assert "is now with Legal aid." in body(dispatched("r1", "HY0000000001", due_at=due))
    assert "09 Mar 2026 18:00" in body(dispatched("r1", "HY0000000001", due_at=due))  # local time, Shanghai
    again = body(dispatched("r1", "HY0000000001", seq=5, redispatch=True))
    assert "now with Legal aid (a different team from before)" in again
    assert "has taken on" in body(task_event("task.claimed", "r1", "HY0000000001", seq=2))
    assert "now working" in body(task_event("task.started", "r1", "HY0000000001", seq=3))
    ext = body(
        task_event(
            "task.extension_approved",
            "r1",
            "HY0000000001",
            seq=4,
            due_at=due + timedelta(days=7),
            public_note="An old note from last week",
            extension_reason="the spare part comes from the factory",
        )
    )
    assert "16 Mar 2026 18:00" in ext
    # The extension's own reason, not the latest public note the event also carries.
    assert "Why: the spare part comes from the factory" in ext and "old note" not in ext
    ret = body(task_event("task.returned", "r1", "HY0000000001", seq=5, reason_code="wrong_locality"))
    assert "outside this team's area" in ret
    moved = task_event(
        "task.transferred", "r1", "HY0000000001", seq=6, from_team={"id": "m", "name": {"en": "Mediation"}}
    )
    assert "from Mediation to Legal aid" in body(moved)
    resolved = body(task_event("task.resolved", "r1", "HY0000000001", seq=7, reply="The lawyer called you."))
    assert "The lawyer called you." in resolved and "https://portal.example/feedback/HY0000000001" in resolved
    assert "handled again" in body(task_event("task.reopened", "r1", "HY0000000001", seq=8))
    assert "is completed" in body(task_event("task.closed", "r1", "HY0000000001", seq=9, reason="satisfied"))
    assert plan(task_event("task.closed", "r1", "HY0000000001", seq=9, reason="cancelled"), who).inbox is None
    # internal steps are not told to the resident
    assert (
        plan(task_event("task.extension_requested", "r1", "HY0000000001", seq=10, requested_due_at=due), who) == Plan()
    )


def test_chinese_is_the_default_language() -> None:
    e = submitted("r1", "HY0000000001")
    p = plan(dispatched("r1", "HY0000000001"), resident(e))
    assert p.inbox is not None and p.inbox["language"] == "zh-CN" and "已由法律援助组处理" in p.inbox["body"]


def test_the_webhook_carries_the_message_and_no_contact_details() -> None:
    e = submitted("r1", "HY0000000001", preferred="webhook", webhook_url="https://front.example/hook", email="a@b.cn")
    hook = by_channel(plan(e, resident(e)))["webhook"]
    payload = hook["message"]["payload"]
    assert hook["address"] == "https://front.example/hook" and payload["id"] == hook["_id"]
    assert payload["event_type"] == "request.submitted" and payload["tracking_code"] == "HY0000000001"
    assert payload["links"]["track"] == "https://portal.example/track/HY0000000001"
    assert "13800138000" not in str(payload) and "a@b.cn" not in str(payload) and "李师傅" not in str(payload)


def test_escalations_reach_the_addressed_staff_now_by_email_and_sms() -> None:
    e = task_event(
        "task.escalated",
        "r1",
        "HY0000000001",
        seq=9,
        level="supervisor",
        clock="handle",
        overdue_since=T0,
        recipients=[
            {
                "username": "supervisor",
                "role": "supervisor",
                "email": "sup@example.com",
                "phone": "13900000000",
                "language": "en",
            },
            {
                "username": "legal_aid.lead",
                "role": "lead",
                "team_id": "legal_aid",
                "language": "zh-CN",
                "email": "lead@example.com",
            },
            {"username": "nobody", "role": "lead"},
        ],
    )
    p = plan_for_staff(e, e.payload(), None, TEMPLATES, policy(), NIGHT)
    assert p.inbox is None
    got = {(d["recipient"], d["channel"]): d for d in p.deliveries}
    assert set(got) == {
        ("staff:supervisor", "email"),
        ("staff:supervisor", "sms"),
        ("staff:legal_aid.lead", "email"),
        ("staff:nobody", "email"),
    }
    assert got[("staff:supervisor", "sms")]["next_attempt_at"] == NIGHT  # escalations are urgent
    assert "Escalation to supervisor" in got[("staff:supervisor", "email")]["message"]["subject"]
    assert "督办" in got[("staff:legal_aid.lead", "email")]["message"]["subject"]
    assert got[("staff:nobody", "email")]["status"] == "skipped"


def test_reminders_to_staff_respect_quiet_hours() -> None:
    e = task_event(
        "task.reminder",
        "r1",
        "HY0000000001",
        seq=3,
        clock="claim",
        due_at=T0,
        recipients=[{"username": "m", "role": "member", "phone": "13900000000"}],
    )
    (sms,) = plan_for_staff(e, e.payload(), None, TEMPLATES, policy(), NIGHT).deliveries
    assert sms["next_attempt_at"] == MORNING and "尚未签收" in sms["message"]["text"]


def test_a_returned_task_names_the_team_that_sent_it_back() -> None:
    e = submitted("r1", "HY0000000001", language="en")
    returned = task_event("task.returned", "r1", "HY0000000001", seq=5, reason_code="outside_remit")
    # Routing clears `team` on return and names the returning team in `returned_by_team`; built from the
    # raw envelope so the test holds whichever version of the event model is installed.
    data = {**returned.data, "team": None, "status": "returned", "returned_by_team": LEGAL_AID}
    raw = Envelope.model_validate({**returned.model_dump(), "data": data})
    p = plan(raw, resident(e))
    assert p.inbox is not None
    assert p.inbox["body"].startswith("Legal aid cannot handle your request HY0000000001 because it is outside")


def test_a_duplicate_says_it_was_merged_and_never_names_another_residents_code() -> None:
    e = submitted("r1", "HY0000000001")
    dup = task_event("task.duplicate", "r1", "HY0000000001", seq=2, original_request_id="r0")
    # Even an older event that still carries the original's code does not pass it on.
    raw = Envelope.model_validate({**dup.model_dump(), "data": {**dup.data, "original_tracking_code": "HY0000000000"}})
    p = plan(raw, resident(e))
    # 并单: plainly, the same matter handled together, nothing more to do (no promise the original's news follows)
    assert p.inbox is not None and "合在一起处理" in p.inbox["body"] and "不用再报一次" in p.inbox["body"]
    assert "HY0000000000" not in str(p)
    en = plan(raw, resident(submitted("r1", "HY0000000001", language="en")))
    assert en.inbox is not None and "merged" in en.inbox["subject"]
    assert "handling them together" in en.inbox["body"] and "do not need to report it again" in en.inbox["body"]
    assert "HY0000000000" not in str(en)
