"""Answers checked against a kind's questions, and 不受理 at the door (by answer, kind, keyword)."""

from __future__ import annotations

import pytest

from services.intake.config import DEPLOY, load_catalogue
from services.intake.domain.attributes import check_answers
from services.intake.domain.catalogue import Catalogue, Question, Service
from services.intake.domain.triage import Triage

TEXT = {"zh-CN": "问", "en": "Question"}
VALUES = [{"key": k, "name": {"zh-CN": k, "en": k}} for k in ("a", "b", "c")]


def service(*questions: Question) -> Service:
    return Service(code="kind", group="g", name=TEXT, description=TEXT, questions=list(questions))


def q(code: str, datatype: str, order: int, *, required: bool = False) -> Question:
    values = VALUES if datatype.endswith("valuelist") else []
    return Question.model_validate(
        {
            "code": code,
            "datatype": datatype,
            "order": order,
            "required": required,
            "description": TEXT,
            "values": values,
        }
    )


KIND = service(
    q("s", "string", 1),
    q("n", "number", 2),
    q("d", "datetime", 3),
    q("t", "text", 4),
    q("one", "singlevaluelist", 5, required=True),
    q("many", "multivaluelist", 6),
)


def test_valid_answers_are_normalized() -> None:
    checked = check_answers(
        KIND,
        {"s": " hello ", "n": "3.0", "d": "2025-05-01T09:00:00Z", "t": "a\nb", "one": "b", "many": ["c", "a", "c"]},
    )
    assert checked.errors == []
    assert checked.answers == {
        "s": "hello",
        "n": "3",
        "d": "2025-05-01T09:00:00+00:00",
        "t": "a\nb",
        "one": "b",
        "many": ["c", "a"],
    }
    assert check_answers(KIND, {"one": "a", "n": 2.5}).answers["n"] == "2.5"
    assert check_answers(KIND, {"one": "a", "many": "b"}).answers["many"] == ["b"]  # one value of a list


@pytest.mark.parametrize(
    ("answers", "code", "hint"),
    [
        ({}, "one", "required"),
        ({"one": ""}, "one", "required"),  # empty is not an answer (Open311: empty = not given)
        ({"one": "z"}, "one", "choose one of: a, b, c"),
        ({"one": ["a", "b"]}, "one", "single value"),
        ({"one": "a", "many": ["a", "z"]}, "many", "choose any of"),
        ({"one": "a", "n": "lots"}, "n", "number"),
        ({"one": "a", "n": "nan"}, "n", "finite"),
        ({"one": "a", "n": True}, "n", "number"),
        ({"one": "a", "d": "2025-05-01T09:00:00"}, "d", "time zone"),
        ({"one": "a", "d": "next week"}, "d", "ISO 8601"),
        ({"one": "a", "s": "two\nlines"}, "s", "single line"),
        ({"one": "a", "s": "x" * 201}, "s", "200"),
        ({"one": "a", "t": "bell\x07"}, "t", "control"),
        ({"one": "a", "t": "x" * 2001}, "t", "2000"),
        ({"one": "a", "colour": "red"}, "colour", "unknown question; the questions of kind are: s, n"),
    ],
)
def test_wrong_answers_say_how_to_fix(answers: dict[str, object], code: str, hint: str) -> None:
    errors = {e.code: e.message for e in check_answers(KIND, answers).errors}
    assert code in errors, errors
    assert hint in errors[code]


def test_all_errors_at_once() -> None:
    errors = check_answers(KIND, {"one": "z", "n": "x", "extra": "1"}).errors
    assert {e.code for e in errors} == {"one", "n", "extra"}


@pytest.fixture(scope="module")
def triage() -> Triage:
    catalogue: Catalogue = load_catalogue(DEPLOY / "catalogue.yaml")
    return Triage(catalogue)


def test_a_matter_before_a_court_is_not_accepted_with_the_court_line(triage: Triage) -> None:
    referral = triage.check("dispute_mediation", {"in_court": "yes"})
    assert referral is not None
    assert (referral.reason_code, referral.number) == ("in_litigation", "12368")
    assert "12368" in referral.notice["zh-CN"] and "12368" in referral.notice["en"]
    assert "{reason}" not in referral.notice["en"]


@pytest.mark.parametrize(
    ("service_code", "answers"),
    [
        ("dispute_mediation", {"in_court": "no"}),
        ("property_repair", {}),
        # Emergencies are emergency triage's (domain/emergency.py), never the catalogue's not_accepted.
        ("emergency", {"kind": "fire"}),
    ],
)
def test_other_requests_are_not_refused_by_the_catalogue(
    triage: Triage, service_code: str, answers: dict[str, str]
) -> None:
    assert triage.check(service_code, answers) is None
