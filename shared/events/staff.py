"""Events produced by routing about staff accounts (`staff.*`). Routing owns accounts; intake and notify
keep a small read model of them (shared/staff_access.py) so an account's change holds everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.events.envelope import EventData, register

StaffRole = Literal["member", "lead", "supervisor", "admin"]


def staff_aggregate_id(username: str) -> str:
    """What a staff event carries in `request_id` (and the envelope's `correlation_id`): the account."""
    return f"staff:{username}"


@register
class StaffChanged(EventData):
    """An account was created or changed. From this event on, every service refuses tokens issued before
    `token_version` (a disable, a role or team change and a password change each raise it) and uses the
    role and team given here. `request_id` is `staff:<username>`; the envelope's `seq` is the account's
    revision, so a read model applies only newer states."""

    TYPE = "staff.changed"
    username: str
    token_version: int
    active: bool
    role: StaffRole
    team: str | None = None
    change: Literal["created", "disabled", "enabled", "role", "team", "password", "updated", "snapshot"]
    changed_at: datetime
