"""The task (work order): its document model, the actor, and the context the rules need. No I/O.

A task is addressed by its request id (`_id`). `seq` counts the events routing published about it
(strictly increasing, `$inc`-ed in the write that adds them); `rev` counts every write and is the
optimistic lock: a write only succeeds if the task is still the version the decision was made on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.routing.domain.calendar import WorkingCalendar
from services.routing.domain.followup import FollowUpPolicy
from services.routing.domain.sla import SlaPolicy
from services.routing.domain.teams import Directory
from shared.events import TeamRef
from shared.events.tasks import StaffRecipient

PRODUCER = "routing"

Status = Literal[
    "dispatched",
    "claimed",
    "in_progress",
    "on_hold",
    "returned",
    "reopened",
    "awaiting_review",  # 审核: a member's reply waits for the team lead (domain/lifecycle/review.py)
    "resolved",
    "closed",
    "not_accepted",
    "duplicate",
    "cancelled",
]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
# Work still to do somewhere (a team's or the supervisors' queue).
OPEN_STATUSES = ("dispatched", "claimed", "in_progress", "on_hold", "returned", "reopened", "awaiting_review")
# A team's queue: what a team has to act on (returned work waits for the supervisors).
TEAM_OPEN_STATUSES = ("dispatched", "claimed", "in_progress", "on_hold", "reopened", "awaiting_review")
TERMINAL_STATUSES = ("closed", "not_accepted", "duplicate", "cancelled")
# Counted towards a member's load when choosing an assignee.
LOAD_STATUSES = ("dispatched", "claimed", "in_progress", "on_hold", "reopened", "awaiting_review")

Role = Literal["member", "lead", "supervisor", "admin"]


@dataclass(frozen=True)
class Actor:
    username: str
    role: Role | Literal["system"]
    team: str | None = None

    @property
    def sees_everything(self) -> bool:
        return self.role in ("supervisor", "admin", "system")


SYSTEM = Actor("system", "system")


class Marks(BaseModel):
    model_config = ConfigDict(extra="ignore")
    reminded_at: datetime | None = None
    lead_at: datetime | None = None
    supervisor_at: datetime | None = None


class SlaMarks(BaseModel):
    model_config = ConfigDict(extra="ignore")
    claim: Marks = Field(default_factory=Marks)
    handle: Marks = Field(default_factory=Marks)
    limits_rule: str | None = None


class Hold(BaseModel):
    model_config = ConfigDict(extra="ignore")
    since: datetime
    reason: str
    by: str


class Extension(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Literal["requested", "approved", "denied"]
    requested_due_at: datetime
    reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


class Review(BaseModel):
    """Reply review (审核): the reply a member proposed, and the lead's decision on it."""

    model_config = ConfigDict(extra="ignore")
    status: Literal["pending", "sent_back", "approved"]
    reply: str  # the member's proposed reply (the resident hears nothing until a lead approves)
    note: str | None = None  # the member's internal note with it
    submitted_by: str
    submitted_at: datetime
    rounds: int = 1  # how many times a reply was submitted for this task
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None  # the lead's note (why it was sent back)


class Feedback(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_id: str
    rating: Literal["satisfied", "fairly_satisfied", "dissatisfied"]
    comment: str | None = None
    at: datetime
    applied: bool = True  # False when it came after the task had left `resolved`
    # Who gave it: the resident online, or the resident on the phone to the desk (回访; `by` called).
    via: Literal["resident", "callback"] = "resident"
    by: str | None = None


class Decision(BaseModel):
    """Which rules made the routing decision (`<rule id>@<rule-set version>`)."""

    model_config = ConfigDict(extra="ignore")
    team_rule: str
    priority_rules: list[str] = []
    assignee_rule: str | None = None
    version: int | None = None
    by: str = "system"


class Counts(BaseModel):
    model_config = ConfigDict(extra="ignore")
    transfers: int = 0
    returns: int = 0
    reopens: int = 0
    extensions: int = 0
    reminders: int = 0
    escalations: int = 0
    followups: int = 0  # call-backs (回访) the desk was asked for
    callbacks: int = 0  # calls the desk recorded


class HistoryEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    at: datetime
    action: str
    actor: str
    status: str  # after the action
    from_status: str | None = None
    team_id: str | None = None
    assignee: str | None = None
    note: str | None = None
    visibility: Literal["internal", "public"] | None = None
    reason_code: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    details: dict[str, Any] = {}


# -- call-backs (回访) and duplicates (并单): domain/followup.py and domain/duplicates.py decide these --------


class CallRecord(BaseModel):
    """One call the desk made to the resident about a resolution."""

    model_config = ConfigDict(extra="ignore")
    called_at: datetime
    caller: str  # the staff member who called
    outcome: Literal["reached", "no_answer", "declined", "wrong_number"]
    rating: Literal["satisfied", "fairly_satisfied", "dissatisfied"] | None = None
    comment: str | None = None  # what the resident said (internal)
    recorded_by: str
    recorded_at: datetime


class FollowUp(BaseModel):
    """A call-back the desk owes the resident: no rating in N days, or a dissatisfied rating."""

    model_config = ConfigDict(extra="ignore")
    status: Literal["open", "done"] = "open"
    reason: Literal["no_rating", "dissatisfied"]
    team_id: str  # the desk's team
    opened_at: datetime
    closed_at: datetime | None = None
    closed_reason: Literal["called", "rated_online", "unreachable", "declined", "wrong_number"] | None = None
    calls: list[CallRecord] = []


class DuplicateCandidate(BaseModel):
    """Another request that may be the same matter (same kind, same place, similar words, close in time)."""

    model_config = ConfigDict(extra="ignore")
    id: str
    place: Literal["unit", "building", "distance"]
    similarity: float
    submitted_at: datetime
    found_at: datetime


class Task(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    tracking_code: str
    service_code: str
    service_name: dict[str, str] = {}
    description: str = ""
    address: str | None = None
    building: str | None = None
    unit: str | None = None
    grid: str | None = None
    channel: str = "unknown"
    channel_kind: str = "web"
    on_behalf: bool = False
    filed_by: str | None = None  # the grid worker, hotline operator or window clerk who filed for the resident
    vulnerability: list[str] = []
    attributes: dict[str, Any] = {}
    answer_labels: dict[str, Any] = {}  # question code -> {question, values}: what staff read for the answers
    language: str = "zh-CN"
    # The resident's name and contact, for the team that handles the task (never published, never logged).
    resident: dict[str, Any] | None = None

    status: Status
    team_id: str | None = None
    assignee: str | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    priority_rank: int = 2
    decision: Decision | None = None

    submitted_at: datetime
    dispatched_at: datetime | None = None
    first_dispatched_at: datetime | None = None
    claimed_at: datetime | None = None
    first_claimed_at: datetime | None = None
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    first_resolved_at: datetime | None = None
    closed_at: datetime | None = None

    claim_due_at: datetime | None = None
    handle_due_at: datetime | None = None
    due_at: datetime | None = None  # the time the resident is told: see domain/lifecycle/clocks.py
    sla: SlaMarks = Field(default_factory=SlaMarks)
    next_check_at: datetime | None = None

    hold: Hold | None = None
    extension: Extension | None = None
    review: Review | None = None  # 审核 (domain/lifecycle/review.py)
    public_note: str | None = None
    reply: str | None = None
    feedback: list[Feedback] = []
    rating: str | None = None
    duplicate_of: str | None = None
    reason_code: str | None = None
    closed_reason: str | None = None
    resolved_on_time: bool | None = None
    counts: Counts = Field(default_factory=Counts)
    # Call-backs (回访): the follow-up, the desk's team while it is open (its queue), how the rating was given.
    followup: FollowUp | None = None
    followup_team: str | None = None
    rating_source: Literal["resident", "callback"] | None = None
    # Duplicates and repeats (并单): where a request is looked up (kind x place), what it may duplicate, and the
    # closed request of the same resident and matter it repeats.
    lat: float | None = None
    long: float | None = None
    match_keys: list[str] = []
    duplicate_candidates: list[DuplicateCandidate] = []
    repeat_of: str | None = None

    # The resident's photos (references; intake serves the bytes) and when they last added to the request
    # (domain/additions.py).
    photos: list[dict[str, Any]] = []
    resident_added_at: datetime | None = None
    # Staff search (domain/search.py): the words of the description and address, the phone's last four digits.
    terms: list[str] = []
    phone_last4: str | None = None

    seq: int = 0
    rev: int = 0
    history: list[HistoryEntry] = []

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)

    def fields(self) -> dict[str, Any]:
        """What a transition `$set`s: everything but the id, the counters and the history."""
        return self.model_dump(by_alias=True, exclude={"id", "seq", "rev", "history"})


@dataclass(frozen=True)
class StaffInfo:
    """What the domain knows of a staff account (no password hash)."""

    username: str
    role: Role
    team: str | None
    display_name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str = "zh-CN"
    on_duty: bool = True
    active: bool = True

    def recipient(self) -> StaffRecipient:
        return StaffRecipient(
            username=self.username,
            role=self.role,
            team_id=self.team,
            display_name=self.display_name,
            email=self.email,
            phone=self.phone,
            language=self.language,
        )


@dataclass(frozen=True)
class Context:
    """Everything a transition needs besides the task: config, and what the service looked up for it."""

    directory: Directory
    calendar: WorkingCalendar  # the community's; teams' calendars derive from it
    policy: SlaPolicy
    # The active staff, for choosing assignees by load and addressing reminders and escalations.
    staff: tuple[StaffInfo, ...] = ()
    # Open tasks per username, for the teams involved (load-based assignment).
    loads: dict[str, int] = field(default_factory=dict)
    # The task a `duplicate` action points at.
    original: Task | None = None
    # Call-backs (回访): deploy/routing/followup.yaml.
    followup: FollowUpPolicy = field(default_factory=FollowUpPolicy)

    def calendar_for(self, team_id: str | None) -> WorkingCalendar:
        return self.directory.calendar(team_id, self.calendar)

    def team_ref(self, team_id: str | None) -> TeamRef | None:
        return self.directory.ref(team_id)

    def members(self, team_id: str | None, roles: tuple[str, ...] = ("member", "lead")) -> list[StaffInfo]:
        return [s for s in self.staff if s.team == team_id and s.role in roles and s.active]

    def by_role(self, *roles: str) -> list[StaffInfo]:
        return [s for s in self.staff if s.role in roles and s.active]

    def person(self, username: str | None) -> StaffInfo | None:
        return next((s for s in self.staff if s.username == username), None)
