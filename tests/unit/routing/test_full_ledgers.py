"""The full ledgers (issue 15): groups by grid, building, vulnerable group and filer; filters; one row per
request; the per-team assessment (考核) and the weekly report's schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.routing.config import DEPLOY, read_directory
from services.routing.domain import ledger_rows
from services.routing.domain.assessment import AssessmentPolicy, WeeklyReport, Weights, assess, due_week, returned_by
from services.routing.domain.ledger import NONE, Filters, summarize
from services.routing.domain.ledger_table import group_labeller, table

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
T0 = datetime(2026, 11, 24, 1, tzinfo=UTC)
DIRECTORY = read_directory(DEPLOY / "teams.yaml")


def row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "_id": f"r{len(kw)}-{id(kw)}",
        "service_code": "property_repair",
        "team_id": "property_maintenance",
        "channel": "web",
        "status": "dispatched",
        "submitted_at": T0,
        "first_dispatched_at": T0,
    }
    return {**base, **kw}


def groups(rows: list[dict[str, object]], by: str) -> dict[str, int]:
    return {g["group"]: g["count"] for g in summarize(rows, by, NOW, SH)["groups"]}


def test_grouping_by_grid_building_vulnerable_group_and_filer() -> None:
    rows = [
        row(grid="grid-1", building="3", vulnerability=["elderly_alone", "disabled"], filed_by="grid.worker"),
        row(grid="grid-1", building="4", vulnerability=["elderly_alone"]),
        row(grid="grid-2", building="7"),
        row(),  # an older task: none of the new fields kept
    ]
    assert groups(rows, "grid") == {"grid-1": 2, "grid-2": 1, NONE: 1}
    assert groups(rows, "building") == {"3": 1, "4": 1, "7": 1, NONE: 1}
    # a resident in two groups counts in both: the groups add up to more than the total
    assert groups(rows, "vulnerable") == {"elderly_alone": 2, "disabled": 1, NONE: 2}
    assert summarize(rows, "vulnerable", NOW, SH)["total"]["count"] == 4
    assert groups(rows, "filer") == {"grid.worker": 1, "self": 3}


def test_group_names_in_both_languages() -> None:
    def name(by: str, key: str, lang: str = "zh-CN") -> str:
        return group_labeller(by, lang, categories={}, directory=DIRECTORY)(key)

    grid_1 = DIRECTORY.areas.grids[0]
    assert name("grid", "grid-1") == grid_1.name["zh-CN"] and name("grid", NONE) == "未划入网格"
    assert name("building", "3") == "3号楼" and name("building", "3", "en") == "Building 3"
    assert name("vulnerable", "elderly_alone") == "独居老人"
    assert name("vulnerable", NONE, "en") == "In no vulnerable group"
    assert name("filer", "self") == "居民本人提交" and name("filer", "grid.worker") == "grid.worker"
    summary = summarize([row(grid="grid-1")], "grid", NOW, SH)
    header, rows = table(summary, "zh-CN", group_labeller("grid", "zh-CN", categories={}, directory=DIRECTORY))
    assert header[0] == "网格" and rows[0][:2] == [grid_1.name["zh-CN"], "grid-1"]
    # filer had no header before: a CSV by filer was a 500
    header, _ = table(summarize([row()], "filer", NOW, SH), "en", lambda k: k)
    assert header[0] == "Filed on behalf by"


def test_filters_as_a_query_and_in_memory() -> None:
    f = Filters(team="property_maintenance", grid=NONE, vulnerable="disabled", filer="self")
    assert f.query() == {
        "team_id": "property_maintenance",
        "grid": None,
        "vulnerability": "disabled",
        "filed_by": None,
    }
    assert f.given() == {"team": "property_maintenance", "grid": NONE, "vulnerable": "disabled", "filer": "self"}
    assert f.keep(row(vulnerability=["disabled"])) and not f.keep(row(vulnerability=["hardship"]))
    assert not f.keep(row(vulnerability=["disabled"], grid="grid-1"))
    assert Filters(vulnerable=NONE).query() == {"vulnerability.0": {"$exists": False}}
    assert Filters(vulnerable=NONE).keep(row()) and not Filters(vulnerable=NONE).keep(row(vulnerability=["disabled"]))
    assert Filters().query() == {}


def test_one_row_per_request_holds_no_personal_data() -> None:
    claimed = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)
    resolved = datetime(2026, 11, 24, 5, tzinfo=UTC)
    task = row(
        _id="req-1",
        service_name={"zh-CN": "物业报修", "en": "Property repair"},
        grid="grid-1",
        building="3",
        vulnerability=["elderly_alone", "hardship"],
        filed_by="grid.worker",
        channel="hotline",
        status="closed",
        first_claimed_at=claimed,
        first_resolved_at=resolved,
        resolved_on_time=True,
        counts={"extensions": 1, "returns": 2, "transfers": 0, "reopens": 0},
        rating="fairly_satisfied",
        rating_source="callback",
        # what a task document also holds and a row must never show
        resident={"name": "王阿姨", "phone": "13800138000"},
        address="幸福路8号3号楼2单元501",
        description="门锁坏了",
        tracking_code="HYABC",
    )
    cells = dict(zip(ledger_rows.KEYS, ledger_rows.values(task, "zh-CN", SH, DIRECTORY), strict=True))
    assert cells["request_id"] == "req-1" and cells["kind"] == "物业报修" and cells["kind_code"] == "property_repair"
    assert cells["submitted_at"] == datetime(2026, 11, 24, 9, 0)  # local, naive: an Excel date
    assert cells["building"] == "3号楼" and cells["grid"] == DIRECTORY.areas.grids[0].name["zh-CN"]
    assert cells["vulnerable"] == "独居老人、困难家庭" and cells["filed_by"] == "grid.worker"
    assert (cells["hours_to_claim"], cells["hours_to_resolve"]) == (1.5, 4.0)
    assert (cells["extensions"], cells["returns"], cells["on_time"]) == (1, 2, "是")
    assert (cells["rating"], cells["rated_via"]) == ("基本满意", "电话回访")
    line = ledger_rows.csv_line(ledger_rows.values(task, "zh-CN", SH, DIRECTORY))
    for private in ("王阿姨", "13800138000", "幸福路", "门锁", "HYABC"):
        assert private not in line
    assert "2026-11-24 09:00" in line and line.endswith("\r\n")
    english = ledger_rows.values(task, "en", SH, DIRECTORY)
    assert "Fairly satisfied" in english and "On a call-back" in english
    assert ledger_rows.header("zh-CN")[:3] == ["工单编号", "受理时间", "诉求类别"]
    assert len(ledger_rows.header("en")) == len(ledger_rows.KEYS)


def test_a_cell_excel_would_run_as_a_formula_is_quoted() -> None:
    assert ledger_rows.csv_line(["=HYPERLINK(1)", "-1", 3]) == "'=HYPERLINK(1),'-1,3\r\n"


def test_the_team_that_sent_a_task_back_is_read_from_the_history() -> None:
    history = [
        {"action": "dispatch", "team_id": "property_maintenance"},
        {"action": "claim", "team_id": "property_maintenance"},
        {"action": "return", "team_id": None},
        {"action": "dispatch", "team_id": "legal_aid"},
        {"action": "return", "team_id": None},
        {"action": "dispatch", "team_id": "property_maintenance"},
        {"action": "return", "team_id": None},
    ]
    assert returned_by(history) == ["property_maintenance", "legal_aid"]
    assert returned_by(None) == [] and returned_by([{"action": "return"}]) == []


def test_assessment_rates_and_weighted_score() -> None:
    done = {"first_resolved_at": T0, "status": "closed"}
    rows = [
        # property maintenance: 2 resolved (1 on time), both rated (1 satisfied), and one it sent back
        row(_id="a", **done, resolved_on_time=True, rating="satisfied"),
        row(_id="b", **done, resolved_on_time=False, rating="dissatisfied"),
        row(
            _id="c",
            team_id="legal_aid",
            history=[{"action": "dispatch", "team_id": "property_maintenance"}, {"action": "return"}],
        ),
    ]
    weights = Weights(on_time=0.4, reply=0.2, satisfaction=0.3, returns=0.1)
    result = {a["team"]: a for a in assess(rows, ["property_maintenance", "legal_aid", "volunteers"], NOW, weights)}
    pm = result["property_maintenance"]
    assert (pm["received"], pm["handled"], pm["returned"]) == (3, 2, 1)
    assert (pm["on_time_rate"], pm["reply_rate"], pm["satisfaction_rate"], pm["return_rate"]) == (
        0.5,
        1.0,
        0.5,
        round(1 / 3, 4),
    )
    expected = 100 * (0.4 * 0.5 + 0.2 * 1.0 + 0.3 * 0.5 + 0.1 * (1 - round(1 / 3, 4)))
    assert pm["score"] == round(expected, 1)
    # legal aid: nothing resolved or rated yet -> scored on its reply rate (0) and return rate (0) only
    la = result["legal_aid"]
    assert (la["received"], la["on_time_rate"], la["satisfaction_rate"], la["reply_rate"]) == (1, None, None, 0.0)
    assert la["score"] == round(100 * (0.2 * 0 + 0.1 * 1) / 0.3, 1)
    # a team with nothing: listed, unscored, last
    volunteers = assess(rows, ["volunteers"], NOW, weights)[-1]
    assert volunteers["team"] == "volunteers" and volunteers["score"] is None and volunteers["received"] == 0


def test_weights_must_weigh_something() -> None:
    with pytest.raises(ValidationError, match="at least one weight"):
        Weights(on_time=0, reply=0, satisfaction=0, returns=0)
    with pytest.raises(ValidationError):
        AssessmentPolicy.model_validate({"weights": {"speed": 1}})
    policy = AssessmentPolicy.model_validate({})
    assert policy.weekly_report.weekday == 1 and policy.weights.on_time == 0.4


def test_the_deployed_assessment_file_parses() -> None:
    import yaml

    policy = AssessmentPolicy.model_validate(yaml.safe_load((DEPLOY / "routing" / "assessment.yaml").read_text()))
    assert policy.weekly_report.enabled


def test_the_week_due_is_last_week_from_monday_8am() -> None:
    monday_8 = WeeklyReport(weekday=1, hour=8)
    # Monday 30 Nov 2026, 07:59 Shanghai: last week's report is not due yet; the week before's is
    early = datetime(2026, 11, 30, 7, 59, tzinfo=SH)
    assert due_week(early, SH, monday_8)[0] == "2026-W47"
    week, start, end = due_week(datetime(2026, 11, 30, 8, 0, tzinfo=SH), SH, monday_8)
    assert week == "2026-W48"
    assert start == datetime(2026, 11, 23, tzinfo=SH) and end == datetime(2026, 11, 30, tzinfo=SH)
    # all through the week, the same one (the guard keys by it): once per week
    assert due_week(datetime(2026, 12, 6, 23, 59, tzinfo=SH), SH, monday_8)[0] == "2026-W48"
    friday = WeeklyReport(weekday=5, hour=17)
    assert due_week(datetime(2026, 12, 3, 12, tzinfo=SH), SH, friday)[0] == "2026-W47"
    assert due_week(datetime(2026, 12, 4, 17, tzinfo=SH), SH, friday)[0] == "2026-W48"
    # the ISO year turns over with the weeks
    assert due_week(datetime(2027, 1, 4, 9, tzinfo=SH), SH, monday_8)[0] == "2026-W53"
