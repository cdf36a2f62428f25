"""The adapters' pure parts: request shapes, address checks, error classification."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.notify.channels import SendFailed, classify_http, http_failure
from services.notify.channels.email import SmtpTarget, build_message, message_id
from services.notify.channels.sms import e164, sms_request
from services.notify.channels.webhook import webhook_body


def delivery(**overrides: Any) -> dict[str, Any]:
    return {
        "_id": "e1:sms:resident",
        "event_type": "task.resolved",
        "tracking_code": "HY0000000001",
        "address": "138 0013 8000",
        "language": "zh-CN",
        "urgent": False,
        "created_at": datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        "message": {"subject": "您的诉求已办结", "text": "已办结", "html": "<p>已办结</p>"},
        **overrides,
    }


def test_the_sms_contract() -> None:
    assert sms_request(delivery(), "CN") == {
        "id": "e1:sms:resident",
        "to": "+8613800138000",
        "text": "已办结",
        "language": "zh-CN",
        "urgent": False,
        "reference": "HY0000000001",
    }
    assert e164("+44 20 7946 0958", "CN") == "+442079460958"


@pytest.mark.parametrize("bad", ["", "12345", "not a number", "+86 100"])
def test_a_bad_phone_number_is_a_permanent_failure(bad: str) -> None:
    with pytest.raises(SendFailed) as info:
        sms_request(delivery(address=bad), "CN")
    assert info.value.permanent


def test_the_email_has_a_text_and_an_html_part_and_a_stable_message_id() -> None:
    msg = build_message(delivery(_id="e1:email:resident", address="li@example.com"), "回应 Huiying <noreply@hy.cn>")
    assert msg["To"] == "li@example.com" and msg["Subject"] == "您的诉求已办结"
    assert msg["Message-ID"] == message_id("e1:email:resident") == message_id("e1:email:resident")
    assert msg["Content-Language"] == "zh-CN"
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    assert parts["text/plain"].strip() == "已办结" and parts["text/html"].strip() == "<p>已办结</p>"


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@", "a b@example.com"])
def test_a_bad_email_address_is_a_permanent_failure(bad: str) -> None:
    with pytest.raises(SendFailed) as info:
        build_message(delivery(address=bad), "noreply@hy.cn")
    assert info.value.permanent


def test_smtp_urls() -> None:
    assert SmtpTarget.parse("smtp://127.0.0.1:2525") == SmtpTarget("127.0.0.1", 2525, None, None, False, None)
    assert SmtpTarget.parse("smtps://u%40x:p%2Fw@mail.example:465") == SmtpTarget(
        "mail.example", 465, "u@x", "p/w", True, False
    )
    assert SmtpTarget.parse("smtp://h?starttls=require").start_tls is True
    assert SmtpTarget.parse("smtp://h?starttls=off").port == 25
    for bad in ("http://h:25", "smtp://", "smtp://h?starttls=maybe"):
        with pytest.raises(ValueError, match="HUIYING_NOTIFY_SMTP_URL"):
            SmtpTarget.parse(bad)


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (400, True),
        (401, True),
        (404, True),
        (410, True),
        (422, True),
        (301, True),
        (408, False),
        (425, False),
        (429, False),
        (500, False),
        (502, False),
        (503, False),
    ],
)
def test_http_answers_are_classified(status: int, permanent: bool) -> None:
    response = httpx.Response(status, text="number 13800138000 refused", headers={"Retry-After": "7"})
    with pytest.raises(SendFailed) as info:
        classify_http(response, "SMS gateway")
    assert info.value.permanent is permanent
    assert f"HTTP {status}" in str(info.value)
    assert "13800138000" not in str(info.value)  # gateways echo numbers: masked before it is stored
    if not permanent:
        assert info.value.retry_after_s == 7


def test_2xx_is_success_and_no_answer_is_transient_unless_the_url_is_bad() -> None:
    classify_http(httpx.Response(202), "x")
    assert not http_failure(httpx.ConnectError("refused"), "gateway").permanent
    assert not http_failure(httpx.ReadTimeout("slow"), "gateway").permanent
    assert http_failure(httpx.UnsupportedProtocol("ftp"), "gateway").permanent


def test_the_webhook_body_is_canonical_utf8_json() -> None:
    assert webhook_body({"b": "已办结", "a": 1}) == '{"a":1,"b":"已办结"}'.encode()
