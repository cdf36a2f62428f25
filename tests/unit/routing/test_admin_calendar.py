"""The holiday calendar as an editable document (services/routing/admin_calendar.py): its checks, a year
imported from YAML, CSV or iCalendar, and the warning a month before the listed years run out."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from services.routing.admin_calendar import CalendarBody, ImportError_, guess_format, import_year, runs_out

BODY: dict[str, Any] = {
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "hours": ["08:30-12:00", "13:30-17:30"],
    "holidays": ["2026-01-01", {"from": "2026-10-01", "to": "2026-10-07"}],
    "extra_workdays": ["2026-10-10"],
}


def test_the_body_keeps_the_files_shape_and_builds_the_calendar() -> None:
    body = CalendarBody.model_validate(BODY)
    assert body.dump() == BODY
    calendar = body.calendar("Asia/Shanghai")
    assert not calendar.is_working_day(date(2026, 10, 5))
    assert calendar.is_working_day(date(2026, 10, 10))  # a Saturday worked (调休)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"days": ["mon", "someday"]}, "days"),
        ({"hours": ["17:00-09:00"]}, "hours"),
        ({"holidays": [{"from": "2026-10-07", "to": "2026-10-01"}]}, "holidays"),
        ({"holidays": ["not a date"]}, "holidays"),
        ({"weekends": []}, "weekends"),
    ],
)
def test_a_wrong_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as bad:
        CalendarBody.model_validate({**BODY, **change})
    assert bad.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 30), None),  # 31 days left: not yet
        (date(2026, 12, 1), {"last_year": 2026, "ends": "2026-12-31", "days_left": 30}),
        (date(2027, 3, 1), {"last_year": 2026, "ends": "2026-12-31", "days_left": 0}),  # already past
    ],
)
def test_the_warning_comes_a_month_before_the_last_year_ends(today: date, expected: Any) -> None:
    assert runs_out(BODY, today) == expected


def test_no_holidays_at_all_is_a_warning() -> None:
    assert runs_out({**BODY, "holidays": []}, date(2026, 6, 1)) == {
        "last_year": None,
        "ends": "2025-12-31",
        "days_left": 0,
    }


def test_a_csv_year_replaces_only_that_year() -> None:
    first = import_year(BODY, 2027, "date,kind,name\n2027-01-01,休,元旦\n2027-02-14,班,调休\n", "csv")
    assert first["holidays"] == [*BODY["holidays"], "2027-01-01"]
    assert first["extra_workdays"] == ["2026-10-10", "2027-02-14"]
    again = import_year(first, 2027, "2027-05-01,holiday\n", "csv")  # no header; a second import of 2027
    assert again["holidays"] == [*BODY["holidays"], "2027-05-01"]
    assert again["extra_workdays"] == ["2026-10-10"]
    assert runs_out(again, date(2026, 12, 20)) is None


def test_an_ics_file_gives_ranges_and_make_up_days() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20271001\r\nDTEND;VALUE=DATE:20271008\r\n"
        "SUMMARY:国庆节\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270925\r\nSUMMARY:国庆调休上班\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert guess_format("holidays.txt", ics) == "ics"
    body = import_year(BODY, 2027, ics, "ics")
    assert {"from": "2027-10-01", "to": "2027-10-07", "name": "国庆节"} in body["holidays"]
    assert "2027-09-25" in body["extra_workdays"]


def test_a_yaml_year_reads_like_the_file() -> None:
    text = "holidays:\n  - 2027-01-01\n  - {from: 2027-10-01, to: 2027-10-07}\nextra_workdays: [2027-09-26]\n"
    body = import_year(BODY, 2027, text, "yaml")
    assert {"from": "2027-10-01", "to": "2027-10-07"} in body["holidays"]


@pytest.mark.parametrize(
    ("text", "fmt", "words"),
    [
        ("2028-01-01,休\n", "csv", "2028-01-01 is not in 2027"),
        ("2027-13-01,休\n", "csv", "line 1: '2027-13-01' is not a date"),
        ("2027-01-01,maybe\n", "csv", "neither a holiday"),
        ("2027-01-02,班\n", "csv", "lists no public holidays"),
        ("days: [mon]\n", "yaml", "give a mapping with `holidays`"),
        ("BEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\n", "ics", "no all-day DTSTART"),
    ],
)
def test_a_wrong_file_names_the_line_and_the_fix(text: str, fmt: str, words: str) -> None:
    with pytest.raises(ImportError_) as bad:
        import_year(BODY, 2027, text, fmt)
    assert words in str(bad.value)
