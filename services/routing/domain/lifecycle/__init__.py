"""The work-order lifecycle: who may do what, in which status, and what it changes. Pure.

- commands.py: each staff action as a typed command (its HTTP body) that says what it needs looked up.
- permissions.py: the statuses, roles and scope of each action, and the error a refused caller gets.
- transitions.py: what each staff action changes; `act` runs one.
- system.py: what events and the clock do (a new task, cancel, feedback, the SLA sweeper's steps).
- clocks.py: the claim and handling clocks; change.py: the Outcome one guarded write stores.
"""

from services.routing.domain.lifecycle.assignment import needs_loads
from services.routing.domain.lifecycle.change import Outcome
from services.routing.domain.lifecycle.clocks import is_overdue, next_check
from services.routing.domain.lifecycle.commands import COMMANDS, Needs, StaffCommand
from services.routing.domain.lifecycle.permissions import (
    SPECS,
    SYSTEM_ACTIONS,
    Spec,
    allowed_actions,
    check,
    legal_actions,
    visible,
)
from services.routing.domain.lifecycle.system import cancel, feedback, not_accepted_record, open_task, sla_step
from services.routing.domain.lifecycle.transitions import act

__all__ = [
    "COMMANDS",
    "SPECS",
    "SYSTEM_ACTIONS",
    "Needs",
    "Outcome",
    "Spec",
    "StaffCommand",
    "act",
    "allowed_actions",
    "cancel",
    "check",
    "feedback",
    "is_overdue",
    "legal_actions",
    "needs_loads",
    "next_check",
    "not_accepted_record",
    "open_task",
    "sla_step",
    "visible",
]
