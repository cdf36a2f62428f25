"""Answers to a kind's questions (Open311 attributes), checked against the catalogue. No I/O.

Both front doors use this: the native API names a bad answer `attributes.<code>`, Open311 names it
`attribute[<code>]`. Answers are normalized to what `RequestSubmitted.attributes` carries: a string, or a
list of strings for a multivaluelist.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.intake.domain.catalogue import Question, Service
from shared.events.requests import AnswerLabel

MAX_STRING = 200
MAX_TEXT = 2000
MAX_NUMBER = 1e12

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LINE_BREAK = re.compile(r"[\r\n\t]")

Answer = str | list[str]


@dataclass(frozen=True)
class AnswerError:
    code: str
    message: str


@dataclass(frozen=True)
class Checked:
    answers: dict[str, Answer]
    errors: list[AnswerError]


def _empty(raw: Any) -> bool:
    # Open311: "a null parameter is treated as a non-declared one"; an empty string or list is not an answer.
    return raw is None or raw == "" or raw == [] or (isinstance(raw, str) and not raw.strip())


def _choices(question: Question) -> str:
    return ", ".join(question.keys)


def _one_answer(question: Question, raw: Any) -> Answer:
    """The normalized answer. Raises ValueError with a message that says how to fix it."""
    datatype = question.datatype
    if datatype == "multivaluelist":
        items = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(i, str) for i in items):
            raise ValueError(f"give a list of value keys, any of: {_choices(question)}")
        keys = list(dict.fromkeys(i.strip() for i in items if i.strip()))
        unknown = [k for k in keys if k not in question.keys]
        if unknown:
            raise ValueError(f"unknown value {unknown[0]!r}; choose any of: {_choices(question)}")
        return keys
    if isinstance(raw, list):
        if len(raw) != 1:
            raise ValueError("give a single value, not a list")
        raw = raw[0]
    if datatype == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValueError("give a number, e.g. 3 or 2.5")
        try:
            number = float(raw)
        except ValueError:
            raise ValueError("give a number, e.g. 3 or 2.5") from None
        if not math.isfinite(number) or abs(number) > MAX_NUMBER:
            raise ValueError("give a finite number of reasonable size")
        return str(int(number)) if number.is_integer() else repr(number)
    if not isinstance(raw, str):
        raise ValueError("give the answer as a string")
    value = raw.strip()
    if datatype == "singlevaluelist":
        if value not in question.keys:
            raise ValueError(f"unknown value {value!r}; choose one of: {_choices(question)}")
        return value
    if datatype == "datetime":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                "give an ISO 8601 date and time with a time zone, e.g. 2025-05-01T09:00:00+08:00"
            ) from None
        if moment.tzinfo is None:
            raise ValueError("add a time zone, e.g. 2025-05-01T09:00:00+08:00 or ...Z")
        return moment.isoformat()
    if datatype == "string":
        if _LINE_BREAK.search(value) or _CONTROL.search(value):
            raise ValueError("a single line without control characters, please")
        if len(value) > MAX_STRING:
            raise ValueError(f"at most {MAX_STRING} characters")
        return value
    # text
    if _CONTROL.search(value):
        raise ValueError("remove the control characters")
    if len(value) > MAX_TEXT:
        raise ValueError(f"at most {MAX_TEXT} characters")
    return value


def check_answers(service: Service, raw_answers: dict[str, Any]) -> Checked:
    """Every answer checked against the kind's questions; all problems reported at once."""
    answers: dict[str, Answer] = {}
    errors: list[AnswerError] = []
    askable = {q.code: q for q in service.questions if q.variable}
    for code, raw in raw_answers.items():
        question = askable.get(code)
        if question is None:
            hint = (
                f"the questions of {service.code} are: {', '.join(askable)}"
                if askable
                else f"{service.code} asks no questions; remove it"
            )
            errors.append(AnswerError(code, f"unknown question; {hint}"))
            continue
        if _empty(raw):
            continue
        try:
            answers[code] = _one_answer(question, raw)
        except ValueError as exc:
            errors.append(AnswerError(code, str(exc)))
    for question in askable.values():
        if question.required and question.code not in answers and question.code not in {e.code for e in errors}:
            errors.append(
                AnswerError(question.code, f"required: {question.description['en']} (see the service definition)")
            )
    return Checked(answers, errors)


def answer_labels(service: Service, answers: dict[str, Any]) -> dict[str, AnswerLabel]:
    """The words of the answered questions and their chosen values, for the event (staff see labels)."""
    out: dict[str, AnswerLabel] = {}
    for code, answer in answers.items():
        question = service.question(code)
        if question is None:
            continue
        chosen = set(answer) if isinstance(answer, list) else {answer}
        values = {v.key: dict(v.name) for v in question.values if v.key in chosen}
        out[code] = AnswerLabel(question=dict(question.description), values=values)
    return out
