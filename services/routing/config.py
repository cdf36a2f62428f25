"""Routing's own settings (HUIYING_* variables); the shared ones are in shared/settings.py."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class RoutingSettings(Settings):
    # Teams, their areas, hours and assignment mode.
    teams_path: Path = DEPLOY / "teams.yaml"
    # Rule-set version 1 (later versions live in the database, edited through PUT /v1/rules).
    routing_rules_path: Path = DEPLOY / "routing" / "rules.yaml"
    # Working days, hours, public holidays and make-up days.
    routing_calendar_path: Path = DEPLOY / "routing" / "calendar.yaml"
    # Time limits per category and priority, reminders, escalation, auto-close.
    routing_sla_path: Path = DEPLOY / "routing" / "sla.yaml"
    # How often each replica's SLA sweeper looks for reminders, escalations and auto-closes.
    routing_sla_sweep_interval_s: float = Field(15.0, gt=0)
    routing_sla_batch: int = Field(200, ge=1, le=10_000)
    # Dev mode seeds <team>.member, <team>.lead, supervisor and admin (password dev-password).
    routing_seed_dev_staff: bool = True
    # The ledger reads at most this many tasks per request (narrow the dates beyond that).
    routing_ledger_max_tasks: int = Field(200_000, ge=100)
