"""Tracking codes, redaction, topic matching, i18n and settings."""

from __future__ import annotations

import secrets as secrets_module

import pytest
from pydantic import ValidationError

from shared.bus import topic_matches
from shared.i18n import negotiate, pick
from shared.redact import mask_phone, redact_processor, redact_url, scrub_personal
from shared.settings import Settings, secret_bits
from shared.tracking import new_tracking_code, normalize_tracking_code
from tests.support import PROD_SECRETS


def test_tracking_codes_are_random_and_forgiving_to_read_aloud() -> None:
    codes = {new_tracking_code() for _ in range(1000)}
    assert len(codes) == 1000 and all(len(c) == 12 and c.startswith("HY") for c in codes)
    code = next(iter(codes))
    assert normalize_tracking_code(code.lower()) == code
    assert normalize_tracking_code(f"{code[:6]}-{code[6:]}") == code
    assert normalize_tracking_code("hy-0l1o-23456-7") == "HY0110234567"
    assert normalize_tracking_code("HY123") is None and normalize_tracking_code("<script>") is None


def test_logs_never_show_a_phone_number_or_a_token_whole() -> None:
    event = redact_processor(
        None,
        "info",
        {
            "event": "called 13912345678 about it",
            "phone": "+86 139 1234 5678",
            "api_key": "dev-web-key-1234567890",
            "headers": {"authorization": "Bearer abc.def.ghi", "x": "ok"},
            "note": "Authorization: Bearer eyJhbGciOi.payload.sig",
        },
    )
    text = str(event)
    assert "13912345678" not in text and "1234 5678" not in text
    assert "139****5678" in event["event"]
    assert "abc.def.ghi" not in text and "eyJhbGciOi" not in text and "dev-web-key-1234567890" not in text
    assert event["headers"]["x"] == "ok"
    assert mask_phone("138") == "***"


def test_urls_lose_their_password() -> None:
    assert redact_url("amqp://guest:secret@10.0.0.1:5672/") == "amqp://guest:***@10.0.0.1:5672/"
    assert redact_url("mongodb://127.0.0.1:27017/") == "mongodb://127.0.0.1:27017/"


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("task.*", "task.dispatched", True),
        ("task.*", "request.submitted", False),
        ("task.*", "task.a.b", False),
        ("#", "anything.at.all", True),
        ("request.#", "request", True),
        ("request.submitted", "request.submitted", True),
    ],
)
def test_topic_matching(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_languages() -> None:
    assert pick({"zh-CN": "你好", "en": "hello"}, "en") == "hello"
    assert pick({"zh-CN": "你好"}, "en") == "你好"  # falls back to zh-CN
    assert pick({"zh-CN": "你好", "en": "hello"}, "fr") == "你好"
    assert negotiate("en-GB,en;q=0.9") == "en" and negotiate(None) == "zh-CN" and negotiate("zh-TW") == "zh-CN"
    assert negotiate("en", explicit="zh-CN") == "zh-CN"


def test_prod_mode_refuses_dev_secrets() -> None:
    with pytest.raises(ValidationError, match="HUIYING_JWT_SECRET still has its dev default"):
        Settings(mode="prod")
    Settings(mode="prod", **PROD_SECRETS)
    with pytest.raises(ValidationError, match="shorter than 32"):
        Settings(mode="prod", **{**PROD_SECRETS, "jwt_secret": "short"})
    Settings(mode="dev")  # dev mode keeps its defaults


@pytest.mark.parametrize(
    ("secrets", "problem"),
    [
        ({"jwt_secret": "x" * 40}, "HUIYING_JWT_SECRET is too predictable"),
        ({"admin_token": "abcd" * 10}, "HUIYING_ADMIN_TOKEN is too predictable"),
        ({"webhook_secret": PROD_SECRETS["jwt_secret"]}, "must differ"),
    ],
)
def test_prod_mode_refuses_weak_or_shared_secrets(secrets: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(mode="prod", **{**PROD_SECRETS, **secrets})
    assert secret_bits(secrets_module.token_urlsafe(48)) > 300


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+8613800138000", "138****8000"),
        ("+86 138-0013-8000", "138****8000"),
        ("010-62345678", "010****5678"),
    ],
)
def test_one_phone_mask_as_documented(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked
    assert redact_processor(None, "info", {"event": f"call {phone} now"})["event"] == f"call {masked} now"


def test_masking_leaves_identifiers_whole() -> None:
    text = "task 123e4567-e89b-12d3-a456-426614174000 event 9b2e0c51-1df0-4d4f-8c1e-138001380001 ok"
    assert redact_processor(None, "info", {"event": text})["event"] == text


@pytest.mark.parametrize(
    ("text", "public"),
    [
        ("楼道灯坏了，请联系13800138000王阿姨", "楼道灯坏了，请联系***王阿姨"),
        ("身份证110101199003077715，电话 010-62345678", "身份证***，电话 ***"),
        ("email me: wang.ayi+leak@example.com.cn please", "email me: *** please"),
        ("old id 110101900307771 and x", "old id *** and x"),
        ("3号楼2单元501 漏水", "3号楼2单元501 漏水"),
    ],
)
def test_public_text_is_scrubbed_of_personal_data(text: str, public: str) -> None:
    assert scrub_personal(text) == public
