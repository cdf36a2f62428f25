from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class IntakeSettings(Settings):
    catalogue_path: Path = DEPLOY / "catalogue.yaml"
    # Dev mode seeds a `web` channel with this key; prod mode seeds nothing.
    dev_web_key: str = "dev-web-key"

    # --- front-door limits (docs/intake.md) ------------------------------------------------------
    # Bodies larger than this are refused with 413 (a 4000-character description is at most 12 KiB).
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    # Fixed-window rate limits, counted in MongoDB so every replica shares them. 0 switches one off.
    rate_limit_window_s: int = Field(60, ge=1)
    # Every API call from one client address (the address uvicorn reports; behind a proxy, see
    # --forwarded-allow-ips). Generous, because a service window or hotline centre sits behind one address.
    rate_limit_per_address: int = Field(3000, ge=0)
    # Submissions per channel API key.
    rate_limit_per_key: int = Field(1200, ge=0)

    # --- Open311 ---------------------------------------------------------------------------------
    # When set, a request naming another jurisdiction_id is answered 404; empty accepts any (one jurisdiction).
    open311_jurisdiction_id: str = ""
    open311_contact: str = "社区一站式服务站 / community one-stop service desk"
    open311_key_service: str = "Ask the community administrator for a channel API key (POST /v1/admin/channels)."
    open311_changeset: str = "2025-01-01T00:00:00Z"
