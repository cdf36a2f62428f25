import hashlib
import hmac

import pytest

from services.notify.domain.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    sign,
    verify,
)

SECRET = "a-webhook-secret-of-enough-length-123456"
BODY = '{"event_type":"task.resolved","text":"已办结"}'.encode()
TS = 1_767_225_600


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    headers = sign(SECRET, TS, BODY)
    expected = hmac.new(SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers == {TIMESTAMP_HEADER: str(TS), SIGNATURE_HEADER: f"v1={expected}"}


def test_a_genuine_webhook_verifies() -> None:
    h = sign(SECRET, TS, BODY)
    assert verify(SECRET, BODY, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], now=TS + 5) == TS


def test_a_changed_body_is_rejected() -> None:
    h = sign(SECRET, TS, BODY)
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(
            SECRET, BODY.replace("已办结".encode(), "已拒绝".encode()), h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], now=TS
        )


def test_a_forgery_with_another_secret_is_rejected() -> None:
    h = sign("someone-elses-secret", TS, BODY)
    with pytest.raises(InvalidSignature):
        verify(SECRET, BODY, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], now=TS)


def test_a_moved_timestamp_is_rejected() -> None:
    h = sign(SECRET, TS, BODY)
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(SECRET, BODY, str(TS + 100), h[SIGNATURE_HEADER], now=TS + 100)


def test_a_replay_after_the_tolerance_is_rejected() -> None:
    h = sign(SECRET, TS, BODY)
    verify(SECRET, BODY, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], now=TS + 300)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(SECRET, BODY, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], now=TS + 301)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(SECRET, BODY, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], now=TS - 301)


def test_missing_or_malformed_headers_are_rejected() -> None:
    h = sign(SECRET, TS, BODY)
    with pytest.raises(InvalidSignature, match="missing"):
        verify(SECRET, BODY, None, h[SIGNATURE_HEADER], now=TS)
    with pytest.raises(InvalidSignature, match="integer"):
        verify(SECRET, BODY, "yesterday", h[SIGNATURE_HEADER], now=TS)
    with pytest.raises(InvalidSignature):
        verify(SECRET, BODY, h[TIMESTAMP_HEADER], "v0=" + h[SIGNATURE_HEADER][3:], now=TS)


def test_one_of_several_signatures_is_enough_during_a_secret_rotation() -> None:
    old = sign("the-old-secret", TS, BODY)[SIGNATURE_HEADER]
    new = sign(SECRET, TS, BODY)[SIGNATURE_HEADER]
    assert verify(SECRET, BODY, str(TS), f"{old}, {new}", now=TS) == TS
