"""What the portal says and asks (issue 13): the right explanation on every step, how the resident hears
back, the tracking code in groups, the short form's rules, answers labelled for staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.intake.config import DEPLOY, IntakeSettings, load_catalogue
from services.intake.domain.attributes import answer_labels
from services.intake.domain.status_view import view_update
from services.intake.domain.views import replies, track_view
from services.intake.web import forms
from shared.events import TeamRef, new_event
from shared.events.tasks import TaskClaimed, TaskExtensionApproved, TaskNoted, TaskReopened, TaskResolved
from shared.tracking import code_groups, normalize_tracking_code
from tests.unit.intake.test_domain_views import submitted

NOW = datetime(2025, 5, 1, 2, 30, tzinfo=UTC)
CATALOGUE = load_catalogue(DEPLOY / "catalogue.yaml")
TEAM = TeamRef(id="property_maintenance", name={"zh-CN": "物业维修组", "en": "Property maintenance"})


def routed(doc: dict[str, Any], cls: type, seq: int, **data: Any) -> dict[str, Any]:
    """`doc` after routing's event, as the store applies it (newest state, one more timeline entry)."""
    body = {"request_id": "r1", "tracking_code": "HY0123456789", "status": "in_progress", "team": TEAM, **data}
    event = new_event(cls(**body), producer="routing", seq=seq, occurred_at=NOW + timedelta(minutes=seq))
    state, entry = view_update(event, cls.model_validate(event.data))
    return {**doc, **state, "timeline": [*doc["timeline"], entry]}


def test_an_extension_says_why_not_the_last_public_note() -> None:
    doc = routed(submitted(), TaskNoted, 2, public_note="师傅周二上门")
    doc = routed(doc, TaskClaimed, 3, public_note="师傅周二上门")  # every event repeats the latest note
    doc = routed(doc, TaskExtensionApproved, 4, public_note="师傅周二上门", extension_reason="配件需要从厂家订购")
    entries = {e["type"]: e["note"] for e in track_view(doc, "zh-CN")["timeline"]}
    assert entries["task.extension_approved"] == "配件需要从厂家订购"
    assert entries["task.noted"] == "师傅周二上门"
    assert entries["task.claimed"] is None  # the same note is not shown again under a later step


def test_after_a_reopen_the_old_reply_is_the_earlier_one() -> None:
    doc = routed(submitted(), TaskResolved, 2, status="resolved", public_note="已更换水管", reply="已更换水管")
    assert track_view(doc, "zh-CN")["public_note"] == "已更换水管"
    doc = routed(doc, TaskReopened, 3, status="reopened", public_note="已更换水管")
    view = track_view(doc, "zh-CN")
    assert view["public_note"] is None and view["earlier_reply"] == "已更换水管"
    doc = routed(doc, TaskNoted, 4, public_note="明天再派师傅检查")
    view = track_view(doc, "zh-CN")
    assert view["public_note"] == "明天再派师傅检查" and view["earlier_reply"] == "已更换水管"
    assert replies([], "a note") == ("a note", None)


def test_the_view_says_how_the_resident_hears_back_without_their_contact() -> None:
    view = track_view(submitted(), "zh-CN")
    assert view["hear_back"] == "inbox" and view["can_be_called"] is True
    assert "+8613800138000" not in str(view) and "w@example.org" not in str(view)


def test_the_code_in_groups_and_typed_back_with_spaces() -> None:
    assert code_groups("HY7K3M9QX2RT") == ["HY", "7K3M", "9QX2", "RT"]
    assert normalize_tracking_code("hy 7k3m 9qx2 rt") == "HY7K3M9QX2RT"


def test_sms_is_the_default_for_a_mobile_when_sms_is_set_up() -> None:
    assert forms.default_channel("13800138000", None, sms_available=True) == "sms"
    assert forms.default_channel("010-12345678", None, sms_available=True) == "inbox"  # a landline gets no text
    assert forms.default_channel("13800138000", "w@example.org", sms_available=False) == "email"
    assert forms.default_channel(None, None, sms_available=True) == "inbox"
    assert IntakeSettings(notify_sms_url="http://sms.internal/send").sms_available
    assert not IntakeSettings(notify_sms_url=" ").sms_available


def form(**values: str) -> forms.Values:
    base = {"description": "厨房漏水", "location.building": "3号楼", "resident.name": "王阿姨"}
    return forms.Values({k: [v] for k, v in {**base, **values}.items()})


def test_the_portal_body_picks_the_channel_the_resident_did_not_choose() -> None:
    repair = CATALOGUE.get("property_repair")
    assert repair is not None
    body = forms.request_body(form(**{"resident.phone": "13800138000"}), repair, "Asia/Shanghai", sms_available=True)
    assert body["resident"]["preferred_channel"] == "sms"
    chosen = form(**{"resident.phone": "13800138000", "resident.preferred_channel": "inbox"})
    assert forms.request_body(chosen, repair, "Asia/Shanghai", sms_available=True)["resident"]["preferred_channel"] == (
        "inbox"
    )
    # SMS chosen with a landline: named at the phone field, with its own message
    landline = form(**{"resident.phone": "010-12345678", "resident.preferred_channel": "sms"})
    checked = forms.check(forms.request_body(landline, repair, "Asia/Shanghai"), repair)
    assert [(p.field, p.kind) for p in checked.problems] == [("resident.phone", "mobile")]
    assert forms.message_keys(checked.problems[0], repair)[0] == "error.mobile.resident.phone"


def test_a_date_and_time_from_four_selects() -> None:
    repair = CATALOGUE.get("property_repair")
    assert repair is not None
    parts = {"year": "2026", "month": "5", "day": "1", "time": "09:30"}
    values = form(**{f"attributes.home_from.{k}": v for k, v in parts.items()})
    body = forms.request_body(values, repair, "Asia/Shanghai")
    assert body["attributes"]["home_from"] == "2026-05-01T09:30:00+08:00"
    half = form(**{"attributes.home_from.year": "2026", "attributes.home_from.month": "5"})
    checked = forms.check(forms.request_body(half, repair, "Asia/Shanghai"), repair)
    assert [p.field for p in checked.problems] == ["attributes.home_from"]  # incomplete: named, not guessed
    zh, en = forms.datetime_choices("zh-CN", 2026), forms.datetime_choices("en", 2026)
    assert ("5", "5月") in zh["month"] and ("5", "May") in en["month"] and ("2026", "2026年") in zh["year"]


def test_the_care_visit_form_asks_the_households_situation_once() -> None:
    care, repair = CATALOGUE.get("care_visit"), CATALOGUE.get("property_repair")
    assert care is not None and repair is not None
    assert forms.care_question(care) is not None and forms.care_question(repair) is None
    values = form(**{"attributes.household": "elderly_alone"})
    body = forms.request_body(values, care, "Asia/Shanghai")
    assert body["resident"]["vulnerability"] == ["elderly_alone"]  # the answer stands for the care question


def test_answers_travel_with_their_words() -> None:
    repair = CATALOGUE.get("property_repair")
    assert repair is not None
    labels = answer_labels(repair, {"place": "kitchen", "home_from": "2026-05-01T09:30:00+08:00"})
    assert labels["place"].question["zh-CN"] == "问题在哪个位置？"
    assert labels["place"].values == {"kitchen": {"zh-CN": "厨房", "en": "Kitchen"}}
    assert labels["home_from"].values == {}
