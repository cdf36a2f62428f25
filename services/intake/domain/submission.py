"""One submission path: what every front door (the native API, Open311, the portal) hands in, and the rules
that turn it into a `SubmitRequest` or refuse it naming the field. No I/O.

A front door parses its own format (JSON, a form) into a `Draft`; `take` then decides, in one place, what
depends on the kind of request and on the channel: the answers to the kind's questions, filing on a
resident's behalf, the webhook preference, whether a name is needed (the kind decides, not the door) and
what an anonymous request carries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from services.intake.domain.attributes import answer_labels, check_answers
from services.intake.domain.catalogue import Catalogue
from services.intake.domain.channels import Channel
from services.intake.domain.request import SubmitRequest
from services.intake.domain.triage import Triage
from shared.events import Location, Resident

FrontDoor = Literal["v1", "open311", "portal"]

# Names and anonymity, one rule on every front door (native API, Open311, portal):
# - to the public a resident is always anonymous: no public view (Open311, tracking) shows a name or contact;
# - to staff, a resident may leave the name out only where the kind allows it (`anonymous: true` in the
#   catalogue); elsewhere the name is required, because staff must know whom they help.
# An anonymous request without a phone or an e-mail cannot be called back: the resident follows it with
# the tracking code (inbox, tracking page). That is stated on the portal and in the API docs, not refused.
ANONYMOUS = ""  # the name an anonymous request carries


@dataclass(frozen=True)
class Draft:
    """A request as a front door read it: well-formed fields, not yet checked against the catalogue or
    the channel."""

    door: FrontDoor
    channel: Channel
    service_code: str
    description: str
    location: Location
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    language: str = "zh-CN"
    # None: the channel's default (its webhook if it has one, then SMS, e-mail, the inbox).
    preferred_channel: str | None = None
    vulnerability: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)  # answers by question code, as sent
    media_urls: tuple[str, ...] = ()
    filed_by: str | None = None
    extra: Mapping[str, str | None] = field(default_factory=dict)  # Open311 account_id, device_id, jurisdiction_id
    idempotency_key: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class Problem:
    """One field to fix, named as the native API names it (`attributes.<code>`, `resident.name`...)."""

    field: str
    message: str
    attribute: str | None = None  # the question's code, for an answer


class UnknownService(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class DraftRefused(Exception):
    """Every problem of the draft at once."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def fingerprint(door: str, body: Any) -> str:
    """A stable hash of a normalized body: the same request sent twice hashes the same."""
    canonical = json.dumps([door, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8", "replace")).hexdigest()


def default_preference(draft: Draft) -> str:
    if draft.channel.webhook_url:
        return "webhook"
    return "sms" if draft.phone else "email" if draft.email else "inbox"


def refers_elsewhere(draft: Draft, catalogue: Catalogue, answers: Mapping[str, str | list[str]]) -> bool:
    return Triage(catalogue).check(draft.service_code, draft.description, answers) is not None


def take(draft: Draft, catalogue: Catalogue) -> SubmitRequest:
    """The checked command, or UnknownService / DraftRefused naming every field to fix."""
    service = catalogue.get(draft.service_code)
    if service is None:
        raise UnknownService(draft.service_code)
    checked = check_answers(service, dict(draft.attributes))
    problems = [Problem(f"attributes.{e.code}", e.message, e.code) for e in checked.errors]
    # A name is never a reason to hold up a request the desk refers elsewhere at once (an emergency).
    if not draft.name and not service.anonymous and not refers_elsewhere(draft, catalogue, checked.answers):
        problems.append(
            Problem(
                "resident.name",
                f"required for {service.code}: staff need to know whom they help; requests that may stay "
                f"anonymous: {', '.join(s.code for s in catalogue.services if s.anonymous) or 'none'}",
            )
        )
    channel = draft.channel
    if draft.filed_by is not None and not channel.on_behalf:
        problems.append(
            Problem(
                "filed_by",
                f"only window, hotline and grid-worker channels file on a resident's behalf; this is {channel.kind}",
            )
        )
    preferred = draft.preferred_channel or default_preference(draft)
    if preferred == "webhook" and not channel.webhook_url:
        problems.append(
            Problem("resident.preferred_channel", "this channel has no webhook_url; choose inbox, sms or email")
        )
    if problems:
        raise DraftRefused(problems)
    # Open311 has no `filed_by`: on a staffed channel, its account_id names the operator who filed.
    filed_by = draft.filed_by or (draft.extra.get("account_id") if channel.on_behalf else None)
    return SubmitRequest(
        service_code=service.code,
        service_name=service.name,
        description=draft.description,
        location=draft.location,
        resident=Resident(
            name=draft.name or ANONYMOUS,  # only where the kind allows it (above)
            phone=draft.phone,
            email=draft.email,
            language=draft.language,  # type: ignore[arg-type]
            preferred_channel=preferred,  # type: ignore[arg-type]
            vulnerability=list(draft.vulnerability),
        ),
        channel=channel.id,
        channel_kind=channel.kind,
        channel_webhook_url=channel.webhook_url,
        on_behalf=channel.on_behalf,
        filed_by=filed_by,
        attributes=checked.answers,
        answer_labels=answer_labels(service, checked.answers),
        media_urls=list(draft.media_urls),
        public_details=service.public_details,
        api=draft.door,
        extra=dict(draft.extra),
        idempotency_key=draft.idempotency_key,
        fingerprint=draft.fingerprint,
    )
