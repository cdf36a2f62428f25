"""The per-team assessment (考核) and the weekly report's schedule. Pure.

Per team, over the tasks submitted in a period:
- received: the tasks the team holds now, plus those it sent back (退单) and another team holds now;
- on_time_rate, reply_rate, satisfaction_rate: the ledger's definitions (services/routing/domain/ledger.py)
  over the tasks the team holds now (a transferred or re-dispatched task counts for the team that has it);
- returned / return_rate: of the received, those the team sent back at least once (read from the task's
  history: the team that held it before each `return`);
- score: the weighted mean of on_time_rate, reply_rate, satisfaction_rate and (1 - return_rate), x 100, over
  the rates the team has (a team nobody rated is scored on the other three, its weights rescaled); None when
  it has none. Weights: deploy/routing/assessment.yaml.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.routing.domain.ledger import metrics

Row = dict[str, Any]
FIGURES = (
    "received",
    "handled",
    "resolved",
    "on_time_rate",
    "reply_rate",
    "satisfaction_rate",
    "rated",
    "returned",
    "return_rate",
    "overdue",
    "score",
)


class Weights(BaseModel):
    """How much each rate counts in the score (any non-negative numbers; they are rescaled to sum to 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    on_time: float = Field(0.4, ge=0)
    reply: float = Field(0.2, ge=0)
    satisfaction: float = Field(0.3, ge=0)
    returns: float = Field(0.1, ge=0)

    @model_validator(mode="after")
    def _some(self) -> Weights:
        if self.on_time + self.reply + self.satisfaction + self.returns <= 0:
            raise ValueError("weights: at least one weight must be above 0")
        return self


class WeeklyReport(BaseModel):
    """When the weekly report on the week before goes out (local time), and to whom besides the supervisors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    weekday: int = Field(1, ge=1, le=7, description="ISO weekday: 1 = Monday")
    hour: int = Field(8, ge=0, le=23)
    include_admins: bool = False  # admins get it too


class AssessmentPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    weights: Weights = Field(default_factory=Weights)
    weekly_report: WeeklyReport = Field(default_factory=WeeklyReport)


def returned_by(history: list[dict[str, Any]] | None) -> list[str]:
    """The teams that sent a task back, in order, once each: the team that held it before each `return`
    (a return clears the task's team, so the entry itself names none)."""
    teams: list[str] = []
    holder: str | None = None
    for entry in history or ():
        if entry.get("action") == "return":
            if holder and holder not in teams:
                teams.append(holder)
            holder = None
        elif entry.get("team_id"):
            holder = entry["team_id"]
    return teams


def _score(rates: dict[str, float | None], weights: Weights) -> float | None:
    parts = [
        (rates["on_time_rate"], weights.on_time),
        (rates["reply_rate"], weights.reply),
        (rates["satisfaction_rate"], weights.satisfaction),
        (None if rates["return_rate"] is None else 1 - rates["return_rate"], weights.returns),
    ]
    present = [(value, weight) for value, weight in parts if value is not None and weight > 0]
    total = sum(weight for _, weight in present)
    if not total:
        return None
    return round(100 * sum(value * weight for value, weight in present) / total, 1)


def assess(rows: list[Row], teams: list[str], now: datetime, weights: Weights) -> list[dict[str, Any]]:
    """One entry per team (`teams`, then any other team a task names), best score first (unscored last)."""
    by_team: dict[str, list[Row]] = {t: [] for t in teams}
    sent_back: dict[str, set[str]] = {t: set() for t in teams}
    for row in rows:
        team = row.get("team_id")
        if team:
            by_team.setdefault(team, []).append(row)
            sent_back.setdefault(team, set())
        for returner in returned_by(row.get("history")):
            sent_back.setdefault(returner, set()).add(str(row["_id"]))
            by_team.setdefault(returner, [])
    result = []
    for team, held in by_team.items():
        held_ids = {str(r["_id"]) for r in held}
        received = len(held_ids | sent_back[team])
        returned = len(sent_back[team])
        m = metrics(held, now)
        rates: dict[str, float | None] = {
            "on_time_rate": m["on_time_closure_rate"],
            "reply_rate": m["reply_rate"],
            "satisfaction_rate": m["satisfaction_rate"],
            "return_rate": round(returned / received, 4) if received else None,
        }
        result.append(
            {
                "team": team,
                "received": received,
                "handled": len(held),
                "resolved": m["resolved"],
                "rated": m["rated"],
                "returned": returned,
                "overdue": m["overdue"],
                **rates,
                "score": _score(rates, weights),
            }
        )
    result.sort(key=lambda e: (e["score"] is None, -(e["score"] or 0), e["team"]))
    return result


# -- the weekly report's schedule ------------------------------------------------------------------------------


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def due_week(now: datetime, zone: ZoneInfo, schedule: WeeklyReport) -> tuple[str, datetime, datetime]:
    """The latest week whose report is due by `now`: (key, its Monday 00:00, the next Monday 00:00), UTC.

    The report on a week goes out from `weekday` at `hour` of the week after; before that moment in a week,
    the week before last is the one due (so a replica that was down at the report's time sends it later)."""
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    send_at = datetime.combine(monday + timedelta(days=schedule.weekday - 1), time(schedule.hour), zone)
    first = monday - timedelta(days=7 if local >= send_at else 14)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(first + timedelta(days=7), time(0), zone).astimezone(UTC)
    return week_key(first), start, end
