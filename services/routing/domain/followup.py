"""Call-backs (回访): when a resolution gets no rating in N days, or the resident is dissatisfied, the desk
calls them. A rating given on that call counts like one given online. Pure.

This module holds the policy (deploy/routing/followup.yaml) and the call a staff member records; the
decisions live in domain/lifecycle/ (followup_clock.py: when; callbacks.py: opening and closing; calls.py:
recording a call), beside the other transitions they share one write with.

- The no-rating timer rides on the SLA sweeper: `next_check` of a resolved task is the earlier of the follow-up
  time and the auto-close time (domain/lifecycle/clocks.py), and `no_rating_step` opens the follow-up.
- A resident's own dissatisfied rating opens one in the same write that reopens the task (`on_rating`); a
  rating given online while a no-rating follow-up waits closes it (nobody needs to call any more).
- `record_call` writes one call: who called, when, what came of it, and the rating, which goes through the
  same `apply_feedback` as the resident's own (it closes or reopens a resolved task).

A follow-up is open while `task.followup_team` holds the desk's team: the desk's queue is the tasks with that
value (an index), whoever's team handles the task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Rating = Literal["satisfied", "fairly_satisfied", "dissatisfied"]
Outcome = Literal["reached", "no_answer", "declined", "wrong_number"]
OUTCOMES: tuple[str, ...] = Outcome.__args__  # type: ignore[attr-defined]


class FollowUpPolicy(BaseModel):
    """deploy/routing/followup.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # The team that calls residents back (the front desk / general enquiries).
    desk_team: str = Field("community_work_group", min_length=1)
    # A resolution with no rating after this many calendar days gets a call-back.
    no_rating_after_days: float = Field(3, gt=0, le=365)
    # A resident's own "dissatisfied" rating gets a call-back too (the task is reopened as before).
    on_dissatisfied: bool = True
    # Calls nobody answers before the follow-up is given up as unreachable.
    max_attempts: int = Field(3, ge=1, le=20)

    @property
    def no_rating_after(self) -> timedelta:
        return timedelta(days=self.no_rating_after_days)


class RecordCall(BaseModel):
    """The body of POST /v1/followups/{request id}/calls (and the console's call-back form)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    outcome: Outcome = Field(description=f"one of {', '.join(OUTCOMES)}")
    rating: Rating | None = Field(None, description="what the resident said on the phone (with outcome `reached`)")
    called_at: AwareDatetime | None = Field(None, description="when the call was made (default: now)")
    comment: str | None = Field(None, min_length=1, max_length=2000, description="what the resident said")

    @model_validator(mode="after")
    def _rating_when_reached(self) -> RecordCall:
        if self.rating is not None and self.outcome != "reached":
            raise ValueError("rating: only a resident who was reached can give one (outcome `reached`)")
        return self
