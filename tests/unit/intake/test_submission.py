"""The one submission path (domain/submission.py): what depends on the kind of request and on the channel,
decided in one place for the native API, Open311 and the portal."""

from __future__ import annotations

from typing import Any

import pytest

from services.intake.config import DEPLOY, load_catalogue
from services.intake.domain.channels import Channel
from services.intake.domain.submission import Draft, DraftRefused, UnknownService, take
from shared.events import Location

CATALOGUE = load_catalogue(DEPLOY / "catalogue.yaml")
HOTLINE = Channel("hotline", kind="hotline", webhook_url="https://hotline.example/hook")


def draft(**overrides: Any) -> Draft:
    values: dict[str, Any] = {
        "door": "v1",
        "channel": Channel("web"),
        "service_code": "property_repair",
        "description": "漏水",
        "location": Location(building="3号楼"),
        "name": "王阿姨",
        **overrides,
    }
    return Draft(**values)


def refused(**overrides: Any) -> dict[str, str]:
    with pytest.raises(DraftRefused) as info:
        take(draft(**overrides), CATALOGUE)
    return {p.field: p.message for p in info.value.problems}


def test_a_checked_command_carries_the_kind_and_the_channel() -> None:
    cmd = take(draft(attributes={"place": "kitchen"}, vulnerability=("elderly_alone",)), CATALOGUE)
    assert cmd.service_name["en"] == "Property repair" and cmd.public_details is True
    assert cmd.attributes == {"place": "kitchen"} and cmd.api == "v1" and cmd.extra == {}
    assert cmd.channel == "web" and cmd.channel_kind == "web" and not cmd.on_behalf and cmd.filed_by is None
    assert cmd.resident.name == "王阿姨" and cmd.resident.preferred_channel == "inbox"
    assert cmd.resident.vulnerability == ["elderly_alone"]


def test_unknown_kind_and_every_wrong_answer_at_once() -> None:
    with pytest.raises(UnknownService) as info:
        take(draft(service_code="pothole"), CATALOGUE)
    assert info.value.code == "pothole"
    with pytest.raises(DraftRefused) as refusal:
        take(draft(attributes={"place": "garage", "x": "1"}, filed_by="坐席07"), CATALOGUE)
    problems = refusal.value.problems
    assert [p.field for p in problems] == ["attributes.place", "attributes.x", "filed_by"]
    assert [p.attribute for p in problems] == ["place", "x", None]


def test_only_staffed_channels_file_on_a_residents_behalf() -> None:
    assert "this is web" in refused(filed_by="坐席07")["filed_by"]
    cmd = take(draft(channel=HOTLINE, filed_by="坐席07"), CATALOGUE)
    assert cmd.on_behalf and cmd.filed_by == "坐席07" and cmd.channel_webhook_url == HOTLINE.webhook_url
    # Open311 has no filed_by: a staffed channel's account_id names the operator; elsewhere it is only kept.
    extra = {"account_id": "acct-9", "device_id": None, "jurisdiction_id": None}
    by_operator = take(draft(door="open311", channel=HOTLINE, extra=extra), CATALOGUE)
    assert by_operator.filed_by == "acct-9" and by_operator.extra == extra
    assert take(draft(door="open311", extra=extra), CATALOGUE).filed_by is None


def test_the_webhook_preference_needs_a_channel_with_a_webhook() -> None:
    assert "webhook_url" in refused(preferred_channel="webhook")["resident.preferred_channel"]
    assert take(draft(channel=HOTLINE, preferred_channel="webhook"), CATALOGUE).resident.preferred_channel == "webhook"


def test_without_a_preference_the_channel_decides() -> None:
    def preferred(**overrides: Any) -> str:
        return take(draft(door="open311", **overrides), CATALOGUE).resident.preferred_channel

    assert preferred(channel=HOTLINE, phone="+8613800138000") == "webhook"
    assert preferred(phone="+8613800138000", email="a@example.org") == "sms"
    assert preferred(email="a@example.org") == "email"
    assert preferred() == "inbox"


@pytest.mark.parametrize("door", ["v1", "open311", "portal"])
def test_one_name_rule_on_every_door_the_kind_decides(door: str) -> None:
    # property_repair may stay anonymous to staff, on every door alike ...
    anonymous = take(draft(door=door, name=None), CATALOGUE)
    assert anonymous.resident.name == "" and anonymous.api == door
    # ... legal aid may not, on any door (Open311 used to take it without a name).
    problem = refused(door=door, service_code="legal_aid", name=None)["resident.name"]
    assert problem.startswith("required for legal_aid") and "property_repair" in problem
    assert take(draft(door=door, service_code="legal_aid"), CATALOGUE).resident.name == "王阿姨"


def test_the_catalogue_names_the_kinds_that_may_stay_anonymous() -> None:
    allowed = {s.code for s in CATALOGUE.services if s.anonymous}
    assert allowed == {"property_repair", "environment_order", "enquiry_complaint"}
