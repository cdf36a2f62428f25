"""intake's settings (HUIYING_* variables) and its configuration files, each read and checked once per start.

`load_config` reads the service catalogue (deploy/catalogue.yaml, or HUIYING_CATALOGUE_PATH), emergency
triage's rules (deploy/intake/emergency.yaml, or HUIYING_EMERGENCY_RULES_PATH) and the portal's texts
(deploy/intake/portal-messages.yaml). A mistake in any of them stops intake with one line naming the file
and the problem, instead of surfacing later as a bad answer to a resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from services.intake.domain.catalogue import Catalogue
from services.intake.domain.emergency import EmergencyRules, EmergencyTriage
from services.intake.domain.triage import Triage
from shared.segment import JiebaSegmenter
from shared.settings import Settings
from shared.web import Catalogue as Messages

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PORTAL_MESSAGES = DEPLOY / "intake" / "portal-messages.yaml"
PORTAL_TEMPLATES = Path(__file__).resolve().parent / "web" / "templates"


class IntakeSettings(Settings):
    catalogue_path: Path = DEPLOY / "catalogue.yaml"
    # Emergency triage's rules (docs/intake.md, "Emergencies").
    emergency_rules_path: Path = DEPLOY / "intake" / "emergency.yaml"
    # Dev mode seeds a `web` channel with this key; prod mode seeds nothing.
    dev_web_key: str = "dev-web-key"

    # --- front-door limits (docs/intake.md) ------------------------------------------------------
    # Bodies larger than this are refused with 413 (a 4000-character description is at most 12 KiB).
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    # multipart/form-data bodies (photos: at most 5 of 10 MB each, and the form's fields).
    max_upload_bytes: int = Field(51 * 1024 * 1024, ge=1024)
    # Photos stored for a request that was never written (a crash between the two) are deleted after this.
    photo_orphan_grace_s: float = Field(3600, ge=1)
    photo_sweep_s: float = Field(600, gt=0)
    # Fixed-window rate limits, counted in memory and added to MongoDB every rate_limit_flush_s so every
    # replica shares them (services/intake/limits.py). 0 switches one off.
    rate_limit_window_s: int = Field(60, ge=1)
    rate_limit_flush_s: float = Field(1.0, gt=0, le=30)
    # Every API call from one client address (X-Forwarded-For believed only from HUIYING_TRUSTED_PROXIES).
    # Generous, because a service window or hotline centre sits behind one address.
    rate_limit_per_address: int = Field(3000, ge=0)
    # Submissions per channel API key.
    rate_limit_per_key: int = Field(1200, ge=0)

    # --- the data path (docs/intake.md) -----------------------------------------------------------
    # Channel keys are served from memory, read again this often: a key disabled or rotated on another
    # replica keeps working for at most this long (on the replica that made the change: not at all).
    channel_cache_s: float = Field(5.0, gt=0, le=60)
    # Admission control: refuse a submission at once (503, Retry-After) when this many are being stored...
    max_inflight_writes: int = Field(64, ge=1)
    # ...or when the database's recent latency (moving average over its commands) is at least this.
    db_slow_ms: int = Field(2000, ge=1)

    # --- the resident portal ----------------------------------------------------------------------
    # The community's hotline: the portal shows it with a call button (its hours are a portal text,
    # `hotline.hours`). Empty: the portal sends residents to the service window only.
    hotline_number: str = Field("12345", pattern=r"^[0-9+][0-9 -]{2,19}$|^$")
    # notify's SMS gateway (the same variable notify reads, from the one environment file): when it is set,
    # a resident who gives a mobile number is told by SMS unless they choose otherwise.
    notify_sms_url: str | None = None

    @property
    def sms_available(self) -> bool:
        return bool((self.notify_sms_url or "").strip())

    # --- Open311 ---------------------------------------------------------------------------------
    # When set, a request naming another jurisdiction_id is answered 404; empty accepts any (one jurisdiction).
    open311_jurisdiction_id: str = ""
    open311_contact: str = "社区一站式服务站 / community one-stop service desk"
    open311_key_service: str = "Ask the community administrator for a channel API key (POST /v1/admin/channels)."
    open311_changeset: str = "2025-01-01T00:00:00Z"
    # false: GET requests answers 403 unless it names service_request_id (clients look up the requests they
    # filed; nobody browses everyone's). The single-request view by id stays.
    open311_public_list: bool = True

    # --- service days (便民服务日, docs/intake.md) -------------------------------------------------------
    # The day-before reminder is due at this hour (local time, HUIYING_TIMEZONE) the day before; every
    # replica looks for due reminders this often (each is written, and sent, once).
    servicedays_remind_hour: int = Field(10, ge=0, le=23)
    servicedays_remind_interval_s: float = Field(60.0, gt=0, le=3600)


class ConfigError(RuntimeError):
    """A configuration file is missing or wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class IntakeConfig:
    catalogue: Catalogue
    triage: Triage  # the catalogue's not_accepted rules, compiled
    emergency: EmergencyTriage  # emergency triage (deploy/intake/emergency.yaml); its segmenter warms at start
    messages: Messages  # the portal's texts


def _load_model[M: BaseModel](model: type[M], path: Path, what: str, variable: str) -> M:
    """A YAML file checked by its model, or ConfigError: one line naming the file and the entry."""
    try:
        with path.open(encoding="utf-8") as fh:
            return model.model_validate(yaml.safe_load(fh))
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path} ({exc}); set {variable}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the top level"
        raise ConfigError(f"{what} {path} is invalid at {where}: {first['msg']}") from exc


def load_catalogue(path: Path) -> Catalogue:
    return _load_model(Catalogue, path, "the catalogue", "HUIYING_CATALOGUE_PATH")


def load_emergency_rules(path: Path) -> EmergencyRules:
    return _load_model(EmergencyRules, path, "the emergency rules", "HUIYING_EMERGENCY_RULES_PATH")


def emergency_triage(path: Path) -> EmergencyTriage:
    """The rules with a jieba segmenter taught their words (cold: `segment.warm()` builds its dictionary)."""
    rules = load_emergency_rules(path)
    return EmergencyTriage(rules, JiebaSegmenter(rules.lexicon()))


def load_messages(path: Path) -> Messages:
    try:
        return Messages(path)
    except OSError as exc:
        raise ConfigError(f"cannot read the portal's texts {path} ({exc})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"the portal's texts {path} are not valid YAML: {exc}") from exc
    except ValueError as exc:  # a key without its zh-CN text; the message names the file
        raise ConfigError(str(exc)) from exc


def load_config(settings: IntakeSettings) -> IntakeConfig:
    catalogue = load_catalogue(settings.catalogue_path)
    return IntakeConfig(
        catalogue=catalogue,
        triage=Triage(catalogue),
        emergency=emergency_triage(settings.emergency_rules_path),
        messages=load_messages(PORTAL_MESSAGES),
    )
