"""The ledger's arithmetic: groups, rates, medians, weeks in local time, CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.routing.domain.ledger import metrics, summarize, to_csv

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "service_code": "property_repair",
        "team_id": "property_maintenance",
        "channel": "web",
        "status": "dispatched",
        "submitted_at": datetime(2026, 11, 24, 1, tzinfo=UTC),
        "first_dispatched_at": datetime(2026, 11, 24, 1, tzinfo=UTC),
    }
    return {**base, **kw}


def test_empty_groups_have_no_rates() -> None:
    m = metrics([], NOW)
    assert m["count"] == 0 and m["on_time_closure_rate"] is None and m["median_hours_to_claim"] is None


def test_rates_and_medians() -> None:
    t0 = datetime(2026, 11, 24, 1, tzinfo=UTC)
    rows = [
        row(status="closed", first_claimed_at=t0 + timedelta(hours=1), first_resolved_at=t0 + timedelta(hours=5),
            resolved_on_time=True, rating="satisfied"),
        row(status="resolved", first_claimed_at=t0 + timedelta(hours=3), first_resolved_at=t0 + timedelta(hours=30),
            resolved_on_time=False, rating="dissatisfied"),
        row(status="claimed", first_claimed_at=t0 + timedelta(hours=2), handle_due_at=NOW - timedelta(hours=1)),
        row(status="cancelled"),
        row(status="not_accepted", team_id=None),
    ]  # fmt: skip
    m = metrics(rows, NOW)
    assert (m["count"], m["resolved"], m["closed"]) == (5, 2, 1)
    assert m["on_time_closure_rate"] == 0.5 and m["resolved_late"] == 1
    assert m["reply_rate"] == 0.75  # 2 resolutions + 1 referral of 4 (the cancelled one needed no answer)
    assert m["satisfaction_rate"] == 0.5 and m["rated"] == 2
    assert m["median_hours_to_claim"] == 2.0 and m["median_hours_to_resolve"] == 17.5
    assert m["overdue"] == 1


def test_weeks_are_iso_weeks_in_local_time() -> None:
    sunday_night_utc = datetime(2026, 11, 29, 17, tzinfo=UTC)  # Monday 01:00 in Shanghai: week 49
    result = summarize([row(submitted_at=sunday_night_utc), row()], "week", NOW, SH)
    assert [(g["group"], g["count"]) for g in result["groups"]] == [("2026-W48", 1), ("2026-W49", 1)]


def test_groups_and_csv() -> None:
    result = summarize([row(), row(team_id=None, status="not_accepted")], "team", NOW, SH)
    assert [g["group"] for g in result["groups"]] == ["none", "property_maintenance"]
    lines = to_csv(result).splitlines()
    assert lines[0].startswith("group,count,resolved,closed,on_time_closure_rate")
    assert lines[-1].startswith("total,2,0,0,,") and len(lines) == 4
