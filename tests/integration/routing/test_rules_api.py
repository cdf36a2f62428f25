"""Routing rules edited through the admin API, versioned; every decision records the rule and version."""

from __future__ import annotations

import copy
from typing import Any

from tests.integration.routing.conftest import Routing, submitted


async def current(routing: Routing) -> dict[str, Any]:
    r = await routing.http.get("/v1/rules", headers=await routing.headers("admin"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_version_1_is_the_shipped_file(routing: Routing) -> None:
    rules = await current(routing)
    assert rules["version"] == 1 and rules["created_by"] == "config"
    assert rules["rules"]["default_team"] == "community_work_group"
    assert any(r["id"] == "repair-bungalows" for r in rules["rules"]["routes"])


async def test_an_edit_is_a_new_version_and_new_decisions_name_it(routing: Routing) -> None:
    before = await routing.submit(service_code="care_visit", description="独居老人需要上门看看")
    assert before["team"]["id"] == "community_work_group" and before["decision"]["team_rule"] == "care-visits@1"

    edited = copy.deepcopy((await current(routing))["rules"])
    for route in edited["routes"]:
        if route["id"] == "care-visits":
            route["team"] = "volunteers"
    r = await routing.http.put(
        "/v1/rules",
        json={"base_version": 1, "note": "care visits go to the volunteers", "rules": edited},
        headers=await routing.headers("admin"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["created_by"] == "admin"

    visit = "独居老人需要上门看看"
    after = await routing.submit(service_code="care_visit", description=visit, vulnerability=["widowed"])
    assert after["team"]["id"] == "volunteers"
    assert after["decision"] == {
        **after["decision"],
        "team_rule": "care-visits@2",
        "priority_rules": ["vulnerable-resident@2"],
        "version": 2,
    }
    assert after["priority"] == "high"
    # the earlier task keeps the decision it was made with, and version 1 is still there to read
    assert (await routing.task(before["id"])).json()["decision"]["team_rule"] == "care-visits@1"
    versions = (await routing.http.get("/v1/rules/versions", headers=await routing.headers("admin"))).json()
    assert [v["version"] for v in versions["versions"]] == [2, 1]
    v1 = (await routing.http.get("/v1/rules/versions/1", headers=await routing.headers("supervisor"))).json()
    assert next(r for r in v1["rules"]["routes"] if r["id"] == "care-visits")["team"] == "community_work_group"
    dispatched = routing.listener.of("task.dispatched", after["id"])[0]
    assert dispatched.data["rule"] == "care-visits@2" and dispatched.data["priority_rules"] == ["vulnerable-resident@2"]


async def test_an_edit_based_on_a_stale_version_gets_409(routing: Routing) -> None:
    rules = (await current(routing))["rules"]
    admin = await routing.headers("admin")
    first = await routing.http.put("/v1/rules", json={"base_version": 1, "rules": rules}, headers=admin)
    second = await routing.http.put("/v1/rules", json={"base_version": 1, "rules": rules}, headers=admin)
    assert first.status_code == 201 and second.status_code == 409
    assert "version is 2" in second.json()["message"]


async def test_bad_rules_are_refused_naming_the_field(routing: Routing) -> None:
    admin = await routing.headers("admin")
    rules = (await current(routing))["rules"]
    cases: list[tuple[dict[str, Any], str]] = []
    unknown_team = copy.deepcopy(rules)
    unknown_team["routes"][1]["team"] = "ghostbusters"
    cases.append((unknown_team, "rules.routes.1.team"))
    unknown_grid = copy.deepcopy(rules)
    unknown_grid["routes"][0]["grids"] = ["grid-99"]
    cases.append((unknown_grid, "rules.routes.0.grids"))
    typo = copy.deepcopy(rules)
    typo["routs"] = []
    cases.append((typo, "rules.routs"))
    bad_priority = copy.deepcopy(rules)
    bad_priority["priority"][0]["at_least"] = "extreme"
    cases.append((bad_priority, "rules.priority.0.at_least"))
    for body, field_name in cases:
        r = await routing.http.put("/v1/rules", json={"base_version": 1, "rules": body}, headers=admin)
        assert r.status_code == 422, r.text
        assert field_name in r.json()["message"], r.text
    assert (await current(routing))["version"] == 1  # nothing stored


async def test_a_dry_run_shows_where_a_request_would_go(routing: Routing) -> None:
    sup = await routing.headers("supervisor")
    r = await routing.http.post(
        "/v1/rules/preview",
        json={"service_code": "property_repair", "description": "水管漏水", "address": "15栋2单元"},
        headers=sup,
    )
    assert r.json() == {
        "team_id": "community_work_group",
        "team_rule": "repair-bungalows@1",
        "priority": "urgent",
        "priority_rules": ["urgent-words@1"],
        "building": "15",
        "grid": "grid-3",
        "sla": {"rule": "urgent", "claim": "30 working minutes", "handle": "same working day"},
    }
    r = await routing.http.post(
        "/v1/rules/preview",
        json={"service_code": "enquiry_complaint", "description": "投诉楼上噪音", "attributes": {"kind": "complaint"}},
        headers=sup,
    )
    assert (r.json()["team_id"], r.json()["sla"]["handle"]) == ("public_order", "13 working days")
    tasks = await routing.app.state.container.store.tasks.count_documents({})
    assert tasks == 0


async def test_a_request_in_an_area_the_category_team_does_not_serve_goes_by_the_area_rule(routing: Routing) -> None:
    task = await routing.submit(submitted("property_repair", "屋顶漏雨", building="16号楼"))
    assert (task["team"]["id"], task["grid"], task["decision"]["team_rule"]) == (
        "community_work_group",
        "grid-3",
        "repair-bungalows@1",
    )
