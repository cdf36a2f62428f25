"""Staff search: the words stored on a task when it is dispatched, and a search's query parameters read
into one typed `SearchQuery`. Pure: the segmenter (jieba, shared/segment.py) is passed in.

A task stores `terms`, the words of its description, address and unit (Chinese segmented, English
lower-cased; address words a second time as `a:<word>`, so `address=` looks in the address only), and
`phone_last4`, the last four digits of the resident's phone. A search cuts its text with the same
dictionary and asks for tasks holding every word: an index look-up (`terms` is a multikey index), never a
regular expression over every description. The phone itself is matched only together with its last four
digits, and never logged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from services.routing.domain.errors import Invalid
from services.routing.domain.ledger import bound
from services.routing.domain.model import OPEN_STATUSES, STATUSES, Actor, Task
from services.routing.domain.teams import Directory, normalize_building

Segmenter = Callable[[str], list[str]]

ADDRESS = "a:"  # the prefix of an address word in `terms`
MAX_TERMS = 400  # words stored per task (a description is at most a few hundred characters)
MAX_QUERY_WORDS = 12
MAX_LIMIT = 100
# Words too common to narrow anything; dropped from what is stored and from what is asked.
STOPWORDS = frozenset(
    "的 了 和 与 及 是 在 有 也 就 都 很 还 又 吗 呢 吧 啊 呀 我 你 他 她 它 们 这 那 请 "
    "a an and are at be by for from in is it of on or the to was with".split()
)
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)

# Every query parameter a search accepts (the API, the console's search form and saved views alike).
PARAMETERS: dict[str, str] = {
    "q": "words from the description or address, Chinese or English (every word must appear)",
    "phone": "the resident's whole phone number, or its last four digits",
    "address": "words of the address (every word must appear)",
    "building": "a building: 3, 3号楼, Building 3",
    "from": "submitted on or after this day (2026-11-01) or time (with its zone)",
    "to": "submitted on or before this day, or before this time",
    "status": "open, all (the default), or a comma-separated list of statuses",
    "kind": "the request's kind (service code), e.g. property_repair",
    "assignee": "me, none, or a username",
    "team": "supervisors and admins: one team (default: every team)",
    "limit": f"at most this many results (1-{MAX_LIMIT}, default 50)",
    "offset": "skip this many results (paging)",
}
# What a saved view keeps: the criteria, not the paging, and never a phone number (personal data).
VIEW_PARAMETERS = tuple(p for p in PARAMETERS if p not in ("limit", "offset", "phone"))


class UnknownParameters(Invalid):
    """Query parameters a search does not know (422 naming each): a typo must not widen the search."""

    def __init__(self, names: list[str], accepted: Iterable[str], prefix: str = "") -> None:
        self.names = [f"{prefix}{n}" for n in names]
        super().__init__(self.names[0], f"unknown search parameter; use {', '.join(accepted)}")


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def words(text: str, segment: Segmenter) -> list[str]:
    """The words of a text worth matching, in order, each once: no spaces, punctuation or stopwords."""
    seen: dict[str, None] = {}
    for token in segment(_normal(text)):
        token = token.strip()
        if token and _WORD.search(token) and token not in STOPWORDS:
            seen.setdefault(token, None)
    return list(seen)


def index_terms(description: str, address: str | None, unit: str | None, segment: Segmenter) -> list[str]:
    """What a task stores in `terms` (multikey index): the words of all three, and the address's as `a:<word>`."""
    place = " ".join(p for p in (address, unit) if p)
    text = words(f"{description} {place}", segment)
    where = [ADDRESS + w for w in words(place, segment)]
    return (text + where)[:MAX_TERMS]


def phone_digits(phone: str | None) -> str:
    """The digits of a mainland number without its country code (+86 138 0013 8000 -> 13800138000)."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def phone_last4(phone: str | None) -> str | None:
    digits = phone_digits(phone)
    return digits[-4:] if len(digits) >= 4 else None


@dataclass(frozen=True)
class SearchQuery:
    """What a search asks for. `terms`: every one must be in the task's `terms`; `phone`: the whole number
    in the forms intake stores (E.164), matched together with `phone_last4`."""

    team: str | None = None  # None: every team (supervisors and admins only)
    statuses: tuple[str, ...] = ()  # () : any status
    terms: tuple[str, ...] = ()
    phone_last4: str | None = None
    phone: tuple[str, ...] = ()
    building: str | None = None
    kind: str | None = None
    assignee: str | None = None
    assignee_unset: bool = False
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    limit: int = 50
    offset: int = 0
    given: dict[str, str] = field(default_factory=dict)  # the parameters as given (a saved view keeps these)


def _statuses(value: str) -> tuple[str, ...]:
    if value in ("", "all"):
        return ()
    if value == "open":
        return OPEN_STATUSES
    wanted = tuple(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise Invalid("status", f"unknown {', '.join(unknown)}; use open, all, or some of {', '.join(STATUSES)}")
    return wanted


def _phone(value: str) -> tuple[str, tuple[str, ...]]:
    digits = phone_digits(value)
    if re.search(r"[^\d\s+\-()]", value) or not (len(digits) == 4 or 7 <= len(digits) <= 15):
        raise Invalid("phone", "give the whole phone number (13800138000) or its last four digits (8000)")
    if len(digits) == 4:
        return digits, ()
    # As intake stores it (E.164: +8613800138000), and as typed (an older or hand-made record).
    return digits[-4:], tuple(dict.fromkeys((f"+86{digits}", f"+{digits}", digits)))


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Invalid(name, f"give a whole number from {low} to {high}")
    return int(raw)


def _text(params: Mapping[str, str], name: str, limit: int = 100) -> str:
    value = params.get(name, "").strip()
    if len(value) > limit:
        raise Invalid(name, f"at most {limit} characters")
    return value


def _day(params: Mapping[str, str], name: str, zone: ZoneInfo, *, end: bool) -> datetime | None:
    try:
        return bound(params.get(name) or None, zone, name, end=end)
    except OverflowError as exc:
        raise Invalid(name, "the date is out of range") from exc


def _query_words(value: str, segment: Segmenter, name: str) -> list[str]:
    found = words(value, segment)
    if value and not found:
        raise Invalid(name, "give at least one word (not only punctuation or words like 的, the)")
    if len(found) > MAX_QUERY_WORDS:
        raise Invalid(name, f"at most {MAX_QUERY_WORDS} words; shorten it")
    return found


def parse_search(
    params: Mapping[str, str],
    actor: Actor,
    directory: Directory,
    zone: ZoneInfo,
    segment: Segmenter,
    *,
    accepted: Iterable[str] = PARAMETERS,
    prefix: str = "",
) -> SearchQuery:
    """Read a search's parameters (each given once); Invalid names the parameter and the fix. Members and
    leads search their own team only; `team` is for supervisors and admins."""
    accepted = tuple(accepted)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise UnknownParameters(unknown, accepted, prefix)
    team: str | None
    wanted_team = _text(params, "team", 60) or None
    if actor.sees_everything:
        if wanted_team is not None and not directory.has(wanted_team):
            raise Invalid("team", f"unknown team {wanted_team!r}")
        team = wanted_team
    else:
        if wanted_team is not None and wanted_team != actor.team:
            raise Invalid("team", "you search your own team's tasks only; leave `team` out")
        team = actor.team or "-"  # an account without a team sees nothing
    q, address = _text(params, "q"), _text(params, "address")
    terms = _query_words(q, segment, "q") + [ADDRESS + w for w in _query_words(address, segment, "address")]
    last4, phone = _phone(params["phone"]) if params.get("phone", "").strip() else (None, ())
    building_text = _text(params, "building", 40)
    building = normalize_building(building_text, None) if building_text else None
    assignee = _text(params, "assignee", 100)
    start, end = _day(params, "from", zone, end=False), _day(params, "to", zone, end=True)
    if start and end and start >= end:
        raise Invalid("from", "must be before `to`")
    return SearchQuery(
        team=team,
        statuses=_statuses(_text(params, "status", 200)),
        terms=tuple(dict.fromkeys(terms)),
        phone_last4=last4,
        phone=phone,
        building=building,
        kind=_text(params, "kind", 60) or None,
        assignee=actor.username if assignee == "me" else None if assignee in ("", "none") else assignee,
        assignee_unset=assignee == "none",
        submitted_from=start,
        submitted_to=end,
        limit=_int(params, "limit", 50, 1, MAX_LIMIT),
        offset=_int(params, "offset", 0, 0, 100_000),
        given={k: v for k, v in params.items() if v != ""},
    )


def view_query(
    query: Mapping[str, str], actor: Actor, directory: Directory, zone: ZoneInfo, segment: Segmenter
) -> dict[str, str]:
    """A saved view's query, checked like a search (`query.<name>` names a wrong one); no paging, no phone."""
    if "phone" in query:
        raise Invalid(
            "query.phone", "a saved view does not keep a phone number (personal data); search by it each time"
        )
    try:
        parse_search(query, actor, directory, zone, segment, accepted=VIEW_PARAMETERS, prefix="query.")
    except UnknownParameters:
        raise
    except Invalid as exc:
        raise Invalid(f"query.{exc.field}", exc.message) from exc
    return {k: v.strip() for k, v in query.items() if v.strip()}


def index(task: Task, words_for_search: Segmenter) -> Task:
    """Give a new task its search fields (at dispatch, in the same insert as the task)."""
    task.terms = index_terms(task.description, task.address, task.unit, words_for_search)
    task.phone_last4 = phone_last4((task.resident or {}).get("phone"))
    return task
