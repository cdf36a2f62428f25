"""Email over SMTP with aiosmtplib: a plain-text part and an HTML part (rendered with autoescaping).

`HUIYING_NOTIFY_SMTP_URL`:
    smtp://host:port                  plain SMTP; STARTTLS is used when the server offers it
    smtp://user:pass@host:587?starttls=require   STARTTLS required (fails if not offered)
    smtp://host:25?starttls=off       never STARTTLS (a local relay)
    smtps://user:pass@host:465        implicit TLS
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from email_validator import EmailNotValidError, validate_email

from services.notify.channels.base import SendFailed

Document = dict[str, Any]


def _starttls(value: str | None) -> bool | None:
    """aiosmtplib's `start_tls`: None = when offered, True = required, False = never."""
    mapping: dict[str | None, bool | None] = {None: None, "auto": None, "require": True, "off": False}
    if value not in mapping:
        raise ValueError(f"HUIYING_NOTIFY_SMTP_URL: starttls must be auto, require or off, not {value!r}")
    return mapping[value]


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "HUIYING_NOTIFY_SMTP_URL must look like smtp://host:port or smtps://user:pass@host:465 "
                f"(got scheme {parts.scheme!r})"
            )
        query = parse_qs(parts.query)
        use_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=False if use_tls else _starttls(query["starttls"][0] if "starttls" in query else None),
        )


def message_id(delivery_id: str) -> str:
    """Deterministic: if a send is ever repeated (a replica died mid-send), mail clients see one message."""
    return f"<{hashlib.sha256(delivery_id.encode()).hexdigest()[:32]}@huiying.notify>"


def build_message(delivery: Document, sender: str) -> EmailMessage:
    try:
        address = validate_email(str(delivery.get("address") or ""), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise SendFailed(f"bad email address: {exc}", permanent=True) from exc
    content = delivery["message"]
    msg = EmailMessage()
    name, addr = parseaddr(sender)
    msg["From"] = formataddr((name, addr)) if addr else sender
    msg["To"] = address
    msg["Subject"] = content["subject"]
    msg["Message-ID"] = message_id(delivery["_id"])
    msg["Date"] = format_datetime(delivery["created_at"])
    if delivery.get("tracking_code"):
        msg["X-Huiying-Tracking-Code"] = delivery["tracking_code"]
    msg.set_content(content["text"])
    if content.get("html"):
        msg.add_alternative(content["html"], subtype="html")
    # After the parts: set_content() clears Content-* headers.
    msg["Content-Language"] = delivery.get("language") or "zh-CN"
    return msg


class EmailSender:
    def __init__(self, target: SmtpTarget, *, sender: str, timeout_s: float) -> None:
        self.target, self.sender, self.timeout_s = target, sender, timeout_s

    async def send(self, delivery: Document) -> str | None:
        msg = build_message(delivery, self.sender)
        t = self.target
        try:
            await aiosmtplib.send(
                msg,
                hostname=t.hostname,
                port=t.port,
                username=t.username,
                password=t.password,
                use_tls=t.use_tls,
                start_tls=t.start_tls,
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            permanent = all(code >= 500 for code in codes)
            detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise SendFailed(f"SMTP server refused the recipient: {detail}", permanent=permanent) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            # An operator's mistake, fixable without touching the message: keep retrying.
            raise SendFailed(
                f"SMTP authentication failed ({exc.code}); check HUIYING_NOTIFY_SMTP_URL", permanent=False
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP server answered {exc.code} {exc.message}", permanent=exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendFailed(f"SMTP server unreachable: {type(exc).__name__}: {exc}", permanent=False) from exc
        return str(msg["Message-ID"])
