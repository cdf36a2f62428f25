"""The holiday calendar as an editable document: its checked shape, a year imported from a file (YAML, CSV or
iCalendar), and the warning a month before the last listed year runs out. Pure: no I/O.

The body keeps the file's shape (deploy/routing/calendar.yaml) with dates as ISO text, so an edit in the
console reads like the file: `days`, `hours`, `holidays` and `extra_workdays` (调休), each date alone or a
range `{from, to, name}`.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.routing.domain.calendar import CalendarError, WorkingCalendar, calendar_from_config, parse_hours
from services.routing.domain.calendar import parse_weekdays as _weekdays


class DateRange(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: date = Field(alias="from")
    to: date
    name: str | None = Field(None, max_length=60)

    @field_validator("to")
    @classmethod
    def _in_order(cls, value: date, info: Any) -> date:
        start = info.data.get("from_")
        if start is not None and value < start:
            raise ValueError(f"ends ({value}) before it starts ({start}); give `to` on or after `from`")
        return value

    def days(self) -> list[date]:
        return [self.from_ + timedelta(days=i) for i in range((self.to - self.from_).days + 1)]


Entry = date | DateRange


class CalendarBody(BaseModel):
    """The calendar document; an unknown key, a bad weekday, time or date is a 422 naming it."""

    model_config = ConfigDict(extra="forbid")
    days: list[str] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], max_length=7)
    hours: list[str] = Field(default_factory=lambda: ["08:30-12:00", "13:30-17:30"], min_length=1, max_length=6)
    holidays: list[Entry] = Field(default_factory=list, max_length=2000)
    extra_workdays: list[Entry] = Field(default_factory=list, max_length=2000)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        try:
            _weekdays(value)
        except CalendarError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: list[str]) -> list[str]:
        try:
            WorkingCalendar(hours=parse_hours(value))
        except CalendarError as exc:
            raise ValueError(str(exc)) from exc
        return value

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def dates(self, which: str) -> set[date]:
        out: set[date] = set()
        for entry in getattr(self, which):
            out.update(entry.days() if isinstance(entry, DateRange) else [entry])
        return out

    def calendar(self, timezone: str) -> WorkingCalendar:
        raw = {
            "days": self.days,
            "hours": self.hours,
            "holidays": sorted(self.dates("holidays")),
            "extra_workdays": sorted(self.dates("extra_workdays")),
        }
        return calendar_from_config(raw, timezone)

    def years(self) -> list[int]:
        return sorted({d.year for d in self.dates("holidays")})


def parse_calendar(body: dict[str, Any], timezone: str) -> WorkingCalendar:
    """The stored body as the SLA clocks use it (ValueError when it does not parse)."""
    try:
        return CalendarBody.model_validate(body).calendar(timezone)
    except (ValidationError, CalendarError) as exc:
        raise ValueError(str(exc)) from exc


def seed_body(raw: Any) -> dict[str, Any]:
    """The shipped file's content as version 1 (dates become ISO text)."""
    return CalendarBody.model_validate(raw or {}).dump()


# -- the warning ----------------------------------------------------------------------------------------


def runs_out(body: dict[str, Any], today: date) -> dict[str, Any] | None:
    """A warning from 1 December of the last year with holidays listed (a month before its list runs out)
    or later: {last_year, ends, days_left}; None while the list reaches further."""
    years = CalendarBody.model_validate(body).years()
    last = years[-1] if years else today.year - 1
    ends = date(last, 12, 31)
    if today < date(last, 12, 1):
        return None
    return {"last_year": last if years else None, "ends": ends.isoformat(), "days_left": max((ends - today).days, 0)}


# -- importing a year -----------------------------------------------------------------------------------


class ImportError_(ValueError):
    """A line of the file is wrong: names the line and the fix."""


_WORKDAY_WORDS = ("班", "上班", "调休上班", "workday", "work", "extra_workday", "extra")
_HOLIDAY_WORDS = ("休", "假", "holiday", "off")


def _kind(word: str, where: str) -> str:
    word = word.strip().lower()
    if word in _WORKDAY_WORDS:
        return "extra_workdays"
    if word in _HOLIDAY_WORDS or not word:
        return "holidays"
    raise ImportError_(f"{where}: {word!r} is neither a holiday (holiday/休) nor a make-up working day (workday/班)")


def _from_csv(text: str) -> tuple[list[Entry], list[Entry]]:
    """Lines `date,kind[,name]` (kind holiday/休 or workday/班; a header line is skipped)."""
    holidays: list[Entry] = []
    workdays: list[Entry] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or row[0].strip().startswith("#"):
            continue
        first = row[0].strip()
        if number == 1 and not first[:1].isdigit():
            continue  # a header
        try:
            day = date.fromisoformat(first)
        except ValueError as exc:
            raise ImportError_(f"line {number}: {first!r} is not a date like 2027-10-01") from exc
        kind = _kind(row[1] if len(row) > 1 else "", f"line {number}")
        (holidays if kind == "holidays" else workdays).append(day)
    return holidays, workdays


_ICS_DATE = re.compile(r"^(DTSTART|DTEND)[^:]*:(\d{8})", re.MULTILINE)


def _from_ics(text: str) -> tuple[list[Entry], list[Entry]]:
    """VEVENTs with all-day DTSTART/DTEND (DTEND exclusive); a SUMMARY with 班 or "workday" is a make-up day."""
    text = re.sub(r"\r?\n[ \t]", "", text)  # unfold continued lines
    holidays: list[Entry] = []
    workdays: list[Entry] = []
    for number, block in enumerate(text.split("BEGIN:VEVENT")[1:], start=1):
        block = block.split("END:VEVENT")[0]
        found = dict((k, v) for k, v in _ICS_DATE.findall(block))
        if "DTSTART" not in found:
            raise ImportError_(f"event {number}: no all-day DTSTART (like DTSTART;VALUE=DATE:20271001)")
        start = date(int(found["DTSTART"][:4]), int(found["DTSTART"][4:6]), int(found["DTSTART"][6:]))
        end = start
        if "DTEND" in found:
            end = date(int(found["DTEND"][:4]), int(found["DTEND"][4:6]), int(found["DTEND"][6:])) - timedelta(1)
        summary = next((line[8:] for line in block.splitlines() if line.startswith("SUMMARY:")), "").strip()
        work = "班" in summary or "workday" in summary.lower()
        entry: Entry = start if end <= start else DateRange(from_=start, to=end, name=summary[:60] or None)
        (workdays if work else holidays).append(entry)
    return holidays, workdays


def _from_yaml(text: str) -> tuple[list[Entry], list[Entry]]:
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict) or set(raw) - {"holidays", "extra_workdays"}:
        raise ImportError_("give a mapping with `holidays` and `extra_workdays`, as in deploy/routing/calendar.yaml")
    body = CalendarBody.model_validate({k: raw.get(k) or [] for k in ("holidays", "extra_workdays")})
    return body.holidays, body.extra_workdays


def guess_format(filename: str, text: str) -> str:
    lower = filename.lower()
    if lower.endswith(".ics") or "BEGIN:VCALENDAR" in text:
        return "ics"
    if lower.endswith(".csv"):
        return "csv"
    return "yaml"


def import_year(body: dict[str, Any], year: int, text: str, fmt: str) -> dict[str, Any]:
    """The calendar with `year`'s holidays and make-up days replaced by the file's; every date in the file
    must fall in `year` (ImportError_ or a ValidationError otherwise)."""
    readers = {"csv": _from_csv, "ics": _from_ics, "yaml": _from_yaml}
    if fmt not in readers:
        raise ImportError_(f"format {fmt!r}: use yaml, csv or ics")
    holidays, workdays = readers[fmt](text)
    if not holidays:
        raise ImportError_(f"the file lists no public holidays; a year's list has some (as in {year}'s notice)")
    for entry in [*holidays, *workdays]:
        days = entry.days() if isinstance(entry, DateRange) else [entry]
        stray = [d for d in days if d.year != year]
        if stray:
            raise ImportError_(f"{stray[0]} is not in {year}: import one year at a time")
    current = CalendarBody.model_validate(body)

    def keep(entries: list[Entry]) -> list[Entry]:
        return [e for e in entries if (e.from_.year if isinstance(e, DateRange) else e.year) != year]

    merged = current.model_copy(
        update={
            "holidays": sorted([*keep(current.holidays), *holidays], key=_start),
            "extra_workdays": sorted([*keep(current.extra_workdays), *workdays], key=_start),
        }
    )
    return CalendarBody.model_validate(merged.dump()).dump()


def _start(entry: Entry) -> date:
    return entry.from_ if isinstance(entry, DateRange) else entry
