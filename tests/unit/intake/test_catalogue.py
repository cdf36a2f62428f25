"""The shipped catalogue and the checks that keep a broken one from starting intake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.intake.config import DEPLOY, ConfigError, IntakeSettings, load_catalogue, load_config, load_messages
from services.intake.domain.catalogue import Catalogue

# The ten kinds of request the community desk handles.
KINDS = set(
    "property_repair environment_order dispute_mediation legal_aid volunteer_service care_visit community_health "
    "convenience_service employment enquiry_complaint".split()
)


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue(DEPLOY / "catalogue.yaml")


def test_the_ten_kinds_in_both_languages_and_half_ask_something(shipped: Catalogue) -> None:
    assert KINDS <= set(shipped.codes)
    for service in shipped.services:
        for text in (service.name, service.description):
            assert text["zh-CN"] and text["en"]
        assert service.keywords and service.group
        for question in service.questions:
            assert question.description["zh-CN"] and question.description["en"]
            assert all(v.name["zh-CN"] and v.name["en"] for v in question.values)
    asking = [s for s in shipped.services if s.code in KINDS and s.questions]
    assert len(asking) >= 5
    assert {q.code for q in shipped.get("property_repair").questions} >= {"place", "urgency"}  # type: ignore[union-attr]
    assert shipped.get("legal_aid").question("topic") is not None  # type: ignore[union-attr]
    assert shipped.get("care_visit").question("household") is not None  # type: ignore[union-attr]


def test_every_datatype_of_the_spec_is_allowed(shipped: Catalogue) -> None:
    used = {q.datatype for s in shipped.services for q in s.questions}
    assert used >= {"singlevaluelist", "multivaluelist", "datetime", "number"}


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "catalogue.yaml").read_text(encoding="utf-8"))
    return data


def _question(**overrides: Any) -> dict[str, Any]:
    return {"code": "q", "datatype": "string", "order": 1, "description": {"zh-CN": "问", "en": "Q"}, **overrides}


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["services"][0]["name"].pop("en"), "missing in en"),
        (lambda d: d["services"].append(dict(d["services"][0])), "duplicate service codes"),
        (lambda d: d["services"][0].update(questions=[_question(datatype="singlevaluelist")]), "needs values"),
        (
            lambda d: d["services"][0].update(
                questions=[_question(values=[{"key": "a", "name": {"zh-CN": "甲", "en": "A"}}])]
            ),
            "only list datatypes take values",
        ),
        (lambda d: d["services"][0].update(questions=[_question(), _question(code="r")]), "same order"),
        (lambda d: d["services"][0].update(questions=[_question(datatype="blob")]), "datatype"),
        (lambda d: d["not_accepted"][0].update(referral="fire_brigade"), "unknown referral"),
        (lambda d: d["not_accepted"][0].update(answers={"emergency.colour": ["red"]}), "unknown question"),
        (lambda d: d["not_accepted"][0].update(keywords={"zh-CN": ["煤气"]}), "keywords"),  # emergency.yaml's job
    ],
)
def test_a_broken_catalogue_is_refused_with_the_place(tmp_path: Path, change: Any, complaint: str) -> None:
    data = _raw()
    change(data)
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_catalogue(path)
    assert str(path) in str(info.value)
    assert complaint in str(info.value)


def test_unreadable_or_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_catalogue(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("services: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_catalogue(bad)


def test_the_portal_texts_are_read_once_and_a_broken_file_is_named(tmp_path: Path) -> None:
    config = load_config(IntakeSettings(log_json=False))
    assert config.catalogue.get("property_repair") is not None and config.messages.t("nav.home", "en") == "Home"
    assert not any(key.startswith("status.") for key in config.messages.messages)  # shared/statuses.py has them
    untranslated = tmp_path / "portal-messages.yaml"
    untranslated.write_text("nav.home: {en: Home}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{untranslated}.*nav.home"):
        load_messages(untranslated)
    with pytest.raises(ConfigError, match="not valid YAML"):
        bad = tmp_path / "bad.yaml"
        bad.write_text("a: [", encoding="utf-8")
        load_messages(bad)
