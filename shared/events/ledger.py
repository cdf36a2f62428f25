"""Events produced by routing's ledgers (`ledger.*`).

`ledger.weekly_report` is published once per ISO week (guarded by a write keyed by the week, whatever the
number of replicas): the week's figures and the per-team assessment (考核), addressed to the supervisors
(notify e-mails them). `request_id` (and the envelope's `correlation_id`) is `ledger:<week>`, e.g.
`ledger:2026-W48`. It carries no resident's data: counts and rates only.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from shared.events.envelope import EventData, register
from shared.events.tasks import StaffRecipient, TeamRef


def report_aggregate_id(week: str) -> str:
    return f"ledger:{week}"


class WeekFigures(BaseModel):
    """The whole community's figures for the week (rates as fractions; None when nothing was there to count)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    count: int
    resolved: int
    closed: int
    overdue: int
    on_time_closure_rate: float | None = None
    reply_rate: float | None = None
    satisfaction_rate: float | None = None
    rated: int = 0
    median_hours_to_claim: float | None = None
    median_hours_to_resolve: float | None = None


class TeamAssessment(BaseModel):
    """One team's assessment (考核) for the week; `score` is 0-100 (deploy/routing/assessment.yaml)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    team: TeamRef
    received: int
    handled: int
    resolved: int
    returned: int
    overdue: int
    on_time_rate: float | None = None
    reply_rate: float | None = None
    satisfaction_rate: float | None = None
    return_rate: float | None = None
    score: float | None = None


@register
class LedgerWeeklyReport(EventData):
    TYPE = "ledger.weekly_report"
    week: str  # ISO week, e.g. 2026-W48
    first_day: date  # its Monday (local)
    last_day: date  # its Sunday
    timezone: str
    totals: WeekFigures
    teams: list[TeamAssessment] = []
    # The supervisors (and admins, when configured) with an e-mail address; no phone: the report is e-mailed.
    recipients: list[StaffRecipient] = []
    console_path: str = "/console/ledger"  # the ledger page of that week, under routing's public URL
