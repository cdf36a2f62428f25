"""Administration through /v1/admin (admin accounts): the SLA limits, the holiday calendar and the teams as
versioned documents with an audit log; a change holds on another replica within seconds, without a restart;
a bad edit is a 422 naming the field and stores nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

from tests.integration.routing.conftest import MovableClock, Routing, local
from tests.support import eventually

CSV_2027 = """date,kind,name
2027-01-01,holiday,元旦
2027-02-06,休,春节
2027-02-07,休,春节
2027-02-08,休,春节
2027-02-14,班,春节调休
"""

ICS_2027 = """BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
DTSTART;VALUE=DATE:20271001
DTEND;VALUE=DATE:20271008
SUMMARY:国庆节
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20270925
SUMMARY:国庆调休上班
END:VEVENT
END:VCALENDAR
"""


async def get(routing: Routing, path: str, as_: str = "admin") -> dict[str, Any]:
    r = await routing.http.get(path, headers=await routing.headers(as_))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def put(routing: Routing, name: str, base: int, body: dict[str, Any], note: str | None = None) -> Any:
    edit = {"base_version": base, "body": body, "note": note}
    return await routing.http.put(f"/v1/admin/config/{name}", json=edit, headers=await routing.headers("admin"))


async def preview_sla(routing: Routing) -> dict[str, Any]:
    r = await routing.http.post(
        "/v1/rules/preview",
        json={"service_code": "legal_aid", "description": "想咨询一下租房合同"},
        headers=await routing.headers("admin"),
    )
    assert r.status_code == 200, r.text
    return r.json()["sla"]  # type: ignore[no-any-return]


async def test_the_files_are_version_1_and_only_admins_may_see_them(routing: Routing) -> None:
    listed = await get(routing, "/v1/admin/config")
    assert [(d["name"], d["version"], d["changed_by"]) for d in listed["documents"]] == [
        ("calendar", 1, "config"),
        ("sla", 1, "config"),
        ("teams", 1, "config"),
        ("templates", 1, "config"),
        ("catalogue", 1, "config"),
    ]
    calendar = await get(routing, "/v1/admin/config/calendar")
    assert {"from": "2026-10-01", "to": "2026-10-07"} in calendar["body"]["holidays"]
    for who in ("supervisor", "property_maintenance.lead"):
        r = await routing.http.get("/v1/admin/config/sla", headers=await routing.headers(who))
        assert r.status_code == 403, r.text


async def test_an_sla_edit_takes_effect_at_once_and_is_in_the_audit_log(routing: Routing) -> None:
    assert (await preview_sla(routing))["rule"] == "legal-aid"
    sla = (await get(routing, "/v1/admin/config/sla"))["body"]
    edited = copy.deepcopy(sla)
    for rule in edited["limits"]:
        if rule["id"] == "legal-aid":
            rule["handle"] = {"working_days": 4}
    r = await put(routing, "sla", 1, edited, "legal aid answers in 4 days")
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["changed_by"] == "admin"
    assert (await preview_sla(routing))["handle"] == (await preview_handle_text(routing))
    log = (await get(routing, "/v1/admin/config/sla/history"))["entries"]
    assert [(e["version"], e["who"]) for e in log] == [(2, "admin"), (1, "config")]
    assert log[0]["before"] == sla and log[0]["after"] == edited and log[0]["note"] == "legal aid answers in 4 days"
    # a second edit from the old base version is refused: nothing is overwritten
    r = await put(routing, "sla", 1, sla)
    assert r.status_code == 409 and "version is 2" in r.json()["message"]


async def preview_handle_text(routing: Routing) -> str:
    sla = await preview_sla(routing)
    assert "4" in sla["handle"], sla
    return str(sla["handle"])


async def test_a_bad_edit_is_a_422_naming_the_field_and_stores_nothing(routing: Routing) -> None:
    sla = (await get(routing, "/v1/admin/config/sla"))["body"]
    broken = copy.deepcopy(sla)
    broken["default"]["claim"] = {"working_hours": -3}
    r = await put(routing, "sla", 1, broken)
    assert r.status_code == 422, r.text
    assert r.json()["fields"][0]["field"] == "default.claim.working_hours", r.json()
    calendar = (await get(routing, "/v1/admin/config/calendar"))["body"]
    r = await put(routing, "calendar", 1, {**calendar, "days": ["mon", "funday"]})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "days", r.json()
    assert "mon, tue" in r.json()["message"]  # says what is accepted
    r = await put(routing, "calendar", 1, {**calendar, "holidays": [{"from": "2026-10-07", "to": "2026-10-01"}]})
    assert r.status_code == 422 and r.json()["fields"][0]["field"].startswith("holidays.0"), r.json()
    teams = (await get(routing, "/v1/admin/config/teams"))["body"]
    r = await put(routing, "teams", 1, {**teams, "teams": teams["teams"][1:]})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "teams", r.json()
    for name in ("sla", "calendar", "teams"):
        assert (await get(routing, f"/v1/admin/config/{name}"))["version"] == 1


async def test_a_year_imported_from_a_file_ends_the_warning(routing: Routing, clock: MovableClock) -> None:
    clock.set(local(2026, 12, 3, 9))  # the calendar lists 2026 only: its list runs out within a month
    warning = (await get(routing, "/v1/admin/config"))["calendar_warning"]
    assert warning == {"last_year": 2026, "ends": "2026-12-31", "days_left": 28}
    headers = await routing.headers("admin")
    body = {"base_version": 1, "year": 2027, "format": "csv", "content": CSV_2027.replace("2027-02-08", "2028-02-08")}
    r = await routing.http.post("/v1/admin/calendar/import", json=body, headers=headers)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "content", r.text
    assert "2028-02-08 is not in 2027" in r.json()["message"]
    r = await routing.http.post("/v1/admin/calendar/import", json={**body, "content": CSV_2027}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["calendar_warning"] is None
    r = await routing.http.post(
        "/v1/admin/calendar/import",
        json={**body, "base_version": 2, "format": "ics", "content": ICS_2027},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    stored = r.json()["body"]
    # the second import of 2027 replaced the first one's 2027 dates; 2026 is untouched
    assert {"from": "2027-10-01", "to": "2027-10-07", "name": "国庆节"} in stored["holidays"]
    assert "2027-01-01" not in stored["holidays"] and "2027-09-25" in stored["extra_workdays"]
    assert {"from": "2026-10-01", "to": "2026-10-07"} in stored["holidays"]
    calendar = routing.app.state.container.config.calendar  # what the SLA clocks count with, now
    assert not calendar.is_working_day(date(2027, 10, 4)) and calendar.is_working_day(date(2027, 9, 25))


async def test_a_change_on_one_replica_holds_on_the_other_within_seconds(
    start_routing: Callable[..., Any],
) -> None:
    async with start_routing() as a, start_routing() as b:  # two replicas: one database, competing consumers
        assert (await preview_sla(b))["rule"] == "legal-aid"
        teams = (await get(a, "/v1/admin/config/teams"))["body"]
        edited = copy.deepcopy(teams)
        edited["teams"][0]["name"]["zh-CN"] = "物业维修一组"
        r = await put(a, "teams", 1, edited, "renamed")
        assert r.status_code == 201, r.text

        async def renamed() -> bool:
            listed = await get(b, "/v1/teams", as_="supervisor")
            return any(t["name"]["zh-CN"] == "物业维修一组" for t in listed["teams"])

        await eventually(renamed, timeout=b.settings.config_refresh_s + 3, what="replica b to see the new team name")
        assert b.app.state.container.config.directory.team(edited["teams"][0]["id"]).name["zh-CN"] == "物业维修一组"


async def test_templates_edited_in_routing_reach_every_notify_replica(
    routing: Routing, run_service: Callable[..., Any]
) -> None:
    async with (
        run_service("notify", clock=routing.clock) as (_, one),
        run_service("notify", clock=routing.clock) as (_, two),
    ):
        templates = (await get(routing, "/v1/admin/config/templates"))["body"]
        broken = copy.deepcopy(templates)
        broken["request.submitted"]["zh-CN"]["subject"] = "{{ tracking_code "
        r = await put(routing, "templates", 1, broken)
        assert r.status_code == 422 and "request.submitted" in r.json()["message"], r.text

        edited = copy.deepcopy(templates)
        edited["request.submitted"]["zh-CN"]["subject"] = "已收到（{{ tracking_code }}），我们会尽快处理"
        r = await put(routing, "templates", 1, edited, "更口语的标题")
        assert r.status_code == 201, r.text

        def subject(app: Any) -> str:
            rendered = app.state.container.service.templates.render(
                "request.submitted", "zh-CN", {"tracking_code": "HY123"}
            )
            return str(rendered.subject)

        for app in (one, two):  # one consumed the event; the other reads the version from the database
            await eventually(lambda app=app: subject(app) == "已收到（HY123），我们会尽快处理", timeout=10,
                             what="notify to use templates version 2")  # fmt: skip
        stored = await one.state.container.templates.store.latest("templates")
        assert stored is not None and stored.version == 2 and stored.changed_by == "admin"


async def test_the_catalogue_edited_in_routing_reaches_every_intake_replica(
    routing: Routing, run_service: Callable[..., Any]
) -> None:
    async with (
        run_service("intake", clock=routing.clock) as (one, _),
        run_service("intake", clock=routing.clock) as (
            two,
            _,
        ),
    ):
        catalogue = (await get(routing, "/v1/admin/config/catalogue"))["body"]
        broken = copy.deepcopy(catalogue)
        broken["services"][0]["name"] = {"en": "no Chinese name"}
        r = await put(routing, "catalogue", 1, broken)
        assert r.status_code == 422 and r.json()["fields"][0]["field"].startswith("services.0.name"), r.text

        edited = copy.deepcopy(catalogue)
        assert edited["services"][0]["code"] == "property_repair"
        edited["services"][0]["name"]["zh-CN"] = "物业报修（维修）"
        r = await put(routing, "catalogue", 1, edited, "名称更清楚")
        assert r.status_code == 201, r.text

        for http in (one, two):  # one consumed the event; the other reads the version from the database

            async def renamed(http: Any = http) -> bool:
                listed = (await http.get("/v1/services")).json()["services"]
                return any(s["name"]["zh-CN"] == "物业报修（维修）" for s in listed)

            await eventually(renamed, timeout=10, what="intake to list catalogue version 2")
