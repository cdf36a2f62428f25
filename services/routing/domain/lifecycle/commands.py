"""The staff actions as typed commands: one model per action, carrying its parameters (the HTTP body of
POST /v1/tasks/{id}/{action}) and saying what it needs from the world besides the task.

`needs()` is how an action asks for more than the task: a team whose members' loads choose an assignee,
or the original a duplicate points at. The service looks those up for any command alike, so it has no
per-action cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.routing.domain.labels import NOT_ACCEPT_REASONS, RETURN_REASONS


@dataclass(frozen=True)
class Needs:
    """What an action needs looked up before it can be decided."""

    # Teams whose open tasks per member the action may choose an assignee by.
    teams: tuple[str, ...] = ()
    # The task the action points at, by request id or tracking code (given to it as `Context.original`).
    original: str | None = None


class StaffCommand(BaseModel):
    """A staff action on one task. Subclasses name their `action` (the last part of the URL)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    action: ClassVar[str]

    def needs(self) -> Needs:
        return Needs()


Text = Field(min_length=1, max_length=2000)
OptionalText = Field(None, min_length=1, max_length=2000)


class _WithNote(StaffCommand):
    note: str | None = Field(None, min_length=1, max_length=2000, description="an internal note for the history")


class Claim(_WithNote):
    action = "claim"


class Start(_WithNote):
    action = "start"
    public_note: str | None = OptionalText


class Hold(_WithNote):
    action = "hold"
    reason: str = Field(min_length=1, max_length=500, description="why the work waits (internal)")
    public_note: str | None = OptionalText


class Resume(_WithNote):
    action = "resume"
    public_note: str | None = OptionalText


class Note(StaffCommand):
    action = "note"
    text: str = Text
    visibility: Literal["internal", "public"] = "internal"


class Resolve(_WithNote):
    action = "resolve"
    reply: str = Field(min_length=1, max_length=2000, description="the public reply the resident receives (办结)")


class Return(_WithNote):
    action = "return"
    reason_code: str = Field(description=f"one of {', '.join(RETURN_REASONS)}")
    public_note: str | None = OptionalText

    @model_validator(mode="after")
    def _known_reason(self) -> Return:
        if self.reason_code not in RETURN_REASONS:
            raise ValueError(f"reason_code must be one of {', '.join(RETURN_REASONS)}")
        if self.reason_code == "other" and not self.note:
            raise ValueError("reason_code `other` needs a `note` saying why")
        return self


class Transfer(_WithNote):
    action = "transfer"
    team_id: str = Field(min_length=1, max_length=60)
    reason: str = Field(min_length=1, max_length=500)
    assignee: str | None = Field(None, max_length=100)
    public_note: str | None = OptionalText

    def needs(self) -> Needs:
        return Needs(teams=(self.team_id,))


class Extend(_WithNote):
    action = "extend"
    reason: str = Field(min_length=1, max_length=500)
    requested_due_at: AwareDatetime | None = None
    working_days: int | None = Field(None, ge=1, le=60, description="extend the handling limit by this many")

    @model_validator(mode="after")
    def _one_of(self) -> Extend:
        if (self.requested_due_at is None) == (self.working_days is None):
            raise ValueError("give either requested_due_at (an ISO 8601 time with a zone) or working_days")
        return self


class ApproveExtension(_WithNote):
    action = "approve-extension"


class DenyExtension(_WithNote):
    action = "deny-extension"


class Dispatch(_WithNote):
    action = "dispatch"
    team_id: str = Field(min_length=1, max_length=60)
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    assignee: str | None = Field(None, max_length=100)

    def needs(self) -> Needs:
        return Needs(teams=(self.team_id,))


class Assign(_WithNote):
    action = "assign"
    assignee: str = Field(min_length=1, max_length=100)


class Duplicate(_WithNote):
    action = "duplicate"
    original: str = Field(min_length=1, max_length=100, description="the original's request id or tracking code")
    public_note: str | None = OptionalText

    def needs(self) -> Needs:
        return Needs(original=self.original)


class NotAccept(_WithNote):
    action = "not-accept"
    reason_code: str = Field(description=f"one of {', '.join(NOT_ACCEPT_REASONS)}")
    public_note: str = Field(min_length=1, max_length=2000, description="the referral the resident receives")

    @model_validator(mode="after")
    def _known_reason(self) -> NotAccept:
        if self.reason_code not in NOT_ACCEPT_REASONS:
            raise ValueError(f"reason_code must be one of {', '.join(NOT_ACCEPT_REASONS)}")
        return self


class ApproveReply(_WithNote):
    """审核通过: a lead approves a member's reply; the resident hears it now (domain/lifecycle/review.py)."""

    action = "approve-reply"
    reply: str | None = Field(
        None, min_length=1, max_length=2000, description="the reply as approved; leave out to send the member's words"
    )


class SendBack(StaffCommand):
    """退回修改: a lead sends a member's reply back with a note; the task is in progress again."""

    action = "send-back"
    note: str = Field(min_length=1, max_length=2000, description="what to change (the member reads it)")


COMMANDS: tuple[type[StaffCommand], ...] = (
    Claim,
    Start,
    Hold,
    Resume,
    Note,
    Resolve,
    Return,
    Transfer,
    Extend,
    ApproveExtension,
    DenyExtension,
    Dispatch,
    Assign,
    Duplicate,
    NotAccept,
    ApproveReply,
    SendBack,
)
