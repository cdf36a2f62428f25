"""Settings shared by every service, read from `HUIYING_*` environment variables.

Each service subclasses `Settings` with its own fields (see `services/<name>/config.py`). One class
for the common part keeps the broker, secrets and the per-service MongoDB locations in one place, so
the launcher can see which databases it must start and `.env.example` stays a single table.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.outbound import AllowList, IPNetwork, parse_networks
from shared.redact import redact_url

SERVICES = ("intake", "routing", "notify")

# Values that are only acceptable in dev mode. Prod mode refuses to start while any is in use.
DEV_JWT_SECRET = "dev-only-jwt-secret-do-not-use-in-production"
DEV_WEBHOOK_SECRET = "dev-only-webhook-secret"
DEV_ADMIN_TOKEN = "dev-admin-token"


SECRETS = ("jwt_secret", "webhook_secret", "admin_token")
MIN_SECRET_BITS = 128


def secret_bits(value: str) -> float:
    """An estimate of a secret's strength: its length times the Shannon entropy of its characters.

    `secrets.token_urlsafe(48)` scores over 350; a run of one letter scores 0; `abcabcabc...` stays low."""
    if not value:
        return 0.0
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def broker_login(url: str) -> tuple[str, str]:
    """The user and password an AMQP URL logs in with (RabbitMQ clients default to guest/guest)."""
    parts = urlsplit(url)
    return unquote(parts.username or "guest"), unquote(parts.password or "guest")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUIYING_", env_file=".env", extra="ignore")

    mode: Literal["dev", "prod"] = "dev"
    log_level: str = "INFO"
    log_json: bool = True
    # The community's local time zone: working hours, quiet hours and dates shown to residents.
    timezone: str = "Asia/Shanghai"

    # --- broker ---------------------------------------------------------------------------------
    # One URL, or several comma-separated (the nodes of a cluster): the bus connects to the first that
    # answers and fails over to the next when the connection is lost.
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    amqp_reconnect_interval_s: float = Field(2.0, gt=0)
    # Queue settings (dead-lettering, delivery limit, retry delay) are RabbitMQ policies (shared/topology.py).
    # "apply": each service puts them in place at start-up through the management HTTP API;
    # "skip": the operator does (`huiying topology apply`, or deploy/rabbitmq/definitions.json).
    broker_policies: Literal["apply", "skip"] = "apply"
    # The management API; empty means http://<AMQP host>:<AMQP port + 10000>/ (5672 -> 15672) with the AMQP login.
    amqp_management_url: str = ""
    # Queues idle this long are deleted by the broker: for throwaway stacks (tests, benches) only.
    queue_expires_ms: int | None = Field(None, ge=1000)
    events_exchange: str = "huiying.events"
    work_exchange: str = "huiying.work"
    # Prepended to every queue this deployment declares; tests use it to keep their queues apart.
    queue_prefix: str = ""
    prefetch: int = Field(32, ge=1, le=1000)
    publish_timeout_s: float = Field(10.0, gt=0)
    # How often a failing message is tried before it is dead-lettered (handler bugs, crashes).
    delivery_limit: int = Field(5, ge=1)
    # Transient failures (database down) wait `retry_delay_ms` between tries, up to this many times.
    transient_retry_limit: int = Field(60, ge=1)
    retry_delay_ms: int = Field(5000, ge=10)

    # --- outbox relay ---------------------------------------------------------------------------
    outbox_lease_s: float = Field(30.0, gt=0)
    outbox_sweep_interval_s: float = Field(2.0, gt=0)

    # --- personal data (个人信息保护法; docs/security.md, "Privacy") -------------------------------------
    # Contact details of a request are anonymised this many days after it closed (every service; ledgers
    # keep their counts). 0 switches the retention sweep off.
    retention_days: int = Field(365, ge=0)
    retention_sweep_interval_s: float = Field(3600.0, gt=0)
    retention_batch: int = Field(200, ge=1, le=5000)

    # --- MongoDB, one database per service ------------------------------------------------------
    # An unset URI means "embedded": `huiying run` starts a mongoeco server and passes its URI in.
    intake_mongodb_uri: str | None = None
    intake_mongodb_db: str = "huiying_intake"
    routing_mongodb_uri: str | None = None
    routing_mongodb_db: str = "huiying_routing"
    notify_mongodb_uri: str | None = None
    notify_mongodb_db: str = "huiying_notify"
    mongodb_timeout_ms: int = Field(5000, ge=100)

    # --- HTTP -----------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    intake_port: int = 8001
    routing_port: int = 8002
    notify_port: int = 8003
    # Public base URLs, used in links sent to residents and between the web pages.
    intake_public_url: str = ""
    routing_public_url: str = ""
    notify_public_url: str = ""

    # --- secrets --------------------------------------------------------------------------------
    jwt_secret: str = DEV_JWT_SECRET
    jwt_ttl_s: int = Field(8 * 3600, ge=60)
    webhook_secret: str = DEV_WEBHOOK_SECRET
    admin_token: str = DEV_ADMIN_TOKEN

    # --- front-door limits (every service; intake sets stricter ones for its public API) ------------
    # Bodies larger than this are refused with 413 before they are parsed.
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # Fixed-window rate limits shared by every replica (shared/limits.py). 0 switches one off.
    rate_limit_window_s: int = Field(60, ge=1)
    rate_limit_per_address: int = Field(3000, ge=0)
    # Administration (shared/configstore.py): how often each replica checks whether an admin changed a
    # versioned config document (one read of a few small documents); a change holds everywhere within this.
    config_refresh_s: float = Field(3.0, gt=0, le=60)
    # Proxies whose X-Forwarded-For is believed, comma-separated addresses or networks; anyone else's
    # header is ignored (e.g. "10.0.0.0/8" behind a Kubernetes ingress).
    trusted_proxies: str = ""

    # --- what ops endpoints show in prod -----------------------------------------------------------
    # /docs, /redoc and /openapi.json: on in dev; off in prod unless set true (they map every route).
    public_docs: bool | None = None
    # /metrics: open in dev; in prod it needs `Authorization: Bearer <metrics_token>`, or metrics_public.
    metrics_token: str = ""
    metrics_public: bool = False

    # --- outbound calls (webhooks, the SMS gateway): see shared/outbound.py ------------------------
    # Hosts or networks on the deployment's own network that outbound URLs may reach on purpose,
    # comma-separated (e.g. "10.1.2.0/24,sms.internal"). Loopback, private and metadata addresses are
    # refused otherwise.
    outbound_allow: str = ""

    # --- embedded MongoDB (the launcher only) -----------------------------------------------------
    embedded_engine: Literal["sqlite", "memory"] = "sqlite"
    data_dir: str = "var"

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_prod(self) -> Settings:
        if self.mode != "prod":
            return self
        unsafe = [
            name
            for name, dev_value in (
                ("HUIYING_JWT_SECRET", DEV_JWT_SECRET),
                ("HUIYING_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET),
                ("HUIYING_ADMIN_TOKEN", DEV_ADMIN_TOKEN),
            )
            if getattr(self, name.removeprefix("HUIYING_").lower()) == dev_value
        ]
        guest = [url for url in self.amqp_urls if broker_login(url) == ("guest", "guest")]
        names = [n for n in SECRETS if f"HUIYING_{n.upper()}" not in unsafe]
        short = [n for n in names if len(getattr(self, n)) < 32]
        weak = [n for n in names if n not in short and secret_bits(getattr(self, n)) < MIN_SECRET_BITS]
        values = [getattr(self, n) for n in SECRETS]
        if guest or unsafe or short or weak or len(set(values)) < len(values):
            problems = [f"{n} still has its dev default" for n in unsafe]
            if guest:
                problems.append(
                    "HUIYING_AMQP_URL logs in as RabbitMQ's default guest user; give each service its own user "
                    "(deploy/rabbitmq/definitions.json) and put it in the URL"
                )
            problems += [f"HUIYING_{n.upper()} is shorter than 32 characters" for n in short]
            problems += [f"HUIYING_{n.upper()} is too predictable (repeated or few distinct characters)" for n in weak]
            if len(set(values)) < len(values):
                problems.append("the three secrets must differ from each other")
            raise ValueError(
                "prod mode refuses to start: "
                + "; ".join(problems)
                + ". Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self

    @property
    def amqp_urls(self) -> list[str]:
        return [u.strip() for u in self.amqp_url.split(",") if u.strip()]

    @field_validator("amqp_url")
    @classmethod
    def _amqp_urls(cls, value: str) -> str:
        urls = [u.strip() for u in value.split(",") if u.strip()]
        if not urls:
            raise ValueError("HUIYING_AMQP_URL is empty; set it to amqp://user:password@host:5672/vhost")
        for url in urls:
            if urlsplit(url).scheme not in ("amqp", "amqps"):
                raise ValueError(f"HUIYING_AMQP_URL: {redact_url(url)!r} is not an amqp:// or amqps:// URL")
        return value

    @property
    def is_dev(self) -> bool:
        return self.mode == "dev"

    def mongodb_uri(self, service: str) -> str | None:
        uri: str | None = getattr(self, f"{service}_mongodb_uri")
        return uri

    def mongodb_db(self, service: str) -> str:
        db: str = getattr(self, f"{service}_mongodb_db")
        return db

    def port(self, service: str) -> int:
        port: int = getattr(self, f"{service}_port")
        return port

    def public_url(self, service: str) -> str:
        url: str = getattr(self, f"{service}_public_url")
        return (url or f"http://{self.host}:{self.port(service)}").rstrip("/")

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies.split(","))

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        parse_networks(value.split(","))  # a bad entry stops the start with one line naming it
        return value

    @property
    def docs_public(self) -> bool:
        return self.is_dev if self.public_docs is None else self.public_docs

    @property
    def outbound_allowlist(self) -> AllowList:
        return AllowList.parse(self.outbound_allow.split(","))

    def queue(self, name: str) -> str:
        return f"{self.queue_prefix}{name}"
