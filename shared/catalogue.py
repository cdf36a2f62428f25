"""The service catalogue: the request kinds, their questions, and what the desk refuses at the door.

In shared/ because two services use it: intake takes requests with it, routing's administration checks an
admin's edit with it before the new version goes to intake (issue 15); services/intake/domain/catalogue.py
re-exports it. The model only; services/intake/config.py reads deploy/catalogue.yaml and checks it once at
start-up, so a mistake in the file stops intake with a message naming the entry instead of surfacing as a
bad answer to a resident.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.events import LANGUAGES

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")


def _require_languages(value: dict[str, str]) -> dict[str, str]:
    missing = [lang for lang in LANGUAGES if not value.get(lang)]
    if missing:
        raise ValueError(f"text is missing in {', '.join(missing)}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Value(_Strict):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    name: dict[str, str]

    _names = field_validator("name")(_require_languages)


class Question(_Strict):
    """An Open311 attribute of a service."""

    code: str = Field(pattern=r"^[A-Za-z0-9_]{1,40}$")
    datatype: Datatype
    required: bool = False
    variable: bool = True
    order: int = Field(ge=1)
    description: dict[str, str]
    datatype_description: dict[str, str] | None = None
    values: list[Value] = []

    _names = field_validator("description")(_require_languages)

    @model_validator(mode="after")
    def _values_match_datatype(self) -> Question:
        if self.datatype in LIST_DATATYPES and not self.values:
            raise ValueError(f"question {self.code!r} is a {self.datatype} and needs values")
        if self.datatype not in LIST_DATATYPES and self.values:
            raise ValueError(f"question {self.code!r} is a {self.datatype}; only list datatypes take values")
        keys = [v.key for v in self.values]
        if len(set(keys)) != len(keys):
            raise ValueError(f"question {self.code!r} repeats a value key")
        return self

    @property
    def keys(self) -> list[str]:
        return [v.key for v in self.values]


class Service(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    group: str
    name: dict[str, str]
    description: dict[str, str]
    keywords: list[str] = []
    questions: list[Question] = []
    # Whether public views may show the description, address, coordinates and media (see catalogue.yaml).
    public_details: bool = False
    # Whether a resident may leave their name out for staff too (see catalogue.yaml). The public never sees it.
    anonymous: bool = False

    _names = field_validator("name", "description")(_require_languages)

    @field_validator("questions")
    @classmethod
    def _unique_questions(cls, questions: list[Question]) -> list[Question]:
        for attr in ("code", "order"):
            seen = [getattr(q, attr) for q in questions]
            if len(set(seen)) != len(seen):
                raise ValueError(f"two questions share the same {attr}")
        return sorted(questions, key=lambda q: q.order)

    def question(self, code: str) -> Question | None:
        return next((q for q in self.questions if q.code == code), None)


class Referral(_Strict):
    number: str = Field(pattern=r"^[0-9]{3,12}$")
    notice: dict[str, str]

    _names = field_validator("notice")(_require_languages)


class NotAcceptedRule(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    referral: str
    reason: dict[str, str]
    services: list[str] = []
    answers: dict[str, list[str]] = {}  # "service.question" -> value keys

    _names = field_validator("reason")(_require_languages)


class Catalogue(_Strict):
    services: list[Service]
    referrals: dict[str, Referral] = {}
    not_accepted: list[NotAcceptedRule] = []

    @field_validator("services")
    @classmethod
    def _unique(cls, services: list[Service]) -> list[Service]:
        codes = [s.code for s in services]
        dupes = {c for c in codes if codes.count(c) > 1}
        if dupes:
            raise ValueError(f"duplicate service codes: {sorted(dupes)}")
        return services

    @model_validator(mode="after")
    def _rules_refer_to_known_things(self) -> Catalogue:
        for rule in self.not_accepted:
            if rule.referral not in self.referrals:
                raise ValueError(f"not_accepted rule {rule.code!r} refers to unknown referral {rule.referral!r}")
            for code in rule.services:
                if self.get(code) is None:
                    raise ValueError(f"not_accepted rule {rule.code!r} names unknown service {code!r}")
            for path, keys in rule.answers.items():
                service_code, _, question_code = path.partition(".")
                service = self.get(service_code)
                question = service.question(question_code) if service else None
                if question is None:
                    raise ValueError(f"not_accepted rule {rule.code!r} names unknown question {path!r}")
                if set(keys) - set(question.keys):
                    raise ValueError(f"not_accepted rule {rule.code!r} names unknown values of {path!r}")
        return self

    def get(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    @property
    def codes(self) -> list[str]:
        return [s.code for s in self.services]
