"""Routing's own settings (HUIYING_* variables; the shared ones are in shared/settings.py) and its config
files, each read and checked once per start into a `RoutingConfig`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field

from services.routing.domain.assessment import AssessmentPolicy
from services.routing.domain.calendar import WorkingCalendar, calendar_from_config
from services.routing.domain.duplicates import DuplicatePolicy
from services.routing.domain.followup import FollowUpPolicy
from services.routing.domain.rules import RuleSet
from services.routing.domain.sla import SlaPolicy
from services.routing.domain.teams import Directory
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
    # How long a replica keeps the current rule set, the active staff and the teams' loads in memory:
    # another replica's change is seen within this time (the replica that made it sees it at once).
    routing_cache_ttl_s: float = Field(2.0, ge=0, le=60)
    # The ledger reads at most this many tasks per request (narrow the dates beyond that).
    routing_ledger_max_tasks: int = Field(200_000, ge=100)
    # Sign-in throttling (services/routing/signin.py): attempts per HUIYING_RATE_LIMIT_WINDOW_S from one
    # address and for one account name, and the lockout after repeated wrong passwords. 0 switches one off.
    routing_login_per_address: int = Field(30, ge=0)
    routing_login_per_account: int = Field(10, ge=0)
    routing_lockout_failures: int = Field(10, ge=0)
    routing_lockout_s: int = Field(900, ge=1)
    # Call-backs (回访) and duplicates (并单): deploy/routing/followup.yaml, deploy/routing/duplicates.yaml.
    routing_followup_path: Path = DEPLOY / "routing" / "followup.yaml"
    routing_duplicates_path: Path = DEPLOY / "routing" / "duplicates.yaml"
    # The per-team assessment's weights and the weekly report's schedule (deploy/routing/assessment.yaml).
    routing_assessment_path: Path = DEPLOY / "routing" / "assessment.yaml"
    # Administration: version 1 of notify's message templates, edited in routing's console and sent to
    # notify as config.changed (notify's own HUIYING_TEMPLATES_PATH is its start-up copy until then).
    routing_templates_path: Path = DEPLOY / "notify" / "templates.yaml"
    # ...and of intake's catalogue (categories and their questions), sent to intake the same way.
    routing_catalogue_path: Path = DEPLOY / "catalogue.yaml"


class ConfigError(RuntimeError):
    """A config file is wrong: one line naming the file and the problem."""


@dataclass(frozen=True)
class RoutingConfig:
    """Everything routing reads from its files, parsed and cross-checked once per start."""

    directory: Directory  # deploy/teams.yaml
    calendar: WorkingCalendar  # the community's; teams' calendars derive from it
    policy: SlaPolicy  # time limits, reminders, escalation, auto-close
    rules: RuleSet  # version 1 of the routing rules (later versions live in the database)
    followup: FollowUpPolicy = field(default_factory=FollowUpPolicy)  # call-backs (回访)
    duplicates: DuplicatePolicy = field(default_factory=DuplicatePolicy)  # duplicates and repeats (并单)
    assessment: AssessmentPolicy = field(default_factory=AssessmentPolicy)  # 考核 weights, the weekly report


def _read[T](path: Path, parse: Callable[[Any], T]) -> T:
    try:
        with path.open(encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
        return parse(raw)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}".replace("\n", " ")) from exc


def read_directory(path: Path) -> Directory:
    return _read(path, Directory.model_validate)


def read_calendar(path: Path, timezone: str) -> WorkingCalendar:
    return _read(path, lambda raw: calendar_from_config(raw or {}, timezone))


def read_policy(path: Path) -> SlaPolicy:
    return _read(path, SlaPolicy.model_validate)


def read_rules(path: Path) -> RuleSet:
    return _read(path, RuleSet.model_validate)


def load_config(settings: RoutingSettings) -> RoutingConfig:
    """Every config file, once; a ConfigError names the file and what is wrong in it."""
    directory = read_directory(settings.teams_path)
    config = RoutingConfig(
        directory=directory,
        calendar=read_calendar(settings.routing_calendar_path, settings.timezone),
        policy=read_policy(settings.routing_sla_path),
        rules=read_rules(settings.routing_rules_path),
        followup=_read(settings.routing_followup_path, lambda raw: FollowUpPolicy.model_validate(raw or {})),
        duplicates=_read(settings.routing_duplicates_path, lambda raw: DuplicatePolicy.model_validate(raw or {})),
        assessment=_read(settings.routing_assessment_path, lambda raw: AssessmentPolicy.model_validate(raw or {})),
    )
    if not directory.has(config.followup.desk_team):
        raise ConfigError(f"{settings.routing_followup_path}: desk_team: unknown team {config.followup.desk_team!r}")
    problems = config.rules.problems(directory)
    if problems:
        raise ConfigError(f"{settings.routing_rules_path}: " + "; ".join(f"{f}: {m}" for f, m in problems))
    return config
