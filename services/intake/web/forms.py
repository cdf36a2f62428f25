"""The portal's request form: from posted fields to the same checked request the native API files, with
every problem named at its field. No I/O.

The form uses the native API's field names (`description`, `location.address`, `resident.phone`,
`attributes.<code>`...), so a problem the API would name lands next to the field it is about. The checks
are the API's own models (`RequestIn`, `LocationIn`, `ResidentIn`) and `attributes.check_answers`; the
portal only validates the parts separately first, so a resident sees every problem at once rather than
one per try. The checked body then goes through the one submission path (domain/submission.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.datastructures import FormData

from services.intake.api.models import LocationIn, RequestIn, ResidentIn
from services.intake.domain import attributes
from services.intake.domain.catalogue import Question, Service
from services.intake.domain.fields import is_mobile
from shared.events import DEFAULT_LANGUAGE, LANGUAGES
from shared.http import FieldError, field_name
from shared.i18n import pick

# The portal channel has no webhook: a resident is told in the inbox, by SMS or by e-mail.
NOTIFY_CHOICES = ("inbox", "sms", "email")
VULNERABILITIES = ("elderly_alone", "disabled", "widowed", "hardship")
LOCATION_FIELDS = ("address", "building", "unit")
SUBMISSION_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

_description = RequestIn.model_fields["description"]
# The API's own rule for the description (length, control characters), checked on its own.
DESCRIPTION: TypeAdapter[str] = TypeAdapter(Annotated[_description.annotation, *_description.metadata])  # type: ignore[arg-type]


class Values:
    """What the resident typed, to fill the form again: `one(name)` and `many(name)`."""

    def __init__(self, data: dict[str, list[str]] | None = None) -> None:
        self.data = data or {}

    @classmethod
    def of(cls, form: FormData) -> Values:
        data: dict[str, list[str]] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):  # an uploaded file is never part of this form
                data.setdefault(key, []).append(value)
        return cls(data)

    def one(self, name: str, default: str = "") -> str:
        values = self.data.get(name)
        return values[0].strip() if values else default

    def many(self, name: str) -> list[str]:
        return [v.strip() for v in self.data.get(name, []) if v.strip()]

    def optional(self, name: str) -> str | None:
        return self.one(name) or None

    def set_default(self, name: str, value: str) -> None:
        self.data.setdefault(name, [value])


@dataclass(frozen=True)
class Problem:
    """One field to fix. `kind`: required, too_long, line, choice, mobile or invalid."""

    field: str
    kind: str
    max: int | None = None


@dataclass
class Checked:
    request: RequestIn | None
    problems: list[Problem] = field(default_factory=list)


# A date and time is asked with selects (year, month, day, time), which read the same in every browser
# language: a `datetime-local` picker follows the browser's locale, not the page's (mm/dd/yyyy on a
# Chinese page in an English browser). The parts are posted as `<name>.year` ... `<name>.time`.
DATETIME_PARTS = ("year", "month", "day", "time")
TIMES = tuple(f"{h:02d}:{m:02d}" for h in range(6, 23) for m in (0, 30))


def datetime_answer(values: Values, name: str) -> str:
    """A date and time question's answer: one `2025-05-01T09:30` value (plain form posts, the API's form) or
    the four selects put together; a half-filled set is passed on as it is, for the check to name."""
    if whole := values.one(name):
        return whole
    year, month, day, at = (values.one(f"{name}.{part}") for part in DATETIME_PARTS)
    if not (year or month or day or at):
        return ""
    if year.isdigit() and month.isdigit() and day.isdigit() and at:
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}T{at}"
    return f"{year}-{month}-{day}T{at}"  # incomplete: not a datetime, so the check names the question


def datetime_choices(lang: str, year: int) -> dict[str, list[tuple[str, str]]]:
    """The options of the four selects, in the page's language."""
    zh = lang != "en"
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return {
        "year": [(str(y), f"{y}年" if zh else str(y)) for y in (year - 1, year, year + 1)],
        "month": [(str(m), f"{m}月" if zh else months[m - 1]) for m in range(1, 13)],
        "day": [(str(d), f"{d}日" if zh else str(d)) for d in range(1, 32)],
        "time": [(t, t) for t in TIMES],
    }


def local_datetime(value: str, tz: str) -> str:
    """A `datetime-local` input (`2025-05-01T09:00`, no zone) read in the community's time zone; anything
    else is passed on unchanged for the answer check to name."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment.isoformat()


def askable(service: Service) -> list[Question]:
    return [q for q in service.questions if q.variable]


def question_view(question: Question, lang: str, year: int = 2026) -> dict[str, Any]:
    """A question as the form shows it, in the page's language."""
    return {
        "parts": datetime_choices(lang, year) if question.datatype == "datetime" else None,
        "name": f"attributes.{question.code}",
        "code": question.code,
        "datatype": question.datatype,
        "required": question.required,
        "label": pick(question.description, lang),
        "hint": pick(question.datatype_description, lang) if question.datatype_description else "",
        "options": [(v.key, pick(v.name, lang)) for v in question.values],
    }


def care_question(service: Service) -> Question | None:
    """A question of the kind that asks the household's situation with the care form's own choices (the
    care-visit form): the form then does not ask the care question a second time, and its answers stand
    for it."""
    for q in askable(service):
        keys = {v.key for v in q.values}
        if q.datatype == "multivaluelist" and keys and keys <= set(VULNERABILITIES):
            return q
    return None


def default_channel(phone: str | None, email: str | None, sms_available: bool) -> str:
    """How a resident who chose nothing hears back: by SMS when they gave a mobile and SMS is set up, else
    by e-mail when they gave an address, else on the tracking page."""
    if sms_available and phone and is_mobile(phone):
        return "sms"
    return "email" if email else "inbox"


def request_body(values: Values, service: Service, tz: str, *, sms_available: bool = False) -> dict[str, Any]:
    """The body the native API would receive for this form."""
    answers: dict[str, Any] = {}
    for q in askable(service):
        name = f"attributes.{q.code}"
        if q.datatype == "multivaluelist":
            if chosen := values.many(name):
                answers[q.code] = chosen
        elif q.datatype == "datetime":
            if answer := datetime_answer(values, name):
                answers[q.code] = local_datetime(answer, tz)
        elif answer := values.one(name):
            answers[q.code] = answer
    phone, email = values.optional("resident.phone"), values.optional("resident.email")
    care = care_question(service)
    vulnerability = values.many("resident.vulnerability") or (answers.get(care.code, []) if care else [])
    resident: dict[str, Any] = {
        # Left empty: anonymous where the kind allows it, else "required" (domain/submission.py has the rule).
        "name": values.optional("resident.name") if service.anonymous else values.one("resident.name"),
        "phone": phone,
        "email": email,
        "language": values.one("resident.language", DEFAULT_LANGUAGE),
        "preferred_channel": values.one("resident.preferred_channel") or default_channel(phone, email, sms_available),
        "vulnerability": vulnerability,
    }
    location = {k: v for k in LOCATION_FIELDS if (v := values.optional(f"location.{k}")) is not None}
    return {
        "service_code": service.code,
        "description": values.one("description"),
        "location": location,
        "resident": resident,
        "attributes": answers,
    }


def _form_field(name: str) -> str:
    # `resident.vulnerability.0` is about the checkbox group `resident.vulnerability`.
    return re.sub(r"(\.\d+)+$", "", name)


def _problem(name: str, error: dict[str, Any]) -> Problem:
    kind = error.get("type", "")
    if kind in ("missing", "string_too_short"):
        return Problem(name, "required")
    if kind in ("string_too_long", "too_long"):
        return Problem(name, "too_long", int((error.get("ctx") or {}).get("max_length") or 0) or None)
    if kind in ("literal_error", "enum"):
        return Problem(name, "choice")
    if kind == "value_error" and "single line" in str(error.get("msg", "")):
        return Problem(name, "line")
    return Problem(name, "invalid")


def _from_validation(exc: ValidationError, prefix: str) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = error.get("loc", ())
        name = prefix + field_name(loc) if loc else prefix.rstrip(".")
        problems.append(_problem(_form_field(name), dict(error)))
    return problems


def _from_field_error(exc: FieldError) -> Problem:
    required = exc.message.startswith(("required", "say where"))
    return Problem(_form_field(exc.field), "required" if required else "invalid")


def validate(model: type[BaseModel], data: Any, prefix: str = "") -> tuple[Any, list[Problem]]:
    """An API model's own checks on the form's values: the model, or the problems by field."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _from_validation(exc, prefix)
    except FieldError as exc:  # raised by the API models' cross-field rules
        return None, [_from_field_error(exc)]


def check(body: dict[str, Any], service: Service) -> Checked:
    """Every problem of the form at once, or the checked request."""
    problems: list[Problem] = []
    try:
        DESCRIPTION.validate_python(body["description"])
    except ValidationError as exc:
        problems += _from_validation(exc, "description")
    _, location_problems = validate(LocationIn, body["location"], "location.")
    resident, resident_problems = validate(ResidentIn, body["resident"], "resident.")
    problems += location_problems + resident_problems
    if resident is not None and resident.preferred_channel not in NOTIFY_CHOICES:
        problems.append(Problem("resident.preferred_channel", "choice"))
    texted = resident is not None and resident.preferred_channel == "sms" and resident.phone
    if texted and not is_mobile(str(resident.phone)):  # type: ignore[union-attr]
        problems.append(Problem("resident.phone", "mobile"))  # a landline cannot receive a text message
    answers = attributes.check_answers(service, body["attributes"])
    for error in answers.errors:
        kind = "required" if error.message.startswith("required") else "invalid"
        problems.append(Problem(f"attributes.{error.code}", kind))
    if problems:
        return Checked(None, problems=_first_per_field(problems))
    # The whole body once more, exactly as the API checks it (nothing slips between the parts).
    request, whole = validate(RequestIn, body, "")
    return Checked(request, _first_per_field(whole))


def _first_per_field(problems: list[Problem]) -> list[Problem]:
    seen: dict[str, Problem] = {}
    for p in problems:
        seen.setdefault(p.field, p)
    return list(seen.values())


# -- the resident's language --------------------------------------------------------------------------

_DATATYPE_KEYS = {
    "number": "number",
    "datetime": "datetime",
    "singlevaluelist": "choice",
    "multivaluelist": "choice",
}


def message_keys(problem: Problem, service: Service) -> list[str]:
    """Catalogue keys for a problem, most specific first."""
    if problem.kind == "required":
        return [f"error.required.{problem.field}", "error.required"]
    if problem.kind == "line":
        return ["error.line"]
    if problem.kind == "mobile":
        return [f"error.mobile.{problem.field}", "error.invalid"]
    keys = [f"error.invalid.{problem.field}"]
    if problem.field.startswith("attributes."):
        question = service.question(problem.field.removeprefix("attributes."))
        if question is not None and question.datatype in _DATATYPE_KEYS:
            keys.append(f"error.invalid.{_DATATYPE_KEYS[question.datatype]}")
    if problem.kind == "choice":
        keys.append("error.invalid.choice")
    return [*keys, "error.invalid"]


def localized(
    problems: list[Problem], service: Service, known: Callable[[str], bool], t: Callable[..., str]
) -> dict[str, str]:
    """Field name -> the message to show next to it, in the page's language."""
    out: dict[str, str] = {}
    for p in problems:
        if p.kind == "too_long" and p.max:
            out[p.field] = t("error.too_long", max=p.max)
            continue
        key = next((k for k in message_keys(p, service) if known(k)), "error.invalid")
        out[p.field] = t(key)
    return out


def language_or_default(value: str) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE
