"""Staff and managers read labels, not codes (issue 13): answers in words, channel names, spans for the
ledger's medians; the extension's reason travels to the resident."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.routing.domain import lifecycle as lc
from services.routing.domain.lifecycle import commands as cmd
from services.routing.web.base import catalogue
from services.routing.web.present import Present
from shared.events.requests import AnswerLabel
from tests.unit.routing.factories import context, lead, local, member, new_task, submitted

TEAM = "property_maintenance"
CTX = context()


def present(lang: str) -> Present:
    return Present(lang, ZoneInfo("Asia/Shanghai"), datetime(2026, 11, 30, tzinfo=UTC), catalogue(), CTX.directory)


def test_an_approved_extension_carries_its_reason_for_the_resident() -> None:
    task = new_task(submitted(at=local(2026, 11, 24, 9)))
    at = local(2026, 11, 24, 10)
    task = lc.act(task, cmd.Claim(), member(TEAM), CTX, at).task
    task = lc.act(task, cmd.Extend(reason="配件需要从厂家订购", working_days=3), member(TEAM), CTX, at).task
    outcome = lc.act(task, cmd.ApproveExtension(), lead(TEAM), CTX, at)
    [event] = [e for e in outcome.events if e.type == "task.extension_approved"]
    assert event.data["extension_reason"] == "配件需要从厂家订购"


def test_a_new_task_keeps_the_words_of_its_answers() -> None:
    labels = {
        "place": AnswerLabel(
            question={"zh-CN": "问题在哪个位置？", "en": "Where?"},
            values={"kitchen": {"zh-CN": "厨房", "en": "Kitchen"}},
        )
    }
    data = submitted(attributes={"place": "kitchen", "home_from": "2026-05-01T09:30:00+08:00"})
    task = new_task(data.model_copy(update={"answer_labels": labels}))
    zh = present("zh-CN").answers(task.attributes, task.answer_labels)
    assert zh == [("问题在哪个位置？", "厨房"), ("home_from", "2026-05-01 09:30")]
    assert present("en").answers({"place": ["kitchen", "attic"]}, task.answer_labels) == [("Where?", "Kitchen, attic")]


def test_channels_by_name() -> None:
    zh, en = present("zh-CN"), present("en")
    assert zh.channel("portal", "web") == "居民网站" and en.channel("portal", "web") == "Resident website"
    assert zh.channel("east-hotline", "hotline") == "热线电话（east-hotline）"
    assert en.channel("odd", None) == "odd"


def test_medians_read_as_spans_not_tenths_of_hours() -> None:
    zh, en = present("zh-CN"), present("en")
    assert zh.hours(0.05) == "3分钟" and en.hours(0.05) == "3 min"
    assert zh.hours(26.5) == "1天2小时" and zh.hours(None) == "—" and zh.hours(0.001) == "不到1分钟"
