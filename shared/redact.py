"""Masking of personal data and secrets before anything is logged.

Phone numbers, tokens, API keys and passwords never appear whole in logs: the structlog processor
below masks values under sensitive keys and phone-number-like digit runs in any string.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SENSITIVE_KEYS = {
    "phone",
    "password",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "x-api-key",
    "authorization",
    "secret",
    "key",
    "idempotency_key",
}

# Mainland mobile numbers (optionally +86), and any run of 7+ digits with separators.
# Digit runs inside identifiers (UUIDs, hex ids: an ASCII letter, digit or dash next to them) are not phones;
# Chinese text right next to a number does not protect it.
_PHONE = re.compile(
    r"(?<![A-Za-z0-9_.-])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![A-Za-z0-9_-])"
    r"|(?<![A-Za-z0-9_.-])\+?\d[\d -]{6,}\d(?![A-Za-z0-9_-])"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def mask_phone(value: str) -> str:
    """The one phone mask, everywhere (logs, the delivery log, staff views): `138****8000`.

    The mainland country code is dropped first (`+86`, `0086`, `86`), so `+86 138 0013 8000` and
    `008613800138000` mask like `13800138000`."""
    digits = re.sub(r"\D", "", value)
    if len(digits) == 15 and digits.startswith("00861"):
        digits = digits[2:]
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    if len(digits) < 7:
        return "***"
    return f"{digits[:3]}****{digits[-4:]}"


def mask_secret(value: Any) -> str:
    text = str(value)
    if len(text) <= 8:
        return "***"
    return f"{text[:4]}…({len(text)} chars)"


def redact_text(text: str) -> str:
    text = _BEARER.sub(r"\1***", text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def redact_url(url: str) -> str:
    """Hide the password in a URL such as amqp://user:pass@host/ ."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def redact_value(key: str, value: Any) -> Any:
    if key.lower() in SENSITIVE_KEYS and value is not None:
        return mask_phone(str(value)) if key.lower() == "phone" else mask_secret(value)
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value("", v) for v in value]
    return value


def redact_processor(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    return {k: redact_value(k, v) if k not in ("timestamp", "level") else v for k, v in event_dict.items()}


# Mainland resident ID numbers: 18 characters, the last a digit or X (15-digit old IDs too).
_ID_CARD = re.compile(r"(?<![A-Za-z0-9_-])(?:\d{17}[\dXx]|\d{15})(?![A-Za-z0-9_-])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
HIDDEN = "***"


def scrub_personal(text: str | None) -> str | None:
    """Free text fit for the public: ID-card numbers, e-mail addresses and phone numbers replaced by ***.

    Residents type their contact details into descriptions; public views (Open311) show text only after
    this, so a neighbour reading the public list learns the problem, not the person."""
    if not text:
        return text
    text = _ID_CARD.sub(HIDDEN, text)
    text = _EMAIL.sub(HIDDEN, text)
    return _PHONE.sub(HIDDEN, text)
