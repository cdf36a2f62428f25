"""notify's settings (`HUIYING_NOTIFY_*`, on top of the shared ones) and its configuration files.

`load_config(settings)` reads everything an operator writes once per start: the message templates
(`HUIYING_TEMPLATES_PATH`, deploy/notify/templates.yaml) compiled, and the SMTP URL checked. A mistake
stops start-up with one line naming the file (or variable) and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import Field, field_validator

from services.notify.channels.email import SmtpTarget
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.templates import TemplateConfigError, Templates
from shared.settings import Settings

SERVICE = "notify"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class NotifySettings(Settings):
    templates_path: Path = DEPLOY / "notify" / "templates.yaml"

    # --- email (aiosmtplib) ----------------------------------------------------------------------
    # smtp://[user:pass@]host:port (plain, STARTTLS when the server offers it),
    # smtp://...?starttls=require, or smtps://host:465 (implicit TLS). Unset: email is disabled and
    # every email delivery is recorded as skipped with that reason.
    notify_smtp_url: str | None = None
    notify_email_from: str = "回应 Huiying <noreply@huiying.local>"
    notify_smtp_timeout_s: float = Field(15.0, gt=0)
    # A resident who left an email address but kept the default preference (the inbox) is also written
    # to by email: an address given is consent to be written to. SMS costs money: only when chosen.
    notify_email_when_given: bool = True

    # --- SMS gateway (provider-neutral JSON over HTTP, see docs/notify.md) ------------------------
    notify_sms_url: str | None = None
    notify_sms_api_key: str | None = None  # sent as `Authorization: Bearer <key>` when set
    notify_sms_timeout_s: float = Field(10.0, gt=0)
    notify_sms_default_region: str = "CN"  # how to read phone numbers written without +country code

    # --- webhooks (signed with HUIYING_WEBHOOK_SECRET) ------------------------------------------
    notify_webhook_timeout_s: float = Field(10.0, gt=0)

    # --- quiet hours: non-urgent SMS wait for the morning ("" switches them off) ----------------
    notify_quiet_hours: str = "22:00-07:00"

    # --- the delivery worker --------------------------------------------------------------------
    notify_max_attempts: int = Field(8, ge=1, le=100)
    notify_retry_base_s: float = Field(5.0, gt=0)  # first retry after ~base, then doubling
    notify_retry_max_s: float = Field(3600.0, gt=0)  # the longest wait between two attempts
    # A request document whose due records are being sent is leased for this long; a replica that dies
    # mid-send loses it to another replica after the lease. Must be longer than the slowest send (the
    # channel timeouts above: a document's records are sent at once).
    notify_lease_s: float = Field(60.0, gt=0)
    notify_poll_interval_s: float = Field(1.0, gt=0)
    notify_concurrency: int = Field(4, ge=1, le=64)  # request documents being sent from, per replica

    # --- the resident portal's browser reads the inbox (GET /v1/inbox/{code}) from intake's origin ----
    # Comma-separated origins allowed to read notify's API from a browser (CORS, GET only, no cookies).
    # Empty: intake's public URL (HUIYING_INTAKE_PUBLIC_URL), and in dev mode its localhost/127.0.0.1 twin.
    notify_cors_origins: str = ""

    @field_validator("notify_quiet_hours")
    @classmethod
    def _quiet_hours_parse(cls, value: str) -> str:
        QuietHours.parse(value)  # raises a ValueError naming the expected form
        return value

    @field_validator("notify_smtp_url", "notify_sms_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None

    @property
    def cors_origins(self) -> list[str]:
        configured = [o.strip().rstrip("/") for o in self.notify_cors_origins.split(",") if o.strip()]
        if configured:
            return configured
        intake = self.public_url("intake")
        origins = [intake]
        if self.is_dev:  # a browser may be pointed at either name of the loopback address
            for a, b in (("://127.0.0.1", "://localhost"), ("://localhost", "://127.0.0.1")):
                if a in intake:
                    origins.append(intake.replace(a, b))
        return origins

    @property
    def quiet_hours(self) -> QuietHours | None:
        return QuietHours.parse(self.notify_quiet_hours)


@dataclass(frozen=True)
class NotifyConfig:
    """What the configuration files say, parsed once per start."""

    templates: Templates
    smtp: SmtpTarget | None  # None: email is disabled


def load_templates(path: Path) -> Templates:
    try:
        with path.open(encoding="utf-8") as fh:
            source = yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise TemplateConfigError(f"templates file {path} not found; set HUIYING_TEMPLATES_PATH") from exc
    except yaml.YAMLError as exc:
        raise TemplateConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from exc
    return Templates(source, origin=str(path))


def load_config(settings: NotifySettings) -> NotifyConfig:
    """Read and check the configuration once; raises `ValueError` (one line) on an operator's mistake."""
    smtp = SmtpTarget.parse(settings.notify_smtp_url) if settings.notify_smtp_url else None
    return NotifyConfig(templates=load_templates(settings.templates_path), smtp=smtp)
