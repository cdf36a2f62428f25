"""Routing rules: category x area -> team, keyword triage, priority, and the rule that decided."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.routing.domain.rules import RoutingInput, RuleSet, decide, priority_rank
from services.routing.domain.teams import normalize_building
from tests.unit.routing.factories import DIRECTORY, RULES


def route(
    category: str, text: str = "", building: str | None = None, **kw: object
) -> tuple[str, str, str, tuple[str, ...]]:
    b = normalize_building(building)
    inp = RoutingInput(category, text, b, DIRECTORY.grid_of(b), **kw)  # type: ignore[arg-type]
    d = decide(inp, RULES, 7, DIRECTORY)
    return d.team_id, d.team_rule, d.priority, d.priority_rules


def test_every_category_of_the_catalogue_has_a_team() -> None:
    for category, team in {
        "property_repair": "property_maintenance",
        "environment_order": "public_order",
        "dispute_mediation": "mediation",
        "legal_aid": "legal_aid",
        "volunteer_service": "volunteers",
        "care_visit": "community_work_group",
        "community_health": "community_health",
        "convenience_service": "volunteers",
        "employment": "employment_service",
    }.items():
        assert route(category)[0] == team, category


def test_the_rule_and_version_that_decided_are_recorded() -> None:
    assert route("legal_aid")[1] == "legal-aid@7"


def test_category_and_area_choose_the_team() -> None:
    # Grid 3 has no property company: the community work group repairs there.
    assert route("property_repair", building="15号楼")[:2] == ("community_work_group", "repair-bungalows@7")
    assert route("property_repair", building="3")[:2] == ("property_maintenance", "repair@7")


def test_a_route_is_skipped_when_its_team_does_not_serve_the_area() -> None:
    rules = RuleSet.model_validate(
        {
            "default_team": "community_work_group",
            "routes": [{"id": "r", "category": "property_repair", "team": "property_maintenance"}],
        }
    )
    inp = RoutingInput("property_repair", "", "14", DIRECTORY.grid_of("14"))
    assert decide(inp, rules, 1, DIRECTORY).team_rule == "default@1"


def test_an_unknown_area_is_served_by_the_category_team() -> None:
    assert route("property_repair", building=None)[0] == "property_maintenance"


def test_keyword_triage_for_enquiries_in_chinese_and_english() -> None:
    assert route("enquiry_complaint", "楼上邻居天天吵架，想请人调解")[:2] == ("mediation", "triage-dispute@7")
    assert route("enquiry_complaint", "My employer owes me wages, can a lawyer help?")[:2] == (
        "legal_aid",
        "triage-legal@7",
    )
    assert route("enquiry_complaint", "Who do I ask about the bus timetable?")[:2] == (
        "community_work_group",
        "enquiries@7",
    )


def test_keyword_triage_for_unknown_categories_falls_back_to_the_default_team() -> None:
    assert route("other", "厨房水管漏水")[:2] == ("property_maintenance", "triage-repair@7")
    assert route("something_new", "hello")[:2] == ("community_work_group", "default@7")


def test_triage_prefers_the_rule_with_most_distinct_words() -> None:
    # one order word (噪音) against two dispute words (纠纷, 邻居)
    assert route("enquiry_complaint", "和邻居因为噪音起了纠纷")[0] == "mediation"


def test_latin_words_match_whole_words_only() -> None:
    assert route("other", "my gasket is fine")[2] == "normal"  # not "gas"
    assert route("other", "I smell GAS in the stairwell")[2] == "urgent"


def test_urgent_words_raise_priority() -> None:
    team, _rule, priority, rules = route("property_repair", "厨房水管漏水了", building="3")
    assert (team, priority, rules) == ("property_maintenance", "urgent", ("urgent-words@7",))
    assert route("property_repair", "no water since this morning")[2] == "urgent"
    assert route("property_repair", "燃气味很重")[2] == "urgent"
    assert route("property_repair", "停水三天了")[2] == "urgent"


def test_vulnerable_residents_get_one_level_more() -> None:
    _, _, priority, rules = route("care_visit", "需要上门看看", vulnerability=("elderly_alone",))
    assert (priority, rules) == ("high", ("vulnerable-resident@7",))
    for group in ("disabled", "widowed", "hardship"):
        assert route("care_visit", "", vulnerability=(group,))[2] == "high"
    # never above urgent
    assert route("property_repair", "漏水", vulnerability=("disabled",))[2] == "urgent"


def test_attribute_answers_raise_priority() -> None:
    # the repair form's urgency question (deploy/catalogue.yaml)
    assert route("property_repair", "门坏了", attributes={"urgency": "safety_risk"})[2:] == (
        "urgent",
        ("urgency-answer@7",),
    )
    assert route("property_repair", "门坏了", attributes={"urgency": ["can_wait"]})[2] == "normal"


def test_priority_rank_sorts_urgent_first() -> None:
    assert [priority_rank(p) for p in ("urgent", "high", "normal", "low")] == [0, 1, 2, 3]


def test_rule_sets_name_only_known_teams_and_grids() -> None:
    bad = RuleSet.model_validate(
        {
            "default_team": "nobody",
            "routes": [{"id": "x", "category": "c", "team": "ghosts", "grids": ["grid-9"]}],
            "triage": {"rules": [{"id": "t", "team": "aliens", "words": ["x"]}]},
        }
    )
    fields = [f for f, _ in bad.problems(DIRECTORY)]
    assert fields == ["default_team", "routes.0.team", "routes.0.grids", "triage.rules.0.team"]
    assert RULES.problems(DIRECTORY) == []


def test_rule_sets_refuse_unknown_fields_repeated_ids_and_empty_priority_rules() -> None:
    with pytest.raises(ValidationError, match="extra"):
        RuleSet.model_validate({"default_team": "x", "rutes": []})
    with pytest.raises(ValidationError, match="repeated"):
        RuleSet.model_validate({"default_team": "x", "routes": [{"id": "a", "category": "c", "team": "t"}] * 2})
    with pytest.raises(ValidationError, match="at_least"):
        RuleSet.model_validate({"default_team": "x", "priority": [{"id": "p", "words": ["a"]}]})
    with pytest.raises(ValidationError, match="words"):
        RuleSet.model_validate({"default_team": "x", "priority": [{"id": "p", "at_least": "high"}]})


def test_rule_sets_round_trip_through_their_stored_form() -> None:
    stored = RULES.model_dump(mode="json", by_alias=True)
    assert RuleSet.model_validate(stored) == RULES
    assert "raise" in stored["priority"][2]


def test_buildings_are_read_from_the_building_field_or_the_address() -> None:
    assert normalize_building("3号楼") == "3"
    assert normalize_building("Building 07") == "7"
    assert normalize_building(None, "15栋3单元201") == "15"
    assert normalize_building(None, "Block 12, unit 3") == "12"
    assert normalize_building(None, "幸福路88号") is None
    assert DIRECTORY.grid_of("15") == "grid-3" and DIRECTORY.grid_of("99") is None
