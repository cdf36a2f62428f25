"""Input field rules both front doors share: lines and texts, phone numbers, coordinates, media URLs.

Each check raises ValueError with a message that says how to fix the value; the callers name the field.
"""

from __future__ import annotations

import math
import re
from typing import Annotated
from urllib.parse import urlsplit

import phonenumbers
from pydantic import AfterValidator

MAX_DESCRIPTION = 4000  # Open311: "free form text limited to 4,000 characters"
MAX_MEDIA_URLS = 5
MAX_URL = 500

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LINE_BREAK = re.compile(r"[\r\n\t]")


def check_line(value: str) -> str:
    if _LINE_BREAK.search(value) or _CONTROL.search(value):
        raise ValueError("a single line without line breaks or control characters, please")
    return value


def check_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("remove the control characters (line breaks are fine)")
    return value


Line = Annotated[str, AfterValidator(check_line)]
Text = Annotated[str, AfterValidator(check_text)]


def normalize_phone(value: str) -> str:
    """A valid Chinese (or +country) phone number, returned in E.164 form."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number; give 11 digits such as 13800138000, or +country code") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number; check the digits (mobile: 11 digits starting with 1)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_TEXTABLE = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})


def is_mobile(value: str) -> bool:
    """Whether a phone number can receive text messages (a mobile, not a landline); False if not a number."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _TEXTABLE


def check_coordinate(value: float, *, low: float, high: float, name: str) -> float:
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low:g} to {high:g} (WGS84 degrees)")
    return value


def check_media_url(value: str) -> str:
    """An absolute http(s) URL to a photo or other media."""
    if len(value) > MAX_URL:
        raise ValueError(f"at most {MAX_URL} characters")
    check_line(value)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise ValueError("not a URL; give an absolute http(s) URL") from None
    if parts.scheme not in ("http", "https") or not host or " " in value:
        raise ValueError("give an absolute http(s) URL, e.g. https://example.org/photo.jpg")
    return value


def check_webhook_url(value: str, *, require_https: bool) -> str:
    check_media_url(value)
    if require_https and urlsplit(value).scheme != "https":
        raise ValueError("webhooks must use https outside dev mode")
    return value
