from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.notify.domain.quiet_hours import QuietHours

TZ = "Asia/Shanghai"  # UTC+8


def shanghai(hour: int, minute: int = 0, day: int = 2) -> datetime:
    """An aware UTC datetime that is hour:minute on 2026-03-<day> in Shanghai."""
    return datetime(2026, 3, day, hour, minute, tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def test_parse_default_window() -> None:
    q = QuietHours.parse("22:00-07:00")
    assert q == QuietHours(time(22, 0), time(7, 0))
    assert QuietHours.parse(" 21:30 - 6:45 ") == QuietHours(time(21, 30), time(6, 45))
    assert QuietHours.parse("") is None


@pytest.mark.parametrize("bad", ["22-07", "25:00-07:00", "22:00-07:60", "22:00-22:00", "night"])
def test_parse_refuses_bad_forms_with_the_expected_form(bad: str) -> None:
    with pytest.raises(ValueError, match=r"22:00-07:00|0-23|differ"):
        QuietHours.parse(bad)


def test_late_evening_waits_for_the_next_morning() -> None:
    q = QuietHours.parse("22:00-07:00")
    assert q is not None
    until = q.defer_until(shanghai(23, 30), TZ)
    assert until == shanghai(7, 0, day=3)
    assert until is not None and until.tzinfo is not None


def test_early_morning_waits_until_seven_the_same_day() -> None:
    q = QuietHours.parse("22:00-07:00")
    assert q is not None
    assert q.defer_until(shanghai(3, 15, day=3), TZ) == shanghai(7, 0, day=3)


def test_daytime_and_the_edges() -> None:
    q = QuietHours.parse("22:00-07:00")
    assert q is not None
    assert q.defer_until(shanghai(12, 0), TZ) is None
    assert q.defer_until(shanghai(7, 0), TZ) is None  # the window closes at 07:00
    assert q.defer_until(shanghai(21, 59), TZ) is None
    assert q.defer_until(shanghai(22, 0), TZ) == shanghai(7, 0, day=3)


def test_a_window_within_one_day() -> None:
    q = QuietHours.parse("12:00-14:00")
    assert q is not None
    assert q.defer_until(shanghai(13, 0), TZ) == shanghai(14, 0)
    assert q.defer_until(shanghai(14, 30), TZ) is None
    assert q.defer_until(shanghai(23, 0), TZ) is None


def test_the_time_zone_decides() -> None:
    q = QuietHours.parse("22:00-07:00")
    assert q is not None
    # 23:30 in Shanghai is 15:30 UTC: quiet in Shanghai, not in London.
    assert q.defer_until(shanghai(23, 30), "Europe/London") is None
