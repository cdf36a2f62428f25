"""The classified ledgers (分类台账): counts and KPIs per category, team, channel, status or week, over a period
of at most MAX_DAYS (`bound` reads its ends). Pure.

Definitions (every rate is None when nothing is there to count):
- count: tasks whose request was submitted in the period (front-door 不受理 included).
- resolved: tasks resolved at least once (办结); closed: tasks now closed (归档).
- on_time_closure_rate: of the resolved tasks, the share whose (last) resolution came by the handling due time
  (extensions approved by a lead count).
- reply_rate: of the tasks that needed an answer (all but cancelled and duplicates), the share that got one: a
  resolution reply, or a referral (不受理).
- satisfaction_rate: of the tasks the resident rated, the share rated satisfied or fairly satisfied (latest rating).
- median_hours_to_claim / _to_resolve: wall-clock hours from the first dispatch to the first claim / resolution.
- overdue: tasks open now and past the due time of their running clock; resolved_late: resolved after it.
- followups / followed_up / followup_rate: of the resolved, those the desk was asked to call back (回访), those
  it called (any outcome), and that share; rated_online / rated_by_phone / not_rated: how the latest rating of
  the resolved was given; repeats: requests the same resident brought again after an answer (重复投诉).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from services.routing.domain.errors import Invalid

GroupBy = Literal["category", "team", "channel", "filer", "status", "week", "grid", "building", "vulnerable"]
SELF_FILED = "self"  # the filer group of requests the resident filed themselves
# The grid / building / vulnerable group of a task that has none (no building given, a building in no grid, a
# resident in no vulnerable group; tasks stored before these fields were kept show here too).
NONE = "none"
GROUPS: tuple[str, ...] = GroupBy.__args__  # type: ignore[attr-defined]
COLUMNS = (
    "group",
    "count",
    "resolved",
    "closed",
    "on_time_closure_rate",
    "reply_rate",
    "satisfaction_rate",
    "rated",
    "median_hours_to_claim",
    "median_hours_to_resolve",
    "overdue",
    "resolved_late",
    # call-backs (回访) and repeats (并单)
    "followups",
    "followed_up",
    "followup_rate",
    "rated_online",
    "rated_by_phone",
    "not_rated",
    "repeats",
)

Row = dict[str, Any]
# The team group of requests referred at the front door (emergencies, other authorities): they never wait
# for a team, so they are not counted with the unassigned ones.
REFERRED = "referred"


@dataclass(frozen=True)
class Filters:
    """Narrow a ledger to some tasks: every field given must match (`none` picks the tasks without a grid,
    building or vulnerable group; filer `self` the requests residents filed themselves)."""

    team: str | None = None
    category: str | None = None
    channel: str | None = None
    grid: str | None = None
    building: str | None = None
    vulnerable: str | None = None
    filer: str | None = None

    def query(self) -> dict[str, Any]:
        """The store's equality filter (MongoDB's query language, the form QueueQuery.equal has too)."""
        q: dict[str, Any] = {}
        for name, field in (("team", "team_id"), ("category", "service_code"), ("channel", "channel")):
            if getattr(self, name):
                q[field] = getattr(self, name)
        for field in ("grid", "building"):
            value = getattr(self, field)
            if value:
                q[field] = None if value == NONE else value
        if self.vulnerable == NONE:
            q["vulnerability.0"] = {"$exists": False}  # an empty list, or none kept
        elif self.vulnerable:
            q["vulnerability"] = self.vulnerable  # a list holding it
        if self.filer:
            q["filed_by"] = None if self.filer == SELF_FILED else self.filer
        return q

    def keep(self, row: Row) -> bool:
        """The same filter over a row in memory (for callers holding rows already, and the tests)."""
        equal = {k: v for k, v in self.query().items() if "." not in k and k != "vulnerability"}
        if any(row.get(k) != v for k, v in equal.items()):
            return False
        kinds = row.get("vulnerability") or []
        if self.vulnerable == NONE:
            return not kinds
        return not self.vulnerable or self.vulnerable in kinds

    def given(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def group_keys(row: Row, group_by: str, zone: ZoneInfo) -> list[str]:
    """The groups a task counts in: one, except by vulnerable group, where a resident in two groups (living
    alone and disabled) counts in both (so those groups' counts may add up to more than the total)."""
    if group_by == "vulnerable":
        return [str(k) for k in dict.fromkeys(row.get("vulnerability") or ())] or [NONE]
    return [group_key(row, group_by, zone)]


def group_key(row: Row, group_by: str, zone: ZoneInfo) -> str:
    if group_by in ("grid", "building"):
        return str(row.get(group_by) or NONE)
    if group_by == "category":
        return str(row.get("service_code") or "unknown")
    if group_by == "team":
        if not row.get("team_id") and row["status"] == "not_accepted":
            return REFERRED
        return str(row.get("team_id") or "none")
    if group_by == "channel":
        return str(row.get("channel") or "unknown")
    if group_by == "filer":
        return str(row.get("filed_by") or SELF_FILED)
    if group_by == "status":
        return str(row["status"])
    year, week, _ = row["submitted_at"].astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 3600


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    # 4 decimals (a third of a second): claims within minutes must not round to 0.0 hours.
    return round(statistics.median(present), 4) if present else None


def _overdue(row: Row, now: datetime) -> bool:
    status = row["status"]
    if status in ("dispatched", "reopened"):
        due = row.get("claim_due_at")
    elif status in ("claimed", "in_progress", "awaiting_review"):  # the reply counts when the resident hears it
        due = row.get("handle_due_at")
    else:
        return False
    return due is not None and now >= due


def metrics(rows: list[Row], now: datetime) -> dict[str, Any]:
    resolved = [r for r in rows if r.get("first_resolved_at") is not None]
    judged = [r for r in resolved if r.get("resolved_on_time") is not None]
    answerable = [r for r in rows if r["status"] not in ("cancelled", "duplicate")]
    replied = [r for r in answerable if r.get("first_resolved_at") is not None or r["status"] == "not_accepted"]
    rated = [r for r in rows if r.get("rating")]
    happy = [r for r in rated if r["rating"] in ("satisfied", "fairly_satisfied")]
    return {
        "count": len(rows),
        "resolved": len(resolved),
        "closed": sum(1 for r in rows if r["status"] == "closed"),
        "on_time_closure_rate": _rate(sum(1 for r in judged if r["resolved_on_time"]), len(judged)),
        "reply_rate": _rate(len(replied), len(answerable)),
        "satisfaction_rate": _rate(len(happy), len(rated)),
        "rated": len(rated),
        "median_hours_to_claim": _median(_hours(r.get("first_dispatched_at"), r.get("first_claimed_at")) for r in rows),
        "median_hours_to_resolve": _median(
            _hours(r.get("first_dispatched_at"), r.get("first_resolved_at")) for r in rows
        ),
        "overdue": sum(1 for r in rows if _overdue(r, now)),
        "resolved_late": sum(1 for r in judged if r["resolved_on_time"] is False),
        **aftercare(rows, resolved),
    }


def aftercare(rows: list[Row], resolved: list[Row]) -> dict[str, Any]:
    """Call-backs (回访) and repeats (并单): of the resolved, how many the desk was asked to call (`followups`)
    and called (`followed_up`, `followup_rate`), and how their latest rating was given: by the resident online,
    on a call-back, or not at all; `repeats`: requests the same resident brought again after an answer."""
    followed = [r for r in resolved if ((r.get("counts") or {}).get("callbacks") or 0) > 0]
    rated = [r for r in resolved if r.get("rating")]
    by_phone = sum(1 for r in rated if r.get("rating_source") == "callback")
    return {
        "followups": sum(1 for r in resolved if ((r.get("counts") or {}).get("followups") or 0) > 0),
        "followed_up": len(followed),
        "followup_rate": _rate(len(followed), len(resolved)),
        "rated_online": len(rated) - by_phone,
        "rated_by_phone": by_phone,
        "not_rated": len(resolved) - len(rated),
        "repeats": sum(1 for r in rows if r.get("repeat_of")),
    }


def summarize(rows: list[Row], group_by: str, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        for key in group_keys(row, group_by, zone):
            grouped[key].append(row)
    return {
        "group_by": group_by,
        "groups": [{"group": key, **metrics(grouped[key], now)} for key in sorted(grouped)],
        "total": metrics(rows, now),
    }


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark and CRLF lines: what Excel needs to open Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


# The longest period one ledger covers.
MAX_DAYS = 366


def bound(value: str | None, zone: ZoneInfo, field: str, *, end: bool) -> datetime | None:
    """A date (a whole local day; `to` includes it) or an ISO 8601 time with a zone."""
    if value is None:
        return None
    if len(value) > 10:
        try:
            instant = datetime.fromisoformat(value)
        except ValueError as exc:
            raise Invalid(field, "give a date like 2026-11-01 or a time like 2026-11-01T08:00:00+08:00") from exc
        if instant.tzinfo is None:
            raise Invalid(field, "a time needs its zone, e.g. +08:00 or Z")
        return instant.astimezone(UTC)
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(field, "give a date like 2026-11-01 or a time like 2026-11-01T08:00:00+08:00") from exc
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), zone).astimezone(UTC)
