"""Working time: the calendar the SLA clocks run on. Pure functions (no `now()`); services/routing/config.py
reads the file.

A calendar is the community's time zone, its working weekdays, its daily working hours (one or more
intervals, e.g. 08:30-12:00 and 13:30-17:30), its public holidays, and its make-up working days (调休:
a Saturday or Sunday that is worked because a holiday bridged a weekday). Teams may have their own
hours and weekdays; holidays and make-up days are the community's.

All instants going in and out are timezone-aware; the arithmetic happens in the local zone and the
results come back in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# How far the maths searches for working time before deciding the calendar has none.
_SEARCH_DAYS = 3 * 366

ZERO = timedelta(0)


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class WorkingCalendar:
    timezone: str = "Asia/Shanghai"
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    hours: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()  # 调休: worked weekend days
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (KeyError, ValueError) as exc:
            raise CalendarError(f"unknown time zone {self.timezone!r}") from exc
        object.__setattr__(self, "_zone", zone)
        if not self.hours:
            raise CalendarError("working hours are empty; give at least one interval like ['08:30', '17:30']")
        previous_end: time | None = None
        for start, end in self.hours:
            if not start < end:
                raise CalendarError(f"working hours {start:%H:%M}-{end:%H:%M}: the start must be before the end")
            if previous_end is not None and start < previous_end:
                raise CalendarError("working hours must be in order and must not overlap")
            previous_end = end
        if not self.workdays and not self.extra_workdays:
            raise CalendarError("the calendar has no working days")
        if not self.workdays <= frozenset(range(7)):
            raise CalendarError("working days are 0 (Monday) to 6 (Sunday)")

    def with_hours(
        self, hours: tuple[tuple[time, time], ...] | None, workdays: frozenset[int] | None = None
    ) -> WorkingCalendar:
        """A team's calendar: the community's holidays with the team's own hours and weekdays."""
        if hours is None and workdays is None:
            return self
        return replace(self, hours=hours or self.hours, workdays=self.workdays if workdays is None else workdays)

    # -- days ----------------------------------------------------------------------------------------

    @property
    def day_length(self) -> timedelta:
        return sum((_span(s, e) for s, e in self.hours), ZERO)

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day in self.extra_workdays or day.weekday() in self.workdays

    def local(self, instant: datetime) -> datetime:
        return _aware(instant).astimezone(self._zone)

    def local_date(self, instant: datetime) -> date:
        return self.local(instant).date()

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of one local day, as UTC instants (empty on a day off)."""
        if not self.is_working_day(day):
            return []
        return [
            (
                datetime.combine(day, start, self._zone).astimezone(UTC),
                datetime.combine(day, end, self._zone).astimezone(UTC),
            )
            for start, end in self.hours
        ]

    def _days(self, first: date, step: int = 1) -> Iterator[date]:
        for offset in range(_SEARCH_DAYS):
            yield first + timedelta(days=offset * step)
        raise CalendarError("no working time within three years; check the calendar's days and holidays")

    # -- instants ------------------------------------------------------------------------------------

    def is_working_time(self, instant: datetime) -> bool:
        instant = _aware(instant)
        return any(a <= instant < b for a, b in self.intervals(self.local_date(instant)))

    def next_working_instant(self, instant: datetime) -> datetime:
        """`instant` if it is in working time, else the start of the next working interval."""
        instant = _aware(instant)
        for day in self._days(self.local_date(instant)):
            for a, b in self.intervals(day):
                if instant < b:
                    return max(a, instant)
        raise AssertionError("unreachable")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of working time after `start` (time outside working hours is skipped).

        A zero duration from outside working hours gives `start` itself, so nothing is due before it starts.
        """
        start = _aware(start).astimezone(UTC)
        if duration < ZERO:
            return self.subtract(start, -duration)
        if duration == ZERO:
            return start
        remaining = duration
        for day in self._days(self.local_date(start)):
            for a, b in self.intervals(day):
                if b <= start:
                    continue
                a = max(a, start)
                if a + remaining <= b:
                    return a + remaining
                remaining -= b - a
        raise AssertionError("unreachable")

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of working time before `end`."""
        end = _aware(end).astimezone(UTC)
        if duration < ZERO:
            return self.add(end, -duration)
        if duration == ZERO:
            return end
        remaining = duration
        for day in self._days(self.local_date(end), step=-1):
            for a, b in reversed(self.intervals(day)):
                if a >= end:
                    continue
                b = min(b, end)
                if b - remaining >= a:
                    return b - remaining
                remaining -= b - a
        raise AssertionError("unreachable")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """`days` full working days of working time after `start`.

        From Tuesday 10:00 with the default hours, three working days end on Friday 10:00; a start
        outside working hours counts from the next opening.
        """
        if days < 0:
            raise CalendarError("working days must not be negative")
        return self.add(self.next_working_instant(start), self.day_length * days)

    def end_of_working_day(self, instant: datetime) -> datetime:
        """The close of the working day `instant` falls in; after the close (or on a day off), the close of
        the next working day. "Same day" limits end here."""
        instant = _aware(instant)
        for day in self._days(self.local_date(instant)):
            intervals = self.intervals(day)
            if intervals and instant < intervals[-1][1]:
                return intervals[-1][1]
        raise AssertionError("unreachable")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (negative when `end` is before `start`)."""
        start, end = _aware(start), _aware(end)
        if end < start:
            return -self.between(end, start)
        total = ZERO
        day = self.local_date(start)
        last = self.local_date(end)
        while day <= last:
            for a, b in self.intervals(day):
                lo, hi = max(a, start), min(b, end)
                if lo < hi:
                    total += hi - lo
            day += timedelta(days=1)
        return total


def _span(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        # Naive datetimes only come from BSON without tz_aware; they are UTC there.
        return instant.replace(tzinfo=UTC)
    return instant


def parse_time(text: str) -> time:
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise CalendarError(f"{text!r} is not a time of day like '08:30'") from exc


def parse_hours(intervals: list[list[str]] | list[str]) -> tuple[tuple[time, time], ...]:
    """[['08:30', '12:00'], ['13:30', '17:30']] or ['08:30-12:00', '13:30-17:30']."""
    out: list[tuple[time, time]] = []
    for item in intervals:
        parts = item.split("-") if isinstance(item, str) else item
        if len(parts) != 2:
            raise CalendarError(f"working hours {item!r}: give a start and an end, like '08:30-12:00'")
        out.append((parse_time(parts[0]), parse_time(parts[1])))
    return tuple(out)


WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def parse_weekdays(names: list[str]) -> frozenset[int]:
    days: set[int] = set()
    for name in names:
        key = name.strip().lower()[:3]
        if key not in WEEKDAYS:
            raise CalendarError(f"{name!r} is not a weekday; use mon, tue, wed, thu, fri, sat, sun")
        days.add(WEEKDAYS[key])
    return frozenset(days)


def _dates(items: list[object], what: str) -> frozenset[date]:
    out: set[date] = set()
    for item in items or []:
        if isinstance(item, date):
            out.add(item)
        elif isinstance(item, dict) and isinstance(item.get("from"), date) and isinstance(item.get("to"), date):
            day, last = item["from"], item["to"]
            if last < day:
                raise CalendarError(f"{what}: {item} ends before it starts")
            while day <= last:
                out.add(day)
                day += timedelta(days=1)
        else:
            raise CalendarError(f"{what}: {item!r} is not a date (2026-10-01) or a range {{from: ..., to: ...}}")
    return frozenset(out)


def calendar_from_config(raw: dict[str, object], timezone: str) -> WorkingCalendar:
    """The calendar file's content (see deploy/routing/calendar.yaml)."""
    unknown = set(raw) - {"days", "hours", "holidays", "extra_workdays"}
    if unknown:
        raise CalendarError(f"unknown calendar keys {sorted(unknown)}; use days, hours, holidays, extra_workdays")
    kwargs: dict[str, object] = {"timezone": timezone}
    if "days" in raw:
        kwargs["workdays"] = parse_weekdays(raw["days"])  # type: ignore[arg-type]
    if "hours" in raw:
        kwargs["hours"] = parse_hours(raw["hours"])  # type: ignore[arg-type]
    kwargs["holidays"] = _dates(raw.get("holidays") or [], "holidays")  # type: ignore[arg-type]
    kwargs["extra_workdays"] = _dates(raw.get("extra_workdays") or [], "extra_workdays")  # type: ignore[arg-type]
    return WorkingCalendar(**kwargs)  # type: ignore[arg-type]
