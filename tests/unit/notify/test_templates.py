from typing import Any

import pytest

from services.notify.config import NotifySettings, load_config
from services.notify.domain.templates import TemplateConfigError, Templates

SHIPPED = load_config(NotifySettings()).templates

TOLD_TO_RESIDENTS = [
    "request.submitted",
    "request.not_accepted",
    "request.cancelled",
    "request.feedback_received",
    "task.dispatched",
    "task.claimed",
    "task.started",
    "task.extension_approved",
    "task.returned",
    "task.transferred",
    "task.resolved",
    "task.reopened",
    "task.closed",
    "task.not_accepted",
]
TOLD_TO_STAFF = ["task.reminder", "task.escalated"]

CONTEXT: dict[str, Any] = {
    "tracking_code": "HY0123456789",
    "service_name": "Legal aid",
    "team_name": "Legal aid team",
    "from_team_name": "Mediation",
    "track_url": "http://portal/track/HY0123456789",
    "feedback_url": "http://portal/feedback/HY0123456789",
    "console_url": "http://console/",
    "due_at": "2026-03-09 18:00",
    "reply": "Your contract was reviewed.",
    "referral": "Call 119 now.",
    "reason": "outside remit",
    "staff_name": "lead",
    "overdue_since": "2026-03-05 18:00",
    "level": "lead",
    "clock": "handle",
}


@pytest.mark.parametrize("event_type", TOLD_TO_RESIDENTS + TOLD_TO_STAFF)
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_step_exists_in_both_languages(event_type: str, language: str) -> None:
    assert language in SHIPPED.languages(event_type)
    rendered = SHIPPED.render(event_type, language, CONTEXT)
    assert rendered.language == language
    assert "HY0123456789" in rendered.subject + rendered.body
    assert rendered.sms and rendered.html.startswith("<!doctype html>")
    assert "{{" not in rendered.body and "{%" not in rendered.body


def test_languages_differ_and_the_resolution_carries_reply_and_feedback_link() -> None:
    zh = SHIPPED.render("task.resolved", "zh-CN", CONTEXT)
    en = SHIPPED.render("task.resolved", "en", CONTEXT)
    assert "已处理完" in zh.subject and "resolved" in en.subject
    for rendered in (zh, en):
        assert CONTEXT["reply"] in rendered.body and CONTEXT["feedback_url"] in rendered.body
        assert f'href="{CONTEXT["feedback_url"]}"' in rendered.html


def test_the_receipt_says_what_happens_next() -> None:
    en = SHIPPED.render("request.submitted", "en", {**CONTEXT, "expected_at": "09 Mar 2026 18:00"})
    assert "What happens next" in en.body and "09 Mar 2026 18:00" in en.body and CONTEXT["track_url"] in en.body
    zh = SHIPPED.render("request.submitted", "zh-CN", CONTEXT)
    assert "接下来" in zh.body and "预计办结时间" not in zh.body  # no expected time given: not invented


def test_html_is_autoescaped_but_text_is_not() -> None:
    hostile = {**CONTEXT, "reply": '<script>alert("x")</script> & co'}
    rendered = SHIPPED.render("task.resolved", "en", hostile)
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert '<script>alert("x")</script> & co' in rendered.body  # plain text stays as typed


def test_a_missing_translation_falls_back_to_zh_cn_and_says_so() -> None:
    # Counted by the service (tests/unit/notify/test_service.py): rendering itself has no side effects.
    templates = Templates({"task.claimed": {"zh-CN": {"subject": "已签收 {{ tracking_code }}", "body": "正文"}}})
    rendered = templates.render("task.claimed", "en", CONTEXT)
    assert rendered.language == "zh-CN" and rendered.subject == "已签收 HY0123456789"
    assert rendered.missing_language == "en"
    assert templates.render("task.claimed", "zh-CN", CONTEXT).missing_language is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"task.claimed": {"en": {"subject": "s", "body": "b"}}}, "add a zh-CN version"),
        ({"task.claimed": {"zh-CN": {"subject": "s"}}}, "add body"),
        ({"task.claimed": {"zh-CN": {"subject": "s", "body": "b", "fax": "f"}}}, "unknown part"),
        ({"task.claimed": {"fr": {"subject": "s", "body": "b"}, "zh-CN": {"subject": "s", "body": "b"}}}, "fr"),
        ({"task.claimed": {"zh-CN": {"subject": "{% if %}", "body": "b"}}}, r"task.claimed.zh-CN.subject"),
    ],
)
def test_a_broken_file_fails_at_start_up_naming_the_place(source: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateConfigError, match=message):
        Templates(source)


def test_templates_are_sandboxed() -> None:
    from jinja2.exceptions import SecurityError

    templates = Templates({"x.y": {"zh-CN": {"subject": "{{ ''.__class__.__mro__ }}", "body": "b"}}})
    with pytest.raises(SecurityError):
        templates.render("x.y", "zh-CN", {})


def test_labels_are_localized_with_the_code_as_last_resort() -> None:
    assert SHIPPED.label("reasons", "outside_remit", "en") == "it is outside this team's remit"
    assert SHIPPED.label("reasons", "outside_remit", "zh-CN") == "不属于本工作组职责范围"
    assert SHIPPED.label("reasons", "a_new_code", "en") == "a_new_code"
    assert SHIPPED.label("reasons", None, "en") == ""
