"""Working-time maths on the community calendar (Asia/Shanghai, Mon-Fri 08:30-12:00 and 13:30-17:30)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.routing.domain.calendar import CalendarError, WorkingCalendar, parse_hours, parse_weekdays

SH = ZoneInfo("Asia/Shanghai")


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


CAL = WorkingCalendar(
    holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5)}),
    extra_workdays=frozenset({date(2026, 10, 10)}),  # a Saturday worked (调休)
)


def test_day_length_is_the_sum_of_the_intervals() -> None:
    assert CAL.day_length == timedelta(hours=7, minutes=30)


def test_working_days_follow_weekdays_holidays_and_makeup_days() -> None:
    assert CAL.is_working_day(date(2026, 9, 30))  # Wednesday
    assert not CAL.is_working_day(date(2026, 10, 1))  # holiday on a Thursday
    assert not CAL.is_working_day(date(2026, 10, 3))  # Saturday
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday, but worked


def test_working_time_excludes_lunch_nights_and_weekends() -> None:
    assert CAL.is_working_time(local(2026, 11, 24, 9))
    assert not CAL.is_working_time(local(2026, 11, 24, 12, 30))  # lunch
    assert not CAL.is_working_time(local(2026, 11, 24, 17, 30))  # the close is exclusive
    assert not CAL.is_working_time(local(2026, 11, 28, 10))  # Saturday


def test_add_within_one_interval() -> None:
    assert CAL.add(local(2026, 11, 24, 9), timedelta(hours=2)) == local(2026, 11, 24, 11).astimezone(UTC)


def test_add_skips_lunch() -> None:
    assert CAL.add(local(2026, 11, 24, 11), timedelta(hours=2)) == local(2026, 11, 24, 14, 30)


def test_add_skips_the_night_and_the_weekend() -> None:
    # Friday 16:30 + 2h: 1h on Friday, 1h from Monday 08:30.
    assert CAL.add(local(2026, 11, 27, 16, 30), timedelta(hours=2)) == local(2026, 11, 30, 9, 30)


def test_add_from_outside_working_hours_starts_at_the_next_opening() -> None:
    assert CAL.add(local(2026, 11, 24, 20), timedelta(minutes=30)) == local(2026, 11, 25, 9)
    assert CAL.add(local(2026, 11, 28, 10), timedelta(hours=1)) == local(2026, 11, 30, 9, 30)


def test_add_skips_public_holidays_and_uses_makeup_days() -> None:
    # Wednesday 30 Sep 17:00 + 1h: 30 min that day, then Oct 1-5 are off (holidays and weekend)...
    assert CAL.add(local(2026, 9, 30, 17), timedelta(hours=1)) == local(2026, 10, 6, 9)
    # ... and the make-up Saturday 10 Oct counts: Friday 9 Oct 17:00 + 1h lands on Saturday.
    assert CAL.add(local(2026, 10, 9, 17), timedelta(hours=1)) == local(2026, 10, 10, 9)


def test_add_working_days_keeps_the_time_of_day() -> None:
    assert CAL.add_working_days(local(2026, 11, 24, 10), 3) == local(2026, 11, 27, 10)  # Tue -> Fri
    assert CAL.add_working_days(local(2026, 11, 26, 10), 3) == local(2026, 12, 1, 10)  # Thu -> Tue
    # Thirteen working days from Monday 09:00 is the Thursday of the third week.
    assert CAL.add_working_days(local(2026, 11, 23, 9), 13) == local(2026, 12, 10, 9)


def test_add_working_days_from_a_weekend_counts_from_monday_morning() -> None:
    # One full working day from the Monday opening ends at the Monday close.
    assert CAL.add_working_days(local(2026, 11, 28, 15), 1) == local(2026, 11, 30, 17, 30)


def test_subtract_is_the_inverse_of_add() -> None:
    start = local(2026, 11, 27, 16, 30)
    for minutes in (1, 30, 90, 60 * 8, 60 * 40):
        end = CAL.add(start, timedelta(minutes=minutes))
        assert CAL.between(start, end) == timedelta(minutes=minutes)
        assert CAL.subtract(end, timedelta(minutes=minutes)) == start


def test_between_counts_only_working_time() -> None:
    assert CAL.between(local(2026, 11, 24, 8), local(2026, 11, 24, 20)) == timedelta(hours=7, minutes=30)
    assert CAL.between(local(2026, 11, 27, 17), local(2026, 11, 30, 9)) == timedelta(hours=1)
    assert CAL.between(local(2026, 11, 30, 9), local(2026, 11, 27, 17)) == -timedelta(hours=1)


def test_end_of_working_day() -> None:
    assert CAL.end_of_working_day(local(2026, 11, 24, 9)) == local(2026, 11, 24, 17, 30)
    assert CAL.end_of_working_day(local(2026, 11, 24, 18)) == local(2026, 11, 25, 17, 30)
    assert CAL.end_of_working_day(local(2026, 9, 30, 18)) == local(2026, 10, 6, 17, 30)


def test_next_working_instant() -> None:
    assert CAL.next_working_instant(local(2026, 11, 24, 12, 15)) == local(2026, 11, 24, 13, 30)
    assert CAL.next_working_instant(local(2026, 11, 24, 10)) == local(2026, 11, 24, 10)


def test_results_are_utc_and_naive_input_is_taken_as_utc() -> None:
    result = CAL.add(datetime(2026, 11, 24, 1, 0), timedelta(hours=1))  # 09:00 Shanghai
    assert result.tzinfo == UTC and result == local(2026, 11, 24, 10)


def test_team_hours_override_the_community_hours_but_keep_holidays() -> None:
    team = CAL.with_hours(
        parse_hours(["08:00-11:30", "14:00-17:00"]), parse_weekdays(["mon", "tue", "wed", "thu", "fri", "sat"])
    )
    assert team.day_length == timedelta(hours=6, minutes=30)
    assert team.is_working_day(date(2026, 11, 28))  # Saturday for this team
    assert not team.is_working_day(date(2026, 10, 1))
    assert team.add(local(2026, 11, 27, 16, 30), timedelta(hours=1)) == local(2026, 11, 28, 8, 30)


def test_a_calendar_without_working_time_is_refused() -> None:
    with pytest.raises(CalendarError):
        WorkingCalendar(workdays=frozenset())
    with pytest.raises(CalendarError):
        WorkingCalendar(hours=((time(12), time(9)),))
    with pytest.raises(CalendarError):
        WorkingCalendar(timezone="Mars/Olympus")
    with pytest.raises(CalendarError):
        parse_weekdays(["funday"])
    with pytest.raises(CalendarError):
        parse_hours(["8h-12h"])


def test_a_calendar_of_only_holidays_fails_instead_of_looping() -> None:
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(5 * 366))
    cal = WorkingCalendar(holidays=every_day)
    with pytest.raises(CalendarError):
        cal.add(local(2026, 1, 2, 9), timedelta(hours=1))
