"""Bulk actions: one staff action on many selected tasks, each task its own guarded write through the
lifecycle (so permissions and transitions hold per task), and each task's own result. Pure.

Only actions that make sense on a selection: claim (签收), assign, transfer (转派) and note.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.routing.domain.errors import Conflict, Forbidden, IllegalTransition, Invalid, LifecycleError, NotVisible
from services.routing.domain.lifecycle import SPECS, StaffCommand
from services.routing.domain.model import Task

BULK_ACTIONS = ("claim", "assign", "transfer", "note")
MAX_ITEMS = 100


class BulkRequest(BaseModel):
    """POST /v1/tasks/bulk: the action, the tasks (request ids), and the action's parameters (its body)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["claim", "assign", "transfer", "note"]
    ids: list[str] = Field(min_length=1, max_length=MAX_ITEMS, description=f"request ids, at most {MAX_ITEMS}")
    params: dict[str, Any] = Field(default_factory=dict, description="the action's body, e.g. {team_id, reason}")

    @field_validator("ids")
    @classmethod
    def _ids(cls, ids: list[str]) -> list[str]:
        for request_id in ids:
            if not 1 <= len(request_id) <= 100:
                raise ValueError("each id is a request id (1-100 characters)")
        return list(dict.fromkeys(ids))  # a task selected twice is acted on once

    def command(self) -> StaffCommand:
        """The one command every task gets; a wrong parameter is a 422 naming `params.<field>`."""
        try:
            return SPECS[self.action].command.model_validate(self.params)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise Invalid(f"params.{where}" if where else "params", first["msg"]) from exc


def done(request_id: str, task: Task) -> dict[str, Any]:
    return {"id": request_id, "result": "done", "status": task.status, "assignee": task.assignee}


REFUSALS: tuple[tuple[type[LifecycleError], str], ...] = (
    (NotVisible, "not_found"),
    (Forbidden, "forbidden"),
    (IllegalTransition, "illegal_transition"),
    (Conflict, "conflict"),
    (Invalid, "validation_error"),
)


def refused(request_id: str, error: LifecycleError) -> dict[str, Any]:
    """Why one task was refused, in the words the single-task API would have used."""
    code = next((name for cls, name in REFUSALS if isinstance(error, cls)), "conflict")
    message = f"no task {request_id} (or not one you may see)" if isinstance(error, NotVisible) else str(error)
    out: dict[str, Any] = {"id": request_id, "result": "refused", "error": code, "message": message}
    if isinstance(error, IllegalTransition):
        out["status"] = error.status
    return out


def summary(action: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    done_count = sum(1 for r in results if r["result"] == "done")
    return {"action": action, "done": done_count, "refused": len(results) - done_count, "results": results}
